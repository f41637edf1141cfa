"""pubsub_core without servers: replies as RESP bytes through the library's own reader, decisions checked."""

from __future__ import annotations

import random

import pytest

from rediscluster_lite.errors import ProtocolError, ResponseError
from rediscluster_lite.keyslot import key_slot
from rediscluster_lite.pubsub_core import CHANNEL, CLASSIC, MOVED, PATTERN, SHARD, PubSubCore, parse_message
from rediscluster_lite.resp import new_reader
from rediscluster_lite.slotmap import Node, Shard, SlotMap

A, B, C = Node("10.0.0.1", 7000), Node("10.0.0.2", 7000), Node("10.0.0.3", 7000)
RANGES = {A: (0, 5460), B: (5461, 10922), C: (10923, 16383)}
MAP = SlotMap.from_ranges([(lo, hi, Shard(node)) for node, (lo, hi) in RANGES.items()])


def wire(*items: object) -> bytes:
    """A RESP2 array: bytes -> bulk string, int -> integer, None -> null bulk."""
    out = [b"*%d\r\n" % len(items)]
    for item in items:
        if item is None:
            out.append(b"$-1\r\n")
        elif isinstance(item, int):
            out.append(b":%d\r\n" % item)
        else:
            data = item.encode() if isinstance(item, str) else item
            out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def reply(raw: bytes, encoding: str | None = None) -> object:
    reader = new_reader(encoding)
    reader.feed(raw)
    return reader.gets()


def error(text: str) -> ResponseError:
    return reply(b"-" + text.encode() + b"\r\n")  # type: ignore[return-value]


def on(node: Node, prefix: str = "ch", count: int = 1, distinct_slots: bool = True) -> list[bytes]:
    """Channel names whose slots ``node`` owns in MAP (each in its own slot unless told otherwise)."""
    lo, hi = RANGES[node]
    names: list[bytes] = []
    slots: set[int] = set()
    i = 0
    while len(names) < count:
        name = f"{prefix}{i}".encode()
        i += 1
        slot = key_slot(name)
        if lo <= slot <= hi and not (distinct_slots and slot in slots):
            slots.add(slot)
            names.append(name)
    return names


def confirm(core: PubSubCore, link: str, kind: str, name: bytes, count: int = 1, now: float = 0.0):
    return core.on_reply(link, reply(wire(kind, name, count)), now)


# --- parsing ------------------------------------------------------------------------------------------


def test_parse_message_shapes():
    assert parse_message(reply(wire("message", "ch", "hi"))) == {
        "type": "message",
        "pattern": None,
        "channel": b"ch",
        "data": b"hi",
    }
    assert parse_message(reply(wire("pmessage", "c*", "ch", "hi"))) == {
        "type": "pmessage",
        "pattern": b"c*",
        "channel": b"ch",
        "data": b"hi",
    }
    assert parse_message(reply(wire("smessage", "s", "x")))["type"] == "smessage"
    assert parse_message(reply(wire("ssubscribe", "s", 3)))["data"] == 3
    assert parse_message(reply(wire("unsubscribe", None, 0)))["channel"] is None
    assert parse_message(reply(wire("pong", "")))["type"] == "pong"
    decoded = parse_message(reply(wire("message", "ch", "héllo"), "utf-8"))
    assert decoded == {"type": "message", "pattern": None, "channel": "ch", "data": "héllo"}


@pytest.mark.parametrize(
    "raw",
    [b"+OK\r\n", b":1\r\n", wire(), wire("message", "only-channel"), wire("weird", "a", "b"), wire(1, 2, 3)],
)
def test_parse_message_refuses_what_no_subscriber_receives(raw):
    with pytest.raises(ProtocolError):
        parse_message(reply(raw))


def test_names_are_kept_as_the_server_echoes_them():
    assert PubSubCore().norm("é") == "é".encode()
    assert PubSubCore().norm(5) == b"5"
    assert PubSubCore().norm(bytearray(b"x")) == b"x"
    assert PubSubCore("utf-8").norm(b"x") == "x"
    assert PubSubCore("utf-8").norm(7) == "7"


# --- classic -----------------------------------------------------------------------------------------


def test_classic_link_goes_to_the_chosen_node_with_everything_wanted():
    core = PubSubCore(node=B)
    core.subscribe(CHANNEL, ["a", "b"])
    core.subscribe(PATTERN, ["p*"])
    assert core.classic_node is None  # nothing connected before plan()
    assert core.plan(0.0, MAP) == [(CLASSIC, B, [(b"SUBSCRIBE", b"a", b"b"), (b"PSUBSCRIBE", b"p*")])]
    # more, once the link exists: just the new command on it
    core.subscribe(CHANNEL, ["c"])
    assert core.plan(0.0, MAP) == [(CLASSIC, B, [(b"SUBSCRIBE", b"c")])]
    assert core.plan(0.0, MAP) == []
    for name in (b"a", b"b"):
        message, effect = confirm(core, CLASSIC, "subscribe", name)
        assert message["type"] == "subscribe" and effect is None
    confirm(core, CLASSIC, "psubscribe", b"p*")
    confirm(core, CLASSIC, "subscribe", b"c")
    assert not core.pending[CLASSIC]


def test_classic_link_picks_a_random_master_and_avoids_the_one_that_failed():
    core = PubSubCore()
    core.subscribe(CHANNEL, ["a"])
    ((_, first, _),) = core.plan(0.0, MAP, random.Random(1))
    assert first in MAP.masters
    core.link_lost(CLASSIC, 1.0)
    assert core.classic_node is None and core.refresh_reason
    assert core.wants_refresh(1.0)
    for seed in range(20):  # whatever the dice say, not the node that just failed
        probe = PubSubCore()
        probe.classic_avoid = first
        assert probe.pick_classic_node(MAP, random.Random(seed)) != first
    ((link, second, commands),) = core.plan(1.0, MAP, random.Random(2))
    assert (link, commands) == (CLASSIC, [(b"SUBSCRIBE", b"a")])
    assert second != first


def test_chosen_node_is_left_after_it_failed_and_taken_again_later():
    core = PubSubCore(node=A)
    core.subscribe(CHANNEL, ["a"])
    assert core.plan(0.0, MAP)[0][1] == A
    core.link_lost(CLASSIC, 0.0)
    elsewhere = core.plan(0.0, MAP, random.Random(0))[0][1]
    assert elsewhere != A
    confirm(core, CLASSIC, "subscribe", b"a")
    core.link_lost(CLASSIC, 5.0)
    assert core.plan(5.0, MAP)[0][1] == A


def test_classic_reconnects_back_off():
    core = PubSubCore(node=A)
    core.subscribe(CHANNEL, ["a"])
    delays = []
    now = 0.0
    for _ in range(7):
        assert core.plan(now, MAP)
        core.link_lost(CLASSIC, now)
        delay = core.classic_due - now
        delays.append(round(delay, 3))
        if delay:
            assert core.plan(now, MAP) == []  # not before its time
        now = core.classic_due
    assert delays == [0.0, 0.05, 0.1, 0.2, 0.4, 0.5, 0.5]
    assert core.next_due() == now


def test_classic_unsubscribe_sends_only_while_linked():
    core = PubSubCore(node=A)
    core.subscribe(CHANNEL, ["a", "b"])
    core.unsubscribe(CHANNEL, ["a"])  # not linked yet: just not wanted any more
    assert core.plan(0.0, MAP) == [(CLASSIC, A, [(b"SUBSCRIBE", b"b")])]
    core.unsubscribe(CHANNEL, [])  # all of them
    assert core.plan(0.0, MAP) == [(CLASSIC, A, [(b"UNSUBSCRIBE", b"b")])]
    confirm(core, CLASSIC, "subscribe", b"b")
    assert core.subscribed  # the unsubscribe confirmation is still to come
    message, _ = confirm(core, CLASSIC, "unsubscribe", b"b", 0)
    assert message["type"] == "unsubscribe"
    assert not core.subscribed


def test_refused_classic_subscribe_is_raised_and_forgotten():
    core = PubSubCore(node=A)
    core.subscribe(CHANNEL, ["secret", "open"])
    core.plan(0.0, MAP)
    refused = error("NOPERM this user has no permissions to access the 'secret' channel")
    assert core.on_reply(CLASSIC, refused, 0.0) == (refused, None)
    assert core.wanted[CHANNEL] == {}


# --- sharded -----------------------------------------------------------------------------------------


def test_sharded_channels_go_to_their_slot_owner_one_command_per_slot():
    core = PubSubCore()
    a1, a2 = on(A, count=2)
    (b1,) = on(B)
    tag = [b"{t}x", b"{t}y"]  # one slot: one command
    owner = next(node for node, (lo, hi) in RANGES.items() if lo <= key_slot(b"{t}") <= hi)
    core.subscribe(SHARD, [a1, b1, a2, *tag])
    plan = {link: (node, commands) for link, node, commands in core.plan(0.0, MAP)}
    expected: dict = {A.name: [(b"SSUBSCRIBE", a1), (b"SSUBSCRIBE", a2)], B.name: [(b"SSUBSCRIBE", b1)]}
    expected.setdefault(owner.name, []).append((b"SSUBSCRIBE", *tag))
    assert {link: sorted(commands) for link, (_, commands) in plan.items()} == {
        link: sorted(commands) for link, commands in expected.items()
    }
    assert plan[A.name][0] == A
    assert core.placed[a1] == A.name and core.placed[b1] == B.name
    assert not core.homeless


def test_confirmations_settle_the_pending_commands():
    core = PubSubCore()
    a1, a2 = on(A, count=2)
    core.subscribe(SHARD, [a1, a2])
    core.plan(0.0, MAP)
    core.failures[a1] = 3  # a past failure streak: a confirmation ends it
    message, effect = confirm(core, A.name, "ssubscribe", a1)
    assert message == {"type": "ssubscribe", "pattern": None, "channel": a1, "data": 1} and effect is None
    assert a1 not in core.failures
    confirm(core, A.name, "ssubscribe", a2, 2)
    assert not core.pending[A.name]


def test_moved_sends_the_channel_where_it_says_and_patches_the_map():
    core = PubSubCore()
    (a1,) = on(A)
    core.subscribe(SHARD, [a1])
    core.plan(0.0, MAP)
    slot = key_slot(a1)
    message, effect = core.on_reply(A.name, error(f"MOVED {slot} 10.0.0.9:7000"), 0.0)
    assert message is None
    assert effect == (MOVED, slot, Node("10.0.0.9", 7000))
    assert core.homeless == {a1: 0.0}  # first failure: retried at once
    # ... at the node MOVED named, although the map (not yet refreshed) still says A
    assert core.plan(0.0, MAP) == [("10.0.0.9:7000", Node("10.0.0.9", 7000), [(b"SSUBSCRIBE", a1)])]
    # sent back (mid-migration ping-pong): the next try waits
    core.on_reply("10.0.0.9:7000", error(f"MOVED {slot} 10.0.0.1:7000"), 1.0)
    assert core.homeless == {a1: pytest.approx(1.05)}
    assert core.plan(1.0, MAP) == []
    assert core.plan(1.05, MAP)[0][:2] == (A.name, A)


def test_a_moved_for_another_slot_is_not_taken_for_this_commands_answer():
    core = PubSubCore()
    (a1,) = on(A)
    core.subscribe(SHARD, [a1])
    core.plan(0.0, MAP)
    other = (key_slot(a1) + 1) % 16384
    assert core.on_reply(A.name, error(f"MOVED {other} 10.0.0.9:7000"), 0.0) == (None, None)
    assert core.placed == {a1: A.name} and len(core.pending[A.name]) == 1


def test_unsolicited_sunsubscribe_means_the_slot_moved_away():
    core = PubSubCore()
    (a1,) = on(A)
    core.subscribe(SHARD, [a1])
    core.plan(0.0, MAP)
    confirm(core, A.name, "ssubscribe", a1)
    # the server drops it (CLUSTER SETSLOT ... NODE elsewhere): not news for the caller, work for us
    assert confirm(core, A.name, "sunsubscribe", a1, 0, now=2.0) == (None, None)
    assert core.homeless == {a1: 2.0} and a1 in core.wanted[SHARD]
    assert core.wants_refresh(2.0)
    moved_map = MAP.with_moved(key_slot(a1), C)  # what the refresh finds
    assert core.plan(2.0, moved_map) == [(C.name, C, [(b"SSUBSCRIBE", a1)])]
    assert not core.wants_refresh(2.0)


def test_requested_sunsubscribe_is_confirmed_to_the_caller():
    core = PubSubCore()
    a1, a2 = on(A, count=2)
    core.subscribe(SHARD, [a1, a2])
    core.plan(0.0, MAP)
    confirm(core, A.name, "ssubscribe", a1)
    confirm(core, A.name, "ssubscribe", a2, 2)
    core.unsubscribe(SHARD, [a1])
    assert core.plan(0.0, MAP) == [(A.name, A, [(b"SUNSUBSCRIBE", a1)])]
    message, _ = confirm(core, A.name, "sunsubscribe", a1, 1)
    assert message["type"] == "sunsubscribe"
    assert core.placed == {a2: A.name} and core.wanted[SHARD] == {a2: None}


def test_unsubscribe_all_sharded_goes_per_link_and_slot_and_drops_homeless_ones():
    core = PubSubCore()
    a1, a2 = on(A, count=2)
    (b1,) = on(B)
    core.subscribe(SHARD, [a1, a2, b1])
    core.plan(0.0, MAP)
    core.link_lost(B.name, 0.0)  # b1 is homeless now
    core.unsubscribe(SHARD, [])
    assert core.plan(0.0, MAP) == [(A.name, A, [(b"SUNSUBSCRIBE", a1), (b"SUNSUBSCRIBE", a2)])]
    assert core.wanted[SHARD] == {} and not core.homeless and not core.placed


def test_an_unsubscribe_refused_because_the_slot_left_is_quietly_done():
    core = PubSubCore()
    (a1,) = on(A)
    core.subscribe(SHARD, [a1])
    core.plan(0.0, MAP)
    confirm(core, A.name, "ssubscribe", a1)
    core.unsubscribe(SHARD, [a1])
    core.plan(0.0, MAP)
    assert core.on_reply(A.name, error(f"MOVED {key_slot(a1)} 10.0.0.3:7000"), 0.0) == (None, None)
    assert not core.subscribed


def test_lost_link_moves_its_channels_only_and_backs_off():
    core = PubSubCore()
    (a1,) = on(A)
    (b1,) = on(B)
    core.subscribe(SHARD, [a1, b1])
    core.plan(0.0, MAP)
    core.link_lost(A.name, 10.0)
    assert core.homeless == {a1: 10.0} and core.placed == {b1: B.name}
    assert core.refresh_reason == f"pubsub: lost {A.name}"
    assert A.name not in core.pending
    delays = []
    now = 10.0
    for _ in range(6):
        assert core.plan(now, MAP) == [(A.name, A, [(b"SSUBSCRIBE", a1)])]  # the map still names A
        core.link_lost(A.name, now)  # connection refused: A is dead, no failover yet
        delays.append(round(core.homeless[a1] - now, 3))
        now = core.homeless[a1]
    assert delays == [0.05, 0.1, 0.2, 0.4, 0.5, 0.5]
    promoted = MAP.with_moved(key_slot(a1), Node("10.0.0.4", 7000))
    assert core.plan(now, promoted)[0][:2] == ("10.0.0.4:7000", Node("10.0.0.4", 7000))


@pytest.mark.parametrize("code", ["CLUSTERDOWN The cluster is down", "TRYAGAIN later", "LOADING", "ASK 1 x:1"])
def test_passing_troubles_are_retried_later(code):
    core = PubSubCore()
    (a1,) = on(A)
    core.subscribe(SHARD, [a1])
    core.plan(0.0, MAP)
    assert core.on_reply(A.name, error(code), 0.0) == (None, None)
    assert core.homeless == {a1: 0.0} and a1 in core.wanted[SHARD]
    assert core.refresh_reason


def test_refused_sharded_subscribe_is_raised_and_forgotten():
    core = PubSubCore()
    (a1,) = on(A)
    core.subscribe(SHARD, [a1])
    core.plan(0.0, MAP)
    refused = error("NOPERM no permissions")
    assert core.on_reply(A.name, refused, 0.0) == (refused, None)
    assert core.wanted[SHARD] == {} and not core.placed and not core.subscribed


def test_uncovered_slot_waits_for_the_map():
    core = PubSubCore()
    (a1,) = on(A)
    holes = SlotMap.from_ranges([(lo, hi, Shard(n)) for n, (lo, hi) in RANGES.items() if n != A])
    core.subscribe(SHARD, [a1])
    assert core.plan(0.0, holes) == []
    assert core.homeless == {a1: 0.0} and core.refresh_reason == "pubsub: slot not covered"
    assert core.plan(0.0, MAP)[0][:2] == (A.name, A)


def test_subscribing_again_asks_the_server_again():
    core = PubSubCore()
    (a1,) = on(A)
    core.subscribe(SHARD, [a1])
    core.plan(0.0, MAP)
    core.subscribe(SHARD, [a1])
    assert core.plan(0.0, MAP) == [(A.name, A, [(b"SSUBSCRIBE", a1)])]
    with pytest.raises(ValueError):
        core.subscribe(SHARD, [])


# --- odds and ends ------------------------------------------------------------------------------------


def test_health_check_pongs_are_swallowed_in_both_shapes():
    core = PubSubCore(node=A)
    core.subscribe(CHANNEL, ["a"])
    core.plan(0.0, MAP)
    core.queue_ping(CLASSIC)
    core.queue_ping(CLASSIC)
    assert core.plan(0.0, MAP) == [(CLASSIC, A, [(b"PING",), (b"PING",)])]
    confirm(core, CLASSIC, "subscribe", b"a")
    assert core.on_reply(CLASSIC, reply(wire("pong", "")), 0.0) == (None, None)
    assert core.on_reply(CLASSIC, reply(b"+PONG\r\n"), 0.0) == (None, None)
    assert not core.pending[CLASSIC]
    core.queue_ping(CLASSIC)
    core.plan(0.0, MAP)
    assert core.on_reply(CLASSIC, error("NOPERM ping"), 0.0) == (None, None)  # it answered: alive


def test_messages_pass_through_and_find_their_handlers():
    def handler(message: dict) -> None:
        pass

    core = PubSubCore()
    core.subscribe(CHANNEL, [], {"news": handler})
    core.subscribe(PATTERN, ["p*"])
    message, effect = core.on_reply(CLASSIC, reply(wire("message", "news", "x")), 0.0)
    assert effect is None and core.handler_for(message) is handler
    message, _ = core.on_reply(CLASSIC, reply(wire("pmessage", "p*", "pq", "y")), 0.0)
    assert core.handler_for(message) is None
    message, _ = core.on_reply("x:1", reply(wire("smessage", "s", "z")), 0.0)
    assert message["type"] == "smessage" and core.handler_for(message) is None


def test_an_error_nobody_waits_for_is_the_callers():
    core = PubSubCore()
    oops = error("ERR something")
    assert core.on_reply(CLASSIC, oops, 0.0) == (oops, None)


def test_garbage_on_a_link_is_a_protocol_error():
    with pytest.raises(ProtocolError):
        PubSubCore().on_reply(CLASSIC, reply(b":42\r\n"), 0.0)


def test_decoding_core_matches_str_echoes():
    core = PubSubCore("utf-8", node=A)
    core.subscribe(SHARD, [b"s{1}"])
    ((link, _, commands),) = core.plan(0.0, MAP)
    assert commands == [(b"SSUBSCRIBE", "s{1}")]
    message, _ = core.on_reply(link, reply(wire("ssubscribe", "s{1}", 1), "utf-8"), 0.0)
    assert message["channel"] == "s{1}" and not core.pending[link]


def test_links_left_without_channels_are_idle():
    core = PubSubCore()
    a1, a2 = on(A, count=2)
    (b1,) = on(B)
    core.subscribe(SHARD, [a1, a2, b1])
    core.plan(0.0, MAP)
    assert core.per_link == {A.name: 2, B.name: 1}
    for name in (a1, a2):
        confirm(core, A.name, "ssubscribe", name)
    confirm(core, B.name, "ssubscribe", b1)
    assert core.idle_links() == []
    core.unsubscribe(SHARD, [a1, a2])
    assert core.idle_links() == []  # the SUNSUBSCRIBE is still to be sent...
    core.plan(0.0, MAP)
    assert core.idle_links() == []  # ...then answered
    confirm(core, A.name, "sunsubscribe", a1, 1)
    confirm(core, A.name, "sunsubscribe", a2, 0)
    assert core.idle_links() == [A.name]
    confirm(core, B.name, "sunsubscribe", b1, 0, now=1.0)  # pushed: the slot left B
    assert core.per_link == {} and sorted(core.idle_links()) == [A.name, B.name]
    core.link_lost(A.name, 1.0)  # closing an idle link moves nothing
    assert core.homeless == {b1: 1.0} and core.idle_links() == [B.name]
