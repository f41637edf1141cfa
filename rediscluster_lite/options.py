"""A client's constructor options, checked and turned into the parts both shells build on. Pure code.

Rules: every option is checked before any I/O (``TypeError``/``ValueError``); ``ssl=True`` means a default
context that verifies against the system's CAs; the password goes only into the settings, which keep it
out of every ``repr`` and message.
"""

from __future__ import annotations

import ssl as _ssl
from collections.abc import Iterable
from typing import Any

from .readfrom import ReadFrom
from .router import RetryPolicy
from .settings import ConnectionSettings
from .slotmap import parse_address
from .state import AddressRemap, AllowedHost, HostPolicy

__all__ = ["ClientParts", "client_parts"]


class ClientParts:
    """What a shell needs: startup nodes, connection settings, the retry policy, host policy, read mode
    and the topology's own options."""

    __slots__ = ("nodes", "settings", "policy", "hosts", "read_from", "topology_options")

    def __init__(self, nodes: list, settings: ConnectionSettings, policy: RetryPolicy, hosts: HostPolicy,
                 read_from: ReadFrom, topology_options: dict[str, Any]) -> None:  # fmt: skip
        self.nodes, self.settings, self.policy = nodes, settings, policy
        self.hosts, self.read_from, self.topology_options = hosts, read_from, topology_options


def client_parts(
    startup_nodes: Iterable[tuple[str, int] | str],
    *,
    read_from: ReadFrom | str = ReadFrom.PRIMARY,
    username: str | None = None,
    password: str | None = None,
    ssl: _ssl.SSLContext | bool | None = None,
    connect_timeout: float | None = 2.0,
    socket_timeout: float | None = 5.0,
    pool_timeout: float = 2.0,
    max_redirects: int = 8,
    max_retries: int = 3,
    refresh_interval: float | None = 5.0,
    decode_responses: bool = False,
    encoding: str = "utf-8",
    max_reply_bytes: int = 1 << 30,
    allowed_hosts: Iterable[AllowedHost] | None = None,
    address_remap: AddressRemap | None = None,
) -> ClientParts:
    """The options common to :class:`~rediscluster_lite.ClusterClient` and its asyncio twin."""
    nodes = [parse_address(n) for n in startup_nodes]
    hosts = HostPolicy(allowed_hosts, address_remap)
    if ssl is True:
        ssl = _ssl.create_default_context()
    elif ssl is False:
        ssl = None
    elif ssl is not None and not isinstance(ssl, _ssl.SSLContext):
        raise TypeError("ssl must be an ssl.SSLContext, True (verify with system CAs) or None")
    settings = ConnectionSettings(
        username=username,
        password=password,
        ssl_context=ssl,
        connect_timeout=connect_timeout,
        socket_timeout=socket_timeout,
        max_reply_bytes=max_reply_bytes,
        encoding=encoding if decode_responses else None,
    )
    policy = RetryPolicy(max_redirects=max_redirects, max_retries=max_retries)
    topology_options = {"pool_timeout": pool_timeout, "refresh_interval": refresh_interval}
    return ClientParts(nodes, settings, policy, hosts, ReadFrom.parse(read_from), topology_options)
