"""A client's constructor options, checked and turned into the parts both shells build on. Pure code.

Rules: every option is checked before any I/O (``TypeError``/``ValueError``); ``ssl=True`` means a default
context that verifies against the system's CAs; the password goes only into the settings, which keep it
out of every ``repr`` and message. The nodes to start from are ``startup_nodes`` plus ``host``/``port`` (as
redis-py adds its ``host`` to its startup nodes); at least one is needed. A ``retry`` (:class:`~.retry.Retry`)
replaces ``max_retries`` and the default backoff, as redis-py's ``retry`` replaces its retry count: it becomes
the router's one :class:`~.router.RetryPolicy`.
"""

from __future__ import annotations

import ssl as _ssl
from collections.abc import Iterable
from typing import Any

from .readfrom import ReadFrom
from .retry import Retry
from .router import RetryPolicy
from .settings import ConnectionSettings
from .slotmap import parse_address
from .state import AddressRemap, AllowedHost, HostPolicy

__all__ = ["ClientParts", "client_parts", "start_nodes", "check_client_name"]


class ClientParts:
    """What a shell needs: startup nodes, connection settings, the retry policy, host policy, read mode
    and the topology's own options."""

    __slots__ = ("nodes", "settings", "policy", "hosts", "read_from", "topology_options")

    def __init__(self, nodes: list, settings: ConnectionSettings, policy: RetryPolicy, hosts: HostPolicy,
                 read_from: ReadFrom, topology_options: dict[str, Any]) -> None:  # fmt: skip
        self.nodes, self.settings, self.policy = nodes, settings, policy
        self.hosts, self.read_from, self.topology_options = hosts, read_from, topology_options


def client_parts(
    startup_nodes: Iterable[tuple[str, int] | str] | None = None,
    *,
    host: str | None = None,
    port: int = 6379,
    read_from: ReadFrom | str = ReadFrom.PRIMARY,
    username: str | None = None,
    password: str | None = None,
    ssl: _ssl.SSLContext | bool | None = None,
    connect_timeout: float | None = 2.0,
    socket_timeout: float | None = 5.0,
    pool_timeout: float = 2.0,
    max_redirects: int = 8,
    max_retries: int = 3,
    retry: Retry | None = None,
    refresh_interval: float | None = 5.0,
    decode_responses: bool = False,
    encoding: str = "utf-8",
    max_reply_bytes: int = 1 << 30,
    allowed_hosts: Iterable[AllowedHost] | None = None,
    address_remap: AddressRemap | None = None,
    client_name: str | None = None,
    health_check_interval: float | None = None,
) -> ClientParts:
    """The options common to :class:`~rediscluster_lite.ClusterClient` and its asyncio twin."""
    nodes = start_nodes(startup_nodes, host, port)
    hosts = HostPolicy(allowed_hosts, address_remap)
    settings = ConnectionSettings(
        username=username,
        password=password,
        ssl_context=_ssl_context(ssl),
        connect_timeout=connect_timeout,
        socket_timeout=socket_timeout,
        max_reply_bytes=max_reply_bytes,
        encoding=encoding if decode_responses else None,
        client_name=check_client_name(client_name),
        health_check_interval=_interval(health_check_interval),
    )
    if retry is None:
        policy = RetryPolicy(max_redirects=max_redirects, max_retries=max_retries)
    elif isinstance(retry, Retry):
        policy = retry.policy(max_redirects)
    else:
        raise TypeError(f"retry must be a rediscluster_lite.retry.Retry, got {type(retry).__name__}")
    topology_options = {"pool_timeout": pool_timeout, "refresh_interval": refresh_interval}
    return ClientParts(nodes, settings, policy, hosts, ReadFrom.parse(read_from), topology_options)


def start_nodes(startup_nodes: Iterable[tuple[str, int] | str] | None, host: str | None, port: int) -> list:
    """``startup_nodes`` (a list of ``(host, port)`` or ``"host:port"``), then ``host:port`` if a host is given."""
    if isinstance(startup_nodes, (str, bytes)):
        raise TypeError("startup_nodes is a list of (host, port) or 'host:port'; for one node, pass host= and port=")
    nodes = [parse_address(n) for n in startup_nodes or ()]
    if host is not None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError(f"port must be an int in 1..65535, got {port!r}")
        node = parse_address((host, port))
        if node not in nodes:
            nodes.append(node)
    if not nodes:
        raise ValueError("no node to start from: pass startup_nodes=[(host, port), ...] or host= and port=")
    return nodes


def check_client_name(name: str | None) -> str | None:
    """The name for ``CLIENT SETNAME``, checked as the server would (no spaces or control characters)."""
    if name is None or name == "":
        return None
    if not isinstance(name, str):
        raise TypeError(f"client_name must be a str, got {type(name).__name__}")
    if not all("!" <= ch <= "~" for ch in name):
        raise ValueError(f"client_name may hold only printable ASCII without spaces, got {name!r}")
    return name


def _interval(seconds: float | None) -> float | None:
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        raise ValueError(f"health_check_interval must be seconds >= 0 or None, got {seconds!r}")
    return seconds or None


def _ssl_context(ssl: _ssl.SSLContext | bool | None) -> _ssl.SSLContext | None:
    if ssl is True:
        return _ssl.create_default_context()
    if ssl is False or ssl is None:
        return None
    if not isinstance(ssl, _ssl.SSLContext):
        raise TypeError("ssl must be an ssl.SSLContext, True (verify with system CAs) or None")
    return ssl
