"""``client.pipeline(transaction=True)``: MULTI/EXEC on the one master that owns every key, with WATCH.

Every key must hash to one slot (use a ``{hash tag}``): a key of another slot raises ``CrossSlotError``
when it is queued, before any I/O. Usage, as in redis-py::

    with client.pipeline(transaction=True) as tx:
        tx.watch("{acct:1}:balance")            # from here, commands run at once (on a pinned connection)
        balance = int(tx.get("{acct:1}:balance") or 0)
        tx.multi()                               # from here, commands are queued
        tx.set("{acct:1}:balance", balance - 10)
        tx.execute()                             # WatchError if the balance changed meanwhile
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..commands import slot_of_keys
from ..errors import ConnectionError, ProtocolError, ResponseError, TimeoutError
from ..resp import pack_command
from ..transaction import exec_plan, pin_plan, watch_redirected
from ..transaction_queue import UNWATCH, TransactionQueue, exec_frames
from .drive import drive_transaction
from .link import ClusterLink, HasLink, link_of

if TYPE_CHECKING:
    from ..slotmap import Node

__all__ = ["Transaction"]

_TRANSPORT = (ConnectionError, TimeoutError, ProtocolError)


class Transaction(TransactionQueue):
    def __init__(self, client: ClusterLink | HasLink) -> None:
        super().__init__()
        self._link = link_of(client)

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, *exc: object) -> None:
        self.reset()

    def _do_packed(self, packed: bytes, slot: int | None, convert: Callable | None) -> Any:
        self._claim(slot)
        if self._queueing:
            return self._queue_packed(packed, convert)
        reply = self._immediate(packed)
        if isinstance(reply, ResponseError):
            raise reply
        return reply if convert is None else convert(reply)

    def execute_command(self, *args: Any, readonly: bool | None = None) -> Any:
        slot, _ = self._link.route_of(args, readonly)
        return self._do(args, slot, None)

    # --- WATCH ---------------------------------------------------------------------------------------

    def watch(self, *keys: Any) -> None:
        """WATCH ``keys`` (one slot) on a connection pinned to their master; commands now run at once."""
        if not keys:
            raise ValueError("watch() needs at least one key")
        self._claim(slot_of_keys(keys, "transaction"))
        reply = self._immediate(pack_command((b"WATCH", *keys)))
        if isinstance(reply, ResponseError):
            raise reply
        self._watching = True
        self._queueing = False

    def unwatch(self) -> None:
        if self._pinned is not None:
            reply = self._immediate(UNWATCH)
            if isinstance(reply, ResponseError):
                raise reply
        self._watching = False

    def _immediate(self, packed: bytes) -> Any:
        """Run one command now on the pinned connection (pinning one to the slot's master first)."""
        if self._pinned is None:
            if self._slot is None:
                raise ValueError("a transaction needs a key before it can talk to a node")
            link = self._link
            drive_transaction(pin_plan(link.topology, link.policy, self._slot), self._pin, None, link.topology)
        pool, conn = self._pinned  # type: ignore[misc]
        try:
            reply = conn.request(packed)
        except BaseException:
            self._unpin(broken=True)
            self._watching = False
            raise
        error = watch_redirected(self._link.topology, reply)
        if error is not None:
            self._unpin(broken=False)
            self._watching = False
            raise error
        return reply

    def _pin(self, node: Node) -> BaseException | None:
        """``PIN``: hold a connection to ``node`` (giving back the one held); a failure as a value."""
        self._unpin(broken=False)
        pool = self._link.topology.pool(node)
        try:
            self._pinned = (pool, pool.acquire())
        except (*_TRANSPORT, ResponseError) as exc:
            return exc
        return None

    def _unpin(self, broken: bool) -> None:
        pinned, self._pinned = self._pinned, None
        if pinned is None:
            return
        pool, conn = pinned
        if broken:
            pool.discard(conn)
        else:
            pool.release(conn)

    # --- EXEC ----------------------------------------------------------------------------------------

    def execute(self, raise_on_error: bool = True) -> list:
        """Run MULTI, the queued commands and EXEC as one write; results in order.

        Raises ``WatchError`` when a watched key changed (nothing ran), ``MaybeAppliedError`` when the
        connection broke after EXEC was sent. A redirected transaction never ran, so when nothing was
        watched it goes again: at the new owner after ``MOVED``; at the importing node, after ``ASKING``,
        for ``ASK`` (map untouched); after a backoff for ``TRYAGAIN``/``CLUSTERDOWN``.
        """
        packed, converts = self._packed, self._convert
        try:
            if not packed:
                return []
            link = self._link
            pinned = self._pinned[1].node if self._pinned is not None else None
            steps = exec_plan(link.topology, link.policy, self._slot, pinned, self._watching)
            replies = drive_transaction(steps, self._pin, self._exec_pinned, link.topology)
            return self._results(replies, converts, packed, raise_on_error)
        finally:
            self.reset()

    def _exec_pinned(self, asking: bool) -> Any:
        """``EXEC``: [ASKING,] MULTI, the queue, EXEC in one write on the pinned connection; its replies."""
        pool, conn = self._pinned  # type: ignore[misc]
        data, count = exec_frames(self._packed, asking)
        try:
            conn.send(data)
            replies = conn.read_replies(count)
        except _TRANSPORT as exc:
            self._unpin(broken=True)
            return exc
        except BaseException:
            self._unpin(broken=True)
            raise
        self._unpin(broken=False)
        self._watching = False  # EXEC (or its abort) ends every WATCH
        return replies

    def reset(self) -> None:
        """Drop queued commands and any WATCH; give the pinned connection back."""
        if self._pinned is not None and self._watching:
            try:
                self._immediate(UNWATCH)
            except Exception:  # noqa: BLE001 - the connection is discarded below if it broke
                pass
        self._unpin(broken=False)
        self._packed, self._convert = [], []
        self._slot = None
        self._watching = False
        self._queueing = True
