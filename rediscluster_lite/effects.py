"""The effects of the core's generators other than the router's, and what the shell sends back for each.

The router's kinds (``SEND``, ``SLEEP``, ``REFRESH``, ``SEND_BATCH``, see :mod:`~rediscluster_lite.router`)
keep their meaning everywhere. Effects are plain tuples read by index: ``effect[0]`` is the kind. The
kinds below are numbered after the router's, so one shell loop can tell every kind apart.

* ``(FORCE_REFRESH, reason)`` -> ``None``: reload the slot map now, even if a refresh just ran (a
  failover was seen, and the next step depends on the new map).
* ``(REQUEST, node, packed)`` -> the reply to ``packed`` sent to ``node`` (error replies as values), or
  the transport exception instance. For commands whose frame changes between tries (SCAN's cursor).
* ``(KEYS, keys)`` -> ``None``: hand ``keys`` to the caller (:func:`~rediscluster_lite.scan.scan_plan`).
* ``(PIN, node)`` -> ``None`` once a connection to ``node`` is held for the transaction (the one held
  before, if any, given back first), or the exception acquiring it raised, as a value.
* ``(RUN, packed, slot, readonly)`` -> the reply of one routed command (``route``'s whole work), or the
  library error that raised, as a value (:func:`~rediscluster_lite.multikey.split_plan`).
* ``(RUN_BATCH, frames, slots, readonly)`` -> the outcomes of a routed batch (``route_batch``'s whole
  work), errors as values, in order (:func:`~rediscluster_lite.multikey.mget_plan`, ``split_plan``).
* ``(EXEC, asking)`` -> the replies to ``[ASKING,] MULTI, <queued commands>, EXEC`` written at once on the
  held connection (which the shell then gives back), or the transport exception instance.

Rules: no effect is ever retried by the shell on its own; every outcome goes back to the generator,
which alone decides what it means.
"""

from __future__ import annotations

__all__ = ["FORCE_REFRESH", "REQUEST", "KEYS", "PIN", "EXEC", "RUN", "RUN_BATCH"]

FORCE_REFRESH, REQUEST, KEYS, PIN, EXEC, RUN, RUN_BATCH = 4, 5, 6, 7, 8, 9, 10
