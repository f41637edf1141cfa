"""urls.parse_url: a redis:// URL -> a startup node and options, errors before any I/O."""

from __future__ import annotations

import pytest

from rediscluster_lite.urls import parse_url


def test_host_port_credentials_and_options():
    address, options = parse_url("redis://al%40ice:p%3Ass@h1:7000/0?socket_timeout=1.5&decode_responses=yes")
    assert address == ("h1", 7000)
    assert options == {"username": "al@ice", "password": "p:ss", "socket_timeout": 1.5, "decode_responses": True}


def test_rediss_turns_on_tls_and_the_port_defaults():
    assert parse_url("rediss://h1") == (("h1", 6379), {"ssl": True})


def test_none_and_empty_seconds_mean_no_timeout_and_the_first_of_a_repeated_option_wins():
    _, options = parse_url("redis://h1?connect_timeout=none&socket_timeout=&socket_timeout=3")
    assert options == {"connect_timeout": None, "socket_timeout": None}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://h1", "unsupported URL scheme"),
        ("redis://:6379", "names no host"),
        ("redis://h1/3", "only database 0"),
        ("redis://h1?colour=red", "unknown URL option 'colour'"),
        ("redis://h1?decode_responses=maybe", "expected true or false"),
    ],
)
def test_what_cannot_be_honoured_is_a_value_error(url, message):
    with pytest.raises(ValueError, match=message):
        parse_url(url)


def test_a_password_never_appears_in_an_error():
    with pytest.raises(ValueError) as caught:
        parse_url("redis://u:s3cret@h1/9")
    assert "s3cret" not in str(caught.value)
