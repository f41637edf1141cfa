"""``client.pipeline(transaction=True)`` on the asyncio client: MULTI/EXEC on one slot's master, with WATCH.

The queue and slot rules are ``transaction_queue``'s, the decisions ``transaction``'s (``pin_plan``,
``exec_plan``, ``watch_redirected``), as in the blocking client. The transaction holds a dedicated
connection (never the shared one: WATCH and MULTI are connection state) from its first WATCH or its EXEC
until EXEC ends it. Usage::

    async with client.pipeline(transaction=True) as tx:
        await tx.watch("{acct:1}:balance")            # from here, commands run at once: await them
        balance = int(await tx.get("{acct:1}:balance") or 0)
        tx.multi()                                    # from here, commands are queued: no await
        tx.set("{acct:1}:balance", balance - 10)
        await tx.execute()                            # WatchError if the balance changed meanwhile
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..commands import CommandTable, check_command, command_name, route_with, slot_of_keys
from ..errors import ConnectionError, ProtocolError, ResponseError, TimeoutError
from ..resp import pack_command
from ..slotmap import Node
from ..transaction import exec_plan, pin_plan, watch_redirected
from ..transaction_queue import UNWATCH, TransactionQueue, exec_frames
from .connection import AsyncConnection
from .drive import drive_transaction

__all__ = ["AsyncTransaction"]

_TRANSPORT = (ConnectionError, TimeoutError, ProtocolError)
BUILTIN_TABLE = CommandTable()  # the commands the library knows without asking a server


class AsyncTransaction(TransactionQueue):
    def __init__(self, client: Any) -> None:
        super().__init__()
        self._client = client
        self._topology = client._topology
        self._pinned: AsyncConnection | None = None

    async def __aenter__(self) -> AsyncTransaction:
        # Queueing is synchronous (no await), so execute_command() routes by a table it must already have.
        topology = self._topology
        topology.bind()
        if not topology.refreshes:
            await self._client.initialize()
        await topology.commands()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.reset()

    def _do_packed(self, packed: bytes, slot: int | None, convert: Callable | None) -> Any:
        self._claim(slot)  # CrossSlotError at call time, before any await
        if self._queueing:
            return self._queue_packed(packed, convert)
        return self._now(packed, convert)

    async def _now(self, packed: bytes, convert: Callable | None) -> Any:
        reply = await self._immediate(packed)
        if isinstance(reply, ResponseError):
            raise reply
        return reply if convert is None else convert(reply)

    def execute_command(self, *args: Any, readonly: bool | None = None) -> Any:
        check_command(args)
        table = self._topology._commands
        if table is None:  # not entered with ``async with`` and no command run yet: the built-in table
            if BUILTIN_TABLE.lookup(args) is None:
                raise ValueError(
                    f"execute_command({command_name(args[0])!r}) in an asyncio transaction needs the server's "
                    "command table: use `async with client.pipeline(transaction=True) as tx` (it loads it)"
                )
            table = BUILTIN_TABLE
        slot, _ = route_with(table, args, readonly)
        return self._do(args, slot, None)

    # --- WATCH ---------------------------------------------------------------------------------------

    async def watch(self, *keys: Any) -> None:
        """WATCH ``keys`` (one slot) on a connection held for this transaction; commands now run at once."""
        if not keys:
            raise ValueError("watch() needs at least one key")
        self._claim(slot_of_keys(keys, "transaction"))
        reply = await self._immediate(pack_command((b"WATCH", *keys)))
        if isinstance(reply, ResponseError):
            raise reply
        self._watching = True
        self._queueing = False

    async def unwatch(self) -> None:
        if self._pinned is not None:
            reply = await self._immediate(UNWATCH)
            if isinstance(reply, ResponseError):
                raise reply
        self._watching = False

    async def _immediate(self, packed: bytes) -> Any:
        """Run one command now on the held connection (holding one to the slot's master first)."""
        if self._pinned is None:
            if self._slot is None:
                raise ValueError("a transaction needs a key before it can talk to a node")
            self._topology.bind()
            if not self._topology.refreshes:
                await self._client.initialize()
            steps = pin_plan(self._topology, self._client._policy, self._slot)
            await drive_transaction(steps, self._pin, None, self._topology)
        conn = self._pinned
        try:
            reply = await conn.request(packed)  # type: ignore[union-attr]
        except BaseException:
            self._unpin(broken=True)
            self._watching = False
            raise
        error = watch_redirected(self._topology, reply)
        if error is not None:
            self._unpin(broken=False)
            self._watching = False
            raise error
        return reply

    async def _pin(self, node: Node) -> BaseException | None:
        """``PIN``: hold a dedicated connection to ``node`` (giving back the one held); a failure as a value."""
        self._unpin(broken=False)
        try:
            self._pinned = await self._topology.dedicated(node, self._client._settings.socket_timeout)
        except (*_TRANSPORT, ResponseError) as exc:
            return exc
        return None

    def _unpin(self, broken: bool) -> None:
        conn, self._pinned = self._pinned, None
        if conn is not None:
            self._topology.release_dedicated(conn, healthy=not broken)

    # --- EXEC ----------------------------------------------------------------------------------------

    async def execute(self, raise_on_error: bool = True) -> list:
        """Run MULTI, the queued commands and EXEC as one write; results in order (see the blocking
        ``Transaction.execute``: WatchError, MaybeAppliedError, redirects when nothing was watched)."""
        packed, converts = self._packed, self._convert
        try:
            if not packed:
                return []
            topology = self._topology
            topology.bind()
            if not topology.refreshes:
                await self._client.initialize()
            pinned = self._pinned.node if self._pinned is not None else None
            steps = exec_plan(topology, self._client._policy, self._slot, pinned, self._watching)
            replies = await drive_transaction(steps, self._pin, self._exec_pinned, topology)
            return self._results(replies, converts, packed, raise_on_error)
        finally:
            await self.reset()

    async def _exec_pinned(self, asking: bool) -> Any:
        """``EXEC``: [ASKING,] MULTI, the queue, EXEC in one write on the held connection; its replies."""
        conn = self._pinned
        data, count = exec_frames(self._packed, asking)
        try:
            replies = await conn.request(data, count, True)  # type: ignore[union-attr]
        except _TRANSPORT as exc:
            self._unpin(broken=True)
            return exc
        except BaseException:
            self._unpin(broken=True)
            raise
        self._unpin(broken=False)
        self._watching = False  # EXEC (or its abort) ends every WATCH
        return replies

    async def reset(self) -> None:
        """Drop queued commands and any WATCH; give the held connection back."""
        if self._pinned is not None and self._watching:
            try:
                await self._immediate(UNWATCH)
            except Exception:  # noqa: BLE001 - the connection is discarded below if it broke
                pass
        self._unpin(broken=False)
        self._packed, self._convert = [], []
        self._slot = None
        self._watching = False
        self._queueing = True
