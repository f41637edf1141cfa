"""Argument shapes redis-py accepts, turned into what Redis takes, before any I/O.

Expiries: a relative one (``ex``, ``expire``, ``setex`` ...) is an ``int`` or a ``timedelta``; an absolute one
(``exat``, ``expireat`` ...) is an ``int`` (Unix time) or a ``datetime`` (naive means local time, as
``datetime.timestamp`` reads it). Anything else is a ``DataError`` naming the argument.
"""

from __future__ import annotations

import datetime
from typing import Any

from ..errors import DataError

ExpiryT = int | datetime.timedelta
AbsExpiryT = int | datetime.datetime


def _whole(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataError(f"{what} must be an int or a timedelta/datetime, not {type(value).__name__}")
    return value


def seconds(value: ExpiryT, what: str = "ex") -> int:
    """A relative expiry in whole seconds."""
    if isinstance(value, datetime.timedelta):
        return int(value.total_seconds())
    return _whole(value, what)


def millis(value: ExpiryT, what: str = "px") -> int:
    """A relative expiry in whole milliseconds."""
    if isinstance(value, datetime.timedelta):
        return int(value.total_seconds() * 1000)
    return _whole(value, what)


def unix_seconds(value: AbsExpiryT, what: str = "exat") -> int:
    """An absolute expiry as a Unix time in seconds."""
    if isinstance(value, datetime.datetime):
        return int(value.timestamp())
    return _whole(value, what)


def unix_millis(value: AbsExpiryT, what: str = "pxat") -> int:
    """An absolute expiry as a Unix time in milliseconds."""
    if isinstance(value, datetime.datetime):
        return int(value.timestamp() * 1000)
    return _whole(value, what)


def exclusive(what: str, **flags: Any) -> None:
    """``DataError`` when more than one of ``flags`` is set (``exclusive("set", ex=ex, px=px)``)."""
    given = [name for name, value in flags.items() if value is not None and value is not False]
    if len(given) > 1:
        raise DataError(f"{what}(): {' and '.join(given)} are mutually exclusive")
