"""What a client's pipelines, transactions and subscribers may use of it: :class:`ClusterLink`.

They receive one at construction (or the client, which hands theirs over through
:func:`link_of`) and never touch the client itself, so none of them imports the client's module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ..router import RetryPolicy
from .topology import Topology

__all__ = ["ClusterLink", "HasLink", "link_of"]


class ClusterLink:
    """The narrow interface: the live topology (slot map, pools, refresh), the retry budget, how a
    command routes (``route_of(args, readonly) -> (slot, readonly)``) and the batch sender
    (``run_batch(frames, slots, readonly) -> outcomes``)."""

    __slots__ = ("topology", "policy", "route_of", "run_batch")

    def __init__(
        self,
        topology: Topology,
        policy: RetryPolicy,
        route_of: Callable[[Sequence, bool | None], tuple[int | None, bool]],
        run_batch: Callable[[Sequence[bytes], Sequence[int | None], Sequence[bool]], list],
    ) -> None:
        self.topology = topology
        self.policy = policy
        self.route_of = route_of
        self.run_batch = run_batch

    def __repr__(self) -> str:
        return f"<ClusterLink {len(self.topology.slot_map.masters)} masters>"


class HasLink(Protocol):
    """Anything that can give a :class:`ClusterLink` (a ``ClusterClient``)."""

    @property
    def link(self) -> ClusterLink: ...


def link_of(source: ClusterLink | HasLink | Any) -> ClusterLink:
    """``source`` itself if it is a link, else the link of the client ``source``."""
    return source if isinstance(source, ClusterLink) else source.link
