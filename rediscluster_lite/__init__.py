"""rediscluster_lite: a lean, pure-Python Redis Cluster client."""

from . import errors
from ._sync.client import ClusterClient
from .errors import *  # noqa: F403 - the error tree is part of the public API
from .keyslot import key_slot
from .readfrom import ReadFrom
from .slotmap import Node, Shard, SlotMap

__version__ = "0.1.0"

__all__ = ["ClusterClient", "ReadFrom", "key_slot", "Node", "Shard", "SlotMap", "errors", "__version__"]
__all__ += errors.__all__
