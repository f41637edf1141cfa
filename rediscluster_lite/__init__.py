"""rediscluster_lite: a lean, pure-Python Redis Cluster client."""

from typing import TYPE_CHECKING

from . import errors
from ._sync.client import ClusterClient
from ._sync.pipeline import ClusterPipeline
from ._sync.pubsub import PubSub
from ._sync.transaction import Transaction
from .errors import *  # noqa: F403 - the error tree is part of the public API
from .keyslot import key_slot
from .readfrom import ReadFrom
from .slotmap import Node, Shard, SlotMap

if TYPE_CHECKING:
    from ._async.client import AsyncClusterClient

__version__ = "0.1.0"

__all__ = [
    "ClusterClient",
    "AsyncClusterClient",
    "ClusterPipeline",
    "Transaction",
    "PubSub",
    "ReadFrom",
    "key_slot",
    "Node",
    "Shard",
    "SlotMap",
    "errors",
    "__version__",
]
# Every error class is importable from the package; a star import leaves out the two that share
# builtin names (ConnectionError, TimeoutError), so it never shadows the builtins in the caller's module.
__all__ += [name for name in errors.__all__ if name not in ("ConnectionError", "TimeoutError")]


def __getattr__(name: str) -> object:
    # The asyncio client is imported on first use: a blocking program never pays for importing asyncio.
    if name == "AsyncClusterClient":
        from ._async.client import AsyncClusterClient

        return AsyncClusterClient
    raise AttributeError(f"module 'rediscluster_lite' has no attribute {name!r}")
