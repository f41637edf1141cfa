"""Which arguments are keys and which commands only read: from a real Redis 7 ``COMMAND`` reply
(tests/data/command_redis7.resp), and the built-in fallback table checked against it."""

from __future__ import annotations

from pathlib import Path

import pytest

from rediscluster_lite.commands import BUILTIN, CommandTable, command_name, slot_of_keys
from rediscluster_lite.errors import CrossSlotError
from rediscluster_lite.keyslot import key_slot
from rediscluster_lite.resp import new_reader

DATA = Path(__file__).resolve().parent / "data"


def _recorded_command_reply(encoding: str | None = None) -> list:
    reader = new_reader(encoding)
    reader.feed((DATA / "command_redis7.resp").read_bytes())
    reply = reader.gets()
    assert isinstance(reply, list) and len(reply) > 200
    return reply


SERVER = CommandTable.from_command_reply(_recorded_command_reply())
FALLBACK = CommandTable()


def argv(text: str) -> list[bytes]:
    return [part.encode() for part in text.split()]


def keys(table: CommandTable, command: str | list) -> list[bytes]:
    args = argv(command) if isinstance(command, str) else command
    spec = table.lookup(args)
    assert spec is not None, f"no spec for {args[0]!r}"
    return spec.keys(args)


def test_the_recorded_reply_builds_a_server_table():
    assert SERVER.from_server is True
    assert not FALLBACK.from_server
    assert len(SERVER) >= 200
    assert "get" in SERVER and "GET" in SERVER and "xreadgroup" in SERVER


def test_decoded_reply_builds_the_same_table():
    decoded = CommandTable.from_command_reply(_recorded_command_reply("utf-8"))
    for command in ("GET k", "MSET a 1 b 2", "EVAL s 2 k1 k2 x", "XREAD STREAMS s1 s2 0 0", "OBJECT ENCODING k"):
        assert keys(decoded, command) == keys(SERVER, command)
        assert decoded.lookup(argv(command)).readonly == SERVER.lookup(argv(command)).readonly


# --- keys from the server's table -----------------------------------------------------------------------

SERVER_KEYS = [
    ("GET k", ["k"]),
    ("SET k v EX 10 NX", ["k"]),
    ("MSET a 1 b 2 c 3", ["a", "b", "c"]),
    ("MGET a b c", ["a", "b", "c"]),
    ("DEL a b", ["a", "b"]),
    ("EVAL script 2 k1 k2 arg1 arg2", ["k1", "k2"]),
    ("EVAL script 0 arg1", []),
    ("EVALSHA abc123 1 k1 arg1", ["k1"]),
    ("EVAL_RO script 1 k1", ["k1"]),
    ("FCALL fn 2 k1 k2 arg", ["k1", "k2"]),
    ("FCALL_RO fn 1 k1", ["k1"]),
    ("ZUNIONSTORE dst 2 z1 z2 WEIGHTS 1 2", ["dst", "z1", "z2"]),
    ("ZINTERSTORE dst 1 z1", ["dst", "z1"]),
    ("ZUNION 2 z1 z2 WITHSCORES", ["z1", "z2"]),
    ("XREAD COUNT 2 BLOCK 0 STREAMS s1 s2 0 0", ["s1", "s2"]),
    ("XREAD STREAMS s1 $", ["s1"]),
    ("XREADGROUP GROUP g c COUNT 1 STREAMS s1 s2 > >", ["s1", "s2"]),
    ("XREADGROUP GROUP g c STREAMS s1 >", ["s1"]),
    ("SORT list BY w_* LIMIT 0 10 STORE dst", ["list", "dst"]),
    ("SORT list", ["list"]),
    ("SORT_RO list BY w_*", ["list"]),
    ("OBJECT ENCODING k", ["k"]),
    ("OBJECT FREQ k", ["k"]),
    ("OBJECT HELP", []),
    ("XINFO STREAM s FULL", ["s"]),
    ("MEMORY USAGE k", ["k"]),
    ("LMPOP 2 l1 l2 LEFT COUNT 1", ["l1", "l2"]),
    ("BLMPOP 0 2 l1 l2 LEFT", ["l1", "l2"]),
    ("ZINTERCARD 2 z1 z2 LIMIT 1", ["z1", "z2"]),
    ("GEORADIUS g 1 2 3 km STORE dst", ["g", "dst"]),
    ("GEORADIUS g 1 2 3 km STOREDIST dst", ["g", "dst"]),
    ("GEORADIUS g 1 2 3 km", ["g"]),
    ("BITOP AND dst a b", ["dst", "a", "b"]),
    ("RENAME a b", ["a", "b"]),
    ("LMOVE a b LEFT RIGHT", ["a", "b"]),
    ("MIGRATE host 6379 k 0 5000", ["k"]),
    ("PING", []),
    ("CLUSTER SLOTS", []),
    ("INFO server", []),
]


@pytest.mark.parametrize("command, expected", SERVER_KEYS, ids=[c for c, _ in SERVER_KEYS])
def test_keys_from_the_server_table(command, expected):
    assert keys(SERVER, command) == [k.encode() for k in expected]


@pytest.mark.parametrize(
    "command, expected",
    [
        ("MIGRATE host 6379 '' 0 5000 KEYS a b", ["a", "b"]),
        ("MIGRATE host 6379 '' 0 5000 COPY REPLACE KEYS a b", ["a", "b"]),
        ("MIGRATE host 6379 '' 0 5000 AUTH pw KEYS a", ["a"]),
        ("MIGRATE host 6379 '' 0 5000 AUTH2 user pw KEYS a b", ["a", "b"]),
        ("MIGRATE host 6379 '' 0 5000 AUTH KEYS KEYS a", ["a"]),  # a password that reads "KEYS"
    ],
)
@pytest.mark.parametrize("table", [SERVER, FALLBACK], ids=["server", "fallback"])
def test_migrate_with_keys_option_names_only_the_listed_keys(table, command, expected):
    # With KEYS, argument 3 must be the empty string and is not a key (Redis' migrateGetKeys).
    args = [b"" if part == "''" else part.encode() for part in command.split()]
    assert keys(table, args) == [k.encode() for k in expected]


def test_migrate_of_keys_sharing_a_tag_has_one_slot():
    args = [b"MIGRATE", b"h", b"6379", b"", b"0", b"5000", b"KEYS", b"a{t}", b"b{t}"]
    assert slot_of_keys(SERVER.lookup(args).keys(args)) == key_slot(b"{t}")


def test_key_arguments_keep_their_type():
    args = ["GET", "k"]
    assert SERVER.lookup(args).keys(args) == ["k"]
    args = [b"MGET", memoryview(b"a"), 7]
    assert SERVER.lookup(args).keys(args) == [args[1], 7]


def test_lookup_ignores_case_of_command_and_subcommand():
    for head in (b"get", b"GET", "Get", bytearray(b"gEt")):
        assert SERVER.lookup([head, b"k"]).name == "get"
    assert SERVER.lookup([b"object", b"encoding", b"k"]).name == "object|encoding"
    assert SERVER.lookup(["OBJECT", "Encoding", "k"]).name == "object|encoding"


def test_unknown_command_has_no_spec():
    assert SERVER.lookup([b"NOSUCHCOMMAND", b"k"]) is None
    assert FALLBACK.lookup([b"NOSUCHCOMMAND", b"k"]) is None


def test_container_command_with_unknown_subcommand_falls_back_to_the_container():
    spec = SERVER.lookup([b"OBJECT", b"NOSUCH", b"k"])
    assert spec is not None and spec.name == "object"


def test_command_name_rejects_non_text():
    assert command_name(b"GET") == "get"
    with pytest.raises(TypeError):
        command_name(1)


# --- read-only flags --------------------------------------------------------------------------------------

READONLY = [
    "GET k",
    "MGET a b",
    "EXISTS a",
    "HGETALL h",
    "LRANGE l 0 -1",
    "SMEMBERS s",
    "ZRANGE z 0 -1",
    "XREAD STREAMS s 0",
    "EVAL_RO s 1 k",
    "FCALL_RO f 1 k",
    "SORT_RO l",
    "OBJECT ENCODING k",
    "TTL k",
    "STRLEN k",
    "ZUNION 1 z",
    "GEOSEARCH g FROMLONLAT 0 0 BYRADIUS 1 km",
]
WRITES = [
    "SET k v",
    "MSET a 1",
    "DEL a",
    "INCR k",
    "EVAL s 1 k",
    "EVALSHA x 1 k",
    "FCALL f 1 k",
    "ZUNIONSTORE d 1 z",
    "XREADGROUP GROUP g c STREAMS s >",
    "SORT l",
    "SORT l STORE d",
    "XADD s * f v",
    "EXPIRE k 10",
    "LPUSH l v",
    "GETEX k",
    "GETDEL k",
    "BITOP AND d a",
    "MIGRATE h 1 k 0 1",
]


@pytest.mark.parametrize("command", READONLY)
def test_readonly_commands_are_readonly(command):
    assert SERVER.lookup(argv(command)).readonly is True


@pytest.mark.parametrize("command", WRITES)
def test_write_commands_are_not_readonly(command):
    assert SERVER.lookup(argv(command)).readonly is False


def test_keyless_admin_commands_are_not_readonly():
    # not "readonly": so they are never sent to a replica, and never resent after a broken connection
    for command in ("PING", "FLUSHALL", "CLUSTER SLOTS", "CONFIG SET x y", "SCRIPT FLUSH"):
        assert SERVER.lookup(argv(command)).readonly is False, command


# --- the built-in fallback table against the server's --------------------------------------------------------

COMMON = [
    "GET k",
    "SET k v EX 1",
    "SETNX k v",
    "SETEX k 1 v",
    "GETSET k v",
    "GETDEL k",
    "GETEX k PX 5",
    "APPEND k v",
    "INCR k",
    "INCRBY k 2",
    "INCRBYFLOAT k 1.5",
    "DECR k",
    "DECRBY k 2",
    "STRLEN k",
    "GETRANGE k 0 1",
    "SETRANGE k 0 v",
    "GETBIT k 1",
    "SETBIT k 1 1",
    "BITCOUNT k",
    "BITPOS k 1",
    "BITFIELD k GET u8 0",
    "MGET a b c",
    "MSET a 1 b 2",
    "MSETNX a 1 b 2",
    "DEL a b",
    "UNLINK a b",
    "EXISTS a b",
    "TOUCH a b",
    "EXPIRE k 1",
    "PEXPIRE k 1",
    "EXPIREAT k 1",
    "PEXPIREAT k 1",
    "PERSIST k",
    "TTL k",
    "PTTL k",
    "EXPIRETIME k",
    "TYPE k",
    "DUMP k",
    "RESTORE k 0 payload",
    "RENAME a b",
    "RENAMENX a b",
    "COPY a b",
    "OBJECT ENCODING k",
    "OBJECT REFCOUNT k",
    "HSET h f v",
    "HSETNX h f v",
    "HGET h f",
    "HMGET h f g",
    "HGETALL h",
    "HDEL h f",
    "HEXISTS h f",
    "HINCRBY h f 1",
    "HINCRBYFLOAT h f 1",
    "HKEYS h",
    "HVALS h",
    "HLEN h",
    "HSTRLEN h f",
    "HSCAN h 0",
    "HRANDFIELD h",
    "LPUSH l a",
    "RPUSH l a",
    "LPUSHX l a",
    "RPUSHX l a",
    "LPOP l",
    "RPOP l",
    "LRANGE l 0 1",
    "LLEN l",
    "LINDEX l 0",
    "LSET l 0 v",
    "LREM l 0 v",
    "LTRIM l 0 1",
    "LINSERT l BEFORE a b",
    "LPOS l a",
    "LMOVE a b LEFT LEFT",
    "RPOPLPUSH a b",
    "LMPOP 2 a b LEFT",
    "SADD s a",
    "SREM s a",
    "SMEMBERS s",
    "SISMEMBER s a",
    "SMISMEMBER s a b",
    "SCARD s",
    "SPOP s",
    "SRANDMEMBER s",
    "SSCAN s 0",
    "SMOVE a b m",
    "SDIFF a b",
    "SINTER a b",
    "SUNION a b",
    "SDIFFSTORE d a b",
    "SINTERSTORE d a b",
    "SUNIONSTORE d a b",
    "SINTERCARD 2 a b",
    "ZADD z 1 a",
    "ZREM z a",
    "ZSCORE z a",
    "ZMSCORE z a b",
    "ZINCRBY z 1 a",
    "ZCARD z",
    "ZCOUNT z 0 1",
    "ZRANK z a",
    "ZREVRANK z a",
    "ZRANGE z 0 1",
    "ZREVRANGE z 0 1",
    "ZRANGEBYSCORE z 0 1",
    "ZREVRANGEBYSCORE z 1 0",
    "ZRANGEBYLEX z - +",
    "ZREVRANGEBYLEX z + -",
    "ZLEXCOUNT z - +",
    "ZPOPMIN z",
    "ZPOPMAX z",
    "ZREMRANGEBYSCORE z 0 1",
    "ZREMRANGEBYRANK z 0 1",
    "ZREMRANGEBYLEX z - +",
    "ZRANDMEMBER z",
    "ZSCAN z 0",
    "ZUNIONSTORE d 2 a b",
    "ZINTERSTORE d 2 a b",
    "ZDIFFSTORE d 2 a b",
    "ZUNION 2 a b",
    "ZINTER 2 a b",
    "ZDIFF 2 a b",
    "ZINTERCARD 2 a b",
    "ZMPOP 2 a b MIN",
    "XADD s * f v",
    "XLEN s",
    "XRANGE s - +",
    "XREVRANGE s + -",
    "XDEL s 1-1",
    "XTRIM s MAXLEN 5",
    "XACK s g 1-1",
    "XGROUP CREATE s g $",
    "XCLAIM s g c 0 1-1",
    "XAUTOCLAIM s g c 0 0",
    "XREAD COUNT 1 STREAMS a b 0 0",
    "XREADGROUP GROUP g c STREAMS a b > >",
    "PFADD p a",
    "PFCOUNT p q",
    "PFMERGE d p q",
    "GEOADD g 0 0 m",
    "GEOPOS g m",
    "GEODIST g a b",
    "GEOHASH g m",
    "GEOSEARCH g FROMMEMBER m BYRADIUS 1 km",
    "EVAL s 2 a b x",
    "EVALSHA s 1 a x",
    "FCALL f 1 a x",
    "EVAL_RO s 1 a",
    "EVALSHA_RO s 1 a",
    "FCALL_RO f 1 a",
    "SORT l BY w STORE d",
    "SORT l",
    "SORT_RO l",
    "PING",
    "ECHO x",
    "INFO",
    "TIME",
    "DBSIZE",
    "FLUSHALL",
    "KEYS *",
    "SCAN 0",
    "RANDOMKEY",
]


@pytest.mark.parametrize("command", COMMON)
def test_fallback_table_finds_the_same_keys_as_the_server(command):
    args = argv(command)
    assert BUILTIN.get(args[0].decode().lower()) is not None, f"{args[0]!r} is missing from the built-in table"
    assert keys(FALLBACK, args) == keys(SERVER, args)


@pytest.mark.parametrize("command", COMMON)
def test_fallback_table_agrees_on_readonly(command):
    args = argv(command)
    assert FALLBACK.lookup(args).readonly == SERVER.lookup(args).readonly


def test_server_entries_override_the_fallback_and_others_are_kept():
    # a table from a reply that only knows GET still answers for SET from the fallback
    entry = _recorded_command_reply()
    only_get = [e for e in entry if e[0] == b"get"]
    table = CommandTable.from_command_reply(only_get)
    assert table.lookup(argv("GET k")) is not BUILTIN["get"]
    assert table.lookup(argv("SET k v")) is BUILTIN["set"]


def test_odd_entries_in_the_reply_are_skipped_not_fatal():
    reply = _recorded_command_reply()
    table = CommandTable.from_command_reply([[b"broken"], None, 7, *reply[:3], [b"mod.cmd", 2, None, b"x", 1, 1]])
    assert len(table) >= len(BUILTIN)


# --- slots of keys ---------------------------------------------------------------------------------------------


def test_slot_of_keys_same_tag_is_one_slot():
    assert slot_of_keys([b"{user:1}:a", "{user:1}:b", memoryview(b"{user:1}")]) == key_slot("user:1")


def test_slot_of_no_keys_is_none():
    assert slot_of_keys([]) is None


def test_slot_of_keys_across_slots_raises_cross_slot_naming_the_slots():
    a, b = key_slot("a"), key_slot("b")
    with pytest.raises(CrossSlotError) as info:
        slot_of_keys(["a", "b", "a"], "MSET")
    assert info.value.slots == (a, b)
    assert str(a) in str(info.value) and str(b) in str(info.value)
    assert "MSET" in str(info.value)


@pytest.mark.parametrize("bad", [None, object(), ["k"], {"k": 1}, True])
def test_slot_of_keys_rejects_wrong_key_types_with_type_error(bad):
    with pytest.raises(TypeError):
        slot_of_keys(["ok", bad])


def test_resp3_shaped_key_specs_give_the_same_keys():
    def to_dict(flat):
        if isinstance(flat, list) and len(flat) % 2 == 0 and all(isinstance(k, bytes) for k in flat[::2]):
            it = iter(flat)
            return {k: to_dict(v) if k in (b"begin_search", b"find_keys", b"spec") else v for k, v in zip(it, it)}
        return flat

    reply = _recorded_command_reply()
    wanted = {b"eval", b"xread", b"zunionstore", b"migrate", b"get"}
    entries = [[*e[:8], [to_dict(s) for s in e[8]], *e[9:]] for e in reply if e[0] in wanted]
    assert isinstance(entries[0][8][0], dict)
    table = CommandTable.from_command_reply(entries)
    for command in ("GET k", "EVAL s 2 a b x", "XREAD STREAMS s1 s2 0 0", "ZUNIONSTORE d 2 a b"):
        assert keys(table, command) == keys(SERVER, command)
    args = [b"MIGRATE", b"h", b"1", b"", b"0", b"5", b"KEYS", b"a"]
    assert keys(table, args) == [b"a"]
