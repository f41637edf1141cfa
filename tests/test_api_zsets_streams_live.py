"""Sorted-set and stream commands give what redis-py's ``RedisCluster`` gives on the same cluster and state: the
same value with the same types, or the same error class. Stream ids are given explicitly so both runs see the same
ids; where a reply carries times (idle, delivery times), the compared call keeps only the stable fields."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from compat import Both, redis_cluster_module

from rediscluster_lite import ClusterClient
from rediscluster_lite.asyncio import ClusterClient as AsyncClient


@pytest.fixture(scope="module", params=["default", "protocol 2"])
def both(redis_cluster, request):
    """redis-py's default client (RESP3 on the wire, "legacy" shapes) and its protocol-2 client: we give both."""
    pair = Both(redis_cluster.startup_nodes) if request.param == "default" else protocol_2(redis_cluster.startup_nodes)
    yield pair
    pair.close()


def zsets(c: Any, t: str) -> None:
    c.zadd(f"{t}z", {"a": 1, "b": 2.5, "c": 3, "d": 1e18})
    c.zadd(f"{t}w", {"b": 10, "c": 20, "e": 30})
    c.zadd(f"{t}lex", {"a": 0, "b": 0, "c": 0, "d": 0})


def stream(c: Any, t: str) -> None:
    for i in range(1, 6):
        c.xadd(f"{t}s", {"n": str(i), "k": "v"}, id=f"{i}-0")


def group(c: Any, t: str) -> None:
    stream(c, t)
    c.xgroup_create(f"{t}s", "g", id="0")
    c.xreadgroup("g", "alice", {f"{t}s": ">"}, count=3)


# --- sorted sets, one key ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c, t: c.zadd(f"{t}z", {"a": 5, "new": 1}),
        lambda c, t: c.zadd(f"{t}z", {"a": 5, "new": 1}, nx=True),
        lambda c, t: c.zadd(f"{t}z", {"a": 5, "new": 1}, xx=True, ch=True),
        lambda c, t: c.zadd(f"{t}z", {"a": 0, "b": 9}, gt=True, ch=True),
        lambda c, t: c.zadd(f"{t}z", {"a": 0, "b": 9}, lt=True, ch=True),
        lambda c, t: c.zadd(f"{t}z", {"a": 2}, incr=True),
        lambda c, t: c.zadd(f"{t}z", {"a": 2}, incr=True, nx=True),
        lambda c, t: c.zadd(f"{t}z", {"a": 2}, nx=True, xx=True),
        lambda c, t: c.zadd(f"{t}z", {"a": 2, "b": 1}, incr=True),
        lambda c, t: c.zadd(f"{t}z", {"a": 2}, gt=True, lt=True),
        lambda c, t: c.zadd(f"{t}z", {}),
        lambda c, t: c.zrem(f"{t}z", "a", "nope"),
        lambda c, t: c.zscore(f"{t}z", "b"),
        lambda c, t: c.zscore(f"{t}z", "nope"),
        lambda c, t: c.zmscore(f"{t}z", ["a", "nope", "d"]),
        lambda c, t: c.zmscore(f"{t}z", []),
        lambda c, t: c.zincrby(f"{t}z", 1.5, "a"),
        lambda c, t: c.zcard(f"{t}z"),
        lambda c, t: c.zcount(f"{t}z", 1, "(3"),
        lambda c, t: c.zlexcount(f"{t}lex", "[b", "+"),
        lambda c, t: c.zrank(f"{t}z", "c"),
        lambda c, t: c.zrank(f"{t}z", "nope"),
        lambda c, t: c.zrevrank(f"{t}z", "c"),
        lambda c, t: c.zrank(f"{t}z", "c", withscore=True),
        lambda c, t: c.zrevrank(f"{t}z", "c", withscore=True),
        lambda c, t: c.zremrangebyrank(f"{t}z", 0, 1),
        lambda c, t: c.zremrangebyscore(f"{t}z", "(1", 3),
        lambda c, t: c.zremrangebylex(f"{t}lex", "[b", "[c"),
        lambda c, t: c.zpopmin(f"{t}z"),
        lambda c, t: c.zpopmax(f"{t}z", 2),
        lambda c, t: c.zpopmin(f"{t}missing"),
        lambda c, t: c.zrandmember(f"{t}missing"),
        lambda c, t: c.zrandmember(f"{t}lex", 0),
        lambda c, t: sorted(c.zrandmember(f"{t}lex", 4)),
        lambda c, t: sorted(c.zrandmember(f"{t}lex", 4, withscores=True)),
        lambda c, t: c.zscan(f"{t}z"),
        lambda c, t: c.zscan(f"{t}z", 0, match="a*", count=100),
        lambda c, t: c.zscan(f"{t}z", score_cast_func=int),
    ],
)
def test_single_key_sorted_set_commands_are_redis_pys(both, call):
    both.same(call, setup=zsets)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"withscores": True},
        {"withscores": True, "score_cast_func": int},
        {"withscores": True, "score_cast_func": str},
        {"desc": True},
        {"desc": True, "withscores": True},
        {"byscore": True, "start": 1, "end": 3},
        {"byscore": True, "start": "(1", "end": "+inf", "withscores": True},
        {"byscore": True, "desc": True, "start": "+inf", "end": 0, "offset": 1, "num": 2},
        {"offset": 1, "num": 2, "byscore": True, "start": 0, "end": "+inf"},
        {"bylex": True, "start": "[b", "end": "+", "key": "lex"},
        {"bylex": True, "desc": True, "start": "+", "end": "[b", "key": "lex", "offset": 0, "num": 2},
        {"bylex": True, "byscore": True},
        {"bylex": True, "withscores": True, "key": "lex", "start": "-", "end": "+"},
        {"offset": 1},
    ],
)
def test_zrange_takes_every_one_of_redis_pys_options(both, kwargs):
    kwargs = dict(kwargs)
    key, start, end = kwargs.pop("key", "z"), kwargs.pop("start", 0), kwargs.pop("end", -1)
    both.same(lambda c, t: c.zrange(f"{t}{key}", start, end, **kwargs), setup=zsets)


@pytest.mark.parametrize(
    "call",
    [
        lambda c, t: c.zrevrange(f"{t}z", 0, 1),
        lambda c, t: c.zrevrange(f"{t}z", 0, -1, withscores=True, score_cast_func=int),
        lambda c, t: c.zrangebyscore(f"{t}z", 1, 3),
        lambda c, t: c.zrangebyscore(f"{t}z", "-inf", "+inf", start=1, num=2, withscores=True),
        lambda c, t: c.zrangebyscore(f"{t}z", 1, 3, start=1),
        lambda c, t: c.zrevrangebyscore(f"{t}z", 3, 1, withscores=True),
        lambda c, t: c.zrevrangebyscore(f"{t}z", "+inf", "-inf", start=0, num=1),
        lambda c, t: c.zrangebylex(f"{t}lex", "-", "[c"),
        lambda c, t: c.zrangebylex(f"{t}lex", "-", "+", start=1, num=2),
        lambda c, t: c.zrevrangebylex(f"{t}lex", "+", "(b"),
        lambda c, t: c.zrevrangebylex(f"{t}lex", "+", "-", start=0, num=1),
        lambda c, t: c.zrevrangebylex(f"{t}lex", "+", "-", num=1),
        lambda c, t: (c.zrangestore(f"{t}dst", f"{t}z", 0, 1), c.zrange(f"{t}dst", 0, -1, withscores=True)),
        lambda c, t: c.zrangestore(f"{t}dst", f"{t}z", 1, "+inf", byscore=True, offset=0, num=2),
        lambda c, t: c.zrangestore(f"{t}dst", f"{t}lex", "[d", "[a", bylex=True, desc=True),
        lambda c, t: c.zrangestore("{other}dst", f"{t}z", 0, 1),
    ],
)
def test_the_older_range_commands_and_zrangestore_are_redis_pys(both, call):
    both.same(call, setup=zsets)


# --- sorted sets, several keys ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c, t: c.zunion([f"{t}z", f"{t}w"]),
        lambda c, t: c.zunion([f"{t}z", f"{t}w"], withscores=True),
        lambda c, t: c.zunion({f"{t}z": 2, f"{t}w": 0.5}, aggregate="MAX", withscores=True, score_cast_func=int),
        lambda c, t: c.zunion([f"{t}z", f"{t}w"], aggregate="median"),
        lambda c, t: c.zinter([f"{t}z", f"{t}w"]),
        lambda c, t: c.zinter([f"{t}z", f"{t}w"], aggregate="min", withscores=True),
        lambda c, t: c.zinter({f"{t}z": 1, f"{t}w": 3}, withscores=True),
        lambda c, t: c.zdiff([f"{t}z", f"{t}w"]),
        lambda c, t: c.zdiff([f"{t}z", f"{t}w"], withscores=True),
        lambda c, t: (c.zunionstore(f"{t}d", [f"{t}z", f"{t}w"]), c.zrange(f"{t}d", 0, -1, withscores=True)),
        lambda c, t: (c.zunionstore(f"{t}d", {f"{t}z": 1, f"{t}w": 2}, "SUM"), c.zscore(f"{t}d", "b")),
        lambda c, t: (c.zinterstore(f"{t}d", [f"{t}z", f"{t}w"], aggregate="MAX"), c.zrange(f"{t}d", 0, -1)),
        lambda c, t: (c.zdiffstore(f"{t}d", [f"{t}z", f"{t}w"]), c.zrange(f"{t}d", 0, -1)),
        lambda c, t: c.zintercard(2, [f"{t}z", f"{t}w"]),
        lambda c, t: c.zintercard(2, [f"{t}z", f"{t}w"], limit=1),
        lambda c, t: c.zmpop(2, [f"{t}missing", f"{t}z"], min=True),
        lambda c, t: c.zmpop(2, [f"{t}z", f"{t}w"], max=True, count=2),
        lambda c, t: c.zmpop(1, [f"{t}missing"], min=True),
        lambda c, t: c.zmpop(1, [f"{t}z"]),
        lambda c, t: c.zmpop(1, [f"{t}z"], min=True, max=True),
        lambda c, t: c.bzmpop(1, 2, [f"{t}missing", f"{t}w"], min=True, count=2),
        lambda c, t: c.bzmpop(0.1, 1, [f"{t}missing"], max=True),
        lambda c, t: c.bzpopmin([f"{t}missing", f"{t}z"], timeout=1),
        lambda c, t: c.bzpopmax(f"{t}w", 1),
        lambda c, t: c.bzpopmax(f"{t}missing", 0.1),
        lambda c, t: c.zunion([f"{t}z", "{other}w"]),
        lambda c, t: c.zinterstore(f"{t}d", [f"{t}z", "{other}w"]),
    ],
)
def test_multi_key_sorted_set_commands_are_redis_pys(both, call):
    both.same(call, setup=zsets)


# --- streams ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c, t: c.xadd(f"{t}s", {"a": "1"}, id="9-0"),
        lambda c, t: c.xadd(f"{t}s", {"a": "1", "b": "2"}, id="9-1", maxlen=2, approximate=False),
        lambda c, t: (c.xadd(f"{t}s", {"a": "1"}, id="9-0", maxlen=3), c.xlen(f"{t}s")),
        lambda c, t: (c.xadd(f"{t}s", {"a": "1"}, id="9-0", minid="3-0", approximate=False), c.xlen(f"{t}s")),
        lambda c, t: (c.xadd(f"{t}s", {"a": "1"}, id="9-0", minid="3-0", limit=100), c.xlen(f"{t}s")),
        lambda c, t: c.xadd(f"{t}missing", {"a": "1"}, id="1-0", nomkstream=True),
        lambda c, t: c.xadd(f"{t}s", {"a": "1"}, id="1-0"),
        lambda c, t: c.xadd(f"{t}s", {"a": "1"}, maxlen=1, minid="1-0"),
        lambda c, t: c.xadd(f"{t}s", {"a": "1"}, maxlen=-1),
        lambda c, t: c.xadd(f"{t}s", {}),
        lambda c, t: c.xlen(f"{t}s"),
        lambda c, t: c.xrange(f"{t}s"),
        lambda c, t: c.xrange(f"{t}s", "2-0", "4-0", count=2),
        lambda c, t: c.xrange(f"{t}s", count=0),
        lambda c, t: c.xrange(f"{t}missing"),
        lambda c, t: c.xrevrange(f"{t}s"),
        lambda c, t: c.xrevrange(f"{t}s", "4-0", "-", count=1),
        lambda c, t: c.xread({f"{t}s": "2-0"}),
        lambda c, t: c.xread({f"{t}s": "0", f"{t}s2": "0"}, count=2),
        lambda c, t: c.xread({f"{t}s": "$"}),
        lambda c, t: c.xread({f"{t}s": "$"}, block=50),
        lambda c, t: c.xread({f"{t}s": "4-0"}, block=50, count=1),
        lambda c, t: c.xread({}),
        lambda c, t: c.xread({f"{t}s": "0"}, block=-1),
        lambda c, t: c.xread({f"{t}s": "0", "{other}s": "0"}),
        lambda c, t: (c.xdel(f"{t}s", "1-0", "3-0", "99-0"), c.xrange(f"{t}s")),
        lambda c, t: (c.xtrim(f"{t}s", maxlen=2, approximate=False), c.xrange(f"{t}s")),
        lambda c, t: c.xtrim(f"{t}s", maxlen=2),
        lambda c, t: (c.xtrim(f"{t}s", minid="4-0", approximate=False), c.xlen(f"{t}s")),
        lambda c, t: c.xtrim(f"{t}s", minid="4-0", limit=10),
        lambda c, t: c.xtrim(f"{t}s"),
        lambda c, t: c.xtrim(f"{t}s", maxlen=1, minid="1-0"),
    ],
)
def test_stream_entry_commands_are_redis_pys(both, call):
    both.same(call, setup=stream)


def pending_stable(rows: list[dict]) -> list[tuple]:
    return [(r["message_id"], r["consumer"], r["times_delivered"], type(r["time_since_delivered"])) for r in rows]


def without_times(info: Any) -> Any:
    """A reply with the time-valued fields (idle, inactive, seen-time, active-time) set to their type's name,
    and the delivery times in XINFO STREAM FULL's pending lists too."""
    timed = {"idle", "inactive", "seen-time", "active-time"}
    if isinstance(info, dict):
        return {
            k: type(v).__name__ if k in timed else undated(v) if k == "pending" else without_times(v)
            for k, v in info.items()
        }
    if isinstance(info, list):
        return [without_times(v) for v in info]
    return info


def undated(pending: Any) -> Any:
    """XINFO STREAM FULL's pending entries ([id, (consumer,) delivery time, count]) without the time."""
    if not isinstance(pending, list):
        return pending
    return [[type(v).__name__ if len(row) - i == 2 else v for i, v in enumerate(row)] for row in pending]


@pytest.mark.parametrize(
    "call",
    [
        lambda c, t: c.xgroup_create(f"{t}s", "g2"),
        lambda c, t: c.xgroup_create(f"{t}s", "g"),
        lambda c, t: c.xgroup_create(f"{t}new", "g", id="$", mkstream=True),
        lambda c, t: c.xgroup_create(f"{t}missing", "g"),
        lambda c, t: (c.xgroup_create(f"{t}s", "g2", id="0", entries_read=2), without_times(c.xinfo_groups(f"{t}s"))),
        lambda c, t: c.xgroup_destroy(f"{t}s", "g"),
        lambda c, t: c.xgroup_destroy(f"{t}s", "nope"),
        lambda c, t: c.xgroup_createconsumer(f"{t}s", "g", "bob"),
        lambda c, t: c.xgroup_createconsumer(f"{t}s", "g", "alice"),
        lambda c, t: c.xgroup_delconsumer(f"{t}s", "g", "alice"),
        lambda c, t: c.xgroup_setid(f"{t}s", "g", "0"),
        lambda c, t: (c.xgroup_setid(f"{t}s", "g", "$", entries_read=5), without_times(c.xinfo_groups(f"{t}s"))),
        lambda c, t: c.xreadgroup("g", "bob", {f"{t}s": ">"}),
        lambda c, t: c.xreadgroup("g", "bob", {f"{t}s": ">"}, count=1, noack=True),
        lambda c, t: c.xreadgroup("g", "alice", {f"{t}s": "0"}),
        lambda c, t: c.xreadgroup("g", "bob", {f"{t}s": ">"}, count=5, block=50),
        lambda c, t: (c.xreadgroup("g", "bob", {f"{t}s": ">"}), c.xreadgroup("g", "bob", {f"{t}s": ">"}, block=50)),
        lambda c, t: c.xreadgroup("g", "bob", {}),
        lambda c, t: c.xreadgroup("g", "bob", {f"{t}s": ">"}, count=0),
        lambda c, t: c.xreadgroup("nope", "bob", {f"{t}s": ">"}),
        lambda c, t: c.xack(f"{t}s", "g", "1-0", "2-0", "5-0"),
        lambda c, t: c.xclaim(f"{t}s", "g", "bob", 0, ["1-0", "2-0"]),
        lambda c, t: c.xclaim(f"{t}s", "g", "bob", 0, ["1-0"], justid=True),
        lambda c, t: c.xclaim(f"{t}s", "g", "bob", 0, ["1-0"], idle=10, retrycount=4, justid=True),
        lambda c, t: (
            c.xclaim(f"{t}s", "g", "bob", 0, ["5-0"], time=1000, force=True),
            pending_stable(c.xpending_range(f"{t}s", "g", "-", "+", 10)),
        ),
        lambda c, t: c.xclaim(f"{t}s", "g", "bob", -1, ["1-0"]),
        lambda c, t: c.xclaim(f"{t}s", "g", "bob", 0, []),
        lambda c, t: c.xclaim(f"{t}s", "g", "bob", 0, ["1-0"], idle="10"),
        lambda c, t: c.xclaim(f"{t}s", "g", "bob", 0, ["1-0"], force=1),
        lambda c, t: c.xautoclaim(f"{t}s", "g", "bob", 0),
        lambda c, t: c.xautoclaim(f"{t}s", "g", "bob", 0, start_id="2-0", count=1),
        lambda c, t: c.xautoclaim(f"{t}s", "g", "bob", 0, justid=True),
        lambda c, t: (c.xdel(f"{t}s", "2-0"), c.xautoclaim(f"{t}s", "g", "bob", 0)),
        lambda c, t: c.xautoclaim(f"{t}s", "g", "bob", -1),
        lambda c, t: c.xpending(f"{t}s", "g"),
        lambda c, t: c.xpending(f"{t}s", "nope"),
        lambda c, t: pending_stable(c.xpending_range(f"{t}s", "g", "-", "+", 10)),
        lambda c, t: pending_stable(c.xpending_range(f"{t}s", "g", "-", "+", 1, consumername="alice")),
        lambda c, t: pending_stable(c.xpending_range(f"{t}s", "g", "-", "+", 10, idle=0)),
        lambda c, t: c.xpending_range(f"{t}s", "g", "-", "+", 10, idle=10_000_000),
        lambda c, t: c.xpending_range(f"{t}s", "g", None, None, None),
        lambda c, t: c.xpending_range(f"{t}s", "g", None, None, None, consumername="alice"),
        lambda c, t: c.xpending_range(f"{t}s", "g", "-", None, 10),
        lambda c, t: c.xpending_range(f"{t}s", "g", "-", "+", -1),
        lambda c, t: c.xinfo_stream(f"{t}s"),
        lambda c, t: c.xinfo_stream(f"{t}missing"),
        lambda c, t: (c.xtrim(f"{t}s", maxlen=0, approximate=False), c.xinfo_stream(f"{t}s")),
        lambda c, t: without_times(c.xinfo_groups(f"{t}s")),
        lambda c, t: without_times(c.xinfo_consumers(f"{t}s", "g")),
        lambda c, t: c.xinfo_consumers(f"{t}s", "nope"),
    ],
)
def test_consumer_group_commands_are_redis_pys(both, call):
    both.same(call, setup=group)


def protocol_2(startup_nodes: list, decode_responses: bool = False) -> Both:
    """A ``Both`` whose redis-py client speaks RESP2 with its protocol-2 callbacks (its default speaks RESP3 and
    converts to the "legacy" shapes, which differ from protocol 2's in a few nested places)."""
    pair = Both(startup_nodes, decode_responses=decode_responses)
    host, port = startup_nodes[0]
    pair.theirs.close()
    pair.theirs = redis_cluster_module.RedisCluster(host=host, port=port, protocol=2, decode_responses=decode_responses)
    return pair


def test_xinfo_stream_full_gives_consumers_with_str_keys_as_redis_pys_protocol_2_callbacks(redis_cluster):
    # redis-py's default (RESP3 on the wire, "legacy" shapes) leaves the consumers' keys as bytes there: we keep
    # its protocol-2 shape, str keys at every level, the same as xinfo_consumers gives.
    pair = protocol_2(redis_cluster.startup_nodes)
    try:
        info = pair.same(lambda c, t: without_times(c.xinfo_stream(f"{t}s", full=True)), setup=group)
    finally:
        pair.close()
    assert set(info["groups"][0]["consumers"][0]) == {"name", "seen-time", "pel-count", "pending"}


def test_xinfo_stream_full_of_a_group_without_consumers_is_redis_pys(both):
    def setup(c: Any, t: str) -> None:
        stream(c, t)
        c.xgroup_create(f"{t}s", "g", id="0")

    both.same(lambda c, t: without_times(c.xinfo_stream(f"{t}s", full=True)), setup=setup)


# --- the asyncio client and pipelines --------------------------------------------------------------


async def test_the_asyncio_client_gives_the_same_replies(redis_cluster):
    calls = [
        ("zadd", ("K:z", {"a": 1, "b": 2, "c": 3}), {}),
        ("zadd", ("K:z", {"a": 1}), {"incr": True}),
        ("zrange", ("K:z", 0, -1), {"withscores": True, "desc": True}),
        ("zrangebyscore", ("K:z", 1, 3), {"withscores": True, "start": 0, "num": 2}),
        ("zrank", ("K:z", "b"), {}),
        ("zmscore", ("K:z", ["a", "x"]), {}),
        ("zunion", (["K:z", "K:z"],), {"withscores": True}),
        ("zscan", ("K:z",), {}),
        ("zpopmax", ("K:z",), {}),
        ("bzpopmin", ("K:z",), {"timeout": 1}),
        ("zmpop", (1, ["K:z"]), {"min": True}),
        ("xadd", ("K:s", {"f": "v"}), {"id": "1-0"}),
        ("xadd", ("K:s", {"f": "w"}), {"id": "2-0"}),
        ("xrange", ("K:s",), {}),
        ("xread", ({"K:s": "0"},), {"count": 1}),
        ("xread", ({"K:s": "$"},), {"block": 20}),
        ("xgroup_create", ("K:s", "g"), {"id": "0"}),
        ("xreadgroup", ("g", "c", {"K:s": ">"}), {}),
        ("xpending", ("K:s", "g"), {}),
        ("xclaim", ("K:s", "g", "d", 0, ["1-0"]), {"justid": True}),
        ("xautoclaim", ("K:s", "g", "d", 0), {}),
        ("xack", ("K:s", "g", "1-0"), {}),
        ("xinfo_stream", ("K:s",), {}),
        ("xtrim", ("K:s",), {"maxlen": 0, "approximate": False}),
    ]

    def keyed(value: Any, prefix: str) -> Any:
        if isinstance(value, str):
            return value.replace("K:", prefix)
        if isinstance(value, list):
            return [keyed(v, prefix) for v in value]
        if isinstance(value, dict):
            return {keyed(k, prefix): v for k, v in value.items()}
        return value

    tag = uuid.uuid4().hex[:8]
    sync = ClusterClient(redis_cluster.startup_nodes)
    async with AsyncClient(redis_cluster.startup_nodes) as c:
        for name, args, kwargs in calls:
            expected = getattr(sync, name)(*keyed(list(args), "{aio:sync:" + tag + "}"), **kwargs)
            got = await getattr(c, name)(*keyed(list(args), "{aio:async:" + tag + "}"), **kwargs)
            if name in ("xread", "xreadgroup", "zmpop", "bzpopmin", "zscan"):
                expected, got = repr(expected).replace("sync:", ""), repr(got).replace("async:", "")
            assert got == expected and type(got) is type(expected), name
    sync.delete(*(f"{{aio:{side}:{tag}}}{k}" for side in ("sync", "async") for k in ("z", "s")))
    sync.close()


def test_a_pipeline_converts_sorted_set_and_stream_replies_at_execute(both):
    c = both.ours
    t = "{" + uuid.uuid4().hex[:8] + "}"
    pipe = c.pipeline()
    pipe.zadd(f"{t}z", {"a": 1, "b": 2}).zscore(f"{t}z", "a").zrange(f"{t}z", 0, -1, withscores=True)
    pipe.zpopmin(f"{t}z").xadd(f"{t}s", {"f": "v"}, id="1-0").xrange(f"{t}s").xinfo_stream(f"{t}s")
    added, score, ranged, popped, new_id, entries, info = pipe.execute()
    assert (added, score, ranged, popped) == (2, 1.0, [(b"a", 1.0), (b"b", 2.0)], [(b"a", 1.0)])
    assert new_id == b"1-0" and entries == [(b"1-0", {b"f": b"v"})]
    assert info["length"] == 1 and info["first-entry"] == (b"1-0", {b"f": b"v"})
    c.delete(f"{t}z", f"{t}s")


@pytest.mark.parametrize(
    "call",
    [
        lambda c, t: c.zrange(f"{t}z", 0, -1, withscores=True),
        lambda c, t: c.zscan(f"{t}z"),
        lambda c, t: c.xrange(f"{t}s"),
        lambda c, t: c.xreadgroup("g", "bob", {f"{t}s": ">"}),
        lambda c, t: c.xinfo_stream(f"{t}s"),
        lambda c, t: c.xpending(f"{t}s", "g"),
        lambda c, t: c.xautoclaim(f"{t}s", "g", "bob", 0),
    ],
)
def test_decoded_replies_are_redis_pys(redis_cluster, call):
    pair = Both(redis_cluster.startup_nodes, decode_responses=True)
    try:
        pair.same(call, setup=lambda c, t: (zsets(c, t), group(c, t)))
    finally:
        pair.close()


def test_decoded_zmpop_scores_are_str_as_redis_pys_protocol_2_callbacks(redis_cluster):
    # redis-py's default re-encodes these scores to bytes even with decode_responses=True; protocol 2 gives str.
    pair = protocol_2(redis_cluster.startup_nodes, decode_responses=True)
    try:
        popped = pair.same(lambda c, t: c.zmpop(1, [f"{t}z"], min=True), setup=zsets)
    finally:
        pair.close()
    assert popped[1] == [["a", "1"]]


def test_zscan_iter_walks_a_sorted_set_larger_than_one_page(both):
    def big(c, t):
        c.zadd(f"{t}big", {f"m{i}": i / 2 for i in range(300)})  # past the listpack encoding: real cursors

    got = both.same(lambda c, t: sorted(c.zscan_iter(f"{t}big", count=40)), setup=big)
    assert len(got) == 300 and got[0] == (b"m0", 0.0)
    both.same(lambda c, t: sorted(c.zscan_iter(f"{t}big", match="m1*", score_cast_func=int)), setup=big)


async def test_zscan_iter_is_an_async_iterator_on_the_asyncio_client(redis_cluster):
    key = "{" + uuid.uuid4().hex + "}zs"
    async with AsyncClient(redis_cluster.startup_nodes) as c:
        await c.zadd(key, {f"m{i}": i for i in range(300)})
        got = sorted([pair async for pair in c.zscan_iter(key, count=50)])
        assert len(got) == 300 and (b"m7", 7.0) in got
        await c.delete(key)
