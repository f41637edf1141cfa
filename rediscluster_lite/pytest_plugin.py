"""pytest fixtures that start a real, throwaway Redis Cluster (see :mod:`rediscluster_lite.local`).

* ``redis_cluster``: one 3-master/3-replica cluster for the whole session. It is shared, so tests must not
  kill, stop, pause or restart its nodes (the launcher refuses); use ``redis_cluster_factory`` for that.
* ``redis_cluster_factory``: call it with :class:`~rediscluster_lite.local.LocalCluster` keyword arguments
  to get a fresh, started cluster of your own; it is closed when the test ends, pass or fail.

Installed with the package, this module is a ``pytest11`` entry point, so the fixtures are available
without any conftest. When redis-server is missing, tests using them fail (they are not skipped) with the
install instructions.

Rule this module keeps: installing the package does not change anyone's pytest. Importing this module
defines two fixtures and nothing else: the launcher is imported, and its ``atexit`` and signal handlers
installed, only when a test first uses one of the fixtures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from rediscluster_lite.local import LocalCluster

_SHARED = (
    "redis_cluster is shared by the whole test session: do not kill, stop, pause or restart its nodes; "
    "use the redis_cluster_factory fixture for destructive tests"
)


def _start(**kwargs: Any) -> LocalCluster:
    from rediscluster_lite.local import LauncherError, LocalCluster  # only once a fixture is used

    cluster = LocalCluster(**kwargs)
    try:
        cluster.start()
    except LauncherError as e:
        # A failure with the launcher's own message (install hint, node log tail), not a long traceback.
        pytest.fail(f"could not start a local Redis Cluster: {e}", pytrace=False)
    return cluster


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[LocalCluster]:
    """A started 3x1 LocalCluster shared by the session. Read and write keys; leave its nodes alone."""
    # A long node timeout: nothing here fails over on purpose, and a loaded CI box must not make it do so.
    cluster = _start(masters=3, replicas_per_master=1, node_timeout_ms=5000)
    cluster._no_chaos = _SHARED
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def redis_cluster_factory() -> Iterator[Callable[..., LocalCluster]]:
    """``redis_cluster_factory(**LocalCluster kwargs)`` -> a fresh started cluster, closed at test end."""
    started: list[LocalCluster] = []

    def factory(**kwargs: Any) -> LocalCluster:
        cluster = _start(**kwargs)
        started.append(cluster)
        return cluster

    try:
        yield factory
    finally:
        for cluster in reversed(started):
            cluster.close()
