"""The string, key, bitmap and HyperLogLog commands give what redis-py's ``RedisCluster`` gives, on the same
cluster and state; the asyncio client gives the same as the blocking one; a pipeline converts at execute()."""

from __future__ import annotations

import datetime
import uuid

import pytest
from compat import Both

from rediscluster_lite import ClusterClient
from rediscluster_lite.asyncio import ClusterClient as AsyncClient
from rediscluster_lite.errors import CrossSlotError

HOUR = datetime.timedelta(hours=1)
WHEN = datetime.datetime(2031, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)


@pytest.fixture(scope="module")
def both(redis_cluster):
    pair = Both(redis_cluster.startup_nodes)
    yield pair
    pair.close()


def seed(c, t):
    c.set(f"{t}s", "hello")
    c.set(f"{t}n", 10)


# --- strings ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c, t: (c.set(f"{t}a", memoryview(b"mv")), c.get(f"{t}a")),
        lambda c, t: (c.set(f"{t}a", bytearray(b"ba")), c.get(f"{t}a"), c.append(f"{t}a", bytearray(b"!"))),
        lambda c, t: (c.set(f"{t}s", "x", nx=True), c.set(f"{t}new", "x", nx=True), c.get(f"{t}new")),
        lambda c, t: (c.set(f"{t}s", "x", xx=True), c.set(f"{t}new", "x", xx=True)),
        lambda c, t: (c.set(f"{t}s", "x", get=True), c.set(f"{t}new", "x", get=True, nx=True)),
        lambda c, t: (c.set(f"{t}s", "x", ex=HOUR), c.ttl(f"{t}s"), c.set(f"{t}s", "y", keepttl=True), c.ttl(f"{t}s")),
        lambda c, t: (c.set(f"{t}s", "x", px=HOUR), c.pttl(f"{t}s") > 3_500_000),
        lambda c, t: (c.set(f"{t}s", "x", exat=WHEN), c.expiretime(f"{t}s")),
        lambda c, t: (c.set(f"{t}s", "x", pxat=WHEN), c.pexpiretime(f"{t}s")),
        lambda c, t: (c.set(f"{t}s", "x", ex=100), c.ttl(f"{t}s")),
        lambda c, t: c.set(f"{t}s", "x", ex=1, px=1),
        lambda c, t: c.set(f"{t}s", "x", nx=True, xx=True),
        lambda c, t: c.set(f"{t}s", "x", ifeq="hello"),  # the 7.0 server lacks IFEQ: the same error
        lambda c, t: (c.setnx(f"{t}s", "x"), c.setnx(f"{t}new", "x")),
        lambda c, t: (c.setex(f"{t}s", HOUR, "x"), c.ttl(f"{t}s"), c.psetex(f"{t}p", 100_000, "y"), c.get(f"{t}p")),
        lambda c, t: (c.getset(f"{t}s", "x"), c.getset(f"{t}new", "x")),
        lambda c, t: (c.getdel(f"{t}s"), c.getdel(f"{t}s"), c.exists(f"{t}s")),
        lambda c, t: (c.getex(f"{t}s", ex=100), c.ttl(f"{t}s"), c.getex(f"{t}s", persist=True), c.ttl(f"{t}s")),
        lambda c, t: (c.getex(f"{t}s", exat=WHEN), c.expiretime(f"{t}s"), c.getex(f"{t}missing", px=HOUR)),
        lambda c, t: (c.getex(f"{t}s", pxat=WHEN), c.pexpiretime(f"{t}s"), c.getex(f"{t}s")),
        lambda c, t: c.getex(f"{t}s", ex=1, persist=True),
        lambda c, t: (c.incr(f"{t}n"), c.incr(f"{t}n", 5), c.incrby(f"{t}n", 2), c.decr(f"{t}n"), c.decrby(f"{t}n", 3)),
        lambda c, t: (c.incrbyfloat(f"{t}n", 0.25), c.incrbyfloat(f"{t}f"), c.get(f"{t}n")),
        lambda c, t: c.incr(f"{t}s"),
        lambda c, t: (c.append(f"{t}s", " world"), c.strlen(f"{t}s"), c.strlen(f"{t}missing")),
        lambda c, t: (c.getrange(f"{t}s", 1, 3), c.substr(f"{t}s", 2), c.substr(f"{t}s", 0, 1)),
        lambda c, t: (c.setrange(f"{t}s", 2, "LL"), c.setrange(f"{t}pad", 3, b"x"), c.get(f"{t}pad")),
        lambda c, t: (c.mget(f"{t}s", f"{t}n", f"{t}missing"), c.mget([f"{t}s", f"{t}n"])),
        lambda c, t: (c.mset({f"{t}a": 1, f"{t}b": b"2"}), c.mget([f"{t}a", f"{t}b"])),
        lambda c, t: (c.msetnx({f"{t}a": 1, f"{t}b": 2}), c.msetnx({f"{t}a": 3, f"{t}c": 4}), c.get(f"{t}c")),
        lambda c, t: c.msetnx({f"{t}a": 1, "elsewhere": 2}),
    ],
)
def test_string_commands_reply_as_redis_py(both, call):
    both.same(call, setup=seed)


@pytest.mark.parametrize(
    "call",
    [
        lambda c, t: c.lcs(f"{t}x", f"{t}y"),
        lambda c, t: c.lcs(f"{t}x", f"{t}y", len=True),
        lambda c, t: c.lcs(f"{t}x", f"{t}y", idx=True),
        lambda c, t: c.lcs(f"{t}x", f"{t}y", idx=True, minmatchlen=4, withmatchlen=True),
        lambda c, t: c.lcs(f"{t}x", "elsewhere"),
    ],
)
def test_lcs_replies_as_redis_py(both, call):
    both.same(call, setup=lambda c, t: c.mset({f"{t}x": "ohmytext", f"{t}y": "mynewtext"}))


def test_the_nonatomic_aliases_span_slots_as_redis_py(both):
    def call(c, t):
        names = [f"{t[1:-1]}:{i}" for i in range(6)]
        result = (c.mset_nonatomic({n: i for i, n in enumerate(names)}), c.mget_nonatomic(names, "nowhere:x"))
        return result, c.delete(*names)

    ((per_slot, values), deleted) = both.same(call)
    assert len(per_slot) > 1 and values[-1] is None and deleted == 6


# --- keys ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c, t: (c.exists(f"{t}s", f"{t}n", f"{t}s", f"{t}missing"), c.touch(f"{t}s", f"{t}missing")),
        lambda c, t: (c.unlink(f"{t}s", f"{t}missing"), c.delete(f"{t}n", f"{t}n"), c.exists(f"{t}s")),
        lambda c, t: (c.copy(f"{t}s", f"{t}c"), c.copy(f"{t}s", f"{t}n"), c.copy(f"{t}s", f"{t}n", replace=True)),
        lambda c, t: (c.get(f"{t}n"), c.copy(f"{t}missing", f"{t}c")),
        lambda c, t: c.copy(f"{t}s", f"{t}c", destination_db="1"),
        lambda c, t: c.copy(f"{t}s", "elsewhere"),
        lambda c, t: (c.dump(f"{t}s"), c.dump(f"{t}missing")),
        lambda c, t: (c.restore(f"{t}r", 0, c.dump(f"{t}s")), c.get(f"{t}r"), c.ttl(f"{t}r")),
        lambda c, t: c.restore(f"{t}n", 0, c.dump(f"{t}s")),
        lambda c, t: (c.restore(f"{t}n", 100_000, c.dump(f"{t}s"), replace=True), c.get(f"{t}n"), c.ttl(f"{t}n")),
        lambda c, t: (
            c.restore(f"{t}r", int(WHEN.timestamp() * 1000), c.dump(f"{t}s"), absttl=True),
            c.expiretime(f"{t}r"),
        ),
        lambda c, t: (c.restore(f"{t}r", 0, c.dump(f"{t}s"), idletime=50), c.object("idletime", f"{t}r") >= 50),
        lambda c, t: c.restore(f"{t}r", 0, c.dump(f"{t}s"), frequency=5),  # LRU policy: the same error
        lambda c, t: (
            c.expire(f"{t}s", HOUR),
            c.ttl(f"{t}s"),
            c.expire(f"{t}s", 10, nx=True),
            c.expire(f"{t}missing", 5),
        ),
        lambda c, t: (
            c.expire(f"{t}s", 100),
            c.expire(f"{t}s", 50, gt=True),
            c.expire(f"{t}s", 50, lt=True),
            c.ttl(f"{t}s"),
        ),
        lambda c, t: (c.expire(f"{t}s", 100, xx=True), c.pexpire(f"{t}s", HOUR), c.pttl(f"{t}s") > 3_500_000),
        lambda c, t: (
            c.pexpire(f"{t}s", 100_000, nx=True),
            c.pexpire(f"{t}s", 5_000, lt=True),
            c.pttl(f"{t}s") <= 5000,
        ),
        lambda c, t: (c.expireat(f"{t}s", WHEN), c.expiretime(f"{t}s"), c.expireat(f"{t}s", WHEN, nx=True)),
        lambda c, t: (c.expireat(f"{t}s", int(WHEN.timestamp()) + 5, gt=True), c.expiretime(f"{t}s")),
        lambda c, t: (c.pexpireat(f"{t}s", WHEN), c.pexpiretime(f"{t}s"), c.pexpireat(f"{t}s", WHEN, xx=True)),
        lambda c, t: (c.pexpireat(f"{t}s", int(WHEN.timestamp() * 1000) - 5, lt=True), c.pexpiretime(f"{t}s")),
        lambda c, t: (c.expiretime(f"{t}s"), c.expiretime(f"{t}missing"), c.pexpiretime(f"{t}missing")),
        lambda c, t: c.expire(f"{t}s", 10, nx=True, xx=True),
        lambda c, t: (c.expire(f"{t}s", 100), c.persist(f"{t}s"), c.persist(f"{t}s"), c.ttl(f"{t}s"), c.pttl(f"{t}s")),
        lambda c, t: (c.ttl(f"{t}missing"), c.pttl(f"{t}missing"), c.type(f"{t}s"), c.type(f"{t}missing")),
        lambda c, t: (c.rpush(f"{t}l", 1), c.type(f"{t}l"), c.sadd(f"{t}set", 1), c.type(f"{t}set")),
        lambda c, t: (c.rename(f"{t}s", f"{t}r"), c.get(f"{t}r"), c.exists(f"{t}s")),
        lambda c, t: c.rename(f"{t}missing", f"{t}r"),
        lambda c, t: c.rename(f"{t}s", "elsewhere"),
        lambda c, t: (c.renamenx(f"{t}s", f"{t}n"), c.renamenx(f"{t}s", f"{t}r"), c.get(f"{t}r")),
        lambda c, t: (c.object("encoding", f"{t}s"), c.object("encoding", f"{t}n"), c.object("refcount", f"{t}s")),
        lambda c, t: (c.object("idletime", f"{t}s"), c.object("encoding", f"{t}missing")),
        lambda c, t: c.object("freq", f"{t}s"),  # LRU policy: the same error
    ],
)
def test_key_commands_reply_as_redis_py(both, call):
    both.same(call, setup=seed)


def test_randomkey_gives_a_key_of_a_master_or_none(both):
    names = [f"randomkey:{uuid.uuid4().hex}" for _ in range(30)]  # keys of many slots: every master holds some
    both.ours.mset_nonatomic(dict.fromkeys(names, 1))
    found = [both.ours.randomkey() for _ in range(10)]
    assert all(type(k) is bytes for k in found) and type(both.theirs.randomkey()) is bytes
    both.ours.delete(*names)


def sort_setup(c, t):
    c.rpush(f"{t}l", 3, 1, 2)
    c.rpush(f"{t}words", "b", "c", "a")
    c.mset({f"{t}w_1": 30, f"{t}w_2": 10, f"{t}w_3": 20, f"{t}o_1": "one", f"{t}o_2": "two", f"{t}o_3": "three"})


@pytest.mark.parametrize(
    "call",
    [
        lambda c, t: c.sort(f"{t}l"),
        lambda c, t: (c.sort(f"{t}l", desc=True), c.sort(f"{t}l", start=1, num=1)),
        lambda c, t: (c.sort(f"{t}words", alpha=True), c.sort(f"{t}words")),
        lambda c, t: (c.sort(f"{t}l", by=f"{t}w_*"), c.sort(f"{t}l", by="nosort")),
        lambda c, t: c.sort(f"{t}l", get=f"{t}o_*"),
        lambda c, t: c.sort(f"{t}l", get=["#", f"{t}o_*"], groups=True),
        lambda c, t: c.sort(f"{t}l", get=["#", f"{t}o_*"]),
        lambda c, t: c.sort(f"{t}l", get="#", groups=True),
        lambda c, t: c.sort(f"{t}l", start=1),
        lambda c, t: (c.sort(f"{t}l", by=f"{t}w_*", store=f"{t}d"), c.lrange(f"{t}d", 0, -1)),
        lambda c, t: (c.sort(f"{t}missing"), c.sort(f"{t}missing", get=["#", f"{t}o_*"], groups=True)),
        lambda c, t: (c.sort_ro(f"{t}l"), c.sort_ro(f"{t}words", alpha=True, desc=True, start=0, num=2)),
        lambda c, t: c.sort_ro(f"{t}l", by=f"{t}w_*", get=["#", f"{t}o_*"]),
    ],
)
def test_sort_replies_as_redis_py(both, call):
    both.same(call, setup=sort_setup)


def test_sort_refuses_patterns_or_store_of_another_slot_before_io(both):
    with pytest.raises(CrossSlotError):
        both.ours.sort("{a}l", store="{b}d")
    with pytest.raises(CrossSlotError):
        both.ours.sort("{a}l", by="w_*")


# --- bitmaps and HyperLogLog -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c, t: (
            c.setbit(f"{t}b", 7, 1),
            c.setbit(f"{t}b", 7, 0),
            c.setbit(f"{t}b", 9, True),
            c.getbit(f"{t}b", 9),
        ),
        lambda c, t: (c.bitcount(f"{t}s"), c.bitcount(f"{t}s", 1, 2), c.bitcount(f"{t}s", 0, 10, "BIT")),
        lambda c, t: c.bitcount(f"{t}s", 1),
        lambda c, t: (
            c.bitpos(f"{t}s", 1),
            c.bitpos(f"{t}s", 0, 1),
            c.bitpos(f"{t}s", 1, 1, 3),
            c.bitpos(f"{t}s", 1, 2, 30, "BIT"),
        ),
        lambda c, t: c.bitpos(f"{t}s", 3),
        lambda c, t: (c.bitop("AND", f"{t}d", f"{t}s", f"{t}n"), c.get(f"{t}d"), c.bitop("NOT", f"{t}e", f"{t}s")),
        lambda c, t: c.bitop("OR", f"{t}d", "elsewhere"),
        lambda c, t: c.bitfield(f"{t}f").set("u8", 0, 200).incrby("u8", 0, 100).get("u4", "#1").execute(),
        lambda c, t: c.bitfield(f"{t}f", default_overflow="SAT").incrby("u8", 0, 300).execute(),
        lambda c, t: (
            c.bitfield(f"{t}f").incrby("u8", 0, 300, overflow="fail").overflow("wrap").incrby("u8", 0, 300).execute()
        ),
        lambda c, t: (
            c.setbit(f"{t}f", 3, 1),
            c.bitfield_ro(f"{t}f", "u8", 0),
            c.bitfield_ro(f"{t}f", "u4", 0, items=[("i4", "#1")]),
        ),
        lambda c, t: (c.pfadd(f"{t}h", "a", "b", "c"), c.pfadd(f"{t}h", "a"), c.pfadd(f"{t}g", b"x", memoryview(b"y"))),
        lambda c, t: (
            c.pfadd(f"{t}h", "a", "b"),
            c.pfadd(f"{t}g", "c"),
            c.pfcount(f"{t}h"),
            c.pfcount(f"{t}h", f"{t}g"),
        ),
        lambda c, t: (c.pfadd(f"{t}h", "a"), c.pfmerge(f"{t}m", f"{t}h", f"{t}missing"), c.pfcount(f"{t}m")),
        lambda c, t: c.pfcount(f"{t}h", "elsewhere"),
        lambda c, t: c.pfmerge(f"{t}m", "elsewhere"),
    ],
)
def test_bitmap_and_hyperloglog_commands_reply_as_redis_py(both, call):
    both.same(call, setup=seed)


# --- the asyncio client and pipelines --------------------------------------------------------------


async def test_the_asyncio_client_gives_the_same_replies(redis_cluster):
    calls = [
        ("set", ("K:s", "hello"), {"ex": HOUR}),
        ("set", ("K:s", "x"), {"get": True, "xx": True}),
        ("getex", ("K:s",), {"persist": True}),
        ("setex", ("K:e", 100, "v"), {}),
        ("psetex", ("K:p", 100_000, "v"), {}),
        ("setnx", ("K:s", "v"), {}),
        ("getset", ("K:s", "hello"), {}),
        ("incrbyfloat", ("K:f", 1.5), {}),
        ("decr", ("K:i",), {}),
        ("substr", ("K:s", 1), {}),
        ("lcs", ("K:s", "K:e"), {"idx": True}),
        ("msetnx", ({"K:a": 1, "K:b": 2},), {}),
        ("mset_nonatomic", ({"K:a": 1, "K:b": 2},), {}),
        ("mget_nonatomic", (["K:a", "K:b", "K:z"],), {}),
        ("copy", ("K:s", "K:c"), {}),
        ("expire", ("K:c", HOUR), {"nx": True}),
        ("expireat", ("K:c", WHEN), {}),
        ("expiretime", ("K:c",), {}),
        ("rename", ("K:c", "K:r"), {}),
        ("renamenx", ("K:r", "K:s"), {}),
        ("object", ("encoding", "K:s"), {}),
        ("rpush", ("K:l", 3, 1, 2), {}),
        ("sort", ("K:l",), {"start": 0, "num": 2}),
        ("sort_ro", ("K:l",), {"desc": True}),
        ("setbit", ("K:bits", 3, 1), {}),
        ("bitcount", ("K:bits",), {}),
        ("bitpos", ("K:bits", 1), {}),
        ("bitfield_ro", ("K:bits", "u8", 0), {}),
        ("pfadd", ("K:h", "a", "b"), {}),
        ("pfmerge", ("K:m", "K:h"), {}),
        ("pfcount", ("K:m",), {}),
        ("delete", ("K:s", "K:r", "K:l"), {}),
    ]

    def keyed(value, prefix: str):
        if isinstance(value, str):
            return value.replace("K:", prefix)
        if isinstance(value, dict):
            return {keyed(k, prefix): v for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(keyed(v, prefix) for v in value)
        return value

    tag = uuid.uuid4().hex[:8]
    sync = ClusterClient(redis_cluster.startup_nodes)
    async with AsyncClient(redis_cluster.startup_nodes) as c:
        for name, args, kwargs in calls:
            expected = getattr(sync, name)(*keyed(args, "{aio:sync:" + tag + "}"), **kwargs)
            got = await getattr(c, name)(*keyed(args, "{aio:async:" + tag + "}"), **kwargs)
            assert got == expected and type(got) is type(expected), name
        fields = await c.bitfield("{aio:async:" + tag + "}bf").set("u8", 0, 7).get("u8", 0).execute()
        assert fields == sync.bitfield("{aio:sync:" + tag + "}bf").set("u8", 0, 7).get("u8", 0).execute() == [0, 7]
        await c.delete(*[f"{{aio:async:{tag}}}{k}" for k in ("e", "p", "f", "i", "a", "b", "bits", "h", "m", "bf")])
    sync.delete(*[f"{{aio:sync:{tag}}}{k}" for k in ("e", "p", "f", "i", "a", "b", "bits", "h", "m", "bf")])
    sync.close()


def test_a_pipeline_converts_string_and_key_replies_at_execute(both):
    c = both.ours
    t = "{" + uuid.uuid4().hex[:8] + "}"
    pipe = c.pipeline()
    pipe.set(f"{t}s", "v", ex=HOUR).setex(f"{t}e", 100, "v").copy(f"{t}s", f"{t}c").expire(f"{t}c", 50, lt=True)
    pipe.incrbyfloat(f"{t}f", 2).rename(f"{t}c", f"{t}r").pfadd(f"{t}h", "a").pfmerge(f"{t}m", f"{t}h")
    pipe.rpush(f"{t}l", 2, 1).sort(f"{t}l", desc=True)
    pipe.bitfield(f"{t}b").set("u8", 0, 9).execute()
    assert pipe.execute() == [True, True, True, True, 2.0, True, 1, True, 2, [b"2", b"1"], [0]]
    c.delete(*[f"{t}{k}" for k in ("s", "e", "r", "f", "h", "m", "l", "b")])
