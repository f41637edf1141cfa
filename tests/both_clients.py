"""One test body for both clients: the asyncio client seen through a blocking adapter.

``Blocking(async_client)`` runs every coroutine it is handed back on one event loop of its own (in the test's
thread, in debug mode) and wraps what the library returns (pipelines, subscribers, scripts, async iterators) the
same way, so a test written for the blocking ``ClusterClient`` drives the asyncio client unchanged. The
``client_kind`` fixture parameter ("sync" / "async") says which one a test got; ``make_client`` builds either.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
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
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
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
        if type(result).__module__.startswith(_OURS) and hasattr(result, "__aenter__"):
            return Blocking(result, self._loop)
        if type(result).__module__.startswith(_OURS) and type(result).__name__.startswith("Async"):
            return Blocking(result, self._loop)
        return result

    def __enter__(self) -> Blocking:
        entered = self._loop.run_until_complete(self._target.__aenter__())
        return self if entered is self._target else self._wrap(entered)

    def __exit__(self, *exc: Any) -> None:
        self._loop.run_until_complete(self._target.__aexit__(*exc))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:  # an AsyncScript is called
        return self._wrap(self._target(*args, **kwargs))

    def __len__(self) -> int:
        return len(self._target)


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        loop = asyncio.new_event_loop()
        loop.set_debug(True)
        client = AsyncClient(*args, **kwargs)
        super().__init__(client, loop)
        loop.run_until_complete(client.initialize())  # as the blocking client's constructor does

    def close(self) -> None:
        loop = self._loop
        if not loop.is_closed():
            loop.run_until_complete(self._target.aclose())
            loop.close()

    def __exit__(self, *exc: Any) -> None:
        self.close()


def factory(kind: str) -> Callable[..., Any]:
    """``ClusterClient`` or its asyncio twin behind :class:`Blocking`: the same arguments for both."""
    return ClusterClient if kind == "sync" else AsyncClientAsBlocking


@pytest.fixture(params=KINDS)
def client_kind(request) -> str:
    return request.param


@pytest.fixture
def make_client(client_kind):
    """``make_client(startup_nodes, **options)``: a client of this test's kind, closed at the end."""
    made: list[Any] = []

    def make(*args: Any, **kwargs: Any) -> Any:
        made.append(factory(client_kind)(*args, **kwargs))
        return made[-1]

    yield make
    for c in made:
        c.close()
