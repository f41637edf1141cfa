"""One test body for both clients: the asyncio client seen through a blocking adapter.

``Blocking(async_client)`` runs every coroutine it is handed back on one event loop of its own (in the test's
thread, in debug mode) and wraps what the library returns (pipelines, subscribers, scripts, async iterators) the
same way, so a test written for the blocking ``ClusterClient`` drives the asyncio client unchanged. The
``client_kind`` fixture parameter ("sync" / "async") says which one a test got; ``make_client`` builds either.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

from rediscluster_lite import ClusterClient
from rediscluster_lite.asyncio import ClusterClient as AsyncClient

KINDS = ["sync", "async"]
_OURS = "rediscluster_lite"


class Blocking:
    """A blocking view of an asyncio object of the library (a client, a pipeline, a subscriber ...)."""

    def __init__(self, target: Any, loop: asyncio.AbstractEventLoop) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_loop", loop)

    def __repr__(self) -> str:
        return f"Blocking({self._target!r})"

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value) or inspect.isclass(value):
            return self._wrap(value) if _is_async_part(value) else value

        def call(*args: Any, **kwargs: Any) -> Any:
            self._loop.run_until_complete(_let_time_pass())
            args = tuple(_unwrapped(a) for a in args)
            kwargs = {k: _unwrapped(v) for k, v in kwargs.items()}
            return self._wrap(value(*args, **kwargs))

        return call

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target, name, value)

    def _wrap(self, result: Any) -> Any:
        if inspect.isawaitable(result):
            result = self._loop.run_until_complete(_awaited(result))
        if result is self._target:
            return self
        if hasattr(result, "__anext__"):
            return _iterate(result, self._loop)
        if _is_async_part(result):
            return Blocking(result, self._loop)
        return result

    def __enter__(self) -> Blocking:
        entered = self._loop.run_until_complete(self._target.__aenter__())
        return self if entered is self._target else self._wrap(entered)

    def __exit__(self, *exc: Any) -> None:
        self._loop.run_until_complete(self._target.__aexit__(*exc))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:  # an AsyncScript is called
        self._loop.run_until_complete(_let_time_pass())
        args = tuple(_unwrapped(a) for a in args)
        kwargs = {k: _unwrapped(v) for k, v in kwargs.items()}
        return self._wrap(self._target(*args, **kwargs))

    def __len__(self) -> int:
        return len(self._target)


def _unwrapped(value: Any) -> Any:
    """What a Blocking view stands for (a client passed as ``client=`` to a script ...)."""
    return value._target if isinstance(value, Blocking) else value


async def _let_time_pass() -> None:
    # Between two calls of a test, a real application's loop keeps running: a node's EOF or a pushed
    # message is handled at once, not at the next call. A few turns let the selector report it, the transport
    # handle it and the protocol hear of it.
    for _ in range(4):
        await asyncio.sleep(0)


def _is_async_part(value: Any) -> bool:
    """An object of the asyncio client (a pipeline, a subscriber, its topology ...): wrapped in turn."""
    kind = type(value)
    return kind.__module__.startswith(_OURS) and (hasattr(value, "__aenter__") or kind.__name__.startswith("Async"))


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _iterate(iterator: Any, loop: asyncio.AbstractEventLoop):
    while True:
        try:
            yield loop.run_until_complete(iterator.__anext__())
        except StopAsyncIteration:
            return


class AsyncClientAsBlocking(Blocking):
    """The asyncio client behind a blocking face; ``close()`` also closes its event loop."""

    def __init__(self, *args: Any, loop: asyncio.AbstractEventLoop, **kwargs: Any) -> None:
        client = AsyncClient(*args, **kwargs)
        super().__init__(client, loop)
        loop.run_until_complete(client.initialize())  # as the blocking client's constructor does

    def close(self) -> None:
        if not self._loop.is_closed():
            self._loop.run_until_complete(self._target.aclose())

    def __exit__(self, *exc: Any) -> None:
        self.close()


@pytest.fixture(params=KINDS)
def client_kind(request) -> str:
    return request.param


@pytest.fixture
def make_client(client_kind):
    """``make_client(startup_nodes, **options)``: a client of this test's kind, closed at the end. The asyncio
    clients of one test share one event loop (in debug mode), as an application's would."""
    made: list[Any] = []
    loop = None
    if client_kind == "async":
        loop = asyncio.new_event_loop()
        loop.set_debug(True)

    def make(*args: Any, **kwargs: Any) -> Any:
        made.append(
            ClusterClient(*args, **kwargs) if loop is None else AsyncClientAsBlocking(*args, loop=loop, **kwargs)
        )
        return made[-1]

    yield make
    for c in made:
        c.close()
    if loop is not None:
        loop.close()
