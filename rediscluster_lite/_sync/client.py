"""The blocking client: the object that holds the state, and the entry points of every command.

Everything that decides lives in the core (``router``, ``commands``, ``keyslot``, ``readfrom``,
``slotmap``, ``multikey``, ``fanout``, ``scan``, ``transaction``); the sends are in ``dispatch``, the
loops that carry out the core's generators in ``drive``. This module only wires them together.
"""

from __future__ import annotations

import ssl as _ssl
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import EllipsisType
from typing import Any

from .. import fanout
from ..api import CommandsMixin
from ..client_common import ClientCommon
from ..commands import slot_of_keys
from ..errors import RedisClusterError, WatchError
from ..fanout import fanout_plan
from ..multikey import mget_plan, split_plan
from ..options import client_parts
from ..readfrom import ReadFrom
from ..resp import pack_command
from ..retry import Retry
from ..scan import scan_args, scan_plan
from ..script import Script
from ..slotmap import Node
from ..state import AddressRemap, AllowedHost
from ..transaction import WatchRetry
from .dispatch import Dispatch
from .drive import drive_batch, drive_keys, drive_scan
from .link import ClusterLink
from .pipeline import ClusterPipeline
from .pubsub import PubSub
from .topology import Topology
from .transaction import Transaction

__all__ = ["ClusterClient"]


class ClusterClient(ClientCommon, CommandsMixin, Dispatch):
    """A Redis Cluster client. Thread-safe; share one per process.

    ``startup_nodes`` lists some (ideally all) nodes as ``("host", port)`` or ``"host:port"``; they are
    tried in turn until one answers ``CLUSTER SLOTS``. See ``docs/`` for read modes and failover.
    """

    def __init__(
        self,
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
        max_connections_per_node: int = 64,
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
    ) -> None:
        """``allowed_hosts``: the hosts and networks the client may connect to (``None``: any);
        ``address_remap(host, port)``: the address to connect to for one a node announces. Both apply to
        the slot map and to redirects. ``host``/``port``: one more startup node. ``client_name``: ``CLIENT SETNAME``
        on every connection. ``health_check_interval``: seconds idle after which a connection answers a ``PING``
        before use. ``retry``: a :class:`~rediscluster_lite.retry.Retry` (replaces ``max_retries`` and the
        backoff). See ``docs/getting-started.md``."""
        options = dict(locals())  # the signature above, spelled out once for readers and type checkers
        del options["self"], options["startup_nodes"], options["max_connections_per_node"]
        parts = client_parts(startup_nodes, **options)
        self._settings = parts.settings
        self._policy = parts.policy
        self._topology = Topology(
            parts.nodes,
            parts.settings,
            read_from=parts.read_from,
            max_connections_per_node=max_connections_per_node,
            hosts=parts.hosts,
            **parts.topology_options,
        )
        self._topology.refresh("startup", force=True, raise_on_failure=True)

    def __enter__(self) -> ClusterClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every pooled connection. The client may not be used afterwards."""
        self._topology.close()

    # --- introspection -----------------------------------------------------------------------------

    def refresh_slots(self) -> None:
        """Reload the slot map now."""
        self._topology.refresh("requested", force=True, raise_on_failure=True)

    # --- the generic entry point -------------------------------------------------------------------

    def execute_command(self, *args: Any, readonly: bool | None = None) -> Any:
        """Send any command, routed by its keys (found from the server's ``COMMAND`` description).

        Keyless commands go to a master chosen at random. ``readonly`` overrides whether the read mode
        applies (and whether the command is safe to resend after a broken connection).
        """
        slot, readonly = self._route_of(args, readonly)
        return self._run(pack_command(args), slot, readonly)

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
        return drive_keys(split_plan(command, args, step, readonly, combine), self._run_caught, self._run_batch)

    def _mget(self, keys: Sequence) -> list:
        return drive_keys(mget_plan(keys), self._run_caught, self._run_batch)

    def _run_caught(self, packed: bytes, slot: int | None, readonly: bool) -> Any:
        try:
            return self._run(packed, slot, readonly)
        except RedisClusterError as exc:
            return exc

    @property
    def link(self) -> ClusterLink:
        """What this client's pipelines, transactions and subscribers use of it (see ``_sync/link.py``)."""
        return ClusterLink(self._topology, self._policy, self._route_of, self._run_batch)

    def pipeline(self, transaction: bool = False) -> ClusterPipeline | Transaction:
        """Queue commands and send them together: :class:`ClusterPipeline`, or with ``transaction=True``
        a :class:`Transaction` (MULTI/EXEC on one slot, with WATCH)."""
        return Transaction(self.link) if transaction else ClusterPipeline(self.link)

    def transaction(self, func: Callable[[Transaction], Any], *watches: Any, max_attempts: int | None = None) -> list:
        """Run ``func(tx)`` in a WATCH/MULTI/EXEC transaction, again while a watched key changes.

        ``func`` reads through ``tx`` (commands run at once while watching), calls ``tx.multi()``, then
        queues writes. Returns EXEC's results. ``max_attempts`` bounds the retries (None: until it runs).
        """
        retry = WatchRetry(max_attempts)
        link = self.link
        while True:
            with Transaction(link) as tx:
                try:
                    # WATCH itself can meet MOVED (the map was stale): nothing ran, so go again.
                    if watches:
                        tx.watch(*watches)
                    func(tx)
                    return tx.execute()
                except WatchError:
                    if not retry.again():
                        raise

    def _fanout(self, args: tuple, target_nodes: Any, combine: Callable) -> Any:
        """Send one command to each node of ``target_nodes`` (all written, then all read); merge replies.
        Failover as :func:`~rediscluster_lite.fanout.fanout_plan` says."""
        topology = self._topology
        steps = fanout_plan(topology, self._policy, target_nodes)
        return combine(drive_batch(steps, self._send_batch, topology, [pack_command(args)]))

    def scan_iter(
        self, match: Any = None, count: int | None = None, _type: Any = None, target_nodes: Any = fanout.PRIMARIES
    ) -> Iterator:
        """Every key, one master at a time with SCAN's cursor, yielding as they come.

        Each master is remembered by a slot it served when the scan began, so a master that fails
        over before or during its turn is scanned on the replica promoted in its place. A cursor is
        only meaningful to the node that issued it, so a master lost mid-scan is scanned again from
        cursor 0 on its successor: as SCAN itself allows, some keys are then yielded twice.
        """
        steps = scan_plan(self._topology, self._policy, scan_args(match, count, _type), target_nodes)
        return drive_scan(steps, self._send, self._topology)

    def _cursor_iter(self, page: Callable[[int], Any], items: Callable[[Any], Iterable]) -> Iterator:
        """HSCAN/SSCAN walks: ``page(cursor)`` until the server hands cursor 0 back, yielding ``items(page)``."""
        cursor = 0
        while True:
            cursor, found = page(cursor)
            yield from items(found)
            if cursor == 0:
                return

    def register_script(self, source: str | bytes) -> Script:
        """A :class:`~rediscluster_lite.script.Script`: EVALSHA, falling back to EVAL on NOSCRIPT."""
        return Script(self, source)

    def pubsub(
        self,
        *,
        node: Node | tuple[str, int] | str | None = None,
        ignore_subscribe_messages: bool = False,
        health_check_interval: float | None | EllipsisType = ...,
    ) -> PubSub:
        """A subscriber: classic channels on one node (``node``, or one the client picks), sharded
        channels on their slots' owners. See :class:`~rediscluster_lite.PubSub`."""
        return PubSub(
            self.link,
            node=node,
            ignore_subscribe_messages=ignore_subscribe_messages,
            health_check_interval=health_check_interval,
        )
