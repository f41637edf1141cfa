"""``redis://`` and ``rediss://`` URLs -> a startup node and client options. Pure code.

Rules: only database 0 exists in a cluster; an unknown option or a malformed value is a ``ValueError``
before any I/O; user name and password are percent-decoded and never echoed in a message. The retry options
(``retry_backoff_base``, ``retry_backoff_cap``, ``retry_on_timeout``) become one ``retry`` object
(``Retry(ExponentialWithJitterBackoff(cap, base), max_retries)``); without them ``max_retries`` stays itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .retry import DEFAULT_BASE, DEFAULT_CAP, DEFAULT_SUPPORTED_ERRORS, ExponentialWithJitterBackoff, Retry

__all__ = ["parse_url", "URL_OPTIONS"]


def _url_flag(value: str) -> bool:
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false in the URL, got {value!r}")


def _url_seconds(value: str) -> float | None:
    return None if value.lower() in ("", "none") else float(value)


def _url_count(value: str) -> int:
    if not value.isdigit():
        raise ValueError(f"expected a whole number >= 0 in the URL, got {value!r}")
    return int(value)


def _url_positive_seconds(value: str) -> float:
    seconds = float(value)
    if not seconds >= 0:  # also refuses nan
        raise ValueError(f"expected seconds >= 0 in the URL, got {value!r}")
    return seconds


URL_OPTIONS: dict[str, Callable[[str], Any]] = {
    "socket_timeout": _url_seconds,
    "connect_timeout": _url_seconds,
    "decode_responses": _url_flag,
    "read_from": str,
    "client_name": str,
    "health_check_interval": _url_seconds,
    "max_retries": _url_count,
    "max_redirects": _url_count,
    "retry_backoff_base": _url_positive_seconds,
    "retry_backoff_cap": _url_positive_seconds,
    "retry_on_timeout": _url_flag,
}

_RETRY_OPTIONS = ("retry_backoff_base", "retry_backoff_cap", "retry_on_timeout")


def _retry_of(options: dict[str, Any]) -> None:
    """Replace the URL's retry options (if any) by one ``retry`` object, in place."""
    if not any(name in options for name in _RETRY_OPTIONS):
        return
    base = options.pop("retry_backoff_base", DEFAULT_BASE)
    cap = options.pop("retry_backoff_cap", DEFAULT_CAP)
    errors = DEFAULT_SUPPORTED_ERRORS
    if not options.pop("retry_on_timeout", True):
        errors = tuple(e for e in errors if not issubclass(e, TimeoutError))
    retries = options.pop("max_retries", 3)
    options["retry"] = Retry(ExponentialWithJitterBackoff(cap=cap, base=base), retries, errors)


def parse_url(url: str) -> tuple[tuple[str, int], dict[str, Any]]:
    """``redis://[user:password@]host:port[/0][?option=value...]`` -> ``((host, port), options)``.

    ``rediss://`` sets ``ssl=True``. Options in the query: those of :data:`URL_OPTIONS`.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"unsupported URL scheme {parts.scheme!r}; use redis:// or rediss://")
    if not parts.hostname:
        raise ValueError("the URL names no host")
    options: dict[str, Any] = {}
    if parts.username:
        options["username"] = unquote(parts.username)
    if parts.password:
        options["password"] = unquote(parts.password)
    if parts.scheme == "rediss":
        options["ssl"] = True
    if parts.path not in ("", "/", "/0"):
        raise ValueError(f"a cluster has only database 0; the URL names {parts.path[1:]!r}")
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        convert = URL_OPTIONS.get(name)
        if convert is None:
            raise ValueError(f"unknown URL option {name!r}; known: {', '.join(sorted(URL_OPTIONS))}")
        options.setdefault(name, convert(value))
    _retry_of(options)
    return (parts.hostname, parts.port or 6379), options
