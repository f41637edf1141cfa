"""The asyncio client: ``from rediscluster_lite.asyncio import ClusterClient``.

The same constructor, options and typed methods as :class:`rediscluster_lite.ClusterClient`, each command
a coroutine; see ``docs/asyncio.md``.
"""

from __future__ import annotations

from ._async.client import AsyncClusterClient
from ._async.pipeline import AsyncPipeline
from ._async.pubsub import AsyncPubSub
from .script import AsyncScript

ClusterClient = AsyncClusterClient
ClusterPipeline = AsyncPipeline
PubSub = AsyncPubSub

__all__ = [
    "ClusterClient",
    "AsyncClusterClient",
    "ClusterPipeline",
    "AsyncPipeline",
    "PubSub",
    "AsyncPubSub",
    "AsyncScript",
]
