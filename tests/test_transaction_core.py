"""The transaction core: judge_exec on the replies a real server sends to MULTI ... EXEC (parsed from their
RESP bytes), and the generators around it (exec_plan, pin_plan) driven with scripted outcomes."""

from __future__ import annotations

import pytest
from scripted_plans import M1, M2, NEW, R1, FakeState, Script, after_failover, reply, uncovered_first_half

from rediscluster_lite.effects import EXEC, FORCE_REFRESH, PIN
from rediscluster_lite.errors import (
    ConnectError,
    ConnectTimeout,
    MaybeAppliedError,
    PoolTimeout,
    ReadError,
    ResponseError,
    SlotNotCoveredError,
    TooManyRedirects,
    WatchError,
)
from rediscluster_lite.resp import INCOMPLETE, new_reader
from rediscluster_lite.router import SLEEP, RetryPolicy
from rediscluster_lite.transaction import (
    DONE,
    REDIRECTED,
    REFUSED,
    WATCH_FAILED,
    WatchRetry,
    exec_plan,
    judge_exec,
    pin_plan,
    watch_redirected,
)

EXECABORT = b"-EXECABORT Transaction discarded because of previous errors.\r\n"


def parse(data: bytes, count: int) -> list:
    """Exactly ``count`` replies from ``data`` (as the client's connection reads them)."""
    reader = new_reader()
    reader.feed(data)
    replies = list(iter(reader.gets, INCOMPLETE))
    assert len(replies) == count, replies
    return replies


def test_the_four_verdicts_are_distinct():
    assert len({DONE, REDIRECTED, WATCH_FAILED, REFUSED}) == 4


# --- DONE ---------------------------------------------------------------------------------------------


def test_exec_array_is_done_with_the_results_in_order():
    replies = parse(b"+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n$1\r\nv\r\n:7\r\n", 5)
    assert judge_exec(replies) == (DONE, [b"OK", b"v", 7])


def test_runtime_error_inside_exec_is_done_with_the_error_in_place():
    data = (
        b"+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n"
        b"*3\r\n+OK\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n:1\r\n"
    )
    verdict, results = judge_exec(parse(data, 5))
    assert verdict == DONE
    assert results[0] == b"OK" and results[2] == 1
    assert isinstance(results[1], ResponseError)
    assert results[1].code == "WRONGTYPE"


def test_empty_exec_array_is_done():
    assert judge_exec(parse(b"+OK\r\n*0\r\n", 2)) == (DONE, [])


def test_nested_null_in_exec_array_is_a_result_not_a_watch_failure():
    # GET of a missing key inside the transaction: a nil *inside* EXEC's array.
    assert judge_exec(parse(b"+OK\r\n+QUEUED\r\n*1\r\n$-1\r\n", 3)) == (DONE, [None])


# --- WATCH_FAILED -------------------------------------------------------------------------------------


def test_null_array_from_exec_is_a_watch_failure():
    assert judge_exec(parse(b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*-1\r\n", 4)) == (WATCH_FAILED, None)


def test_resp3_null_from_exec_is_a_watch_failure():
    assert judge_exec(parse(b"+OK\r\n+QUEUED\r\n_\r\n", 3)) == (WATCH_FAILED, None)


# --- REDIRECTED ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, code",
    [
        (b"-MOVED 3999 127.0.0.1:7002\r\n", "MOVED"),
        (b"-ASK 3999 127.0.0.1:7002\r\n", "ASK"),
        (b"-TRYAGAIN Multiple keys request during rehashing of slot\r\n", "TRYAGAIN"),
        (b"-CLUSTERDOWN The cluster is down\r\n", "CLUSTERDOWN"),
    ],
)
def test_a_queued_command_redirected_means_nothing_ran(line, code):
    replies = parse(b"+OK\r\n" + line + b"+QUEUED\r\n" + EXECABORT, 4)
    verdict, error = judge_exec(replies)
    assert verdict == REDIRECTED
    assert isinstance(error, ResponseError) and error.code == code


def test_a_later_queued_command_redirected_is_found():
    replies = parse(b"+OK\r\n+QUEUED\r\n+QUEUED\r\n-MOVED 12182 127.0.0.1:7003\r\n" + EXECABORT, 5)
    verdict, error = judge_exec(replies)
    assert verdict == REDIRECTED
    assert error.message == "MOVED 12182 127.0.0.1:7003"


def test_exec_itself_redirected_means_nothing_ran():
    # The slot moved between queueing and EXEC: Redis answers EXEC with the redirect.
    replies = parse(b"+OK\r\n+QUEUED\r\n-MOVED 3999 127.0.0.1:7002\r\n", 3)
    verdict, error = judge_exec(replies)
    assert verdict == REDIRECTED
    assert error.code == "MOVED"


def test_a_redirect_wins_over_a_refusal_in_the_same_transaction():
    data = b"+OK\r\n-ERR wrong number of arguments for 'get' command\r\n-MOVED 3999 127.0.0.1:7002\r\n" + EXECABORT
    verdict, error = judge_exec(parse(data, 4))
    assert verdict == REDIRECTED
    assert error.code == "MOVED"


# --- REFUSED ------------------------------------------------------------------------------------------


def test_a_command_refused_while_queueing_is_refused_with_its_own_error():
    data = b"+OK\r\n+QUEUED\r\n-ERR wrong number of arguments for 'get' command\r\n" + EXECABORT
    verdict, error = judge_exec(parse(data, 4))
    assert verdict == REFUSED
    assert error.code == "ERR"
    assert "wrong number of arguments" in error.message  # the cause, not EXECABORT's summary


def test_an_unknown_command_while_queueing_is_refused():
    data = b"+OK\r\n-ERR unknown command 'NOPE', with args beginning with: \r\n" + EXECABORT
    verdict, error = judge_exec(parse(data, 3))
    assert verdict == REFUSED
    assert "unknown command" in error.message


def test_multi_refused_is_refused():
    data = b"-ERR MULTI calls can not be nested\r\n+QUEUED\r\n*1\r\n+OK\r\n"
    verdict, error = judge_exec(parse(data, 3))
    assert verdict == REFUSED
    assert "nested" in error.message


def test_execabort_without_a_visible_cause_is_refused_with_execabort():
    verdict, error = judge_exec(parse(b"+OK\r\n+QUEUED\r\n" + EXECABORT, 3))
    assert verdict == REFUSED
    assert error.code == "EXECABORT"


def test_exec_error_other_than_a_redirect_is_refused():
    # e.g. the node became read-only (a demoted master) between queueing and EXEC.
    data = b"+OK\r\n+QUEUED\r\n-READONLY You can't write against a read only replica.\r\n"
    verdict, error = judge_exec(parse(data, 3))
    assert verdict == REFUSED
    assert error.code == "READONLY"


# --- exec_plan: EXEC under redirects, retries and a pinned WATCH (scripted outcomes, no sockets) ---------

SLOT = 100  # served by M1 in the scripted maps
RAN = b"+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n"  # MULTI, one command, EXEC ran it


def queued_error(text: str) -> bytes:
    """The replies when the one queued command is refused with ``text`` (EXEC then aborts)."""
    return b"+OK\r\n-" + text.encode() + b"\r\n" + EXECABORT


def run_exec(state: FakeState, *, pinned=None, watched=False, policy=None, **outcomes):
    script = Script(state, **outcomes)
    steps = exec_plan(state, policy or RetryPolicy(), SLOT, pinned, watched)
    return script, steps


def test_exec_pins_the_slots_master_then_runs_once():
    state = FakeState()
    script, steps = run_exec(state, pin=[None], exec=[RAN])
    assert script.run(steps) == [b"OK"]
    assert script.effects == [(PIN, M1), (EXEC, False)]


def test_exec_on_an_already_pinned_connection_does_not_pin_again():
    script, steps = run_exec(FakeState(), pinned=M1, exec=[RAN])
    assert script.run(steps) == [b"OK"]
    assert script.kinds == [EXEC]


def test_moved_patches_the_map_and_exec_goes_again_at_the_new_owner():
    state = FakeState()
    script, steps = run_exec(state, pin=[None, None], exec=[queued_error(f"MOVED {SLOT} 10.0.0.9:7009"), RAN])
    assert script.run(steps) == [b"OK"]
    assert state.moved == [(SLOT, NEW)]
    assert script.effects == [(PIN, M1), (EXEC, False), (PIN, NEW), (EXEC, False)]


def test_ask_sends_asking_at_the_importing_node_and_leaves_the_map_alone():
    state = FakeState()
    asked = b"+OK\r\n" + RAN  # ASKING's reply comes first
    script, steps = run_exec(state, pin=[None, None], exec=[queued_error(f"ASK {SLOT} 10.0.0.9:7009"), asked])
    assert script.run(steps) == [b"OK"]
    assert state.moved == []
    assert script.effects == [(PIN, M1), (EXEC, False), (PIN, NEW), (EXEC, True)]


def test_a_refused_asking_is_the_transactions_refusal():
    refused = b"-ERR unknown command 'ASKING'\r\n" + RAN
    script, steps = run_exec(FakeState(), pin=[None, None], exec=[queued_error(f"ASK {SLOT} 10.0.0.9:7009"), refused])
    with pytest.raises(ResponseError, match="ASKING"):
        script.run(steps)


def test_tryagain_backs_off_and_goes_again_to_the_same_node_without_a_refresh():
    state = FakeState()
    script, steps = run_exec(state, pin=[None, None], exec=[queued_error("TRYAGAIN Multiple keys request"), RAN])
    assert script.run(steps) == [b"OK"]
    assert script.effects == [(PIN, M1), (EXEC, False), (SLEEP, RetryPolicy().backoff(1)), (PIN, M1), (EXEC, False)]


def test_clusterdown_backs_off_and_forces_a_refresh_before_going_again():
    state = FakeState(refreshed=[after_failover()])
    down = b"+OK\r\n+QUEUED\r\n-CLUSTERDOWN The cluster is down\r\n"
    script, steps = run_exec(state, pin=[None, None], exec=[down, RAN])
    assert script.run(steps) == [b"OK"]
    assert script.kinds == [PIN, EXEC, SLEEP, FORCE_REFRESH, PIN, EXEC]
    assert script.of(PIN)[1] == (PIN, R1)  # the map after the refresh names the promoted replica


def test_redirects_past_the_budget_raise_watch_error_carrying_the_history():
    state = FakeState()
    policy = RetryPolicy(max_redirects=2)
    moved = queued_error(f"MOVED {SLOT} 10.0.0.9:7009")
    script, steps = run_exec(state, policy=policy, pin=[None] * 3, exec=[moved] * 3)
    with pytest.raises(WatchError, match="kept moving") as caught:
        script.run(steps)
    assert len(script.of(EXEC)) == 3  # the first try and two redirects
    assert isinstance(caught.value.__cause__, TooManyRedirects)
    assert [kind for kind, _, _ in caught.value.__cause__.history] == ["MOVED"] * 3


def test_tryagain_past_max_retries_raises_watch_error():
    policy = RetryPolicy(max_retries=1)
    busy = queued_error("TRYAGAIN Multiple keys request")
    script, steps = run_exec(FakeState(), policy=policy, pin=[None] * 2, exec=[busy] * 2)
    with pytest.raises(WatchError, match="kept moving"):
        script.run(steps)
    assert len(script.of(EXEC)) == 2 and len(script.of(SLEEP)) == 1


def test_a_watched_transaction_that_is_redirected_raises_watch_error_and_patches_the_map():
    state = FakeState()
    script, steps = run_exec(state, pinned=M1, watched=True, exec=[queued_error(f"MOVED {SLOT} 10.0.0.9:7009")])
    with pytest.raises(WatchError, match="slot is moving"):
        script.run(steps)
    assert state.moved == [(SLOT, NEW)]
    assert script.kinds == [EXEC]  # never followed: the WATCH lived on the first connection


def test_a_watched_key_that_changed_raises_watch_error():
    script, steps = run_exec(FakeState(), pinned=M1, watched=True, exec=[b"+OK\r\n+QUEUED\r\n*-1\r\n"])
    with pytest.raises(WatchError, match="changed"):
        script.run(steps)


def test_a_connection_lost_after_exec_was_written_is_maybe_applied_and_never_resent():
    lost = ReadError("connection reset")
    script, steps = run_exec(FakeState(), pin=[None], exec=[lost])
    with pytest.raises(MaybeAppliedError, match="10.0.0.1:7000") as caught:
        script.run(steps)
    assert caught.value.__cause__ is lost
    assert script.kinds == [PIN, EXEC]


def test_a_refused_command_raises_the_servers_error_without_retry():
    script, steps = run_exec(FakeState(), pin=[None], exec=[queued_error("ERR wrong number of arguments")])
    with pytest.raises(ResponseError, match="wrong number"):
        script.run(steps)
    assert script.kinds == [PIN, EXEC]


# --- pin_plan: failover while pinning -------------------------------------------------------------------


def test_pinning_a_dead_master_marks_it_down_refreshes_and_pins_the_promoted_replica():
    state = FakeState(refreshed=[after_failover()])
    script = Script(state, pin=[ConnectError("refused"), None])
    assert script.run(pin_plan(state, RetryPolicy(), SLOT)) == R1
    assert state.marked == [M1]
    assert script.kinds == [PIN, SLEEP, FORCE_REFRESH, PIN]
    assert script.of(PIN) == [(PIN, M1), (PIN, R1)]


def test_pinning_gives_up_after_max_retries_with_the_connect_error():
    state = FakeState()
    refused = ConnectError("refused")
    script = Script(state, pin=[refused] * 3)
    with pytest.raises(ConnectError, match="refused"):
        script.run(pin_plan(state, RetryPolicy(max_retries=2), SLOT))
    assert len(script.of(PIN)) == 3 and state.marked == [M1] * 3


def test_pinning_gives_up_after_a_second_connect_timeout():
    state = FakeState()
    script = Script(state, pin=[ConnectTimeout("slow"), ConnectTimeout("slow"), None])
    with pytest.raises(ConnectTimeout):
        script.run(pin_plan(state, RetryPolicy(max_retries=5), SLOT))
    assert len(script.of(PIN)) == 2


def test_pinning_raises_a_pool_timeout_or_an_auth_refusal_at_once():
    for failure in (PoolTimeout("busy"), reply(b"-WRONGPASS invalid username-password pair\r\n")):
        state = FakeState()
        script = Script(state, pin=[failure])
        with pytest.raises(type(failure)):
            script.run(pin_plan(state, RetryPolicy(), SLOT))
        assert script.kinds == [PIN] and state.marked == []


def test_an_uncovered_slot_refreshes_once_then_pins_or_raises():
    state = FakeState(uncovered_first_half(), refreshed=[after_failover()])
    script = Script(state, pin=[None])
    assert script.run(pin_plan(state, RetryPolicy(), SLOT)) == R1
    assert script.kinds == [FORCE_REFRESH, PIN]
    state = FakeState(uncovered_first_half())
    with pytest.raises(SlotNotCoveredError):
        Script(state).run(pin_plan(state, RetryPolicy(), SLOT))


def test_a_keyless_transaction_pins_some_master():
    state = FakeState()
    script = Script(state, pin=[None])
    assert script.run(pin_plan(state, RetryPolicy(), None)) in (M1, M2)


def test_exec_pins_through_a_failover_then_runs():
    state = FakeState(refreshed=[after_failover()])
    script, steps = run_exec(state, pin=[ConnectError("refused"), None], exec=[RAN])
    assert script.run(steps) == [b"OK"]
    assert script.of(PIN) == [(PIN, M1), (PIN, R1)]


# --- while WATCHing, and the retry rule of client.transaction() -----------------------------------------


def test_moved_while_watching_is_a_watch_error_and_patches_the_map():
    state = FakeState()
    error = watch_redirected(state, reply(b"-MOVED 100 10.0.0.9:7009\r\n"))
    assert isinstance(error, WatchError) and "moved to 10.0.0.9:7009" in str(error)
    assert state.moved == [(100, NEW)]


def test_ask_while_watching_is_a_watch_error_and_leaves_the_map():
    state = FakeState()
    error = watch_redirected(state, reply(b"-ASK 100 10.0.0.9:7009\r\n"))
    assert isinstance(error, WatchError) and "migrating" in str(error)
    assert state.moved == []


@pytest.mark.parametrize("data", [b"+OK\r\n", b"-ERR nope\r\n", b"-TRYAGAIN later\r\n", b"$-1\r\n"])
def test_any_other_reply_while_watching_is_no_watch_error(data):
    assert watch_redirected(FakeState(), reply(data)) is None


def test_watch_retry_without_a_limit_always_goes_again():
    retry = WatchRetry(None)
    assert all(retry.again() for _ in range(100))


def test_watch_retry_allows_max_attempts_tries_in_all():
    retry = WatchRetry(3)
    assert [retry.again(), retry.again(), retry.again()] == [True, True, False]
    assert retry.attempts == 3
    assert WatchRetry(1).again() is False
