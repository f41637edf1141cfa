"""The router, driven directly: a small fake RoutingState, and replies parsed from real RESP bytes by the
library's own reader (so MOVED/ASK/TRYAGAIN arrive as the ResponseError values hiredis builds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rediscluster_lite.errors import (
    ClusterDownError,
    ConnectError,
    ConnectTimeout,
    MaybeAppliedError,
    PoolTimeout,
    ProtocolError,
    ReadError,
    ReadTimeout,
    ResponseError,
    SlotNotCoveredError,
    TooManyRedirects,
    WriteError,
)
from rediscluster_lite.readfrom import ReadFrom
from rediscluster_lite.resp import INCOMPLETE, new_reader
from rediscluster_lite.router import REFRESH, SEND, SLEEP, RetryPolicy, parse_redirect, route
from rediscluster_lite.slotmap import Node, Shard, SlotMap

DATA = Path(__file__).resolve().parent / "data"

M1 = Node("10.0.0.1", 7000)
R1A = Node("10.0.0.2", 7001)
R1B = Node("10.0.0.3", 7002)
M2 = Node("10.0.0.4", 7003)
NEW = Node("10.0.0.9", 7009)  # a node no map knows yet

SHARD1 = Shard(M1, (R1A, R1B))
SHARD2 = Shard(M2, ())


def two_shards() -> SlotMap:
    return SlotMap.from_ranges([(0, 8191, SHARD1), (8192, 16383, SHARD2)])


def parse(data: bytes):
    """One reply from raw RESP bytes, as the client's reader produces it."""
    reader = new_reader()
    reader.feed(data)
    reply = reader.gets()
    assert reply is not INCOMPLETE, f"incomplete RESP: {data!r}"
    return reply


OK = b"+OK\r\n"


def err(text: str) -> bytes:
    return b"-" + text.encode() + b"\r\n"


class FakeState:
    """A RoutingState that records what the router asked of it."""

    def __init__(self, slot_map: SlotMap | None = None, read_from: ReadFrom = ReadFrom.PRIMARY, turn: int = 0):
        self.slot_map = slot_map if slot_map is not None else two_shards()
        self.read_from = read_from
        self.turn = turn
        self.down: set[Node] = set()
        self.marked: list[Node] = []
        self.moved: list[tuple[int, Node]] = []
        self.keyless = SHARD2

    def next_turn(self) -> int:
        return self.turn

    def is_down(self, node: Node) -> bool:
        return node in self.down

    def mark_down(self, node: Node) -> None:
        self.marked.append(node)

    def move_slot(self, slot: int, node: Node) -> bool:
        self.moved.append((slot, node))
        self.slot_map = self.slot_map.with_moved(slot, node)
        return True

    def keyless_shard(self) -> Shard:
        return self.keyless

    def check_redirect(self, code: str, source: Node | None, announced: Node, refreshed: bool) -> Node:
        return announced  # every redirect is followed here; test_redirect_check.py tests the rule


class Driver:
    """Runs one ``route`` generator to its end, answering SEND effects from a script.

    Each outcome in ``replies`` is RESP bytes (parsed with the real reader) or an exception instance (a
    transport failure, handed over as a value as the I/O shell does). The last one repeats.
    ``on_refresh`` may change the state, as a real refresh would.
    """

    def __init__(self, state: FakeState, replies: list, policy: RetryPolicy | None = None, on_refresh=None):
        self.state = state
        self.replies = list(replies)
        self.policy = policy or RetryPolicy()
        self.on_refresh = on_refresh
        self.effects: list[tuple] = []

    def outcome(self, effect: tuple):
        kind = effect[0]
        if kind == SEND:
            answer = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
            return parse(answer) if isinstance(answer, bytes) else answer
        if kind == REFRESH and self.on_refresh is not None:
            self.on_refresh(self.state)
        return None

    def run(self, slot: int | None = 100, readonly: bool = False, repeatable: bool | None = None):
        gen = route(self.state, self.policy, slot, readonly, readonly if repeatable is None else repeatable)
        effect = next(gen)
        while True:
            self.effects.append(effect)
            try:
                effect = gen.send(self.outcome(effect))
            except StopIteration as done:
                return done.value

    @property
    def sends(self) -> list[tuple[Node, bool, bool]]:
        return [tuple(e[1:4]) for e in self.effects if e[0] == SEND]

    @property
    def kinds(self) -> list[int]:
        return [e[0] for e in self.effects]


# --- plain replies --------------------------------------------------------------------------------------


def test_plain_reply_is_returned_after_one_send_to_the_master():
    d = Driver(FakeState(), [b"$5\r\nvalue\r\n"])
    assert d.run(slot=100) == b"value"
    assert d.effects == [(SEND, M1, False, False)]


def test_nil_and_array_replies_are_returned_unchanged():
    assert Driver(FakeState(), [b"$-1\r\n"]).run() is None
    assert Driver(FakeState(), [b"*2\r\n:1\r\n$1\r\na\r\n"]).run() == [1, b"a"]


def test_slot_of_second_shard_goes_to_its_master():
    d = Driver(FakeState(), [OK])
    assert d.run(slot=9000) == b"OK"
    assert d.sends == [(M2, False, False)]


def test_keyless_command_goes_to_the_master_of_the_state_keyless_shard():
    d = Driver(FakeState(), [b"+PONG\r\n"])
    assert d.run(slot=None) == b"PONG"
    assert d.sends == [(M2, False, False)]


# --- MOVED ------------------------------------------------------------------------------------------------


def test_moved_patches_the_map_and_resends_to_the_new_owner():
    state = FakeState()
    before = state.slot_map
    d = Driver(state, [err("MOVED 100 10.0.0.4:7003"), b"$1\r\nv\r\n"])
    assert d.run(slot=100) == b"v"
    assert state.moved == [(100, M2)]
    assert d.sends == [(M1, False, False), (M2, False, False)]
    assert SLEEP not in d.kinds  # a MOVED is followed at once, no backoff
    assert state.slot_map.slots[100].master == M2
    assert state.slot_map.slots[101].master == M1  # only that slot
    assert before.slots[100].master == M1  # the old map was not mutated


def test_moved_to_an_unknown_node_sends_there():
    state = FakeState()
    d = Driver(state, [err("MOVED 100 10.0.0.9:7009"), OK])
    assert d.run(slot=100) == b"OK"
    assert state.moved == [(100, NEW)]
    assert d.sends[-1] == (NEW, False, False)


def test_moved_for_a_replica_read_reroutes_by_the_patched_map():
    state = FakeState(read_from=ReadFrom.REPLICA_PREFERRED)
    d = Driver(state, [err("MOVED 100 10.0.0.4:7003"), OK])
    assert d.run(slot=100, readonly=True) == b"OK"
    assert state.moved == [(100, M2)]
    # the new shard (M2) has no replicas: replica_preferred falls back to its master
    assert d.sends == [(R1A, False, True), (M2, False, False)]


def test_recorded_moved_reply_is_understood():
    reply = parse((DATA / "moved.resp").read_bytes())
    assert isinstance(reply, ResponseError) and reply.code == "MOVED"
    slot, node = parse_redirect(reply.message)
    assert 0 <= slot < 16384 and node.host == "127.0.0.1" and node.port > 0


# --- ASK --------------------------------------------------------------------------------------------------


def test_ask_sends_to_the_target_with_asking_and_leaves_the_map_alone():
    state = FakeState()
    before = state.slot_map
    d = Driver(state, [err("ASK 100 10.0.0.4:7003"), b"$1\r\nv\r\n"])
    assert d.run(slot=100) == b"v"
    assert d.sends == [(M1, False, False), (M2, True, False)]
    assert state.moved == []
    assert state.slot_map is before


def test_ask_is_not_sticky_for_the_next_command():
    state = FakeState()
    Driver(state, [err("ASK 100 10.0.0.4:7003"), OK]).run(slot=100)
    d = Driver(state, [OK])
    d.run(slot=100)
    assert d.sends == [(M1, False, False)]


def test_ask_for_a_replica_read_goes_to_the_target_as_a_primary_read():
    state = FakeState(read_from=ReadFrom.REPLICA)
    d = Driver(state, [err("ASK 100 10.0.0.4:7003"), OK])
    assert d.run(slot=100, readonly=True) == b"OK"
    assert d.sends == [(R1A, False, True), (M2, True, False)]


def test_tryagain_after_ask_resends_to_the_target_with_asking():
    state = FakeState()
    d = Driver(state, [err("ASK 100 10.0.0.4:7003"), err("TRYAGAIN Multiple keys request during rehashing"), OK])
    assert d.run(slot=100) == b"OK"
    assert d.sends == [(M1, False, False), (M2, True, False), (M2, True, False)]


# --- TRYAGAIN / CLUSTERDOWN -------------------------------------------------------------------------------


def test_tryagain_sleeps_then_resends_to_the_same_node():
    policy = RetryPolicy()
    d = Driver(FakeState(), [err("TRYAGAIN Multiple keys request during rehashing of slot"), OK], policy)
    assert d.run(slot=100) == b"OK"
    assert d.effects == [(SEND, M1, False, False), (SLEEP, policy.backoff(1)), (SEND, M1, False, False)]
    assert policy.backoff(1) > 0


def test_tryagain_forever_gives_up_with_history_after_max_retries():
    policy = RetryPolicy(max_retries=2)
    d = Driver(FakeState(), [err("TRYAGAIN Multiple keys request during rehashing of slot")], policy)
    with pytest.raises(TooManyRedirects) as info:
        d.run(slot=100)
    assert len(d.sends) == 3
    assert [h[0] for h in info.value.history] == ["TRYAGAIN"] * 3


def test_clusterdown_sleeps_refreshes_and_finally_raises_cluster_down():
    policy = RetryPolicy(max_retries=3)
    down = (DATA / "clusterdown.resp").read_bytes()  # recorded: "-CLUSTERDOWN The cluster is down"
    d = Driver(FakeState(), [down], policy)
    with pytest.raises(ClusterDownError) as info:
        d.run(slot=100)
    assert "CLUSTERDOWN" in str(info.value)
    assert d.kinds.count(SEND) == policy.max_retries + 1
    assert d.kinds.count(REFRESH) == policy.max_retries
    sleeps = [e[1] for e in d.effects if e[0] == SLEEP]
    assert sleeps == [policy.backoff(i) for i in (1, 2, 3)]
    assert sleeps == sorted(sleeps) and sleeps[0] > 0
    # each retry is preceded by both a backoff and a refresh
    between = d.kinds[1:3]
    assert sorted(between) == sorted([SLEEP, REFRESH])


def test_clusterdown_then_recovery_returns_the_reply():
    d = Driver(FakeState(), [err("CLUSTERDOWN The cluster is down"), OK])
    assert d.run(slot=100) == b"OK"
    assert REFRESH in d.kinds and SLEEP in d.kinds


def test_clusterdown_retry_uses_the_refreshed_map():
    def failover(state: FakeState) -> None:
        state.slot_map = SlotMap.from_ranges([(0, 16383, Shard(R1A, ()))])

    d = Driver(FakeState(), [err("CLUSTERDOWN The cluster is down"), OK], on_refresh=failover)
    assert d.run(slot=100) == b"OK"
    assert d.sends == [(M1, False, False), (R1A, False, False)]


# --- redirect budget --------------------------------------------------------------------------------------


def test_a_moved_loop_raises_too_many_redirects_with_history():
    policy = RetryPolicy(max_redirects=4)

    # M1 says M2 owns it, M2 says M1 owns it, forever
    def answer_for(node: Node) -> bytes:
        return err("MOVED 100 10.0.0.4:7003") if node == M1 else err("MOVED 100 10.0.0.1:7000")

    state = FakeState()
    gen = route(state, policy, 100, False, False)
    effect = next(gen)
    sends = []
    with pytest.raises(TooManyRedirects) as info:
        while True:
            assert effect[0] == SEND
            sends.append(effect[1])
            effect = gen.send(parse(answer_for(effect[1])))
    assert len(sends) == policy.max_redirects + 1
    history = info.value.history
    assert len(history) == policy.max_redirects + 1
    assert history[0] == ("MOVED", M1.name, M2.name)
    assert history[1] == ("MOVED", M2.name, M1.name)
    assert "100" in str(info.value)


def test_an_ask_loop_counts_against_the_redirect_budget():
    policy = RetryPolicy(max_redirects=3)
    d = Driver(FakeState(), [err("ASK 100 10.0.0.4:7003")], policy)
    with pytest.raises(TooManyRedirects) as info:
        d.run(slot=100)
    assert len(d.sends) == 4
    assert [h[0] for h in info.value.history] == ["ASK"] * 4


def test_zero_redirect_budget_raises_on_the_first_moved():
    d = Driver(FakeState(), [err("MOVED 100 10.0.0.4:7003")], RetryPolicy(max_redirects=0))
    with pytest.raises(TooManyRedirects):
        d.run(slot=100)
    assert len(d.sends) == 1


def test_malformed_redirect_raises_protocol_error():
    d = Driver(FakeState(), [err("MOVED nonsense")])
    with pytest.raises(ProtocolError):
        d.run(slot=100)


@pytest.mark.parametrize(
    "message, slot, node",
    [
        ("MOVED 3999 127.0.0.1:7002", 3999, Node("127.0.0.1", 7002)),
        ("ASK 0 redis-1.example:6379", 0, Node("redis-1.example", 6379)),
        ("MOVED 16383 ::1:7000", 16383, Node("::1", 7000)),
        ("MOVED 5 [::1]:7000", 5, Node("::1", 7000)),
    ],
)
def test_parse_redirect_reads_slot_and_address(message, slot, node):
    assert parse_redirect(message) == (slot, node)


@pytest.mark.parametrize("message", ["MOVED", "MOVED 12", "MOVED x 1.2.3.4:5", "MOVED 1 1.2.3.4:port", "MOVED 1 host"])
def test_parse_redirect_rejects_malformed_messages(message):
    with pytest.raises(ProtocolError):
        parse_redirect(message)


# --- transport failures -----------------------------------------------------------------------------------


def test_connect_error_for_a_write_refreshes_and_retries():
    state = FakeState()
    d = Driver(state, [ConnectError("refused", M1.name), OK])
    assert d.run(slot=100, readonly=False) == b"OK"
    assert d.sends == [(M1, False, False), (M1, False, False)]
    assert state.marked == [M1]
    first, second = (i for i, k in enumerate(d.kinds) if k == SEND)
    assert set(d.kinds[first + 1 : second]) == {REFRESH, SLEEP}


def test_connect_error_for_a_write_follows_a_failover_found_by_the_refresh():
    def failover(state: FakeState) -> None:
        state.slot_map = SlotMap.from_ranges([(0, 8191, Shard(R1A, (R1B,))), (8192, 16383, SHARD2)])

    d = Driver(FakeState(), [ConnectError("refused", M1.name), OK], on_refresh=failover)
    assert d.run(slot=100) == b"OK"
    assert d.sends == [(M1, False, False), (R1A, False, False)]


def test_connect_timeout_for_a_write_is_retried_like_a_connect_error():
    d = Driver(FakeState(), [ConnectTimeout("timed out", M1.name), OK])
    assert d.run(slot=100) == b"OK"
    assert len(d.sends) == 2


def test_connect_errors_beyond_max_retries_raise_the_connect_error():
    policy = RetryPolicy(max_retries=2)
    d = Driver(FakeState(), [ConnectError("refused", M1.name)], policy)
    with pytest.raises(ConnectError):
        d.run(slot=100)
    assert len(d.sends) == 3
    assert d.kinds.count(REFRESH) == 2


@pytest.mark.parametrize(
    "failure",
    [
        ReadError("connection reset", M1.name),
        WriteError("broken pipe", M1.name),
        ReadTimeout("slow", M1.name),
        ProtocolError("garbage"),
    ],
    ids=["ReadError", "WriteError", "ReadTimeout", "ProtocolError"],
)
def test_failure_after_send_for_a_write_raises_maybe_applied_and_does_not_resend(failure):
    state = FakeState()
    d = Driver(state, [failure, OK])
    with pytest.raises(MaybeAppliedError) as info:
        d.run(slot=100, readonly=False)
    assert d.sends == [(M1, False, False)]
    assert REFRESH not in d.kinds
    assert info.value.__cause__ is failure
    assert info.value.node == M1.name
    assert "may have been applied" in str(info.value)
    assert isinstance(info.value, ReadError)


def test_pool_timeout_for_a_write_is_not_reported_as_maybe_applied():
    # PoolTimeout means no connection was ever acquired: nothing can have reached the server.
    timeout = PoolTimeout("no free connection", M1.name)
    d = Driver(FakeState(), [timeout, OK])
    with pytest.raises(PoolTimeout) as info:
        d.run(slot=100, readonly=False)
    assert info.value is timeout and not isinstance(info.value, MaybeAppliedError)
    assert d.sends == [(M1, False, False)]  # raised at once: not resent, no refresh
    assert REFRESH not in d.kinds


def test_read_error_after_send_for_a_read_is_resent():
    d = Driver(FakeState(), [ReadError("connection reset", M1.name), b"$1\r\nv\r\n"])
    assert d.run(slot=100, readonly=True) == b"v"
    assert d.sends == [(M1, False, False), (M1, False, False)]


def test_read_error_for_a_replica_read_moves_to_the_next_candidate_at_once():
    state = FakeState(read_from=ReadFrom.REPLICA_PREFERRED)
    d = Driver(state, [ReadError("reset", R1A.name), OK])
    assert d.run(slot=100, readonly=True) == b"OK"
    assert d.sends == [(R1A, False, True), (R1B, False, True)]
    assert REFRESH not in d.kinds and SLEEP not in d.kinds
    assert state.marked == [R1A]


def test_read_timeout_is_final_for_a_primary_read():
    state = FakeState()
    timeout = ReadTimeout("no reply within 0.2s", M1.name)
    d = Driver(state, [timeout, OK])
    with pytest.raises(ReadTimeout) as info:
        d.run(slot=100, readonly=True)
    assert info.value is timeout
    assert d.sends == [(M1, False, False)]
    assert REFRESH not in d.kinds and SLEEP not in d.kinds


def test_read_timeout_moves_a_replica_read_to_the_next_candidate():
    state = FakeState(read_from=ReadFrom.REPLICA_PREFERRED)
    d = Driver(state, [ReadTimeout("slow", R1A.name), b"$1\r\nv\r\n"])
    assert d.run(slot=100, readonly=True) == b"v"
    assert d.sends == [(R1A, False, True), (R1B, False, True)]


def test_read_timeout_on_every_candidate_costs_one_timeout_each_then_raises():
    state = FakeState(read_from=ReadFrom.REPLICA_PREFERRED)
    d = Driver(state, [ReadTimeout("slow", "x")])
    with pytest.raises(ReadTimeout):
        d.run(slot=100, readonly=True)
    assert [s[0] for s in d.sends] == [R1A, R1B, M1]
    assert REFRESH not in d.kinds


def test_protocol_error_on_a_primary_read_is_raised_as_protocol_error():
    garbage = ProtocolError("invalid reply from 10.0.0.1:7000")
    d = Driver(FakeState(), [garbage])
    with pytest.raises(ProtocolError) as info:
        d.run(slot=100, readonly=True)
    assert info.value is garbage
    assert len(d.sends) == 1


# --- uncovered slots --------------------------------------------------------------------------------------


def test_uncovered_slot_refreshes_once_then_raises_slot_not_covered():
    state = FakeState(SlotMap.from_ranges([(0, 99, SHARD1), (101, 16383, SHARD2)]))
    d = Driver(state, [OK])
    with pytest.raises(SlotNotCoveredError) as info:
        d.run(slot=100)
    assert d.kinds == [REFRESH]
    assert info.value.slot == 100
    assert "100" in str(info.value)


def test_uncovered_slot_covered_by_the_refresh_is_sent():
    def cover(state: FakeState) -> None:
        state.slot_map = two_shards()

    state = FakeState(SlotMap([None] * 16384, ()))
    d = Driver(state, [OK], on_refresh=cover)
    assert d.run(slot=100) == b"OK"
    assert d.kinds == [REFRESH, SEND]


# --- read modes ---------------------------------------------------------------------------------------------


ORDERS = {
    # mode: (turn 0, turn 1) as (node, replica_read) pairs
    ReadFrom.PRIMARY: ([(M1, False)], [(M1, False)]),
    ReadFrom.PRIMARY_PREFERRED: (
        [(M1, False), (R1A, True), (R1B, True)],
        [(M1, False), (R1B, True), (R1A, True)],
    ),
    ReadFrom.REPLICA: ([(R1A, True), (R1B, True)], [(R1B, True), (R1A, True)]),
    ReadFrom.REPLICA_PREFERRED: (
        [(R1A, True), (R1B, True), (M1, False)],
        [(R1B, True), (R1A, True), (M1, False)],
    ),
    ReadFrom.ANY: ([(M1, False), (R1A, True), (R1B, True)], [(R1A, True), (R1B, True), (M1, False)]),
}


def candidate_order(state: FakeState, readonly: bool = True) -> list[tuple[Node, bool]]:
    """Every node the router tries, in order, when each one times out."""
    d = Driver(state, [ReadTimeout("slow", "x")])
    with pytest.raises((ReadTimeout, MaybeAppliedError)):
        d.run(slot=100, readonly=readonly)
    assert all(asking is False for _, asking, _ in d.sends)
    return [(node, replica_read) for node, asking, replica_read in d.sends]


@pytest.mark.parametrize("turn", [0, 1])
@pytest.mark.parametrize("mode", list(ReadFrom), ids=lambda m: m.value)
def test_read_mode_candidate_order_and_replica_read_flags(mode, turn):
    assert candidate_order(FakeState(read_from=mode, turn=turn)) == ORDERS[mode][turn]


@pytest.mark.parametrize("mode", list(ReadFrom), ids=lambda m: m.value)
def test_writes_go_to_the_master_only_in_every_read_mode(mode):
    d = Driver(FakeState(read_from=mode, turn=1), [OK])
    assert d.run(slot=100, readonly=False) == b"OK"
    assert d.sends == [(M1, False, False)]


@pytest.mark.parametrize("mode", list(ReadFrom), ids=lambda m: m.value)
def test_first_candidate_answers_a_read(mode):
    d = Driver(FakeState(read_from=mode), [b"$1\r\nv\r\n"])
    assert d.run(slot=100, readonly=True) == b"v"
    assert [(n, r) for n, _, r in d.sends] == [ORDERS[mode][0][0]]


def test_nodes_marked_down_are_tried_last_not_skipped():
    state = FakeState(read_from=ReadFrom.REPLICA_PREFERRED)
    state.down = {R1A}
    assert candidate_order(state) == [(R1B, True), (M1, False), (R1A, True)]


def test_primary_preferred_with_master_down_reads_from_replicas_first():
    state = FakeState(read_from=ReadFrom.PRIMARY_PREFERRED)
    state.down = {M1}
    assert candidate_order(state) == [(R1A, True), (R1B, True), (M1, False)]


def test_replica_mode_on_a_shard_without_replicas_raises_without_sending():
    d = Driver(FakeState(read_from=ReadFrom.REPLICA), [OK])
    with pytest.raises(ClusterDownError) as info:
        d.run(slot=9000, readonly=True)
    assert d.sends == []
    assert "replica" in str(info.value)


def test_replica_preferred_on_a_shard_without_replicas_reads_the_master():
    d = Driver(FakeState(read_from=ReadFrom.REPLICA_PREFERRED), [OK])
    assert d.run(slot=9000, readonly=True) == b"OK"
    assert d.sends == [(M2, False, False)]


# --- other error replies -------------------------------------------------------------------------------------


def test_wrongtype_reply_raises_response_error_with_code_and_is_not_resent():
    d = Driver(FakeState(), [err("WRONGTYPE Operation against a key holding the wrong kind of value"), OK])
    with pytest.raises(ResponseError) as info:
        d.run(slot=100, readonly=True)
    assert info.value.code == "WRONGTYPE"
    assert info.value.message == "WRONGTYPE Operation against a key holding the wrong kind of value"
    assert len(d.sends) == 1


@pytest.mark.parametrize(
    "text, code",
    [
        ("ERR unknown command 'FOO'", "ERR"),
        ("NOSCRIPT No matching script", "NOSCRIPT"),
        ("CROSSSLOT Keys in request don't hash to the same slot", "CROSSSLOT"),
        ("READONLY You can't write", "READONLY"),
    ],
)
def test_other_error_replies_raise_response_error_with_their_code(text, code):
    d = Driver(FakeState(), [err(text)])
    with pytest.raises(ResponseError) as info:
        d.run(slot=100)
    assert info.value.code == code
    assert len(d.sends) == 1


def test_error_reply_inside_an_array_is_a_value_not_raised():
    # EXEC-style arrays may carry error elements: they belong to the caller, not the router
    reply = Driver(FakeState(), [b"*2\r\n+OK\r\n-ERR inner\r\n"]).run(slot=100)
    assert reply[0] == b"OK" and isinstance(reply[1], ResponseError) and reply[1].code == "ERR"


def test_backoff_grows_and_is_capped():
    policy = RetryPolicy(backoff_base=0.05, backoff_cap=0.3)
    values = [policy.backoff(i) for i in range(1, 8)]
    assert values[:3] == [0.05, 0.1, 0.2]
    assert max(values) == 0.3 and values == sorted(values)


# --- direct_read: a read under a read mode, sent without a generator, resumed by route() on failure ---


def run_direct_read(state: FakeState, replies: list, slot: int = 100):
    """What the shell does: send to direct_read's node; only a failure builds the route generator."""
    from rediscluster_lite.router import direct_read

    node, replica_read, resume = direct_read(state, slot)
    d = Driver(state, replies)
    first = d.outcome((SEND, node, False, replica_read))
    sends = [(node, False, replica_read)]
    if not isinstance(first, BaseException):
        return first, sends, d
    gen = route(state, d.policy, slot, True, True, (node, first), resume)
    try:
        effect = next(gen)
        while True:
            d.effects.append(effect)
            effect = gen.send(d.outcome(effect))
    except StopIteration as done:
        return done.value, sends + d.sends, d


@pytest.mark.parametrize("mode", [m for m in ReadFrom if m is not ReadFrom.PRIMARY])
@pytest.mark.parametrize("turn", [0, 1])
def test_direct_read_picks_what_route_would_pick_first(mode, turn):
    from rediscluster_lite.router import direct_read

    node, replica_read, (shard, candidates) = direct_read(FakeState(read_from=mode, turn=turn), 100)
    assert (node, replica_read) == ORDERS[mode][turn][0]
    order = [n for n, _ in candidate_order(FakeState(read_from=mode, turn=turn))]
    assert shard is SHARD1 and list(candidates) == order


def test_direct_read_leaves_a_first_candidate_marked_down_to_route():
    from rediscluster_lite.router import direct_read

    state = FakeState(read_from=ReadFrom.REPLICA_PREFERRED)
    state.down.add(R1A)
    assert direct_read(state, 100) is None  # route() orders the candidates, R1A last


def test_a_resumed_read_tries_candidates_marked_down_last():
    state = FakeState(read_from=ReadFrom.REPLICA_PREFERRED)
    state.down.add(R1B)
    reply, sends, _ = run_direct_read(state, [ReadError("reset", R1A.name), b"$1\r\nv\r\n"])
    assert reply == b"v"
    assert sends == [(R1A, False, True), (M1, False, False)]  # R1B is down: the master before it


def test_direct_read_leaves_uncovered_slots_and_empty_modes_to_route():
    from rediscluster_lite.router import direct_read

    assert direct_read(FakeState(slot_map=SlotMap.from_ranges([(0, 99, SHARD1)]), read_from=ReadFrom.ANY), 100) is None
    assert direct_read(FakeState(read_from=ReadFrom.REPLICA), 9000) is None  # SHARD2 has no replicas


def test_a_failed_direct_read_resumes_at_the_next_candidate_without_a_refresh():
    state = FakeState(read_from=ReadFrom.REPLICA_PREFERRED)
    reply, sends, d = run_direct_read(state, [ReadError("reset", R1A.name), b"$1\r\nv\r\n"])
    assert reply == b"v"
    assert sends == [(R1A, False, True), (R1B, False, True)]
    assert REFRESH not in d.kinds and SLEEP not in d.kinds
    assert state.marked == [R1A]


def test_a_direct_read_on_every_down_candidate_ends_at_the_master_then_raises():
    state = FakeState(read_from=ReadFrom.REPLICA_PREFERRED)
    with pytest.raises(ReadTimeout):
        run_direct_read(state, [ReadTimeout("slow", "x")])
    assert state.marked == [R1A, R1B, M1]  # each candidate once: one timeout each


def test_a_moved_direct_read_follows_the_patched_map():
    state = FakeState(read_from=ReadFrom.REPLICA_PREFERRED)
    reply, sends, _ = run_direct_read(state, [err(f"MOVED 100 {M2.name}"), b"$1\r\nv\r\n"])
    assert reply == b"v"
    assert sends == [(R1A, False, True), (M2, False, False)]  # the new shard has no replica: its master
    assert state.moved == [(100, M2)]


def test_errors_raised_when_a_budget_runs_out_carry_the_commands_history():
    d = Driver(FakeState(), [err("CLUSTERDOWN The cluster is down")], RetryPolicy(max_retries=1))
    with pytest.raises(ClusterDownError) as down:
        d.run(slot=100)
    assert [kind for kind, _, _ in down.value.history] == ["CLUSTERDOWN", "CLUSTERDOWN"]
    d = Driver(FakeState(), [err(f"MOVED 100 {M2.name}"), ReadError("reset", M2.name)])
    with pytest.raises(MaybeAppliedError) as maybe:
        d.run(slot=100, readonly=False)
    assert maybe.value.history == (("MOVED", M1.name, M2.name), ("ReadError", M2.name, "reset"))


def test_the_retry_policy_is_an_immutable_value():
    import attrs

    policy = RetryPolicy(max_retries=2)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        policy.max_retries = 5  # type: ignore[misc]
    assert attrs.evolve(policy, max_retries=5).max_retries == 5 and policy.max_retries == 2
    with pytest.raises(ValueError):
        RetryPolicy(max_redirects=-1)
