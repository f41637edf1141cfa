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

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..api import CommandsMixin
from ..commands import slot_of_keys
from ..errors import (
    ConnectError,
    ConnectionError,
    CrossSlotError,
    MaybeAppliedError,
    ProtocolError,
    ResponseError,
    TimeoutError,
    WatchError,
)
from ..resp import ASKING, pack_command
from ..router import parse_redirect
from ..transaction import DONE, REFUSED, WATCH_FAILED, judge_exec
from .pipeline import command_name_of, raise_batch_error

if TYPE_CHECKING:
    from ..slotmap import Node
    from .client import ClusterClient
    from .connection import Connection
    from .pool import NodePool

__all__ = ["Transaction"]

_MULTI = pack_command((b"MULTI",))
_EXEC = pack_command((b"EXEC",))
_UNWATCH = pack_command((b"UNWATCH",))
_TRANSPORT = (ConnectionError, TimeoutError, ProtocolError)


class Transaction(CommandsMixin):
    queues_commands = True

    def __init__(self, client: ClusterClient) -> None:
        self._client = client
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
        slot, _ = self._client._route_of(args, readonly)
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
            self._pin()
        pool, conn = self._pinned  # type: ignore[misc]
        try:
            reply = conn.request(packed)
        except BaseException:
            self._unpin(broken=True)
            self._watching = False
            raise
        if isinstance(reply, ResponseError) and reply.code in ("MOVED", "ASK"):
            slot, node = parse_redirect(reply.message)
            if reply.code == "MOVED":
                self._client._topology.apply_moved(slot, node)
                why = f"slot {slot} moved to {node.name}"
            else:  # mid-migration: the slot still belongs to this node, so the map stays as it is
                why = f"slot {slot} is migrating to {node.name}"
            self._unpin(broken=False)
            self._watching = False
            raise WatchError(f"{why} while watching; start the transaction again")
        return reply

    def _pin(self, node: Node | None = None) -> None:
        """Hold a connection to ``node``, or to the master of the transaction's slot (any master when
        the transaction names no key)."""
        topology = self._client._topology
        if node is not None:
            pool = topology.pool(node)
            self._pinned = (pool, pool.acquire())
            return
        for attempt in range(2):
            if self._slot is None:
                try:
                    shard = topology.keyless_shard()
                except LookupError:
                    shard = None
            else:
                shard = topology.slot_map.slots[self._slot]
            if shard is None:
                topology.refresh(f"slot {self._slot} uncovered", force=True)
                continue
            pool = topology.pool(shard.master)
            try:
                self._pinned = (pool, pool.acquire())
                return
            except ConnectError:
                topology.mark_down(shard.master)
                if attempt:
                    raise
                topology.refresh(f"{shard.master.name} refused", force=True)
        raise ConnectError(f"no reachable master serves slot {self._slot}")

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
            policy = self._client._policy
            topology = self._client._topology
            ask_node: Node | None = None
            retries = 0
            watched = self._watching  # _exec_once clears it: EXEC, run or aborted, ends the WATCH
            for _ in range(policy.max_redirects + 1):
                verdict, payload = self._exec_once(packed, ask_node)
                if verdict == DONE:
                    return self._results(payload, converts, packed, raise_on_error)
                if verdict == WATCH_FAILED:
                    raise WatchError("a watched key changed before EXEC; nothing was applied")
                if verdict == REFUSED:
                    raise payload
                # REDIRECTED: nothing ran. A WATCH lives on the connection it was sent on, so a watched
                # transaction cannot follow; an unwatched one goes again.
                ask_node = None
                if payload.code in ("MOVED", "ASK"):
                    slot, node = parse_redirect(payload.message)
                    if payload.code == "MOVED":
                        topology.apply_moved(slot, node)
                    else:
                        ask_node = node
                if watched:
                    raise WatchError(f"the transaction's slot is moving ({payload.message}); nothing was applied")
                if ask_node is not None or payload.code == "MOVED":
                    continue
                retries += 1
                if retries > policy.max_retries:
                    break
                time.sleep(policy.backoff(retries))
                if payload.code == "CLUSTERDOWN":
                    topology.refresh(payload.message, force=True)
            raise WatchError("the transaction's slot kept moving; nothing was applied")
        finally:
            self.reset()

    def _exec_once(self, packed: list[bytes], ask_node: Node | None = None) -> tuple[int, Any]:
        if ask_node is not None:
            self._unpin(broken=False)
            self._pin(ask_node)
        elif self._pinned is None:
            self._pin()
        pool, conn = self._pinned  # type: ignore[misc]
        # After ASKING, the importing node accepts the slot's commands until EXEC ends the transaction.
        head = [ASKING, _MULTI] if ask_node is not None else [_MULTI]
        try:
            conn.send(b"".join([*head, *packed, _EXEC]))
            replies = conn.read_replies(len(packed) + len(head) + 1)
            if ask_node is not None:
                asking, replies = replies[0], replies[1:]
                if isinstance(asking, ResponseError):
                    replies[0] = asking
        except _TRANSPORT as exc:
            self._unpin(broken=True)
            error = MaybeAppliedError(
                f"the connection to {conn.node.name} failed during EXEC ({exc}); the transaction may have "
                "been applied, so it was not sent again",
                conn.node.name,
            )
            raise error from exc
        except BaseException:
            self._unpin(broken=True)
            raise
        self._unpin(broken=False)
        self._watching = False  # EXEC (or its abort) ends every WATCH
        return judge_exec(replies)

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
