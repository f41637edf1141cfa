"""The tooling's own way to talk to one node: a raw RESP probe and the ``CLUSTER NODES`` parser.

The launcher (``local*``), the CLI and the monitor all use this module, never
:class:`~rediscluster_lite.ClusterClient`: a test cluster or an inspection tool that spoke through the client
under test could hide the client's bugs behind its own.

Rules this module keeps:

* It is tooling: it may block on sockets, and the client (``import rediscluster_lite``) never imports it.
* :class:`RespProbe` raises only builtins (``OSError``, ``TimeoutError``, ``ssl.SSLError``) and
  ``hiredis.ProtocolError``, and returns an error reply as a ``hiredis.ReplyError`` value: each caller
  translates them into its own errors (the launcher's ``NodeUnreachable``, the CLI's ``InspectError``).
* A call is bounded by its ``timeout`` as a whole (connect, send and every read), not per ``recv``.
* :func:`parse_cluster_nodes` is pure: text in, :class:`NodeEntry` values out. A slot being migrated
  (``[slot->-id]``) or imported (``[slot-<-id]``) is recorded as such, never as ownership.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import hiredis

from .slotmap import format_address

__all__ = ["Arg", "pack", "RespProbe", "NodeEntry", "parse_cluster_nodes", "slot_count"]

Arg = str | bytes | int | float
_FAILURE_FLAGS = ("fail", "fail?", "handshake", "noaddr")  # worst first


def pack(args: Sequence[Arg]) -> bytes:
    """One command as a RESP2 array of bulk strings. Anything but str/bytes/int/float is a ``TypeError``."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, bytes):
            b = a
        elif isinstance(a, str):
            b = a.encode()
        elif isinstance(a, (int, float)) and not isinstance(a, bool):
            b = repr(a).encode()
        else:
            raise TypeError(f"cannot send {type(a).__name__} to redis")
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class RespProbe:
    """One blocking connection speaking RESP2: send one command, read one reply."""

    def __init__(self, host: str, port: int, timeout: float, ssl_context: ssl.SSLContext | None = None) -> None:
        sock = socket.create_connection((host, port), timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if ssl_context is not None:
                sock = ssl_context.wrap_socket(sock, server_hostname=host)
        except BaseException:
            sock.close()
            raise
        self.sock = sock

    def call(self, args: Sequence[Arg], timeout: float, decode: bool = True, errors: str = "surrogateescape") -> Any:
        """Send ``args``; return the reply (``str`` when ``decode``, decoded with ``errors``; else bytes)."""
        deadline = time.monotonic() + timeout
        reader = hiredis.Reader(encoding="utf-8", errors=errors) if decode else hiredis.Reader()
        self.sock.settimeout(timeout)
        self.sock.sendall(pack(args))
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("timed out")
            self.sock.settimeout(remaining)
            data = self.sock.recv(65536)
            if not data:
                raise OSError("connection closed by the server")
            reader.feed(data)
            reply = reader.gets()
            if reply is not False:
                return reply

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


# --------------------------------------------------------------------------------------------- CLUSTER NODES


@dataclass(frozen=True)
class NodeEntry:
    """One line of ``CLUSTER NODES``, as seen by the node that was asked.

    ``slots`` are the ranges the node owns; ``migrating`` and ``importing`` are ``(slot, other node id)``
    pairs of slots moving out of or into it (shown by the node that is asked about itself).
    """

    node_id: str
    host: str
    port: int
    flags: frozenset[str]
    master_id: str | None
    config_epoch: int
    link: str
    slots: tuple[tuple[int, int], ...]
    cport: int = 0
    hostname: str = ""
    migrating: tuple[tuple[int, str], ...] = ()
    importing: tuple[tuple[int, str], ...] = ()

    @property
    def addr(self) -> str:
        return format_address(self.host, self.port)

    @property
    def role(self) -> str:
        return "master" if "master" in self.flags else "replica" if "slave" in self.flags else "unknown"

    @property
    def health(self) -> str:
        """``ok``, or the worst failure flag (``fail``: agreed dead; ``fail?``: this node suspects it)."""
        for flag in _FAILURE_FLAGS:
            if flag in self.flags:
                return flag
        return "ok"

    @property
    def failed(self) -> bool:
        """Flagged failed, suspected, still in handshake or without an address."""
        return self.health != "ok"

    def as_dict(self) -> dict[str, Any]:
        return {
            "address": self.addr,
            "id": self.node_id,
            "role": self.role,
            "master_id": self.master_id,
            "flags": sorted(self.flags),
            "health": self.health,
            "link": self.link,
            "config_epoch": self.config_epoch,
            "slots": slot_count(self.slots),
            "slot_ranges": [list(r) for r in self.slots],
        }


def slot_count(ranges: Iterable[tuple[int, int]]) -> int:
    return sum(hi - lo + 1 for lo, hi in ranges)


def parse_cluster_nodes(text: str, default_host: str = "127.0.0.1") -> list[NodeEntry]:
    """``CLUSTER NODES`` text -> one entry per well-formed line (short lines are skipped).

    ``default_host`` stands in for an empty host: a node that has met no one yet prints ``:port``, meaning
    the address it was reached on.
    """
    entries = []
    for line in text.splitlines():
        entry = parse_node_line(line, default_host)
        if entry is not None:
            entries.append(entry)
    return entries


def parse_node_line(line: str, default_host: str = "127.0.0.1") -> NodeEntry | None:
    """``<id> <ip:port@cport[,hostname[,aux=value...]]> <flags> <master> <ping> <pong> <epoch> <link> <slot>...``"""
    parts = line.split()
    if len(parts) < 8:
        return None
    host, port, cport, hostname = _parse_node_address(parts[1])
    slots, migrating, importing = _parse_slot_tokens(parts[8:])
    return NodeEntry(
        node_id=parts[0],
        host=host or default_host,
        port=port,
        flags=frozenset(parts[2].split(",")),
        master_id=None if parts[3] == "-" else parts[3],
        config_epoch=int(parts[6]) if parts[6].isdigit() else 0,
        link=parts[7],
        slots=slots,
        cport=cport,
        hostname=hostname,
        migrating=migrating,
        importing=importing,
    )


def _parse_node_address(field: str) -> tuple[str, int, int, str]:
    """``ip:port@cport[,hostname[,aux=value...]]`` -> host, port, cport, hostname.

    IPv6 hosts come unbracketed (``::1:7000@17000``) from redis, so the port is after the last colon;
    a bracketed form is accepted too.
    """
    address, _, aux = field.partition(",")
    first_aux = aux.split(",", 1)[0]
    hostname = "" if "=" in first_aux else first_aux
    address, _, cport = address.partition("@")
    host, _, port = address.rpartition(":")
    return host.strip("[]"), _int(port), _int(cport), hostname


def _parse_slot_tokens(
    tokens: Sequence[str],
) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, str], ...], tuple[tuple[int, str], ...]]:
    """``0-5460 7000 [93->-id] [94-<-id]`` -> owned ranges, migrating and importing slots."""
    slots: list[tuple[int, int]] = []
    migrating: list[tuple[int, str]] = []
    importing: list[tuple[int, str]] = []
    for tok in tokens:
        if tok.startswith("["):
            body = tok.strip("[]")
            if "->-" in body:
                slot, _, other = body.partition("->-")
                migrating.append((int(slot), other))
            elif "-<-" in body:
                slot, _, other = body.partition("-<-")
                importing.append((int(slot), other))
            continue
        lo, _, hi = tok.partition("-")
        slots.append((int(lo), int(hi or lo)))
    return tuple(sorted(slots)), tuple(migrating), tuple(importing)


def _int(text: str) -> int:
    return int(text) if text.isdigit() else 0
