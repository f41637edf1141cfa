"""Run the same call on our client and on redis-py's ``RedisCluster``, on the same cluster and the same state,
and insist on the same answer: the same value, the same Python types all the way down, the same error class.

A comparison runs ``setup`` then ``call`` on our client, deletes every key of the tag, then runs both again on
redis-py's client: so a mutating command sees the same state twice, and replies that carry key names match.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

redis_cluster_module = pytest.importorskip("redis.cluster")

# Our error class names that stand for redis-py's of another name.
_SAME_ERROR = {"CrossSlotError": "RedisClusterException", "NoScriptError": "NoScriptError"}


def new_tag() -> str:
    return "{" + uuid.uuid4().hex[:12] + "}"


class Both:
    """Our ``ClusterClient`` and redis-py's ``RedisCluster`` on one cluster (``pair.ours``, ``pair.theirs``)."""

    def __init__(self, startup_nodes: list[tuple[str, int]], decode_responses: bool = False) -> None:
        from rediscluster_lite import ClusterClient

        host, port = startup_nodes[0]
        self.ours = ClusterClient(startup_nodes, decode_responses=decode_responses)
        self.theirs = redis_cluster_module.RedisCluster(host=host, port=port, decode_responses=decode_responses)

    def close(self) -> None:
        self.ours.close()
        self.theirs.close()

    def same(
        self,
        call: Callable[[Any, str], Any],
        setup: Callable[[Any, str], Any] | None = None,
        tag: str | None = None,
    ) -> Any:
        """``call(client, tag)`` on both clients after ``setup(client, tag)``; returns our result (or our error)."""
        tag = tag or new_tag()
        ours = self._run(self.ours, setup, call, tag)
        self._forget(tag)
        theirs = self._run(self.theirs, setup, call, tag)
        self._forget(tag)
        if isinstance(theirs, BaseException) or isinstance(ours, BaseException):
            assert _error_name(ours) == _error_name(theirs), f"ours: {ours!r}, redis-py: {theirs!r}"
            return ours
        assert_same(ours, theirs)
        return ours

    def _run(self, client: Any, setup: Callable | None, call: Callable, tag: str) -> Any:
        if setup is not None:
            setup(client, tag)
        try:
            return call(client, tag)
        except Exception as e:  # compared by class, not raised
            return e

    def _forget(self, tag: str) -> None:
        keys = list(self.ours.scan_iter(match=f"{tag}*"))
        if keys:
            self.ours.delete(*keys)


def _error_name(value: Any) -> str | None:
    if not isinstance(value, BaseException):
        return None
    name = type(value).__name__
    return _SAME_ERROR.get(name, name)


def assert_same(ours: Any, theirs: Any, path: str = "reply") -> None:
    """Equal values of the same types, recursively (a list is not a tuple, bytes are not str, 1 is not 1.0)."""
    assert type(ours) is type(theirs), (
        f"{path}: ours is {type(ours).__name__} {ours!r}, redis-py's {type(theirs).__name__} {theirs!r}"
    )
    if isinstance(ours, dict):
        assert set(ours) == set(theirs), f"{path}: keys {set(ours)} vs {set(theirs)}"
        for k in ours:
            assert_same(ours[k], theirs[k], f"{path}[{k!r}]")
    elif isinstance(ours, (list, tuple)):
        assert len(ours) == len(theirs), f"{path}: {len(ours)} items vs {len(theirs)}: {ours!r} vs {theirs!r}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same(a, b, f"{path}[{i}]")
    else:
        assert ours == theirs, f"{path}: ours {ours!r}, redis-py's {theirs!r}"
