"""Hashes, lists and sets without a server: the argv each method builds, the keys it routes by, whether it may
go to a replica, and the argument errors raised before anything is sent (tests/recorder.py)."""

from __future__ import annotations

import pytest
from recorder import Recorder, Sent

from rediscluster_lite.api import REPLY_BY_COMMAND, hashes, sets
from rediscluster_lite.errors import DataError


class Walker(Recorder):
    """A recorder whose cursor door walks canned pages: ``pages[cursor] = (next cursor, raw reply page)``."""

    def __init__(self, pages: dict[int, tuple[int, list]]) -> None:
        self.pages = pages
        self.asked: list[tuple] = []

    def _keyed(self, args, key, readonly, convert=None):
        self.asked.append(args)
        return convert(_raw(self.pages[args[2]]))

    def _cursor_iter(self, page, items):
        cursor = 0
        while True:
            cursor, found = page(cursor)
            yield from items(found)
            if cursor == 0:
                return


def _raw(page: tuple[int, list]) -> list:
    return [str(page[0]).encode(), page[1]]


r = Recorder()


def test_hset_puts_items_then_key_then_mapping():
    sent = r.hset("h", "k", "v", mapping={"m": 1}, items=["i", 2])
    assert sent.args == (b"HSET", "h", "i", 2, "k", "v", "m", 1)
    assert (sent.door, sent.keys, sent.readonly) == ("keyed", ("h",), False)


@pytest.mark.parametrize("call", [lambda: r.hset("h"), lambda: r.hset("h", mapping={}, items=[])])
def test_hset_with_nothing_to_set_is_a_data_error(call):
    with pytest.raises(DataError):
        call()


def test_hmset_flattens_the_mapping_and_refuses_an_empty_one():
    with pytest.warns(DeprecationWarning, match="hset"):
        assert r.hmset("h", {"a": 1, "b": 2}).args == (b"HMSET", "h", "a", 1, "b", 2)
    with pytest.raises(DataError), pytest.warns(DeprecationWarning):
        r.hmset("h", {})


def test_hrandfield_sends_count_then_withvalues():
    assert r.hrandfield("h").args == (b"HRANDFIELD", "h")
    assert r.hrandfield("h", 2, withvalues=True).args == (b"HRANDFIELD", "h", 2, b"WITHVALUES")
    assert r.hrandfield("h").readonly


def test_hscan_options_and_novalues_only_when_asked():
    assert r.hscan("h", 5, match="a*", count=10).args == (b"HSCAN", "h", 5, b"MATCH", "a*", b"COUNT", 10)
    assert r.hscan("h", no_values=True).args == (b"HSCAN", "h", 0, b"NOVALUES")
    # redis-py sends NOVALUES for no_values=False too and then pairs the fields up into a wrong dict.
    assert r.hscan("h", no_values=False).args == (b"HSCAN", "h", 0)


def test_hscan_converts_the_cursor_to_int_and_pairs_fields():
    assert r.hscan("h").convert([b"7", [b"f", b"v"]]) == (7, {b"f": b"v"})
    assert r.hscan("h", no_values=True).convert([b"0", [b"f", b"g"]]) == (0, [b"f", b"g"])


def test_hscan_iter_walks_pages_until_cursor_zero():
    w = Walker({0: (3, [b"a", b"1"]), 3: (0, [b"b", b"2"])})
    assert list(w.hscan_iter("h", match="*")) == [(b"a", b"1"), (b"b", b"2")]
    assert [a[2] for a in w.asked] == [0, 3]
    assert w.asked[0] == (b"HSCAN", "h", 0, b"MATCH", "*")


def test_hscan_iter_with_no_values_yields_fields():
    w = Walker({0: (0, [b"a", b"b"])})
    assert list(w.hscan_iter("h", no_values=True)) == [b"a", b"b"]


def test_sscan_iter_walks_pages_until_cursor_zero():
    w = Walker({0: (9, [b"x"]), 9: (0, [b"y", b"z"])})
    assert list(w.sscan_iter("s", count=5)) == [b"x", b"y", b"z"]
    assert w.asked == [(b"SSCAN", "s", 0, b"COUNT", 5), (b"SSCAN", "s", 9, b"COUNT", 5)]


def test_lpos_sends_rank_count_maxlen_in_that_order():
    sent = r.lpos("l", "v", rank=-1, count=0, maxlen=10)
    assert sent.args == (b"LPOS", "l", "v", b"RANK", -1, b"COUNT", 0, b"MAXLEN", 10)
    assert sent.readonly


def test_two_list_commands_route_by_both_keys():
    for sent in (r.lmove("a", "b"), r.rpoplpush("a", "b")):
        assert sent.door == "multi_keyed" and sent.keys == ("a", "b") and not sent.readonly
    assert r.lmove("a", "b", "RIGHT", "LEFT").args == (b"LMOVE", "a", "b", "RIGHT", "LEFT")


def test_blocking_list_commands_put_the_timeout_where_redis_wants_it():
    assert r.blmove("a", "b", 2).args == (b"BLMOVE", "a", "b", "LEFT", "RIGHT", 2)
    assert r.brpoplpush("a", "b", None).args == (b"BRPOPLPUSH", "a", "b", 0)
    assert r.blpop(["a", "b"], None).args == (b"BLPOP", "a", "b", 0)
    assert r.brpop("a", 1.5).args == (b"BRPOP", "a", 1.5)
    sent = r.blmpop(1, 2, "a", "b", direction="LEFT")
    assert (sent.door, sent.keys) == ("blocking", ("a", "b"))
    assert sent.args == (b"BLMPOP", 1, 2, "a", "b", "LEFT", b"COUNT", 1)


def test_lmpop_sends_count_only_when_not_one():
    assert r.lmpop(2, "a", "b", direction="RIGHT").args == (b"LMPOP", 2, "a", "b", "RIGHT")
    sent = r.lmpop(1, "a", direction="LEFT", count=3)
    assert sent.args == (b"LMPOP", 1, "a", "LEFT", b"COUNT", 3) and sent.keys == ("a",)


def test_push_and_insert_argv():
    assert r.lpushx("l", 1, 2).args == (b"LPUSHX", "l", 1, 2)
    assert r.rpushx("l", 1).args == (b"RPUSHX", "l", 1)
    assert r.linsert("l", "BEFORE", "x", "y").args == (b"LINSERT", "l", "BEFORE", "x", "y")


def test_set_algebra_routes_by_every_key_destination_first():
    assert r.sinter(["a", "b"], "c").keys == ("a", "b", "c")
    assert r.sunion("a").args == (b"SUNION", "a")
    assert r.sdiff("a", "b").readonly
    sent = r.sinterstore("d", ["a", "b"])
    assert (sent.args, sent.keys, sent.readonly) == ((b"SINTERSTORE", "d", "a", "b"), ("d", "a", "b"), False)
    assert r.sunionstore("d", "a", "b").keys == ("d", "a", "b")
    assert r.sdiffstore("d", "a").args == (b"SDIFFSTORE", "d", "a")
    assert r.smove("a", "b", "m").keys == ("a", "b")


def test_sintercard_sends_numkeys_and_limit():
    sent = r.sintercard(2, ["a", "b"], limit=3)
    assert sent.args == (b"SINTERCARD", 2, "a", "b", b"LIMIT", 3) and sent.keys == ("a", "b")


def test_sismember_and_smismember_keep_the_servers_integers():
    assert r.sismember("s", "m").convert is None
    assert r.smismember("s", ["a", "b"], "c").args == (b"SMISMEMBER", "s", "a", "b", "c")
    assert r.smismember("s", "a").convert is None


def test_execute_command_conversions_by_name():
    assert REPLY_BY_COMMAND["HSCAN"] is hashes.hscan_reply
    assert REPLY_BY_COMMAND["SSCAN"] is sets.sscan_reply
    assert REPLY_BY_COMMAND["SMEMBERS"]([b"a"]) == {b"a"}
    assert REPLY_BY_COMMAND["LSET"](b"OK") is True
    assert REPLY_BY_COMMAND["BLPOP"]([b"l", b"v"]) == (b"l", b"v")
    assert REPLY_BY_COMMAND["HEXISTS"](0) is False


def test_hstrlen_is_a_read():
    sent = r.hstrlen("h", "f")
    assert isinstance(sent, Sent) and sent.args == (b"HSTRLEN", "h", "f") and sent.readonly
