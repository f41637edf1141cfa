"""ClusterState and refresh_slots on their own: a fake clock (plain numbers), a seeded random, scripted
CLUSTER SLOTS replies. No sockets, no threads, no sleeps."""

from __future__ import annotations

import ipaddress
import random

import pytest

from rediscluster_lite.errors import (
    ConnectError,
    NodeNotAllowedError,
    ProtocolError,
    ReadTimeout,
    ResponseError,
)
from rediscluster_lite.readfrom import ReadFrom
from rediscluster_lite.slotmap import Node, Shard, SlotMap
from rediscluster_lite.state import ClusterState, HostPolicy, is_fatal_refresh_error, refresh_slots

A, B, C, D = (Node("10.0.0.1", 7000), Node("10.0.0.2", 7000), Node("10.0.0.3", 7000), Node("10.0.0.4", 7000))
SEED = Node("seed.example", 6379)


def slots_of(*shards: tuple[int, int, Node, tuple[Node, ...]]) -> list:
    """A CLUSTER SLOTS reply (RESP2 shape, as hiredis hands it over) for these ranges."""
    return [
        [start, end, [m.host.encode(), m.port, b"id"], *[[r.host.encode(), r.port] for r in reps]]
        for start, end, m, reps in shards
    ]


TWO_SHARDS = slots_of((0, 8191, A, (C,)), (8192, 16383, B, (D,)))


def state(**kwargs) -> ClusterState:
    kwargs.setdefault("rng", random.Random(7))
    return ClusterState([SEED], **kwargs)


def loaded(**kwargs) -> ClusterState:
    s = state(**kwargs)
    s.install(SlotMap.from_cluster_slots(TWO_SHARDS, "x"), now=100.0)
    return s


def drive(steps, outcomes: dict[str, object], clock: list[float] | None = None) -> tuple[list[str], object]:
    """Run a refresh generator: answer each node it yields from ``outcomes``; the clock ticks 1 s per ask."""
    asked: list[str] = []
    now = clock[0] if clock else 0.0
    try:
        node = next(steps)
        while True:
            asked.append(node.name)
            now += 1.0
            node = steps.send((now, outcomes[node.name]))
    except StopIteration as done:
        return asked, done.value


# --- down-marks ----------------------------------------------------------------------------------------


def test_a_down_mark_lasts_down_for_seconds_then_expires_and_is_forgotten():
    s = state(down_for=2.0)
    s.mark_down_at(A, now=10.0)
    assert s.is_down_at(A, 10.0) and s.is_down_at(A, 11.99)
    assert not s.is_down_at(B, 11.0)
    assert not s.is_down_at(A, 12.0)
    assert s.down_until == {}


def test_marking_a_node_down_again_extends_its_mark():
    s = state(down_for=1.0)
    s.mark_down_at(A, now=10.0)
    s.mark_down_at(A, now=10.5)
    assert s.is_down_at(A, 11.2)


# --- refresh schedule -------------------------------------------------------------------------------------


def test_a_good_refresh_makes_the_next_periodic_one_due_an_interval_later():
    s = state(refresh_interval=5.0)
    assert s.refresh_due == 0.0  # before the first map: at the next command
    s.install(SlotMap.from_cluster_slots(TWO_SHARDS, "x"), now=100.0)
    assert s.refresh_due == 105.0
    assert s.refreshes == 1


def test_without_a_refresh_interval_no_periodic_refresh_is_ever_due():
    s = loaded(refresh_interval=None)
    assert s.refresh_due == float("inf")


def test_a_failed_refresh_is_retried_after_at_most_a_second():
    s = state(refresh_interval=5.0)
    s.refresh_failed(now=50.0)
    assert s.refresh_due == 51.0
    short = state(refresh_interval=0.25)
    short.refresh_failed(now=50.0)
    assert short.refresh_due == 50.25


def test_refreshes_are_rate_limited_unless_forced():
    s = loaded(min_refresh_interval=0.1)
    assert not s.refresh_wanted(100.05)
    assert s.refresh_wanted(100.05, force=True)
    assert s.refresh_wanted(100.2)


def test_a_moved_patches_the_map_and_makes_a_refresh_due_at_once():
    s = loaded()
    assert s.move_slot(5, B)
    assert s.slot_map.slots[5].master == B
    assert s.refresh_due == 0.0


# --- the order of nodes to ask -----------------------------------------------------------------------------


def test_refresh_asks_known_nodes_shuffled_then_startup_nodes_then_nodes_marked_down():
    s = loaded(rng=random.Random(3))
    s.mark_down_at(B, now=100.0)
    order = s.refresh_candidates(now=100.5)
    expected_known = list(s.slot_map.nodes)
    random.Random(3).shuffle(expected_known)
    up = [n for n in expected_known if n != B]
    assert order == [*up, SEED, B]


def test_before_the_first_map_only_the_startup_nodes_are_asked():
    s = ClusterState([SEED, A], rng=random.Random(1))
    assert s.refresh_candidates(now=0.0) == [SEED, A]


def test_a_startup_node_already_in_the_map_is_asked_once():
    s = ClusterState([A], rng=random.Random(1))
    s.install(SlotMap.from_cluster_slots(TWO_SHARDS, "x"), now=1.0)
    assert sorted(n.name for n in s.refresh_candidates(now=1.0)) == sorted(n.name for n in (A, B, C, D))


# --- the refresh generator -------------------------------------------------------------------------------


def test_refresh_moves_past_an_unreachable_node_marks_it_down_and_installs_the_next_answer():
    s = ClusterState([A, B], rng=random.Random(0))
    asked, new_map = drive(
        refresh_slots(s, now=10.0), {A.name: ConnectError("refused", A.name), B.name: TWO_SHARDS}, clock=[10.0]
    )
    assert asked == [A.name, B.name]
    assert new_map is s.slot_map and new_map.slots[0].master == A
    assert s.down_until[A.name] == 11.0 + s.down_for  # marked when it failed, not when the refresh began
    assert s.refresh_due == 12.0 + 5.0


def test_refresh_skips_a_node_with_no_slots_and_one_with_a_malformed_reply():
    s = ClusterState([A, B, C], rng=random.Random(0))
    asked, new_map = drive(refresh_slots(s, now=0.0), {A.name: [], B.name: [[b"junk"]], C.name: TWO_SHARDS})
    assert asked == [A.name, B.name, C.name]
    assert new_map is not None and not s.down_until  # only a failed connect marks a node down


def test_refresh_that_finds_no_map_keeps_the_old_one_and_schedules_a_retry():
    s = loaded()
    before = s.slot_map
    outcomes = {n.name: ReadTimeout("slow") for n in (A, B, C, D, SEED)}
    asked, result = drive(refresh_slots(s, now=200.0), outcomes, clock=[200.0])
    assert result is None and s.slot_map is before
    assert len(asked) == 5
    assert s.refresh_due == 205.0 + 1.0


def test_refresh_that_must_succeed_raises_connect_error_naming_every_node():
    s = ClusterState([A, B], rng=random.Random(0))
    outcomes = {A.name: ConnectError("refused"), B.name: ResponseError("ERR CLUSTER SLOTS not allowed")}
    with pytest.raises(ConnectError) as caught:
        drive(refresh_slots(s, now=0.0, raise_on_failure=True), outcomes)
    assert A.name in str(caught.value) and B.name in str(caught.value)


def test_wrong_credentials_are_fatal_at_once_when_failures_must_be_raised():
    s = ClusterState([A, B], rng=random.Random(0))
    wrong = ResponseError("WRONGPASS invalid username-password pair or user is disabled.")
    steps = refresh_slots(s, now=0.0, raise_on_failure=True)
    assert next(steps) == A
    with pytest.raises(ResponseError) as caught:
        steps.send((1.0, wrong))
    assert caught.value is wrong  # B was never asked


def test_wrong_credentials_are_one_more_failure_in_a_background_refresh():
    s = ClusterState([A, B], rng=random.Random(0))
    noauth = ResponseError("NOAUTH Authentication required.")
    asked, new_map = drive(refresh_slots(s, now=0.0), {A.name: noauth, B.name: TWO_SHARDS})
    assert asked == [A.name, B.name] and new_map is not None


@pytest.mark.parametrize(
    ("error", "fatal"),
    [
        (ResponseError("WRONGPASS invalid username-password pair"), True),
        (ResponseError("NOAUTH Authentication required."), True),
        (ResponseError("ERR AUTH <password> called without any password configured"), True),
        (ResponseError("ERR unknown command"), False),
        (ConnectError("refused"), False),
        (ProtocolError("garbage"), False),
    ],
)
def test_only_a_refusal_of_the_credentials_is_a_fatal_refresh_error(error, fatal):
    assert is_fatal_refresh_error(error) is fatal


# --- keyless rule, turns, command table -----------------------------------------------------------------


def test_a_keyless_command_goes_to_a_shard_chosen_by_the_injected_random():
    s = loaded(rng=random.Random(11))
    expected = random.Random(11)
    for _ in range(5):
        assert s.keyless_shard() is expected.choice(s.slot_map.shards)


def test_with_no_shard_known_the_keyless_rule_raises_lookup_error():
    with pytest.raises(LookupError):
        state().keyless_shard()


def test_turns_count_up_one_per_read():
    s = state()
    assert [s.next_turn() for _ in range(3)] == [0, 1, 2]


def test_the_command_table_is_asked_of_the_masters_or_before_any_map_of_the_startup_nodes():
    assert state().command_table_nodes() == [SEED]
    assert loaded().command_table_nodes() == [A, B]


def test_read_from_is_a_plain_attribute_of_the_state():
    s = state(read_from=ReadFrom.REPLICA)
    assert s.read_from is ReadFrom.REPLICA


# --- hosts: allowed_hosts, address_remap, redirect checks --------------------------------------------------


def test_allowed_hosts_match_names_exactly_and_addresses_by_network():
    policy = HostPolicy(["Redis.Internal", ipaddress.ip_network("10.0.0.0/24"), "fd00::/8", "192.168.1.5"])
    assert policy.allows("redis.internal")
    assert not policy.allows("redis.internal.evil.com")
    assert policy.allows("10.0.0.200") and not policy.allows("10.0.1.1")
    assert policy.allows("fd00::1") and not policy.allows("fe80::1")
    assert policy.allows("192.168.1.5") and not policy.allows("192.168.1.6")


def test_no_allowed_hosts_allows_every_host():
    assert HostPolicy().allows("anything.example") and not HostPolicy().active


@pytest.mark.parametrize("bad", ["10.0.0.0/8", [b"10.0.0.1"], [""], [42]])
def test_allowed_hosts_of_the_wrong_shape_are_refused_before_any_io(bad):
    with pytest.raises(TypeError):
        HostPolicy(bad)


def test_address_remap_must_be_a_callable_returning_host_and_port():
    with pytest.raises(TypeError):
        HostPolicy(address_remap="127.0.0.1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must return"):
        HostPolicy(address_remap=lambda h, p: f"{h}:{p}").reachable(A)  # type: ignore[arg-type,return-value]


def test_a_startup_node_outside_allowed_hosts_is_refused_before_any_io():
    with pytest.raises(ValueError, match="seed.example"):
        ClusterState([SEED], hosts=HostPolicy(["10.0.0.0/8"]))


def test_remap_and_allowed_hosts_apply_to_every_node_of_a_new_map():
    remap = {("10.0.0.1", 7000): ("127.0.0.1", 17001), ("10.0.0.2", 7000): ("127.0.0.1", 17002)}
    hosts = HostPolicy(["127.0.0.1", "seed.example"], lambda h, p: remap.get((h, p), (h, p)))
    s = ClusterState([SEED], hosts=hosts, rng=random.Random(0))
    asked, new_map = drive(refresh_slots(s, now=0.0), {SEED.name: TWO_SHARDS})
    assert [shard.master.name for shard in new_map.shards] == ["127.0.0.1:17001", "127.0.0.1:17002"]
    assert new_map.slots[0].master.node_id == "id"  # the node keeps its id
    assert all(shard.replicas == () for shard in new_map.shards)  # replicas 10.0.0.3/4 are not allowed


def test_a_master_outside_allowed_hosts_leaves_its_slots_uncovered():
    s = ClusterState([A], hosts=HostPolicy(["10.0.0.1", "10.0.0.3", "10.0.0.4"]), rng=random.Random(0))
    _, new_map = drive(refresh_slots(s, now=0.0), {A.name: TWO_SHARDS})
    assert new_map.uncovered() == [(8192, 16383)]
    assert B.host not in s.known_hosts


def test_a_redirect_to_a_known_host_is_followed_at_once():
    s = loaded()
    assert s.check_redirect("MOVED", A, B, refreshed=False) == B
    assert s.check_redirect("ASK", A, Node("10.0.0.2", 7999), refreshed=False) == Node("10.0.0.2", 7999)


def test_a_redirect_to_an_unknown_host_asks_for_a_refresh_that_skips_the_rate_limit():
    s = loaded(min_refresh_interval=10.0)
    stranger = Node("10.9.9.9", 7000)
    assert not s.refresh_wanted(101.0)
    assert s.check_redirect("MOVED", A, stranger, refreshed=False) is None
    assert s.refresh_wanted(101.0)
    assert not s.move_slot(3999, stranger)  # the map is not patched with a stranger


def test_a_redirect_to_a_host_still_unknown_after_the_refresh_is_an_error_naming_it():
    s = loaded()
    verdict = s.check_redirect("MOVED", A, Node("10.9.9.9", 7000), refreshed=True)
    assert isinstance(verdict, NodeNotAllowedError)
    assert verdict.node == "10.9.9.9:7000" and "10.9.9.9:7000" in str(verdict) and A.name in str(verdict)


def test_a_redirect_the_refreshed_map_names_is_followed():
    s = loaded()
    newcomer = Node("10.0.0.9", 7000)
    assert s.check_redirect("MOVED", A, newcomer, refreshed=False) is None
    s.install(SlotMap.from_ranges([(0, 16383, Shard(newcomer))]), now=101.0)
    assert s.check_redirect("MOVED", A, newcomer, refreshed=True) == newcomer
    assert not s.refresh_owed


def test_a_redirect_outside_allowed_hosts_is_an_error_without_a_refresh():
    s = ClusterState([A], hosts=HostPolicy(["10.0.0.0/29"]), rng=random.Random(0))
    verdict = s.check_redirect("ASK", A, Node("10.0.0.77", 7000), refreshed=False)
    assert isinstance(verdict, NodeNotAllowedError) and "allowed_hosts" in str(verdict)
    assert not s.refresh_owed


def test_a_redirect_is_remapped_like_the_map():
    hosts = HostPolicy(address_remap=lambda h, p: ("127.0.0.1", p + 10000))
    s = ClusterState([Node("127.0.0.1", 17000)], hosts=hosts, rng=random.Random(0))
    assert s.check_redirect("MOVED", A, Node("10.0.0.5", 7001), refreshed=False) == Node("127.0.0.1", 17001)
    assert s.move_slot(12, Node("10.0.0.5", 7001))
    assert s.slot_map.slots[12].master == Node("127.0.0.1", 17001)


def test_no_connection_goes_to_a_host_outside_allowed_hosts_or_one_no_map_ever_named():
    s = ClusterState([A], hosts=HostPolicy(["10.0.0.0/24"]), rng=random.Random(0))
    assert s.connect_refusal(A) is None
    assert s.connect_refusal(Node("10.0.0.1", 7999)) is None  # another port of a known host
    assert "allowed_hosts" in str(s.connect_refusal(Node("10.0.1.1", 7000)))
    assert "ever named" in str(s.connect_refusal(Node("10.0.0.9", 7000)))
    s.install(SlotMap.from_ranges([(0, 16383, Shard(Node("10.0.0.9", 7000)))]), now=1.0)
    assert s.connect_refusal(Node("10.0.0.9", 7000)) is None
    s.install(SlotMap.from_ranges([(0, 16383, Shard(A))]), now=2.0)
    assert s.connect_refusal(Node("10.0.0.9", 7000)) is None  # once named, a host stays connectable
    assert Node("10.0.0.9", 7000).host not in s.known_hosts  # but redirects there are checked again


# --- follow_moved: a MOVED met outside the router -------------------------------------------------------


def test_follow_moved_to_a_known_host_patches_the_map_without_a_refresh():
    s = loaded()
    steps = list(s.follow_moved(5, B))
    assert steps == []
    assert s.slot_map.slots[5].master == B and s.refresh_due == 0.0


def test_follow_moved_to_an_unknown_host_asks_for_a_refresh_then_follows_if_the_new_map_names_it():
    s = loaded()
    far = Node("10.0.0.9", 7000)
    steps = s.follow_moved(5, far)
    assert "unknown node 10.0.0.9:7000" in next(steps)
    # the shell refreshes; the new map names the far host
    s.install(SlotMap.from_cluster_slots(slots_of((0, 8191, far, ()), (8192, 16383, B, ())), "x"), now=101.0)
    with pytest.raises(StopIteration):
        next(steps)
    assert s.slot_map.slots[5].master == far


def test_follow_moved_still_unknown_after_the_refresh_is_refused_and_the_map_kept():
    s = loaded()
    before = s.slot_map
    steps = s.follow_moved(5, Node("10.9.9.9", 7000))
    next(steps)  # refresh asked; the refreshed map (unchanged here) still names no such host
    with pytest.raises(NodeNotAllowedError, match="even after a refresh"):
        next(steps)
    assert s.slot_map.slots[5] == before.slots[5]


def test_follow_moved_outside_allowed_hosts_is_refused_without_a_refresh():
    s = loaded(hosts=HostPolicy(["10.0.0.0/29", "seed.example"]))
    with pytest.raises(NodeNotAllowedError, match="allowed_hosts"):
        next(s.follow_moved(5, Node("192.168.1.1", 7000)))
