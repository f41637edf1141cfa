"""transaction.judge_exec on the replies a real server sends to MULTI ... EXEC, parsed from their RESP bytes."""

from __future__ import annotations

import pytest

from rediscluster_lite.errors import ResponseError
from rediscluster_lite.resp import INCOMPLETE, new_reader
from rediscluster_lite.transaction import DONE, REDIRECTED, REFUSED, WATCH_FAILED, judge_exec

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
