"""batch: which replies of a batch are ASKING's to drop, and how a failure in a batch is raised."""

from __future__ import annotations

import pytest

from rediscluster_lite.batch import (
    after_asking,
    command_name_of,
    drop_asking_replies,
    raise_batch_error,
    raise_first_failure,
)
from rediscluster_lite.errors import MaybeAppliedError, ReadError, ResponseError
from rediscluster_lite.resp import pack_command


def test_asking_replies_are_dropped_and_only_the_commands_replies_kept():
    # Commands 4, 7, 9 went to this node; 7 was preceded by ASKING (its +OK comes first).
    raw = [b"v4", b"OK", b"v7", b"v9"]
    assert drop_asking_replies([4, 7, 9], {7}, raw) == [b"v4", b"v7", b"v9"]


def test_a_refused_asking_stands_in_for_its_commands_reply():
    refused = ResponseError("ERR ASKING refused")
    raw = [refused, ResponseError("MOVED 5 10.0.0.1:7000"), b"v9"]
    assert drop_asking_replies([7, 9], {7}, raw) == [refused, b"v9"]


def test_after_asking_keeps_the_reply_unless_asking_was_refused():
    refused = ResponseError("ERR ASKING refused")
    assert after_asking(b"OK", b"value") == b"value"
    assert after_asking(refused, b"value") is refused


def test_command_name_of_reads_the_first_word():
    assert command_name_of(pack_command((b"get", b"k"))) == "GET"
    assert command_name_of(b"garbage") == "?"


def test_a_failure_is_raised_with_its_position_and_the_commands_that_may_have_applied():
    lost = ReadError("reset")
    results = [b"OK", MaybeAppliedError("maybe", "n:1"), lost]
    with pytest.raises(ReadError, match=r"command #2 \(SET\) of 3; may have been applied: commands \[1\]") as caught:
        raise_batch_error(results, 2, "set")
    assert caught.value is lost and caught.value.index == 2 and caught.value.maybe_applied == [1]


def test_an_error_reply_is_raised_as_a_new_response_error_naming_its_position():
    with pytest.raises(ResponseError, match=r"ERR bad \(command #0 \(INCR\) of 1\)") as caught:
        raise_batch_error([ResponseError("ERR bad")], 0, "incr")
    assert caught.value.index == 0


def test_raise_first_failure_raises_the_first_or_nothing():
    raise_first_failure([b"a", None], "GET")
    with pytest.raises(ReadError, match="command #1"):
        raise_first_failure([b"a", ReadError("x"), ReadError("y")], "GET")
