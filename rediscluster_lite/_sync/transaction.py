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

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..api import CommandsMixin
from ..batch import command_name_of, raise_batch_error
from ..commands import slot_of_keys
from ..errors import ConnectionError, CrossSlotError, ProtocolError, ResponseError, TimeoutError
from ..resp import ASKING, pack_command
from ..transaction import exec_plan, pin_plan, watch_redirected
from .drive import drive_transaction
from .link import ClusterLink, HasLink, link_of

if TYPE_CHECKING:
    from ..slotmap import Node
    from .connection import Connection
    from .pool import NodePool

__all__ = ["Transaction"]

_MULTI = pack_command((b"MULTI",))
_EXEC = pack_command((b"EXEC",))
_UNWATCH = pack_command((b"UNWATCH",))
_TRANSPORT = (ConnectionError, TimeoutError, ProtocolError)


class Transaction(CommandsMixin):
    queues_commands = True

    def __init__(self, client: ClusterLink | HasLink) -> None:
        self._link = link_of(client)
        self._slot: int | None = None
        self._packed: list[bytes] = []
        self._convert: list[Callable | None] = []
        self._watching = False
        self._queueing = True  # False between watch() and multi(): commands run at once
        self._pinned: tuple[NodePool, Connection] | None = None

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, *exc: object) -> None:
        self.reset()

    def __len__(self) -> int:
        return len(self._packed)

    def __repr__(self) -> str:
        state = "watching" if self._watching else "idle"
        return f"<Transaction slot={self._slot} {len(self._packed)} queued {state}>"

    # --- slot discipline ---------------------------------------------------------------------------

    def _claim(self, slot: int | None) -> None:
        if slot is None:
            return
        if self._slot is None:
            self._slot = slot
        elif slot != self._slot:
            raise CrossSlotError(
                f"a transaction runs on one slot: this key is in slot {slot}, the transaction's keys in "
                f"slot {self._slot}; put them under one {{hash tag}}",
                (self._slot, slot),
            )

    # --- the CommandsMixin contract ----------------------------------------------------------------

    def _do(self, args: tuple, slot: int | None, convert: Callable | None) -> Any:
        return self._do_packed(pack_command(args), slot, convert)  # TypeError for a bad argument, before any I/O

    def _do_packed(self, packed: bytes, slot: int | None, convert: Callable | None) -> Any:
        self._claim(slot)
        if not self._queueing:
            reply = self._immediate(packed)
            if isinstance(reply, ResponseError):
                raise reply
            return reply if convert is None else convert(reply)
        self._packed.append(packed)
        self._convert.append(convert)
        return self

    def _framed(self, entry: tuple[bytes, int, bool, Callable | None]) -> Any:
        packed, slot, _, convert = entry
        return self._do_packed(packed, slot, convert)

    def _multi_keyed(self, args: tuple, keys: Sequence, readonly: bool, convert: Callable | None = None) -> Any:
        return self._do(args, slot_of_keys(keys, "transaction"), convert)

    def _keyless(self, args: tuple, readonly: bool, convert: Callable | None = None) -> Any:
        return self._do(args, None, convert)

    def _split_by_slot(self, command: bytes, args: Sequence, step: int, readonly: bool, combine: Callable) -> Any:
        # Atomic means one command here: every key must share the transaction's slot.
        keys = list(args[::step])
        return self._do((command, *args), slot_of_keys(keys, "transaction"), _single_combine(combine, len(keys)))

    def _blocking(
        self, args: tuple, keys: Sequence, readonly: bool, block: float, convert: Callable | None = None
    ) -> Any:
        # Inside MULTI a blocking command does not block: Redis runs it with a zero timeout.
        return self._do(args, slot_of_keys(keys, "transaction"), convert)

    def _fanout(self, args: tuple, target_nodes: Any, combine: Callable) -> Any:
        raise TypeError(f"{command_name_of(pack_command(args))} goes to many nodes; it cannot be part of a transaction")

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
            reply = self._immediate(_UNWATCH)
            if isinstance(reply, ResponseError):
                raise reply
        self._watching = False

    def multi(self) -> None:
        """Start queueing (after watch())."""
        if self._packed:
            raise ValueError("multi() must come before the commands it queues")
        self._queueing = True

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
        head = [ASKING, _MULTI] if asking else [_MULTI]
        try:
            conn.send(b"".join([*head, *self._packed, _EXEC]))
            replies = conn.read_replies(len(self._packed) + len(head) + 1)
        except _TRANSPORT as exc:
            self._unpin(broken=True)
            return exc
        except BaseException:
            self._unpin(broken=True)
            raise
        self._unpin(broken=False)
        self._watching = False  # EXEC (or its abort) ends every WATCH
        return replies

    @staticmethod
    def _results(replies: list, converts: list, packed: list[bytes], raise_on_error: bool) -> list:
        out = [
            reply if convert is None or isinstance(reply, BaseException) else convert(reply)
            for reply, convert in zip(replies, converts)
        ]
        if raise_on_error:
            for index, reply in enumerate(out):
                if isinstance(reply, BaseException):
                    raise_batch_error(out, index, command_name_of(packed[index]))
        return out

    def reset(self) -> None:
        """Drop queued commands and any WATCH; give the pinned connection back."""
        if self._pinned is not None and self._watching:
            try:
                self._immediate(_UNWATCH)
            except Exception:  # noqa: BLE001 - the connection is discarded below if it broke
                pass
        self._unpin(broken=False)
        self._packed, self._convert = [], []
        self._slot = None
        self._watching = False
        self._queueing = True


def _single_combine(combine: Callable, count: int) -> Callable:
    """The reply of one command holding every key, through the combiner written for per-slot parts."""
    parts = [(None, list(range(count)), ())]
    return lambda reply: combine(parts, [reply], count)
