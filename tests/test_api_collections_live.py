"""Hashes, lists and sets give what redis-py's ``RedisCluster`` gives, on the same cluster and the same state:
the same values, the same types, the same error classes (tests/compat.py); the asyncio client and a pipeline give
the same again."""

from __future__ import annotations

import pytest
from compat import Both

from rediscluster_lite import ClusterClient
from rediscluster_lite.asyncio import ClusterClient as AsyncClient


@pytest.fixture(scope="module")
def both(redis_cluster):
    pair = Both(redis_cluster.startup_nodes)
    yield pair
    pair.close()


def shaped(value):
    """A random-order reply made comparable: its type and its sorted items."""
    return None if value is None else (type(value), sorted(value))


def hash3(c, t):
    c.hset(f"{t}h", mapping={"a": "1", "b": "22", "c": "333"})


HASH_CALLS = {
    "hset-key-value": lambda c, t: c.hset(f"{t}h", "f", "v"),
    "hset-items-key-mapping": lambda c, t: (
        c.hset(f"{t}h", "k", "v", mapping={"m": 1}, items=["i", 2]),
        c.hgetall(f"{t}h"),
    ),
    "hset-nothing": lambda c, t: c.hset(f"{t}h"),
    "hsetnx": lambda c, t: (c.hsetnx(f"{t}h", "a", "x"), c.hsetnx(f"{t}h", "new", "x")),
    "hget": lambda c, t: (c.hget(f"{t}h", "a"), c.hget(f"{t}h", "nope"), c.hget(f"{t}nohash", "a")),
    "hmget": lambda c, t: (c.hmget(f"{t}h", ["a", "nope"], "b"), c.hmget(f"{t}h", "c")),
    "hmset": lambda c, t: (c.hmset(f"{t}h", {"x": 1, "y": 2}), c.hgetall(f"{t}h")),
    "hmset-empty": lambda c, t: c.hmset(f"{t}h", {}),
    "hgetall": lambda c, t: (c.hgetall(f"{t}h"), c.hgetall(f"{t}nohash")),
    "hdel": lambda c, t: (c.hdel(f"{t}h", "a", "b", "nope"), c.hkeys(f"{t}h")),
    "hexists": lambda c, t: (c.hexists(f"{t}h", "a"), c.hexists(f"{t}h", "nope")),
    "hincrby": lambda c, t: (c.hincrby(f"{t}h", "a"), c.hincrby(f"{t}h", "n", -5)),
    "hincrbyfloat": lambda c, t: (c.hincrbyfloat(f"{t}h", "a"), c.hincrbyfloat(f"{t}h", "n", 2.5)),
    "hincrby-not-a-number": lambda c, t: c.hincrby(f"{t}h", "a", 1) and c.hincrby(f"{t}h", "b", 1.5),
    "hkeys-hvals-hlen": lambda c, t: (sorted(c.hkeys(f"{t}h")), sorted(c.hvals(f"{t}h")), c.hlen(f"{t}h")),
    "hstrlen": lambda c, t: (c.hstrlen(f"{t}h", "c"), c.hstrlen(f"{t}h", "nope")),
    "hrandfield-one": lambda c, t: c.hrandfield(f"{t}h") in (b"a", b"b", b"c"),
    "hrandfield-missing": lambda c, t: (c.hrandfield(f"{t}nohash"), c.hrandfield(f"{t}nohash", 2)),
    "hrandfield-count": lambda c, t: shaped(c.hrandfield(f"{t}h", 3)),
    "hrandfield-withvalues": lambda c, t: shaped(c.hrandfield(f"{t}h", 3, withvalues=True)),
    "hscan": lambda c, t: c.hscan(f"{t}h", count=100),
    "hscan-match": lambda c, t: c.hscan(f"{t}h", 0, match="a*"),
    # NOVALUES is Redis 7.4's: on an older server both clients meet the same error.
    "hscan-no-values": lambda c, t: shaped(c.hscan(f"{t}h", no_values=True)[1]),
    "hscan-missing": lambda c, t: c.hscan(f"{t}nohash"),
    "hscan_iter": lambda c, t: sorted(c.hscan_iter(f"{t}h")),
    "hscan_iter-match-count": lambda c, t: sorted(c.hscan_iter(f"{t}h", match="[ab]", count=1)),
    "hscan_iter-no-values": lambda c, t: sorted(c.hscan_iter(f"{t}h", no_values=True)),
    "wrongtype": lambda c, t: c.set(f"{t}s", "x") and c.hget(f"{t}s", "a"),
}


@pytest.mark.parametrize("name", HASH_CALLS)
@pytest.mark.filterwarnings("ignore:.*hmset.*:DeprecationWarning")  # both clients warn; test_api_collections pins ours
def test_hashes_reply_as_redis_py(both, name):
    both.same(HASH_CALLS[name], setup=hash3)


def test_hscan_iter_walks_a_hash_larger_than_one_page(both):
    def big(c, t):
        c.hset(f"{t}big", mapping={f"f{i}": i for i in range(600)})  # past the listpack encoding: real cursors

    got = both.same(lambda c, t: sorted(c.hscan_iter(f"{t}big", count=50)), setup=big)
    assert len(got) == 600


def list3(c, t):
    c.rpush(f"{t}l", "a", "b", "c", "b")


LIST_CALLS = {
    "lpush-rpush": lambda c, t: (c.lpush(f"{t}n", 1, 2), c.rpush(f"{t}n", 3), c.lrange(f"{t}n", 0, -1)),
    "pushx": lambda c, t: (c.lpushx(f"{t}none", 1), c.rpushx(f"{t}none", 1), c.lpushx(f"{t}l", 0, 9)),
    "rpushx": lambda c, t: (c.rpushx(f"{t}l", "z"), c.lrange(f"{t}l", -2, -1)),
    "lpop-rpop": lambda c, t: (c.lpop(f"{t}l"), c.rpop(f"{t}l"), c.lpop(f"{t}none")),
    "pop-count": lambda c, t: (c.lpop(f"{t}l", 2), c.rpop(f"{t}l", 5), c.lpop(f"{t}none", 2)),
    "lrange-llen-lindex": lambda c, t: (c.lrange(f"{t}l", 1, 2), c.llen(f"{t}l"), c.lindex(f"{t}l", 9)),
    "lset": lambda c, t: (c.lset(f"{t}l", 0, "z"), c.lindex(f"{t}l", 0)),
    "lset-out-of-range": lambda c, t: c.lset(f"{t}l", 99, "z"),
    "lrem": lambda c, t: (c.lrem(f"{t}l", 0, "b"), c.lrange(f"{t}l", 0, -1)),
    "ltrim": lambda c, t: (c.ltrim(f"{t}l", 0, 1), c.lrange(f"{t}l", 0, -1)),
    "linsert": lambda c, t: (
        c.linsert(f"{t}l", "BEFORE", "b", "x"),
        c.linsert(f"{t}l", "after", "c", "y"),
        c.linsert(f"{t}l", "BEFORE", "nope", "x"),
        c.lrange(f"{t}l", 0, -1),
    ),
    "lpos": lambda c, t: (c.lpos(f"{t}l", "b"), c.lpos(f"{t}l", "nope"), c.lpos(f"{t}l", "b", rank=-1)),
    "lpos-count": lambda c, t: (c.lpos(f"{t}l", "b", count=0), c.lpos(f"{t}l", "b", count=1, maxlen=2)),
    "lpos-count-missing": lambda c, t: c.lpos(f"{t}l", "nope", count=2),
    "lmove": lambda c, t: (
        c.lmove(f"{t}l", f"{t}d"),
        c.lmove(f"{t}l", f"{t}d", "RIGHT", "LEFT"),
        c.lrange(f"{t}d", 0, -1),
    ),
    "lmove-empty": lambda c, t: c.lmove(f"{t}none", f"{t}d"),
    "lmove-cross-slot": lambda c, t: c.lmove(f"{t}l", "{other}d"),
    "blmove": lambda c, t: (c.blmove(f"{t}l", f"{t}d", 1, "RIGHT", "RIGHT"), c.lrange(f"{t}d", 0, -1)),
    "blmove-timeout": lambda c, t: c.blmove(f"{t}none", f"{t}d", 0.1),
    "rpoplpush": lambda c, t: (c.rpoplpush(f"{t}l", f"{t}d"), c.rpoplpush(f"{t}none", f"{t}d")),
    "rpoplpush-cross-slot": lambda c, t: c.rpoplpush(f"{t}l", "{other}d"),
    "brpoplpush": lambda c, t: (c.brpoplpush(f"{t}l", f"{t}d", 1), c.brpoplpush(f"{t}none", f"{t}d", 0.1)),
    "lmpop": lambda c, t: (c.lmpop(2, f"{t}none", f"{t}l", direction="LEFT"), c.lmpop(1, f"{t}none", direction="LEFT")),
    "lmpop-count": lambda c, t: c.lmpop(1, f"{t}l", direction="RIGHT", count=3),
    "lmpop-cross-slot": lambda c, t: c.lmpop(2, f"{t}l", "{other}l", direction="LEFT"),
    "blmpop": lambda c, t: (
        c.blmpop(1, 1, f"{t}l", direction="LEFT"),
        c.blmpop(1, 2, f"{t}l", f"{t}x", direction="RIGHT", count=5),
    ),
    "blmpop-timeout": lambda c, t: c.blmpop(0.1, 1, f"{t}none", direction="LEFT"),
    "blpop-brpop": lambda c, t: (c.blpop([f"{t}none", f"{t}l"], 1), c.brpop(f"{t}l", 1), c.blpop(f"{t}none", 0.1)),
    "brpop-cross-slot": lambda c, t: c.brpop([f"{t}l", "{other}l"], 1),
}


@pytest.mark.parametrize("name", LIST_CALLS)
def test_lists_reply_as_redis_py(both, name):
    both.same(LIST_CALLS[name], setup=list3)


def sets3(c, t):
    c.sadd(f"{t}a", "1", "2", "3")
    c.sadd(f"{t}b", "2", "3", "4")
    c.sadd(f"{t}one", "x")


SET_CALLS = {
    "sadd-srem": lambda c, t: (c.sadd(f"{t}a", "3", "9"), c.srem(f"{t}a", "1", "nope"), c.smembers(f"{t}a")),
    "smembers": lambda c, t: (c.smembers(f"{t}a"), c.smembers(f"{t}none")),
    "sismember": lambda c, t: (c.sismember(f"{t}a", "1"), c.sismember(f"{t}a", "9")),
    "smismember": lambda c, t: (c.smismember(f"{t}a", ["1", "9"], "2"), c.smismember(f"{t}a", "3")),
    "scard": lambda c, t: (c.scard(f"{t}a"), c.scard(f"{t}none")),
    "spop": lambda c, t: (c.spop(f"{t}one"), c.spop(f"{t}one"), c.spop(f"{t}none", 2)),
    "spop-count": lambda c, t: shaped(c.spop(f"{t}a", 5)),
    "srandmember": lambda c, t: (c.srandmember(f"{t}one"), c.srandmember(f"{t}none"), c.srandmember(f"{t}one", -2)),
    "srandmember-count": lambda c, t: shaped(c.srandmember(f"{t}a", 5)),
    "smove": lambda c, t: (c.smove(f"{t}a", f"{t}b", "1"), c.smove(f"{t}a", f"{t}b", "nope"), c.smembers(f"{t}b")),
    "smove-cross-slot": lambda c, t: c.smove(f"{t}a", "{other}b", "1"),
    "sinter-sunion-sdiff": lambda c, t: (
        c.sinter([f"{t}a", f"{t}b"]),
        c.sunion(f"{t}a", f"{t}b"),
        c.sdiff([f"{t}a"], f"{t}b"),
        c.sinter(f"{t}a", f"{t}none"),
    ),
    "sinter-cross-slot": lambda c, t: c.sinter(f"{t}a", "{other}b"),
    "sdiff-cross-slot": lambda c, t: c.sdiff([f"{t}a", "{other}b"]),
    "stores": lambda c, t: (
        c.sinterstore(f"{t}d1", [f"{t}a", f"{t}b"]),
        c.sunionstore(f"{t}d2", f"{t}a", f"{t}b"),
        c.sdiffstore(f"{t}d3", [f"{t}a", f"{t}b"]),
        c.smembers(f"{t}d1"),
        c.smembers(f"{t}d2"),
        c.smembers(f"{t}d3"),
    ),
    "sunionstore-cross-slot": lambda c, t: c.sunionstore("{other}d", f"{t}a", f"{t}b"),
    "sintercard": lambda c, t: (c.sintercard(2, [f"{t}a", f"{t}b"]), c.sintercard(2, [f"{t}a", f"{t}b"], limit=1)),
    "sintercard-cross-slot": lambda c, t: c.sintercard(2, [f"{t}a", "{other}b"]),
    "sscan": lambda c, t: shaped(c.sscan(f"{t}a", count=100)[1]),
    "sscan-cursor": lambda c, t: c.sscan(f"{t}one", 0, match="x*")[0],
    "sscan-missing": lambda c, t: c.sscan(f"{t}none"),
    "sscan_iter": lambda c, t: sorted(c.sscan_iter(f"{t}a")),
    "sscan_iter-match-count": lambda c, t: sorted(c.sscan_iter(f"{t}b", match="[24]", count=1)),
}


@pytest.mark.parametrize("name", SET_CALLS)
def test_sets_reply_as_redis_py(both, name):
    both.same(SET_CALLS[name], setup=sets3)


def test_sscan_iter_walks_a_set_larger_than_one_page(both):
    got = both.same(
        lambda c, t: sorted(c.sscan_iter(f"{t}big", count=40)),
        setup=lambda c, t: c.sadd(f"{t}big", *(f"m{i}" for i in range(700))),
    )
    assert len(got) == 700


def test_a_pipeline_applies_the_collection_conversions_at_execute(both):
    c = both.ours
    p = c.pipeline()
    p.hset("{pc}h", mapping={"a": 1})
    p.hexists("{pc}h", "a")
    p.hscan("{pc}h")
    p.sadd("{pc}s", "x")
    p.smembers("{pc}s")
    p.lpush("{pc}l", "v")
    p.lset("{pc}l", 0, "w")
    p.blpop("{pc}l", 1)
    try:
        assert p.execute() == [1, True, (0, {b"a": b"1"}), 1, {b"x"}, 1, True, (b"{pc}l", b"w")]
    finally:
        c.delete("{pc}h", "{pc}s", "{pc}l")


@pytest.mark.filterwarnings("ignore:.*hmset.*:DeprecationWarning")
async def test_the_asyncio_client_replies_as_the_blocking_client(redis_cluster):
    # Each client works on its own keys ("K" in an argument becomes the client's own hash tag), in the same order.
    calls = [
        ("hset", ("K:h",), {"mapping": {"a": "1", "b": "2"}, "items": ["c", "3"]}),
        ("hsetnx", ("K:h", "a", "x"), {}),
        ("hmset", ("K:h", {"d": "4"}), {}),
        ("hmget", ("K:h", ["a", "z"]), {}),
        ("hstrlen", ("K:h", "a"), {}),
        ("hrandfield", ("K:h", -1, True), {}),
        ("hscan", ("K:h",), {"match": "a"}),
        ("rpush", ("K:l", "a", "b", "a"), {}),
        ("lpushx", ("K:l", "z"), {}),
        ("linsert", ("K:l", "AFTER", "b", "c"), {}),
        ("lpos", ("K:l", "a"), {"count": 0}),
        ("lmove", ("K:l", "K:d"), {}),
        ("rpoplpush", ("K:l", "K:d"), {}),
        ("blmove", ("K:l", "K:d", 1), {}),
        ("brpoplpush", ("K:none", "K:d", 0.1), {}),
        ("lmpop", (1, "K:d"), {"direction": "LEFT", "count": 2}),
        ("blmpop", (0.1, 1, "K:none"), {"direction": "LEFT"}),
        ("blpop", (["K:none", "K:l"], 1), {}),
        ("sadd", ("K:s", "1", "2"), {}),
        ("sadd", ("K:t", "2", "3"), {}),
        ("sismember", ("K:s", "1"), {}),
        ("smismember", ("K:s", ["1", "3"]), {}),
        ("smove", ("K:s", "K:t", "1"), {}),
        ("sinter", (["K:s", "K:t"],), {}),
        ("sunionstore", ("K:u", "K:s", "K:t"), {}),
        ("sintercard", (2, ["K:s", "K:t"]), {}),
        ("sscan", ("K:t",), {"count": 10}),
        ("spop", ("K:u", 10), {}),
    ]

    def keyed(args: tuple, tag: str) -> tuple:
        def one(a):
            if isinstance(a, str):
                return a.replace("K:", tag)
            if isinstance(a, list):
                return [one(x) for x in a]
            return a

        return tuple(one(a) for a in args)

    def as_sync(value):
        # Replies that carry a list name (blpop, lmpop) name the async client's keys: read them as the sync one's.
        if isinstance(value, bytes):
            return value.replace(b"{aio-coll-async}", b"{aio-coll-sync}")
        if isinstance(value, (list, tuple)):
            return type(value)(as_sync(v) for v in value)
        return value

    def ordered(value):
        return sorted(value) if isinstance(value, list) and all(isinstance(v, bytes) for v in value) else value

    sync = ClusterClient(redis_cluster.startup_nodes)
    try:
        async with AsyncClient(redis_cluster.startup_nodes) as c:
            for name, args, kwargs in calls:
                expected = getattr(sync, name)(*keyed(args, "{aio-coll-sync}"), **kwargs)
                got = as_sync(await getattr(c, name)(*keyed(args, "{aio-coll-async}"), **kwargs))
                assert type(got) is type(expected), name
                if name not in ("hrandfield", "spop"):  # random picks: the types must agree, not the values
                    assert ordered(got) == ordered(expected), name
            assert sorted([f async for f in c.hscan_iter("{aio-coll-async}h")]) == sorted(
                sync.hscan_iter("{aio-coll-sync}h")
            )
            assert sorted([m async for m in c.sscan_iter("{aio-coll-async}t")]) == sorted(
                sync.sscan_iter("{aio-coll-sync}t")
            )
            for tag in ("{aio-coll-sync}", "{aio-coll-async}"):
                sync.delete(*(tag + k for k in ("h", "l", "d", "s", "t", "u")))
    finally:
        sync.close()
