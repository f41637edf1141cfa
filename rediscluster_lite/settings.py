"""What every connection of one client shares, whichever shell opens it: credentials, TLS, timeouts, limits.

The password is kept out of ``repr`` and every message. ``stream_opener`` (blocking shell only): how a
connection's stream is opened, ``None`` for TCP/TLS sockets (tests pass scripted streams).

Every new connection sends the same set-up, in one write: ``AUTH`` (with credentials), then ``CLIENT SETNAME``
(with a ``client_name``); :attr:`ConnectionSettings.setup` holds it packed, with what each step does, built once.
``health_check_interval`` (seconds, ``None``/0 off): a connection idle that long gets a ``PING`` before use.
"""

from __future__ import annotations

import ssl as _ssl
from collections.abc import Callable
from typing import Any

from .errors import ResponseError
from .reader import ReplyLimits
from .resp import pack_command
from .slotmap import Node

__all__ = ["ConnectionSettings"]


class ConnectionSettings:
    """What every connection of one client shares. The password is kept out of ``repr``."""

    __slots__ = (
        "username",
        "_password",
        "ssl_context",
        "connect_timeout",
        "socket_timeout",
        "max_reply_bytes",
        "reply_limits",
        "encoding",
        "stream_opener",
        "client_name",
        "health_check_interval",
        "setup",
    )

    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        ssl_context: _ssl.SSLContext | None = None,
        connect_timeout: float | None = 2.0,
        socket_timeout: float | None = 5.0,
        max_reply_bytes: int = 1 << 30,
        encoding: str | None = None,
        stream_opener: Callable[[Node, ConnectionSettings], Any] | None = None,
        client_name: str | None = None,
        health_check_interval: float | None = None,
    ) -> None:
        self.username = username
        self._password = password
        self.ssl_context = ssl_context
        self.connect_timeout = connect_timeout
        self.socket_timeout = socket_timeout
        self.max_reply_bytes = max_reply_bytes
        self.reply_limits = ReplyLimits(max_reply_bytes)
        self.encoding = encoding
        self.stream_opener = stream_opener
        self.client_name = client_name or None
        self.health_check_interval = health_check_interval or None
        self.setup = self._setup()

    def _setup(self) -> tuple[bytes, tuple[str, ...]] | None:
        """``(packed commands, what each does)`` of a new connection's set-up, or ``None`` when there is none."""
        candidates = ((self.auth_command(), "authenticating to"), (self._name_command(), "setting the client name on"))
        steps = [(c, what) for c, what in candidates if c is not None]
        if not steps:
            return None
        return b"".join(c for c, _ in steps), tuple(what for _, what in steps)

    @staticmethod
    def refusal(steps: tuple[str, ...], replies: list, node_name: str) -> ResponseError | None:
        """The error for the first set-up reply that is an error, naming the step (never the password)."""
        for what, reply in zip(steps, replies):
            if isinstance(reply, ResponseError):
                return ResponseError(f"{reply.message} ({what} {node_name})")
        return None

    def _name_command(self) -> bytes | None:
        if self.client_name is None:
            return None
        return pack_command((b"CLIENT", b"SETNAME", self.client_name))

    def auth_command(self) -> bytes | None:
        if self.username:
            # A user without a password (ACL ``nopass``) accepts any password, so send an empty one.
            return pack_command((b"AUTH", self.username, self._password or b""))
        if self._password is None:
            return None
        return pack_command((b"AUTH", self._password))

    def __repr__(self) -> str:
        secret = "'***'" if self._password is not None else "None"
        return (
            f"ConnectionSettings(username={self.username!r}, password={secret}, "
            f"ssl={self.ssl_context is not None}, connect_timeout={self.connect_timeout}, "
            f"socket_timeout={self.socket_timeout}, client_name={self.client_name!r}, "
            f"health_check_interval={self.health_check_interval})"
        )
