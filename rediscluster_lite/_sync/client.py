"""The blocking client: carries out the router's effects with real sockets.

Everything that decides lives in the core (``router``, ``commands``, ``keyslot``, ``readfrom``,
``slotmap``); this module only sends, sleeps and refreshes, and owns the objects that hold state.
"""

from __future__ import annotations

import ssl as _ssl
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .. import fanout
from ..api import CommandsMixin
from ..commands import refuse_connection_state, slot_of_keys
from ..errors import (
    ConnectError,
    ConnectionError,
    ProtocolError,
    ResponseError,
    TimeoutError,
    TooManyRedirects,
    WatchError,
)
from ..fanout import names_a_mode, resolve_targets
from ..keyslot import key_slot
from ..multikey import PER_KEY_FALLBACK, group_by_slot, split, stuck_on_migration
from ..readfrom import ReadFrom
from ..resp import ASKING, READONLY, command_head, pack_command, pack_key
from ..router import REFRESH, SEND, SEND_BATCH, SLEEP, RetryPolicy, any_error, direct_target, route, route_batch
from ..script import Script
from ..slotmap import Node, parse_address
from ..state import AddressRemap, AllowedHost, HostPolicy
from .connection import ConnectionSettings
from .pipeline import ClusterPipeline, raise_batch_error
from .pubsub import PubSub
from .topology import Topology
from .transaction import Transaction

__all__ = ["ClusterClient"]

_TRANSPORT_ERRORS = (ConnectionError, TimeoutError, ProtocolError)
_monotonic = time.monotonic
_GET = command_head(b"GET", 2)  # mget of keys alone in their slots sends GETs


class ClusterClient(CommandsMixin):
    """A Redis Cluster client. Thread-safe; share one per process.

    ``startup_nodes`` lists some (ideally all) nodes as ``("host", port)`` or ``"host:port"``; they are
    tried in turn until one answers ``CLUSTER SLOTS``. See ``docs/`` for read modes and failover.
    """

    def __init__(
        self,
        startup_nodes: Iterable[tuple[str, int] | str],
        *,
        read_from: ReadFrom | str = ReadFrom.PRIMARY,
        username: str | None = None,
        password: str | None = None,
        ssl: _ssl.SSLContext | bool | None = None,
        connect_timeout: float | None = 2.0,
        socket_timeout: float | None = 5.0,
        max_connections_per_node: int = 64,
        pool_timeout: float = 2.0,
        max_redirects: int = 8,
        max_retries: int = 3,
        refresh_interval: float | None = 5.0,
        decode_responses: bool = False,
        encoding: str = "utf-8",
        max_reply_bytes: int = 1 << 30,
        allowed_hosts: Iterable[AllowedHost] | None = None,
        address_remap: AddressRemap | None = None,
    ) -> None:
        """``allowed_hosts``: the hosts and networks the client may connect to (``None``: any);
        ``address_remap(host, port)``: the address to connect to for one a node announces. Both apply to
        the slot map and to redirects; see ``docs/getting-started.md``."""
        nodes = [parse_address(n) for n in startup_nodes]
        hosts = HostPolicy(allowed_hosts, address_remap)
        if ssl is True:
            ssl = _ssl.create_default_context()
        elif ssl is False:
            ssl = None
        elif ssl is not None and not isinstance(ssl, _ssl.SSLContext):
            raise TypeError("ssl must be an ssl.SSLContext, True (verify with system CAs) or None")
        mode = ReadFrom.parse(read_from)
        self._settings = ConnectionSettings(
            username=username,
            password=password,
            ssl_context=ssl,
            connect_timeout=connect_timeout,
            socket_timeout=socket_timeout,
            max_reply_bytes=max_reply_bytes,
            encoding=encoding if decode_responses else None,
        )
        self._policy = RetryPolicy(max_redirects=max_redirects, max_retries=max_retries)
        self._topology = Topology(
            nodes,
            self._settings,
            read_from=mode,
            max_connections_per_node=max_connections_per_node,
            pool_timeout=pool_timeout,
            refresh_interval=refresh_interval,
            hosts=hosts,
        )
        self._topology.refresh("startup", force=True, raise_on_failure=True)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> ClusterClient:
        """``redis://[user:password@]host:port[/0][?option=value...]`` (``rediss://`` for TLS with
        verification). Options in the query: ``socket_timeout``, ``connect_timeout`` (seconds),
        ``decode_responses`` (true/false), ``read_from`` (a mode name); keyword arguments win."""
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError(f"unsupported URL scheme {parts.scheme!r}; use redis:// or rediss://")
        if not parts.hostname:
            raise ValueError("the URL names no host")
        if parts.username:
            kwargs.setdefault("username", unquote(parts.username))
        if parts.password:
            kwargs.setdefault("password", unquote(parts.password))
        if parts.scheme == "rediss":
            kwargs.setdefault("ssl", True)
        if parts.path not in ("", "/", "/0"):
            raise ValueError(f"a cluster has only database 0; the URL names {parts.path[1:]!r}")
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            convert = _URL_OPTIONS.get(name)
            if convert is None:
                raise ValueError(f"unknown URL option {name!r}; known: {', '.join(sorted(_URL_OPTIONS))}")
            kwargs.setdefault(name, convert(value))
        return cls([(parts.hostname, parts.port or 6379)], **kwargs)

    @property
    def read_from(self) -> ReadFrom:
        """The read mode. Setting it (a :class:`ReadFrom` or its name) takes effect on the next command."""
        return self._topology.read_from

    @read_from.setter
    def read_from(self, mode: ReadFrom | str) -> None:
        self._topology.read_from = ReadFrom.parse(mode)

    def __repr__(self) -> str:
        names = ", ".join(n.name for n in self._topology.slot_map.masters)
        return f"<ClusterClient masters=[{names}] read_from={self.read_from.value} {self._settings!r}>"

    def __enter__(self) -> ClusterClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every pooled connection. The client may not be used afterwards."""
        self._topology.close()

    # --- introspection -----------------------------------------------------------------------------

    @staticmethod
    def key_slot(key: Any) -> int:
        return key_slot(key)

    @property
    def slot_map(self):  # noqa: ANN201 - SlotMap, kept lazy to avoid an import cycle in docs
        """The current (immutable) slot map."""
        return self._topology.slot_map

    def refresh_slots(self) -> None:
        """Reload the slot map now."""
        self._topology.refresh("requested", force=True, raise_on_failure=True)

    def node_for(self, key: Any) -> Node:
        """The master currently serving ``key``'s slot."""
        shard = self._topology.slot_map.slots[key_slot(key)]
        if shard is None:
            raise LookupError(f"slot {key_slot(key)} is not covered")
        return shard.master

    # --- the generic entry point -------------------------------------------------------------------

    def execute_command(self, *args: Any, readonly: bool | None = None) -> Any:
        """Send any command, routed by its keys (found from the server's ``COMMAND`` description).

        Keyless commands go to a master chosen at random. ``readonly`` overrides whether the read mode
        applies (and whether the command is safe to resend after a broken connection).
        """
        slot, readonly = self._route_of(args, readonly)
        return self._run(pack_command(args), slot, readonly)

    def _route_of(self, args: Sequence, readonly: bool | None) -> tuple[int | None, bool]:
        """The slot (``None`` if keyless) and read-only-ness of any command, from the command table."""
        if not args:
            raise ValueError("execute_command() needs a command name")
        refuse_connection_state(args)
        spec = self._topology.commands().lookup(args)
        keys = spec.keys(args) if spec is not None else ()
        if readonly is None:
            readonly = spec.readonly if spec is not None else False
        return (slot_of_keys(keys) if keys else None), readonly

    # --- shell ---------------------------------------------------------------------------------------

    def _framed(self, entry: tuple[bytes, int, bool, Callable | None]) -> Any:
        packed, slot, readonly, convert = entry
        reply = self._run(packed, slot, readonly)
        return reply if convert is None else convert(reply)

    def _multi_keyed(self, args: tuple, keys: Sequence, readonly: bool, convert: Callable | None = None) -> Any:
        if not keys:
            raise TypeError(f"{args[0].decode()} needs at least one key")
        reply = self._run(pack_command(args), slot_of_keys(keys, args[0].decode()), readonly)
        return reply if convert is None else convert(reply)

    def _keyless(self, args: tuple, readonly: bool, convert: Callable | None = None) -> Any:
        reply = self._run(pack_command(args), None, readonly)
        return reply if convert is None else convert(reply)

    def _blocking(
        self, args: tuple, keys: Sequence, readonly: bool, block: float, convert: Callable | None = None
    ) -> Any:
        reply = self._run(pack_command(args), slot_of_keys(keys, args[0].decode()), readonly, block)
        return reply if convert is None else convert(reply)

    def _split_by_slot(self, command: bytes, args: Sequence, step: int, readonly: bool, combine: Callable) -> Any:
        if not args:
            raise ValueError(f"{command.decode()} needs at least one key")
        parts = split(command, args, step)
        if len(parts) == 1:
            slot, _, argv = parts[0]
            try:
                replies = [self._run(pack_command(argv), slot, readonly)]
            except TooManyRedirects as exc:
                replies = [exc]
        else:
            slots, _, argvs = zip(*parts)
            replies = self._run_batch(list(map(pack_command, argvs)), slots, [readonly] * len(parts))
        if not any_error(replies):
            return combine(parts, replies, len(args) // step)
        for index, reply in enumerate(replies):
            if isinstance(reply, BaseException):
                merge = PER_KEY_FALLBACK.get(command)
                if merge is None or not stuck_on_migration(reply):
                    raise_batch_error(replies, index, command.decode())
                replies[index] = merge(self._one_key_each(command, parts[index][2][1:], readonly))
        return combine(parts, replies, len(args) // step)

    def _mget(self, keys: Sequence) -> list:
        # A key alone in its slot (the usual case for keys from anywhere) goes as a GET framed on the
        # single-key fast path: no per-slot argv, no one-key MGET arrays to parse. A GET of a key holding
        # another type answers WRONGTYPE where MGET says nil, so that error reads as None. Keys that share a
        # slot go in one MGET between them (atomic on their node), as in every other multi-key command.
        if not keys:
            raise ValueError("MGET needs at least one key")
        frames, slots, _, _ = zip(*[pack_key(_GET, key, True, None) for key in keys])
        groups: list[list[int]] | None = None
        if len(set(slots)) < len(slots):
            by_slot = group_by_slot(slots)
            groups = list(by_slot.values())
            frames = [frames[g[0]] if len(g) == 1 else pack_command((b"MGET", *[keys[i] for i in g])) for g in groups]
            slots = list(by_slot)
        replies = self._run_batch(frames, slots, (True,) * len(slots))
        if any_error(replies):
            for index, reply in enumerate(replies):
                if not isinstance(reply, BaseException):
                    continue
                if isinstance(reply, ResponseError) and reply.code == "WRONGTYPE":  # only a GET says this
                    replies[index] = None
                elif groups is not None and len(groups[index]) > 1 and stuck_on_migration(reply):
                    part = [keys[i] for i in groups[index]]
                    replies[index] = PER_KEY_FALLBACK[b"MGET"](self._one_key_each(b"MGET", part, True))
                else:
                    raise_batch_error(replies, index, "MGET")
        if groups is None:
            return replies
        values: list[Any] = [None] * len(keys)
        for group, reply in zip(groups, replies):
            if len(group) == 1:
                values[group[0]] = reply
            else:
                for position, value in zip(group, reply):
                    values[position] = value
        return values

    def _one_key_each(self, command: bytes, keys: Sequence, readonly: bool) -> list:
        """``command`` once per key (for a slot mid-migration: each key follows its own ASK)."""
        replies = self._run_batch(
            [pack_command((command, key)) for key in keys], [key_slot(key) for key in keys], [readonly] * len(keys)
        )
        for index, reply in enumerate(replies):
            if isinstance(reply, BaseException):
                raise_batch_error(replies, index, command.decode())
        return replies

    def pipeline(self, transaction: bool = False) -> ClusterPipeline | Transaction:
        """Queue commands and send them together: :class:`ClusterPipeline`, or with ``transaction=True``
        a :class:`Transaction` (MULTI/EXEC on one slot, with WATCH)."""
        return Transaction(self) if transaction else ClusterPipeline(self)

    def transaction(self, func: Callable[[Transaction], Any], *watches: Any, max_attempts: int | None = None) -> list:
        """Run ``func(tx)`` in a WATCH/MULTI/EXEC transaction, again while a watched key changes.

        ``func`` reads through ``tx`` (commands run at once while watching), calls ``tx.multi()``, then
        queues writes. Returns EXEC's results. ``max_attempts`` bounds the retries (None: until it runs).
        """
        attempt = 0
        while True:
            attempt += 1
            with Transaction(self) as tx:
                try:
                    # WATCH itself can meet MOVED (the map was stale): nothing ran, so go again.
                    if watches:
                        tx.watch(*watches)
                    func(tx)
                    return tx.execute()
                except WatchError:
                    if max_attempts is not None and attempt >= max_attempts:
                        raise

    def _fanout(self, args: tuple, target_nodes: Any, combine: Callable) -> Any:
        """Send one command to each node of ``target_nodes`` (all written, then all read); merge replies.

        A node that could not even be connected to (nothing was sent: a master that just failed over)
        costs a refresh and a retry on the nodes the new map names, within ``max_retries``; a node
        that failed after the send raises, since the command may have run there.
        """
        topology = self._topology
        packed = [pack_command(args)]
        by_mode = names_a_mode(target_nodes)
        replies: dict[str, Any] = {}
        failures = 0
        while True:
            nodes = [n for n in resolve_targets(topology.slot_map, target_nodes) if n.name not in replies]
            outcomes = self._send_batch({node: [0] for node in nodes}, set(), set(), packed)
            unreachable = None
            for node in nodes:
                reply = outcomes[node][0]
                if isinstance(reply, ResponseError):
                    raise ResponseError(f"{reply.message} (from {node.name})")
                if isinstance(reply, BaseException):
                    topology.mark_down(node)
                    if not isinstance(reply, ConnectError) or not by_mode:
                        topology.refresh(f"{node.name}: {type(reply).__name__}")
                        raise reply
                    unreachable = reply
                else:
                    replies[node.name] = reply
            if unreachable is None:
                return combine(replies)
            failures += 1
            if failures > self._policy.max_retries:
                raise unreachable
            time.sleep(self._policy.backoff(failures))
            topology.refresh(f"fan-out: {type(unreachable).__name__}", force=True)

    def scan_iter(
        self, match: Any = None, count: int | None = None, _type: Any = None, target_nodes: Any = fanout.PRIMARIES
    ) -> Iterator:
        """Every key, one master at a time with SCAN's cursor, yielding as they come.

        Each master is remembered by a slot it served when the scan began, so a master that fails
        over before or during its turn is scanned on the replica promoted in its place. A cursor is
        only meaningful to the node that issued it, so a master lost mid-scan is scanned again from
        cursor 0 on its successor: as SCAN itself allows, some keys are then yielded twice.
        """
        args: list[Any] = []
        if match is not None:
            args += [b"MATCH", match]
        if count is not None:
            args += [b"COUNT", count]
        if _type is not None:
            args += [b"TYPE", _type]
        topology = self._topology
        start_map = topology.slot_map
        plan = []
        for node in resolve_targets(start_map, target_nodes):
            shard = start_map.shard_of_node(node)
            is_master = shard is not None and shard.master == node
            # Every shard of a map serves at least one slot: remember its first.
            first = start_map.shard_index.index(start_map.shards.index(shard)) if is_master else None
            plan.append((node, first))
        for node, first_slot in plan:
            if first_slot is not None:
                node = self._owner_of(first_slot, node)
            cursor: Any = 0
            failures = 0
            while True:
                reply = self._send(node, pack_command((b"SCAN", cursor, *args)), False, False)
                if isinstance(reply, BaseException):
                    if isinstance(reply, ResponseError) or first_slot is None or failures >= self._policy.max_retries:
                        raise reply
                    failures += 1
                    topology.mark_down(node)
                    time.sleep(self._policy.backoff(failures))
                    topology.refresh(f"scan: {node.name} failed", force=True)
                    successor = self._owner_of(first_slot, node)
                    if successor != node:
                        node, cursor = successor, 0
                    continue
                cursor, keys = reply
                yield from keys
                if cursor in (b"0", "0", 0):
                    break

    def _owner_of(self, slot: int, fallback: Node) -> Node:
        shard = self._topology.slot_map.slots[slot]
        return shard.master if shard is not None else fallback

    def register_script(self, source: str | bytes) -> Script:
        """A :class:`~rediscluster_lite.script.Script`: EVALSHA, falling back to EVAL on NOSCRIPT."""
        return Script(self, source)

    def pubsub(
        self,
        *,
        node: Node | tuple[str, int] | str | None = None,
        ignore_subscribe_messages: bool = False,
        health_check_interval: float | None = 30.0,
    ) -> PubSub:
        """A subscriber: classic channels on one node (``node``, or one the client picks), sharded
        channels on their slots' owners. See :class:`~rediscluster_lite.PubSub`."""
        return PubSub(
            self,
            node=node,
            ignore_subscribe_messages=ignore_subscribe_messages,
            health_check_interval=health_check_interval,
        )

    def _run_batch(self, packed: Sequence[bytes], slots: Sequence[int | None], readonly: Sequence[bool]) -> list:
        """Send many commands grouped by node; each node's batch is written before any reply is read."""
        topology = self._topology
        if _monotonic() >= topology.refresh_due:
            topology.refresh("periodic")
        steps = route_batch(topology, self._policy, slots, readonly)
        effect = next(steps)
        while True:
            kind = effect[0]
            if kind == SEND_BATCH:
                outcome = self._send_batch(effect[1], effect[2], effect[3], packed)
            elif kind == SLEEP:
                time.sleep(effect[1])
                outcome = None
            else:
                topology.refresh(effect[1])
                outcome = None
            try:
                effect = steps.send(outcome)
            except StopIteration as done:
                return done.value

    def _send_batch(self, plan: dict, asking: set, replica_nodes: set, packed: list[bytes]) -> dict:
        outcomes: dict = {}
        in_flight = []
        # Phase 1: write every node's batch, so the nodes work in parallel.
        for node, indexes in plan.items():
            pool = self._topology.pool(node)
            try:
                conn = pool.acquire()
            except (*_TRANSPORT_ERRORS, ResponseError) as exc:
                outcomes[node] = [exc] * len(indexes)
                continue
            if asking:
                chunks = []
                for i in indexes:
                    if i in asking:
                        chunks.append(ASKING)
                    chunks.append(packed[i])
                data = b"".join(chunks)
            else:
                data = b"".join([packed[i] for i in indexes])
            readonly_first = node in replica_nodes and not conn.readonly
            if readonly_first:
                data = READONLY + data
            try:
                conn.send(data)
            except _TRANSPORT_ERRORS as exc:
                pool.discard(conn)
                outcomes[node] = [exc] * len(indexes)
                continue
            in_flight.append((node, indexes, pool, conn, readonly_first))
        # Phase 2: read the replies, node by node.
        for node, indexes, pool, conn, readonly_first in in_flight:
            expected = len(indexes) + readonly_first + (sum(1 for i in indexes if i in asking) if asking else 0)
            try:
                raw = conn.read_replies(expected)
            except _TRANSPORT_ERRORS as exc:
                pool.discard(conn)
                raw = exc.replies + [exc] * (expected - len(exc.replies))  # type: ignore[attr-defined]
            except BaseException:
                pool.discard(conn)
                raise
            else:
                pool.release(conn)
            if readonly_first:
                if not isinstance(raw[0], BaseException):
                    conn.readonly = True
                raw = raw[1:]
            if asking:
                raw = _drop_asking_replies(indexes, asking, raw)
            outcomes[node] = raw
        return outcomes

    def _run(self, packed: bytes, slot: int | None, readonly: bool, block: float | None = None) -> Any:
        topology = self._topology
        if _monotonic() >= topology.refresh_due:
            topology.refresh("periodic")
        first = None
        node = direct_target(topology, slot, readonly)
        if node is not None:
            outcome = self._send(node, packed, False, False, block)
            if not isinstance(outcome, BaseException):
                return outcome  # the hot path: no generator, no effects
            first = (node, outcome)
        steps = route(topology, self._policy, slot, readonly, readonly, first)
        try:
            effect = next(steps)
        except StopIteration as done:
            return done.value
        while True:
            kind = effect[0]
            if kind == SEND:
                outcome = self._send(effect[1], packed, effect[2], effect[3], block)
            elif kind == SLEEP:
                time.sleep(effect[1])
                outcome = None
            elif kind == REFRESH:
                topology.refresh(effect[1])
                outcome = None
            else:  # pragma: no cover - the router yields only the three effects above
                raise AssertionError(f"unknown effect {effect!r}")
            try:
                effect = steps.send(outcome)
            except StopIteration as done:
                return done.value

    def _send(self, node: Node, packed: bytes, asking: bool, replica_read: bool, block: float | None = None) -> Any:
        """One attempt on one node. Returns the reply, or the transport error as a value.

        ``block``: the command may legitimately wait that long on the server (BLPOP's timeout; 0 means
        forever), so the read timeout is extended by it for this request.
        """
        pool = self._topology.pool(node)
        try:
            conn = pool.acquire()
        except _TRANSPORT_ERRORS as exc:
            return exc
        except ResponseError as exc:  # AUTH refused while opening
            return exc
        try:
            if block is not None:
                base = self._settings.socket_timeout
                conn.set_read_timeout(None if block == 0 or base is None else base + block)
            if asking:
                conn.send(ASKING + packed)
                first = conn.read_reply()
                reply = conn.read_reply()
                if isinstance(first, ResponseError):
                    reply = first
            elif replica_read and not conn.readonly:
                reply = conn.request_readonly(packed)
            else:
                reply = conn.request(packed)
            if block is not None:
                conn.set_read_timeout(base)
        except _TRANSPORT_ERRORS as exc:
            pool.discard(conn)
            return exc
        except BaseException:
            pool.discard(conn)  # interrupted mid-reply: the next reader would get this reply
            raise
        pool.release(conn)
        return reply


def _url_flag(value: str) -> bool:
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false in the URL, got {value!r}")


def _url_seconds(value: str) -> float | None:
    return None if value.lower() in ("", "none") else float(value)


_URL_OPTIONS: dict[str, Callable[[str], Any]] = {
    "socket_timeout": _url_seconds,
    "connect_timeout": _url_seconds,
    "decode_responses": _url_flag,
    "read_from": str,
}


def _drop_asking_replies(indexes: list[int], asking: set[int], raw: list) -> list:
    """Each ASKING sent before a command has its own reply (+OK): keep only the commands' replies."""
    out = []
    position = 0
    for i in indexes:
        if i in asking:
            asking_reply = raw[position]
            position += 1
            # A refused ASKING (an error) explains the command's failure better than what followed.
            out.append(asking_reply if isinstance(asking_reply, BaseException) else raw[position])
        else:
            out.append(raw[position])
        position += 1
    return out
