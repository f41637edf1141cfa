"""rediscluster_lite: a lean, pure-Python Redis Cluster client."""

__version__ = "0.1.0"
