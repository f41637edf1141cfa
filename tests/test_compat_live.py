"""The commands we share with redis-py give what redis-py's ``RedisCluster`` gives, on the same cluster.

Family modules (``test_api_<family>_live.py``) compare their own commands the same way; this file holds the
harness's own checks and the commands that were here before the families were split out."""

from __future__ import annotations

import pytest
from compat import Both, assert_same


@pytest.fixture(scope="module")
def both(redis_cluster):
    pair = Both(redis_cluster.startup_nodes)
    yield pair
    pair.close()


def test_the_harness_tells_types_apart():
    assert_same([b"a", 1.0], [b"a", 1.0])
    for ours, theirs in [([1], (1,)), (b"a", "a"), (1, 1.0), ({b"a": 1}, {b"a": b"1"})]:
        with pytest.raises(AssertionError):
            assert_same(ours, theirs)


@pytest.mark.parametrize(
    "call",
    [
        lambda c, t: c.set(f"{t}a", "1"),
        lambda c, t: c.get(f"{t}missing"),
        lambda c, t: (c.set(f"{t}a", "1"), c.get(f"{t}a"), c.incrbyfloat(f"{t}a", 1.5)),
        lambda c, t: (c.hset(f"{t}h", mapping={"a": 1, "b": 2}), c.hgetall(f"{t}h"), c.hkeys(f"{t}h")),
        lambda c, t: (c.sadd(f"{t}s", 1, 2, 3), c.smembers(f"{t}s"), c.scard(f"{t}s")),
        lambda c, t: (c.zadd(f"{t}z", {"a": 1, "b": 2.5}), c.zrange(f"{t}z", 0, -1, withscores=True)),
        lambda c, t: (c.rpush(f"{t}l", 1, 2), c.lpop(f"{t}l"), c.lrange(f"{t}l", 0, -1)),
        lambda c, t: (c.set(f"{t}a", 1), c.expire(f"{t}a", 100), c.ttl(f"{t}a"), c.type(f"{t}a")),
        lambda c, t: c.lpush(f"{t}l", 1) and c.get(f"{t}l"),  # WRONGTYPE: the same error class
    ],
)
def test_the_same_reply_as_redis_py(both, call):
    both.same(call)
