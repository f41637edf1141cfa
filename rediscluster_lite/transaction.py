"""What the replies to ``MULTI ... EXEC`` mean. Pure code; the shell is ``_sync/transaction.py``.

A transaction is sent as one write: ``MULTI``, the queued commands, ``EXEC``. The server answers
``+OK``, then ``+QUEUED`` (or an error) for each command, then ``EXEC``'s array (or nil when a WATCHed
key changed, or ``-EXECABORT`` when a command was refused while queueing). A refused command means
*nothing* ran, which is what makes a redirect inside a transaction safe to retry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import ResponseError

__all__ = ["DONE", "REDIRECTED", "WATCH_FAILED", "REFUSED", "judge_exec"]

DONE, REDIRECTED, WATCH_FAILED, REFUSED = 0, 1, 2, 3
_CLUSTER_CODES = ("MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN")


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
