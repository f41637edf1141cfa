"""The argv, routing door and argument errors of the string, key, bitmap and HyperLogLog methods, and their reply
conversions, with no server (tests/recorder.py's recording doors)."""

from __future__ import annotations

import datetime

import pytest
from recorder import Recorder

from rediscluster_lite.api import REPLY_BY_COMMAND, bitmaps, keys, strings
from rediscluster_lite.errors import DataError

r = Recorder()
HOUR = datetime.timedelta(hours=1)
WHEN = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)


class FramedRecorder(Recorder):
    """Also returns what the framed fast path would send (plain GET and SET)."""

    def _framed(self, entry: tuple) -> tuple:
        return entry


# --- strings ---------------------------------------------------------------------------------------


def test_plain_get_and_set_stay_on_the_framed_path():
    f = FramedRecorder()
    assert f.get("k")[0] == b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
    packed, _, readonly, convert = f.set("k", memoryview(b"v"))
    assert packed == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n" and readonly is False
    assert convert(b"OK") is True


def test_set_turns_timedeltas_and_datetimes_into_whole_units():
    assert r.set("k", "v", ex=HOUR).args == (b"SET", "k", "v", b"EX", 3600)
    assert r.set("k", "v", px=HOUR).args == (b"SET", "k", "v", b"PX", 3600000)
    assert r.set("k", "v", exat=WHEN).args == (b"SET", "k", "v", b"EXAT", 1893456000)
    assert r.set("k", "v", pxat=WHEN).args == (b"SET", "k", "v", b"PXAT", 1893456000000)


def test_set_puts_its_condition_then_get_then_the_expiry():
    sent = r.set("k", "v", nx=True, get=True, ex=5)
    assert sent.args == (b"SET", "k", "v", b"NX", b"GET", b"EX", 5)
    assert sent.convert is None  # the old value as it is
    assert r.set("k", "v", xx=True, keepttl=True).args == (b"SET", "k", "v", b"XX", b"KEEPTTL")
    assert r.set("k", "v", ifeq="old").args == (b"SET", "k", "v", b"IFEQ", "old")
    assert r.set("k", "v", nx=True).convert(None) is None


@pytest.mark.parametrize(
    "call",
    [
        lambda: r.set("k", "v", ex=1, px=1),
        lambda: r.set("k", "v", ex=1, keepttl=True),
        lambda: r.set("k", "v", exat=1, pxat=1),
        lambda: r.set("k", "v", nx=True, xx=True),
        lambda: r.set("k", "v", xx=True, ifne="x"),
        lambda: r.set("k", "v", ex="soon"),
        lambda: r.getex("k", ex=1, persist=True),
        lambda: r.getex("k", px=1, exat=2),
        lambda: r.setex("k", 1.5, "v"),
    ],
)
def test_refused_argument_mixes_are_data_errors_before_io(call):
    with pytest.raises(DataError):
        call()


def test_getex_sends_one_expiry_or_persist():
    assert r.getex("k").args == (b"GETEX", "k")
    assert r.getex("k", px=HOUR).args == (b"GETEX", "k", b"PX", 3600000)
    assert r.getex("k", persist=True).args == (b"GETEX", "k", b"PERSIST")


def test_setex_and_psetex_take_timedeltas_and_answer_bools():
    sent = r.setex("k", HOUR, "v")
    assert sent.args == (b"SETEX", "k", 3600, "v") and sent.convert(b"OK") is True
    assert r.psetex("k", HOUR, "v").args == (b"PSETEX", "k", 3600000, "v")


def test_incr_and_decr_send_the_by_forms():
    assert r.incr("k").args == (b"INCRBY", "k", 1)
    assert r.decr("k", 3).args == (b"DECRBY", "k", 3)
    assert r.incrbyfloat("k", 0.5).convert(b"1.5") == 1.5


def test_substr_defaults_to_the_end_and_reads():
    sent = r.substr("k", 2)
    assert (sent.args, sent.readonly) == ((b"SUBSTR", "k", 2, -1), True)


def test_lcs_needs_both_keys_in_one_slot_and_sends_its_flags():
    sent = r.lcs("{t}a", "{t}b", idx=True, minmatchlen=2, withmatchlen=True)
    assert sent.door == "multi_keyed" and sent.keys == ("{t}a", "{t}b") and sent.readonly
    assert sent.args == (b"LCS", "{t}a", "{t}b", b"IDX", b"MINMATCHLEN", 2, b"WITHMATCHLEN")


# --- keys ------------------------------------------------------------------------------------------


def test_expiries_take_timedeltas_datetimes_and_flags():
    assert r.expire("k", HOUR, nx=True).args == (b"EXPIRE", "k", 3600, b"NX")
    assert r.pexpire("k", HOUR, gt=True).args == (b"PEXPIRE", "k", 3600000, b"GT")
    assert r.expireat("k", WHEN, xx=True).args == (b"EXPIREAT", "k", 1893456000, b"XX")
    assert r.pexpireat("k", WHEN, lt=True).args == (b"PEXPIREAT", "k", 1893456000000, b"LT")
    assert r.expire("k", 1).convert(1) is True


def test_mset_nonatomic_answers_one_bool_per_slot():
    sent = r.mset_nonatomic({"a": 1, "b": 2})
    assert sent.door == "split_by_slot" and sent.args == (b"MSET", "a", 1, "b", 2) and sent.keys == ("a", "b")
    assert keys.combine_each_ok([], [b"OK", "OK"], 2) == [True, True]
    assert r.mget_nonatomic(["a", "b"], "c").args == (b"MGET", "a", "b", "c")


def test_copy_rename_and_msetnx_route_by_every_key():
    sent = r.copy("{t}a", "{t}b", replace=True)
    assert (sent.door, sent.args, sent.keys) == ("multi_keyed", (b"COPY", "{t}a", "{t}b", b"REPLACE"), ("{t}a", "{t}b"))
    assert r.renamenx("{t}a", "{t}b").convert(0) is False
    assert r.msetnx({"{t}a": 1, "{t}b": 2}).keys == ("{t}a", "{t}b")


def test_restore_sends_its_options_and_refuses_non_integers():
    sent = r.restore("k", 0, b"payload", replace=True, absttl=True, idletime="5", frequency=3)
    assert sent.args == (b"RESTORE", "k", 0, b"payload", b"REPLACE", b"ABSTTL", b"IDLETIME", 5, b"FREQ", 3)
    with pytest.raises(DataError):
        r.restore("k", 0, b"payload", idletime="soon")


def test_object_and_randomkey_read():
    sent = r.object("encoding", "k")
    assert (sent.args, sent.keys, sent.readonly) == ((b"OBJECT", "encoding", "k"), ("k",), True)
    sent = r.randomkey()
    assert (sent.door, sent.args, sent.readonly) == ("keyless", (b"RANDOMKEY",), True)


def test_sort_routes_by_the_keys_its_patterns_and_store_touch():
    sent = r.sort("{t}l", by="{t}w_*", get=["#", "{t}o_*"], start=0, num=2, desc=True, alpha=True, store="{t}d")
    assert sent.door == "multi_keyed" and sent.keys == ("{t}l", "{t}w_*", "{t}o_*", "{t}d")
    assert sent.args == (
        b"SORT", "{t}l", b"BY", "{t}w_*", b"LIMIT", 0, 2, b"GET", "#", b"GET", "{t}o_*", b"DESC", b"ALPHA",
        b"STORE", "{t}d",
    )  # fmt: skip
    plain = r.sort("l", by="nosort", get="#")
    assert plain.door == "keyed" and plain.readonly is False


def test_sort_groups_its_reply_by_the_get_patterns():
    sent = r.sort("{t}l", get=["#", "{t}o_*"], groups=True)
    assert sent.convert([b"1", b"a", b"2", b"b"]) == [(b"1", b"a"), (b"2", b"b")]
    assert sent.convert([]) == []
    for bad in ({"get": "#"}, {"get": ["#"]}, {}):
        with pytest.raises(DataError):
            r.sort("{t}l", groups=True, **bad)
    with pytest.raises(DataError):
        r.sort("l", start=1)


def test_sort_ro_sends_sort_ro_and_may_read_from_replicas():
    sent = r.sort_ro("l", alpha=True)
    assert (sent.args, sent.readonly) == ((b"SORT_RO", "l", b"ALPHA"), True)


# --- bitmaps and HyperLogLog -----------------------------------------------------------------------


def test_setbit_sends_a_truthy_value_as_one():
    assert r.setbit("k", 7, 5).args == (b"SETBIT", "k", 7, 1)
    assert r.setbit("k", 7, 0).args == (b"SETBIT", "k", 7, 0)


def test_bitcount_and_bitpos_send_their_ranges_and_check_them():
    assert r.bitcount("k").args == (b"BITCOUNT", "k")
    assert r.bitcount("k", 0, 5, "BIT").args == (b"BITCOUNT", "k", 0, 5, "BIT")
    assert r.bitpos("k", 1, 2).args == (b"BITPOS", "k", 1, 2)
    assert r.bitpos("k", 0, 2, 4, "BYTE").args == (b"BITPOS", "k", 0, 2, 4, "BYTE")
    for call in (lambda: r.bitcount("k", 0), lambda: r.bitcount("k", end=3), lambda: r.bitpos("k", 2)):
        with pytest.raises(DataError):
            call()
    with pytest.raises(DataError):
        r.bitpos("k", 1, end=3)


def test_bitop_pfcount_and_pfmerge_need_one_slot():
    assert r.bitop("AND", "{t}d", "{t}a", "{t}b").keys == ("{t}d", "{t}a", "{t}b")
    sent = r.pfcount("{t}a", "{t}b")
    assert (sent.door, sent.readonly) == ("multi_keyed", True)
    assert r.pfmerge("{t}d", "{t}a").convert(b"OK") is True


def test_the_bitfield_builder_sends_one_command_through_the_door_and_resets():
    op = r.bitfield("k", default_overflow="sat")
    assert isinstance(op, bitmaps.BitFieldOperation)
    op.set("u8", 0, 200).incrby("u8", "#1", 100, overflow="fail").get("i4", 3).incrby("u8", 0, 1)
    sent = op.execute()
    assert sent.door == "keyed" and sent.keys == ("k",) and sent.readonly is False
    assert sent.args == (
        b"BITFIELD", "k", b"OVERFLOW", "SAT", b"SET", "u8", 0, 200, b"OVERFLOW", "FAIL", b"INCRBY", "u8", "#1", 100,
        b"GET", "i4", 3, b"INCRBY", "u8", 0, 1,
    )  # fmt: skip
    assert op.command == [b"BITFIELD", "k", b"OVERFLOW", "SAT"]
    assert r.bitfield("k").command == [b"BITFIELD", "k"]


def test_bitfield_ro_reads_every_field_it_is_given():
    sent = r.bitfield_ro("k", "u8", 0, items=[("i4", "#2")])
    assert (sent.args, sent.readonly) == ((b"BITFIELD_RO", "k", b"GET", "u8", 0, b"GET", "i4", "#2"), True)


def test_execute_command_converts_these_families_as_redis_py():
    for name in ("SETNX", "PSETEX", "COPY", "EXPIREAT", "RENAMENX", "MSETNX"):
        assert REPLY_BY_COMMAND[name](1) is True, name
    assert REPLY_BY_COMMAND["RENAME"](b"OK") is True and REPLY_BY_COMMAND["PFMERGE"](b"OK") is True
    assert REPLY_BY_COMMAND["INCRBYFLOAT"](b"2.5") == 2.5
    assert strings.REPLIES["SETEX"](b"OK") is True
