"""Typed command methods, shared by every client shell (sync, asyncio, pipelines, transactions).

One module per command family, each a mixin over ``base.Doors``; ``CommandsMixin`` is all of them. A method only
builds the argument tuple and names its key(s); the shell's doors decide routing and I/O, then apply the reply
conversion. Names, parameters and reply types follow redis-py so code moves over easily.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import (
    bitmaps,
    cluster_admin,
    geo,
    hashes,
    keys,
    lists,
    scripting,
    server,
    sets,
    sorted_sets,
    sorted_sets_multi,
    streams,
    streams_groups,
    strings,
)
from .base import Doors, Key
from .bitmaps import BitmapCommands
from .cluster_admin import AclCommands, ClientCommands, ClusterAdminCommands
from .geo import GeoCommands
from .hashes import HashCommands
from .keys import KeyCommands
from .lists import ListCommands
from .scripting import ScriptingCommands
from .server import CommandTableCommands, ServerCommands
from .sets import SetCommands
from .sorted_sets import SortedSetCommands
from .sorted_sets_multi import SortedSetMultiCommands
from .streams import StreamCommands
from .streams_groups import StreamGroupCommands
from .strings import StringCommands

__all__ = ["CommandsMixin", "Doors", "Key", "REPLY_BY_COMMAND"]

_FAMILIES = (
    strings,
    keys,
    bitmaps,
    hashes,
    lists,
    sets,
    sorted_sets,
    sorted_sets_multi,
    streams,
    streams_groups,
    scripting,
    server,
    geo,
    cluster_admin,
)

# Every family's by-name conversions (upper-case command name, "CONFIG GET" style for subcommands).
REPLY_BY_COMMAND: dict[str, Callable[[Any], Any]] = {}
for _family in _FAMILIES:
    REPLY_BY_COMMAND.update(_family.REPLIES)


class CommandsMixin(
    StringCommands,
    KeyCommands,
    BitmapCommands,
    HashCommands,
    ListCommands,
    SetCommands,
    SortedSetCommands,
    SortedSetMultiCommands,
    StreamCommands,
    StreamGroupCommands,
    ScriptingCommands,
    ServerCommands,
    CommandTableCommands,
    GeoCommands,
    ClusterAdminCommands,
    ClientCommands,
    AclCommands,
):
    """Every typed command method. A subclass supplies the doors of ``base.Doors``."""
