"""The argv, routing door and argument errors of the sorted-set and stream methods, and their reply conversions,
with no server (tests/recorder.py's recording doors)."""

from __future__ import annotations

import pytest
from recorder import Recorder

from rediscluster_lite.api import REPLY_BY_COMMAND, stream_replies
from rediscluster_lite.api.sorted_sets import cast_with, score_pairs
from rediscluster_lite.errors import DataError

r = Recorder()


# --- sorted sets -----------------------------------------------------------------------------------


def test_zadd_sends_its_flags_in_redis_pys_order_then_score_member_pairs():
    sent = r.zadd("z", {"a": 1, "b": 2.5}, xx=True, ch=True, gt=True)
    assert (sent.door, sent.args, sent.readonly) == (
        "keyed",
        (b"ZADD", "z", b"XX", b"CH", b"GT", 1, "a", 2.5, "b"),
        False,
    )
    assert sent.convert is None


def test_zadd_with_incr_converts_to_a_float_or_none():
    sent = r.zadd("z", {"a": 1}, incr=True)
    assert sent.args == (b"ZADD", "z", b"INCR", 1, "a")
    assert sent.convert(b"2.5") == 2.5 and sent.convert(None) is None


@pytest.mark.parametrize(
    "call",
    [
        lambda: r.zadd("z", {}),
        lambda: r.zadd("z", {"a": 1}, nx=True, xx=True),
        lambda: r.zadd("z", {"a": 1}, gt=True, lt=True),
        lambda: r.zadd("z", {"a": 1, "b": 2}, incr=True),
        lambda: r.zadd("z", {"a": 1}, nx=True, gt=True),
        lambda: r.zmscore("z", []),
        lambda: r.zrange("z", 0, 1, byscore=True, bylex=True),
        lambda: r.zrange("z", 0, 1, offset=1),
        lambda: r.zrange("z", "-", "+", bylex=True, withscores=True),
        lambda: r.zrangestore("d", "z", 0, 1, num=2),
        lambda: r.zrangebyscore("z", 0, 1, start=1),
        lambda: r.zrevrangebyscore("z", 1, 0, num=1),
        lambda: r.zrangebylex("z", "-", "+", start=0),
        lambda: r.zrevrangebylex("z", "+", "-", num=0),
        lambda: r.zunion(["a", "b"], aggregate="avg"),
        lambda: r.zmpop(1, ["a"]),
        lambda: r.zmpop(1, ["a"], min=True, max=True),
        lambda: r.bzmpop(1, 1, ["a"]),
    ],
)
def test_sorted_set_argument_errors_are_data_errors_before_io(call):
    with pytest.raises(DataError):
        call()


def test_zrange_sends_byscore_rev_limit_withscores_in_order_and_converts_pairs():
    sent = r.zrange("z", "+inf", 0, desc=True, withscores=True, byscore=True, offset=0, num=5)
    assert sent.args == (b"ZRANGE", "z", "+inf", 0, b"BYSCORE", b"REV", b"LIMIT", 0, 5, b"WITHSCORES")
    assert sent.readonly and sent.convert([b"a", b"1.5"]) == [(b"a", 1.5)]


def test_a_plain_descending_zrange_is_sent_as_zrevrange():
    assert r.zrange("z", 0, -1, desc=True).args == (b"ZREVRANGE", "z", 0, -1)


def test_zrangestore_routes_by_both_keys_and_writes():
    sent = r.zrangestore("d", "z", "[a", "[c", bylex=True, desc=True)
    assert (sent.door, sent.keys, sent.readonly) == ("multi_keyed", ("d", "z"), False)
    assert sent.args == (b"ZRANGESTORE", "d", "z", "[a", "[c", b"BYLEX", b"REV")


def test_score_cast_func_falls_back_through_float_for_scientific_scores():
    assert score_pairs(int)([b"a", b"1e+18"]) == [(b"a", 10**18)]
    assert cast_with(float) is float
    assert score_pairs(float)([]) == []


def test_zrank_withscore_gives_rank_and_cast_score():
    sent = r.zrank("z", "a", withscore=True, score_cast_func=int)
    assert sent.args == (b"ZRANK", "z", "a", b"WITHSCORE")
    assert sent.convert([2, b"3"]) == [2, 3] and sent.convert(None) is None
    assert r.zrevrank("z", "a").convert is None


def test_zunion_with_a_mapping_sends_weights_and_routes_by_every_key():
    sent = r.zunion({"a": 2, "b": 0.5}, aggregate="max", withscores=True)
    assert sent.args == (b"ZUNION", 2, "a", "b", b"WEIGHTS", 2, 0.5, b"AGGREGATE", "max", b"WITHSCORES")
    assert (sent.door, sent.keys, sent.readonly) == ("multi_keyed", ("a", "b"), True)


def test_the_store_forms_route_by_dest_and_sources():
    assert r.zinterstore("d", ["a", "b"]).keys == ("d", "a", "b")
    assert r.zdiffstore("d", ["a", "b"]).args == (b"ZDIFFSTORE", "d", 2, "a", "b")
    assert r.zintercard(2, ["a", "b"]).args == (b"ZINTERCARD", 2, "a", "b", b"LIMIT", 0)


def test_zmpop_sends_count_only_when_not_one_but_bzmpop_always_and_blocks():
    assert r.zmpop(1, ["a"], min=True).args == (b"ZMPOP", 1, "a", b"MIN")
    assert r.zmpop(1, ["a"], max=True, count=3).args == (b"ZMPOP", 1, "a", b"MAX", b"COUNT", 3)
    sent = r.bzmpop(2, 1, ["a"], max=True)
    assert (sent.door, sent.args) == ("blocking", (b"BZMPOP", 2, 1, "a", b"MAX", b"COUNT", 1))


def test_bzpopmin_takes_a_none_timeout_as_forever():
    sent = r.bzpopmin(["a", "b"], None)
    assert (sent.door, sent.args) == ("blocking", (b"BZPOPMIN", "a", "b", 0))
    assert sent.convert([b"a", b"m", b"1"]) == (b"a", b"m", 1.0)


def test_zscan_gives_an_int_cursor_and_score_pairs():
    sent = r.zscan("z", 5, match="a*", count=10)
    assert sent.args == (b"ZSCAN", "z", 5, b"MATCH", "a*", b"COUNT", 10)
    assert sent.convert([b"0", [b"a", b"1"]]) == (0, [(b"a", 1.0)])


def test_by_name_conversions_are_redis_pys_optionless_callbacks():
    assert REPLY_BY_COMMAND["ZSCORE"](b"1.5") == 1.5
    assert REPLY_BY_COMMAND["ZMSCORE"]([b"1", None]) == [1.0, None]
    assert REPLY_BY_COMMAND["ZPOPMIN"]([b"a", b"1"]) == [(b"a", 1.0)]
    assert REPLY_BY_COMMAND["XGROUP DESTROY"](1) is True
    assert REPLY_BY_COMMAND["XREAD"](None) == []
    assert REPLY_BY_COMMAND["XCLAIM"]([[b"1-0", [b"f", b"v"]]]) == [(b"1-0", {b"f": b"v"})]


def test_xclaim_by_name_with_justid_gives_the_ids_where_redis_pys_callback_fails():
    assert REPLY_BY_COMMAND["XCLAIM"]([b"1-0", b"2-0"]) == [b"1-0", b"2-0"]
    assert REPLY_BY_COMMAND["XCLAIM"]([]) == []


# --- streams ---------------------------------------------------------------------------------------


def test_xadd_sends_nomkstream_trim_limit_then_id_and_fields():
    sent = r.xadd("s", {"f": "v"}, id="1-0", maxlen=10, nomkstream=True, limit=5)
    assert sent.args == (b"XADD", "s", b"NOMKSTREAM", b"MAXLEN", b"~", 10, b"LIMIT", 5, "1-0", "f", "v")
    assert r.xadd("s", {"f": "v"}, minid="3-0", approximate=False).args == (
        b"XADD",
        "s",
        b"MINID",
        "3-0",
        "*",
        "f",
        "v",
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda: r.xadd("s", {}),
        lambda: r.xadd("s", {"f": "v"}, maxlen=1, minid="1-0"),
        lambda: r.xadd("s", {"f": "v"}, maxlen=-1),
        lambda: r.xadd("s", {"f": "v"}, ref_policy="NOPE"),
        lambda: r.xadd("s", {"f": "v"}, idmp=("p",)),
        lambda: r.xadd("s", {"f": "v"}, id="1-0", idmpauto="p"),
        lambda: r.xrange("s", count=0),
        lambda: r.xrevrange("s", count=-1),
        lambda: r.xread({}),
        lambda: r.xread({"s": "0"}, block=-1),
        lambda: r.xread({"s": "0"}, count=5, max_count=2),
        lambda: r.xtrim("s"),
        lambda: r.xtrim("s", maxlen=1, minid="1-0"),
        lambda: r.xreadgroup("g", "c", {"s": ">"}, claim_min_idle_time=-1),
        lambda: r.xclaim("s", "g", "c", -1, ["1-0"]),
        lambda: r.xclaim("s", "g", "c", 0, []),
        lambda: r.xclaim("s", "g", "c", 0, ["1-0"], retrycount="2"),
        lambda: r.xclaim("s", "g", "c", 0, ["1-0"], justid=1),
        lambda: r.xautoclaim("s", "g", "c", -5),
        lambda: r.xautoclaim("s", "g", "c", 0, count=-1),
        lambda: r.xpending_range("s", "g", None, None, None, idle=5),
        lambda: r.xpending_range("s", "g", "-", "+", None),
        lambda: r.xpending_range("s", "g", "-", "+", 5, idle=-1),
    ],
)
def test_stream_argument_errors_are_data_errors_before_io(call):
    with pytest.raises(DataError):
        call()


def test_xread_without_block_is_one_slot_and_with_block_waits_in_seconds():
    sent = r.xread({"a": "0", "b": "$"}, count=2)
    assert (sent.door, sent.keys, sent.readonly) == ("multi_keyed", ("a", "b"), True)
    assert sent.args == (b"XREAD", b"COUNT", 2, b"STREAMS", "a", "b", "0", "$")
    blocked = r.xread({"a": "$"}, block=1500)
    assert (blocked.door, blocked.args[:3]) == ("blocking", (b"XREAD", b"BLOCK", 1500))


def test_xreadgroup_writes_and_keeps_claim_extras_in_its_entries():
    sent = r.xreadgroup("g", "c", {"s": ">"}, count=1, noack=True, claim_min_idle_time=10)
    assert sent.args == (b"XREADGROUP", b"GROUP", "g", "c", b"COUNT", 1, b"NOACK", b"CLAIM", 10, b"STREAMS", "s", ">")
    assert not sent.readonly
    assert sent.convert([[b"s", [[b"1-0", [b"f", b"v"], 5, 1]]]]) == [[b"s", [(b"1-0", {b"f": b"v"}, 5, 1)]]]


def test_xclaim_and_xautoclaim_convert_unless_justid():
    sent = r.xclaim("s", "g", "c", 0, ["1-0"], idle=1, time=2, retrycount=3, force=True, justid=True)
    assert sent.args == (
        b"XCLAIM",
        "s",
        "g",
        "c",
        0,
        "1-0",
        b"IDLE",
        1,
        b"TIME",
        2,
        b"RETRYCOUNT",
        3,
        b"FORCE",
        b"JUSTID",
    )
    assert sent.convert is None
    auto = r.xautoclaim("s", "g", "c", 0, count=2)
    assert auto.args == (b"XAUTOCLAIM", "s", "g", "c", 0, "0-0", b"COUNT", 2)
    assert auto.convert([b"0-0", [[b"1-0", [b"f", b"v"]], None], []]) == [
        b"0-0",
        [(b"1-0", {b"f": b"v"}), (None, None)],
        [],
    ]
    assert r.xautoclaim("s", "g", "c", 0, justid=True).convert([b"0-0", [b"1-0"], []]) == [b"1-0"]


def test_xpending_range_sends_idle_before_the_range_and_names_the_fields():
    sent = r.xpending_range("s", "g", "-", "+", 10, consumername="c", idle=5)
    assert sent.args == (b"XPENDING", "s", "g", b"IDLE", 5, "-", "+", 10, "c")
    assert sent.convert([[b"1-0", b"c", 7, 1]]) == [
        {"message_id": b"1-0", "consumer": b"c", "time_since_delivered": 7, "times_delivered": 1}
    ]
    assert r.xpending_range("s", "g", None, None, None).args == (b"XPENDING", "s", "g")


def test_xgroup_subcommands_route_by_the_stream():
    sent = r.xgroup_create("s", "g", id="0", mkstream=True, entries_read=3)
    assert (sent.args, sent.keys) == ((b"XGROUP", b"CREATE", "s", "g", "0", b"MKSTREAM", b"ENTRIESREAD", 3), ("s",))
    assert sent.convert(b"OK") is True
    assert r.xgroup_setid("s", "g", "$", entries_read=1).args == (b"XGROUP", b"SETID", "s", "g", "$", b"ENTRIESREAD", 1)
    assert r.xgroup_destroy("s", "g").convert(0) is False


def test_xinfo_stream_converts_its_end_entries_and_full_its_entries_and_groups():
    info = stream_replies.xinfo_stream([b"length", 1, b"first-entry", [b"1-0", [b"f", b"v"]], b"last-entry", None])
    assert info == {"length": 1, "first-entry": (b"1-0", {b"f": b"v"}), "last-entry": None}
    full = stream_replies.xinfo_stream_full(
        [b"entries", [[b"1-0", [b"f", b"v"]]], b"groups", [[b"name", b"g", b"consumers", [[b"name", b"c"]]]]]
    )
    assert full == {"entries": {b"1-0": {b"f": b"v"}}, "groups": [{"name": b"g", "consumers": [{"name": b"c"}]}]}


def test_xpending_summary_counts_are_ints():
    assert stream_replies.xpending([2, b"1-0", b"2-0", [[b"c", b"2"]]]) == {
        "pending": 2,
        "min": b"1-0",
        "max": b"2-0",
        "consumers": [{"name": b"c", "pending": 2}],
    }
