"""A retry policy object in redis-py's shape: ``Retry(ExponentialWithJitterBackoff(...), retries)``. Pure code.

Rules it keeps:

1. A :class:`Retry` is only a description: it becomes the router's one immutable
   :class:`~rediscluster_lite.router.RetryPolicy` (:meth:`Retry.policy`). There is no second counter: the
   router's ``max_retries`` budget *is* ``retries``, and the router's backoff *is* ``backoff.compute``.
2. ``supported_errors`` can only narrow what the router retries (transport errors and ``CLUSTERDOWN``), never
   widen it: a write that may have been applied is never sent twice, whatever the policy says.
3. A backoff is a pure function of the failure count (1 for the first retry): no state, so one policy may be
   shared by every thread and task of a client. (redis-py's stateful ``DecorrelatedJitterBackoff`` is left out
   for that reason.) Any object with ``compute(failures) -> seconds`` is accepted as a backoff.
4. Everything is checked when built (``ValueError``/``TypeError``), before any I/O.
"""

from __future__ import annotations

import random
from typing import Protocol

from .errors import ClusterDownError, ConnectionError, ProtocolError, TimeoutError
from .router import RetryPolicy

__all__ = [
    "Backoff",
    "ConstantBackoff",
    "NoBackoff",
    "ExponentialBackoff",
    "FullJitterBackoff",
    "EqualJitterBackoff",
    "ExponentialWithJitterBackoff",
    "Retry",
    "DEFAULT_SUPPORTED_ERRORS",
]

# redis-py's defaults for its backoff classes (seconds)
DEFAULT_CAP = 0.512
DEFAULT_BASE = 0.008

# What the router retries when no policy narrows it (so ``Retry(backoff, n)`` changes only the numbers).
DEFAULT_SUPPORTED_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    ClusterDownError,
    ProtocolError,
)


class Backoff(Protocol):
    def compute(self, failures: int) -> float: ...


def _seconds(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
    return float(value)


class ConstantBackoff:
    """The same wait before every retry."""

    __slots__ = ("backoff",)

    def __init__(self, backoff: float) -> None:
        self.backoff = _seconds("backoff", backoff)

    def compute(self, failures: int) -> float:
        return self.backoff

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.backoff == self.backoff  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self.backoff))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.backoff})"


class NoBackoff(ConstantBackoff):
    """Retry at once."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(0.0)

    def __repr__(self) -> str:
        return "NoBackoff()"


class _Exponential:
    """``base * 2 ** failures``, at most ``cap``; subclasses add jitter."""

    __slots__ = ("cap", "base")

    def __init__(self, cap: float = DEFAULT_CAP, base: float = DEFAULT_BASE) -> None:
        self.cap = _seconds("cap", cap)
        self.base = _seconds("base", base)

    def _ceiling(self, failures: int) -> float:
        # 2 ** failures grows without bound: cap the exponent so a huge failure count stays a float
        return min(self.cap, self.base * 2 ** min(failures, 64))

    def compute(self, failures: int) -> float:
        return self._ceiling(failures)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and (other.cap, other.base) == (self.cap, self.base)  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self.cap, self.base))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(cap={self.cap}, base={self.base})"


class ExponentialBackoff(_Exponential):
    """``min(cap, base * 2 ** failures)``, no jitter."""

    __slots__ = ()


class FullJitterBackoff(_Exponential):
    """A uniform wait in ``[0, min(cap, base * 2 ** failures)]``."""

    __slots__ = ()

    def compute(self, failures: int) -> float:
        return random.uniform(0, self._ceiling(failures))


class EqualJitterBackoff(_Exponential):
    """Half the exponential wait, plus a uniform jitter of up to the other half."""

    __slots__ = ()

    def compute(self, failures: int) -> float:
        half = self._ceiling(failures) / 2
        return half + random.uniform(0, half)


class ExponentialWithJitterBackoff(_Exponential):
    """``min(cap, random() * base * 2 ** failures)``: redis-py's cluster default."""

    __slots__ = ()

    def compute(self, failures: int) -> float:
        return min(self.cap, random.random() * self.base * 2 ** min(failures, 64))


class Retry:
    """``retries`` retries after the first attempt, waiting ``backoff.compute(n)`` before retry ``n``, for the
    errors in ``supported_errors`` (default: connection errors, timeouts, ``CLUSTERDOWN``, protocol errors;
    see rule 2)."""

    __slots__ = ("backoff", "retries", "supported_errors")

    def __init__(
        self,
        backoff: Backoff,
        retries: int,
        supported_errors: tuple[type[BaseException], ...] = DEFAULT_SUPPORTED_ERRORS,
    ) -> None:
        if not callable(getattr(backoff, "compute", None)):
            raise TypeError(f"backoff must have a compute(failures) method, got {backoff!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be an int >= 0 (retrying forever is not offered), got {retries!r}")
        errors = tuple(supported_errors)
        if not all(isinstance(e, type) and issubclass(e, BaseException) for e in errors):
            raise TypeError(f"supported_errors must be exception classes, got {supported_errors!r}")
        self.backoff = backoff
        self.retries = retries
        self.supported_errors = errors

    def get_retries(self) -> int:
        return self.retries

    def policy(self, max_redirects: int = 8) -> RetryPolicy:
        """The router's policy for this description (the redirect budget is separate: MOVED/ASK)."""
        return RetryPolicy(
            max_redirects=max_redirects,
            max_retries=self.retries,
            backoff_fn=self.backoff.compute,
            retry_on=self.supported_errors,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Retry):
            return NotImplemented
        return (self.backoff, self.retries, set(self.supported_errors)) == (
            other.backoff,
            other.retries,
            set(other.supported_errors),
        )

    def __hash__(self) -> int:
        return hash((self.retries, frozenset(self.supported_errors)))

    def __repr__(self) -> str:
        names = ", ".join(e.__name__ for e in self.supported_errors)
        return f"Retry({self.backoff!r}, {self.retries}, supported_errors=({names}))"
