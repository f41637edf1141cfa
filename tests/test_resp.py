"""pack_key, pack_key_value and pack_keyed: the hot-path framing must be byte-for-byte what hiredis packs,
with key_slot's slot."""

from __future__ import annotations

import hiredis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rediscluster_lite.keyslot import key_slot
from rediscluster_lite.resp import command_head, pack_command, pack_key, pack_key_value, pack_keyed

keys = st.one_of(
    st.binary(max_size=40),
    st.text(max_size=20),
    st.builds(lambda a, tag, b: f"{a}{{{tag}}}{b}", st.text(max_size=5), st.text(max_size=5), st.text(max_size=5)),
    st.integers(),
    st.floats(allow_nan=False),
)
values = st.one_of(st.binary(max_size=100), st.text(max_size=20), st.integers(), st.floats(allow_nan=False))


def _reference(args: tuple, key: object) -> tuple[bytes, int]:
    return hiredis.pack_command(tuple(a if not isinstance(a, float) else repr(a) for a in args)), key_slot(key)


@given(keys)
def test_command_and_key_frame_like_hiredis(key: object) -> None:
    packed, slot, readonly, convert = pack_keyed((b"GET", key), key, True, len)
    assert (packed, slot) == _reference((b"GET", key), key)
    assert (readonly, convert) == (True, len)


@given(keys, values)
def test_command_key_and_value_frame_like_hiredis(key: object, value: object) -> None:
    packed, slot, _, _ = pack_keyed((b"SET", key, value), key, False, None)
    assert (packed, slot) == _reference((b"SET", key, value), key)


@given(keys, values, values)
def test_longer_commands_take_the_general_path(key: object, a: object, b: object) -> None:
    args = (b"HSET", key, a, b)
    assert pack_keyed(args, key, False, None)[:2] == (pack_command(args), key_slot(key))


def test_key_not_in_second_place_is_hashed_not_framed_as_key() -> None:
    args = (b"OBJECT", b"ENCODING", "user:1")
    packed, slot, _, _ = pack_keyed(args, "user:1", True, None)
    assert (packed, slot) == (pack_command(args), key_slot("user:1"))


@pytest.mark.parametrize("value", [True, None, object(), [b"x"]])
def test_bad_value_is_a_type_error(value: object) -> None:
    with pytest.raises(TypeError, match="argument 2 of 'SET'"):
        pack_keyed((b"SET", "k", value), "k", False, None)


@pytest.mark.parametrize("key", [True, None, object()])
def test_bad_key_is_a_type_error(key: object) -> None:
    with pytest.raises(TypeError):
        pack_keyed((b"GET", key), key, True, None)


def test_lone_surrogate_is_an_encode_error() -> None:
    with pytest.raises(UnicodeEncodeError):
        pack_keyed((b"GET", "\udc80"), "\udc80", True, None)
    with pytest.raises(UnicodeEncodeError):
        pack_keyed((b"SET", "k", "\udc80"), "k", False, None)


def test_bytearray_and_memoryview_values_are_sent_as_their_bytes() -> None:
    for value in (bytearray(b"abc"), memoryview(b"abc")):
        assert pack_keyed((b"SET", "k", value), "k", False, None)[0] == pack_command((b"SET", "k", b"abc"))


@pytest.mark.parametrize("size", [0, 1023, 1024, 5000])
def test_keys_and_values_past_the_length_tables_frame_the_same(size: int) -> None:
    key, value = "k" * size, b"v" * size
    assert pack_keyed((b"GET", key), key, True, None)[0] == pack_command((b"GET", key))
    assert pack_keyed((b"SET", key, value), key, False, None)[0] == pack_command((b"SET", key, value))
    assert pack_keyed((b"SET", "k", value), "k", False, None)[0] == pack_command((b"SET", "k", value))


def test_a_command_name_not_seen_before_frames_the_same_first_and_after() -> None:
    for _ in range(2):
        assert pack_keyed((b"NEVERSEEN2", "k"), "k", True, None)[0] == pack_command((b"NEVERSEEN2", "k"))
        assert pack_keyed((b"NEVERSEEN3", "k", 7), "k", False, None)[0] == pack_command((b"NEVERSEEN3", "k", 7))


@given(keys)
def test_pack_key_with_a_command_head_frames_like_hiredis(key: object) -> None:
    packed, slot, readonly, convert = pack_key(command_head(b"GET", 2), key, True, len)
    assert (packed, slot) == _reference((b"GET", key), key)
    assert (readonly, convert) == (True, len)


@given(keys, values)
def test_pack_key_value_with_a_command_head_frames_like_hiredis(key: object, value: object) -> None:
    packed, slot, _, _ = pack_key_value(command_head(b"SET", 3), key, value, False, None)
    assert (packed, slot) == _reference((b"SET", key, value), key)


def test_pack_key_bad_key_and_value_errors_name_the_command() -> None:
    with pytest.raises(TypeError, match="argument 1 of 'GET'"):
        pack_key(command_head(b"GET", 2), None, True, None)
    with pytest.raises(TypeError, match="argument 2 of 'SET'"):
        pack_key_value(command_head(b"SET", 3), "k", None, False, None)
