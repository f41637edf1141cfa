"""What the replies to ``MULTI ... EXEC`` mean, and every decision around them. Pure code; the shell is
``_sync/transaction.py``.

A transaction is sent as one write: ``MULTI``, the queued commands, ``EXEC``. The server answers
``+OK``, then ``+QUEUED`` (or an error) for each command, then ``EXEC``'s array (or nil when a WATCHed
key changed, or ``-EXECABORT`` when a command was refused while queueing). A refused command means
*nothing* ran, which is what makes a redirect inside a transaction safe to retry.

Rules kept here (the generators yield the effects of :mod:`~rediscluster_lite.effects`):

1. The transaction's connection is pinned to the master of its slot (any master when it names no key).
   Failing to get one (nothing was sent) is judged by the router's :class:`~rediscluster_lite.router.Attempt`:
   mark the node down, back off, refresh, try the new owner, within ``max_retries``.
2. ``MOVED``/``ASK`` to a command run while WATCHing: the WATCH cannot follow (it lives on the
   connection), so :class:`WatchError`; ``MOVED`` still patches the map.
3. EXEC redirected (nothing ran): a watched transaction raises :class:`WatchError`; an unwatched one goes
   again as the router's rules say (``MOVED``: the new owner; ``ASK``: ``ASKING`` at the importing node;
   ``TRYAGAIN``/``CLUSTERDOWN``: back off), on the router's one budget. Exhausting it raises
   :class:`WatchError` whose ``__cause__`` carries the history.
4. The connection failed once EXEC was written: :class:`MaybeAppliedError`, never sent again.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

from .batch import after_asking
from .effects import EXEC, FORCE_REFRESH, PIN
from .errors import MaybeAppliedError, ResponseError, WatchError
from .router import FAIL, SLEEP, WAIT, Attempt, RetryPolicy, RoutingState, parse_redirect
from .slotmap import Node

__all__ = [
    "DONE",
    "REDIRECTED",
    "WATCH_FAILED",
    "REFUSED",
    "judge_exec",
    "watch_redirected",
    "pin_plan",
    "exec_plan",
    "WatchRetry",
]

DONE, REDIRECTED, WATCH_FAILED, REFUSED = 0, 1, 2, 3
_CLUSTER_CODES = ("MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN")

Plan = Generator[tuple, Any, Any]


def judge_exec(replies: Sequence[Any]) -> tuple[int, Any]:
    """``replies`` = [MULTI's, each command's QUEUED, EXEC's] -> ``(verdict, payload)``.

    * ``(DONE, results)``: EXEC ran; ``results`` may hold ResponseError values (runtime errors).
    * ``(REDIRECTED, error)``: a command hit MOVED/ASK/TRYAGAIN/CLUSTERDOWN; nothing ran.
    * ``(WATCH_FAILED, None)``: a watched key changed; nothing ran.
    * ``(REFUSED, error)``: the server refused MULTI or a command (syntax, wrong arity); nothing ran.
    """
    multi, queued, exec_reply = replies[0], replies[1:-1], replies[-1]
    if isinstance(multi, ResponseError):
        return REFUSED, multi
    errors = [q for q in queued if isinstance(q, ResponseError)]
    redirect = next((e for e in errors if e.code in _CLUSTER_CODES), None)
    if redirect is not None:
        return REDIRECTED, redirect
    if exec_reply is None:
        return WATCH_FAILED, None
    if isinstance(exec_reply, ResponseError):
        if exec_reply.code in _CLUSTER_CODES:
            return REDIRECTED, exec_reply
        return REFUSED, errors[0] if errors else exec_reply
    return DONE, exec_reply


def watch_redirected(state: RoutingState, reply: Any) -> WatchError | None:
    """Rule 2: the :class:`WatchError` to raise for a reply to a command run while watching, or ``None``."""
    if not isinstance(reply, ResponseError) or reply.code not in ("MOVED", "ASK"):
        return None
    slot, node = parse_redirect(reply.message)
    if reply.code == "MOVED":
        # Patched when the map names that host; otherwise the next try's MOVED goes through the router's
        # redirect check, which refreshes first. Either way nothing here waits on I/O.
        state.move_slot(slot, node)
        why = f"slot {slot} moved to {node.name}"
    else:  # mid-migration: the slot still belongs to this node, so the map stays as it is
        why = f"slot {slot} is migrating to {node.name}"
    return WatchError(f"{why} while watching; start the transaction again")


def _wait(verdict: int, payload: Any, reason: str) -> Plan:
    """The effects of the router's ``WAIT`` verdict (back off, then refresh if asked); raises on ``FAIL``."""
    if verdict == FAIL:
        raise payload
    if verdict == WAIT:
        delay, refresh = payload
        yield (SLEEP, delay)
        if refresh:
            yield (FORCE_REFRESH, reason)


def _pin(attempt: Attempt, state: RoutingState, policy: RetryPolicy) -> Plan:
    """Rule 1: pin a connection where ``attempt`` says; returns ``(node, asking)``."""
    while True:
        target = attempt.pick(state)
        if target is None:
            yield (FORCE_REFRESH, f"slot {attempt.slot} uncovered")
            continue
        node, asking, _ = target
        failure = yield (PIN, node)
        if failure is None:
            return node, asking
        verdict, payload = attempt.handle(state, policy, node, failure)
        yield from _wait(verdict, payload, f"{node.name} refused")


def pin_plan(state: RoutingState, policy: RetryPolicy, slot: int | None) -> Plan:
    """Pin a connection to the master of ``slot`` (``None``: any master), failing over per rule 1.

    Returns the node. Raises what the router's rules give up with (``ConnectError``, ``PoolTimeout``,
    ``SlotNotCoveredError``, an AUTH refusal).
    """
    node, _ = yield from _pin(Attempt(slot, False, True), state, policy)
    return node


def exec_plan(state: RoutingState, policy: RetryPolicy, slot: int | None, pinned: Node | None, watched: bool) -> Plan:
    """Run EXEC to its results (rules 1, 3, 4); ``pinned`` is the node of a connection already held.

    Yields ``PIN`` (when no connection is held: first, unless ``pinned``, and after every EXEC, since the
    shell gives the connection back), ``EXEC``, ``SLEEP`` and ``FORCE_REFRESH``. Returns EXEC's results
    (error values in place of commands that failed at run time); raises ``WatchError``,
    ``MaybeAppliedError``, or the server's refusal.
    """
    # Repeatable: a transport failure reaches the Attempt only while pinning, before anything was sent.
    attempt = Attempt(slot, False, True)
    node, asking = pinned, False
    while True:
        if node is None:
            node, asking = yield from _pin(attempt, state, policy)
        replies = yield (EXEC, asking)
        if isinstance(replies, BaseException):
            error = MaybeAppliedError(
                f"the connection to {node.name} failed during EXEC ({replies}); the transaction may have "
                "been applied, so it was not sent again",
                node.name,
            )
            raise error from replies
        if asking:  # after ASKING the importing node accepts the slot's commands until EXEC ends them
            replies = [after_asking(replies[0], replies[1]), *replies[2:]]
        verdict, payload = judge_exec(replies)
        if verdict == DONE:
            return payload
        if verdict == WATCH_FAILED:
            raise WatchError("a watched key changed before EXEC; nothing was applied")
        if verdict == REFUSED:
            raise payload
        verdict, judged = attempt.handle(state, policy, node, payload)  # REDIRECTED: nothing ran
        if watched:  # a WATCH lives on the connection it was sent on: it cannot follow
            raise WatchError(f"the transaction's slot is moving ({payload.message}); nothing was applied")
        if verdict == FAIL:
            raise WatchError("the transaction's slot kept moving; nothing was applied") from judged
        yield from _wait(verdict, judged, payload.message)
        node = None


class WatchRetry:
    """The retry rule of ``client.transaction()``, for any shell: a :class:`WatchError` earns another try
    until ``max_attempts`` tries were made (``None``: no limit)::

        retry = WatchRetry(max_attempts)
        while True:
            try:
                return run_once()        # (await run_once() in an asyncio shell)
            except WatchError:
                if not retry.again():
                    raise
    """

    __slots__ = ("max_attempts", "attempts")

    def __init__(self, max_attempts: int | None) -> None:
        self.max_attempts = max_attempts
        self.attempts = 1

    def again(self) -> bool:
        """Called after a try failed with WatchError: whether to try once more (counts that try)."""
        if self.max_attempts is not None and self.attempts >= self.max_attempts:
            return False
        self.attempts += 1
        return True
