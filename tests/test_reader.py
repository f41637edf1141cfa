"""The guarded ReplyReader, fed bytes directly: replies, size limits, error translation, the big-bulk path."""

from __future__ import annotations

import pytest

from rediscluster_lite.errors import ProtocolError, ReplyDecodeError, ResponseError
from rediscluster_lite.reader import BIG_BULK_BYTES, BUFFER_SIZE, INCOMPLETE, ReplyLimits, ReplyReader


def reader(max_reply_bytes: int = 1 << 30, encoding: str | None = None) -> ReplyReader:
    return ReplyReader("n1:7000", ReplyLimits(max_reply_bytes), encoding)


def test_whole_replies_come_out_in_order_and_errors_are_values():
    r = reader()
    assert r.feed(b"+OK\r\n:42\r\n-MOVED 3999 h:1\r\n*2\r\n$1\r\na\r\n$-1\r\n") == b"OK"
    replies: list = []
    r.drain(replies, 10)
    assert replies[0] == 42
    assert isinstance(replies[1], ResponseError) and replies[1].message.startswith("MOVED")
    assert replies[2] == [b"a", None]
    assert not r.has_data()


def test_a_reply_cut_anywhere_is_incomplete_until_its_last_byte():
    data = b"*3\r\n$5\r\nhello\r\n:7\r\n*1\r\n+x\r\n"
    for cut in range(1, len(data)):
        r = reader()
        assert r.feed(data[:cut]) is INCOMPLETE
        assert r.feed(data[cut:]) == [b"hello", 7, [b"x"]]


def test_drain_stops_at_the_count_and_leaves_the_rest_visible():
    r = reader()
    replies = [r.feed(b":1\r\n:2\r\n*2\r\n:3\r\n")]  # one reply too many, and that one half-sent
    r.drain(replies, 2)
    assert replies == [1, 2]
    assert r.has_data()  # unsolicited bytes are not hidden inside a half-parsed reply


def test_garbage_is_a_protocol_error_naming_the_node():
    with pytest.raises(ProtocolError, match="invalid reply from n1:7000"):
        reader().feed(b"?what\r\n")


def test_an_undecodable_reply_is_a_value_and_the_stream_stays_in_step():
    r = reader(encoding="utf-8")
    first = r.feed(b"$2\r\n\xff\xfe\r\n+after\r\n")
    assert isinstance(first, ReplyDecodeError) and "not valid utf-8" in str(first)
    assert r.parser.gets() == "after"


def test_a_header_announcing_more_than_the_limit_is_refused_before_the_data():
    for header in (b"$100000\r\n", b"*4294967295\r\n", b"*50000\r\n"):
        with pytest.raises(ProtocolError, match="announced a reply over max_reply_bytes"):
            reader(max_reply_bytes=65536).feed(header)


def test_a_refused_header_cut_between_two_chunks_is_still_seen():
    r = reader(max_reply_bytes=65536)
    r.feed(b"+OK\r\n" + b"x" * 10 + b"\r\n*4294")  # an error of a simple string, then half a header
    with pytest.raises(ProtocolError, match="announced"):
        r.feed(b"967295\r\n")


def test_digits_inside_values_are_not_mistaken_for_a_header():
    r = reader(max_reply_bytes=65536)
    value = b"1234567890" * 100
    assert r.feed(b"$%d\r\n%b\r\n" % (len(value), value)) == value


def test_bytes_over_the_limit_are_refused_even_without_a_big_header():
    r = reader(max_reply_bytes=1000)
    with pytest.raises(ProtocolError, match="exceeds max_reply_bytes"):
        r.feed(b"*200\r\n" + b":1\r\n" * 300)


def test_memory_error_inside_the_parser_becomes_a_protocol_error():
    r = reader()
    with pytest.raises(ProtocolError, match="more memory") as info:
        r.failed(MemoryError())
    assert isinstance(info.value.__cause__, MemoryError)


def test_limits_refuse_nonsense():
    with pytest.raises(ValueError):
        ReplyLimits(0)


# --- the big-bulk path: a large top-level bulk string goes straight into its bytes object --------------------


def big_reply(size: int) -> tuple[bytes, bytes]:
    value = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
    return value, b"$%d\r\n%b\r\n" % (size, value)


def test_a_big_bulk_at_a_reply_boundary_is_read_in_place_whatever_the_chunking():
    value, data = big_reply(BIG_BULK_BYTES + 12345)
    for first in (BUFFER_SIZE, 20, 1000):
        r = reader()
        r.at_boundary = True
        assert r.feed(data[:first]) is INCOMPLETE
        assert r.buffer is not r._own, "the reader should now write straight into the value"
        assert r.feed(data[first:]) == value
        assert r.buffer is r._own
        assert r.feed(b"+next\r\n") == b"next"  # back on hiredis, in step


def test_a_big_bulk_decodes_with_the_encoding():
    r = reader(encoding="utf-8")
    r.at_boundary = True
    text = "é" * (BIG_BULK_BYTES // 2 + 1)
    raw = text.encode()
    assert r.feed(b"$%d\r\n%b\r\n" % (len(raw), raw)) == text


def test_a_big_bulk_not_ended_by_crlf_is_a_protocol_error():
    _, data = big_reply(BIG_BULK_BYTES)
    r = reader()
    r.at_boundary = True
    with pytest.raises(ProtocolError, match="not ended by CRLF"):
        r.feed(data[:-2] + b"XX")


def test_without_a_boundary_a_big_bulk_stays_with_hiredis():
    value, data = big_reply(BIG_BULK_BYTES)
    r = reader()
    assert r.feed(data[:100]) is INCOMPLETE
    assert r.buffer is r._own
    assert r.feed(data[100:]) == value


def test_a_big_bulk_inside_an_array_is_never_taken_for_a_top_level_one():
    value, data = big_reply(BIG_BULK_BYTES)
    r = reader()
    r.at_boundary = True
    head = b"*2\r\n$1\r\na\r\n"
    assert r.feed(head) is INCOMPLETE
    assert r.feed(data) == [b"a", value]  # the element arrives as the next chunk, starting with "$"
