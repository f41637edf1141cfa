"""What a command's keys are, and whether it only reads.

The server describes its own commands in the ``COMMAND`` reply: flags (``readonly``), the legacy
first/last/step key positions, and since Redis 7 *key specs* that also cover commands whose keys move
(``EVAL``'s numkeys, ``XREAD ... STREAMS``, ``ZUNIONSTORE``, ``SORT ... STORE``). :class:`CommandTable`
compiles that reply once into small extractor functions; a built-in table answers for servers that say
less (old versions, ``COMMAND`` denied by ACL). Everything here is pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .errors import CrossSlotError
from .keyslot import key_slot

__all__ = ["CommandSpec", "CommandTable", "BUILTIN", "slot_of_keys", "command_name", "check_command", "route_with"]

# An extractor takes the full argv (argv[0] is the command name) and returns the key positions.
Extractor = Callable[[Sequence[Any]], list]


class CommandSpec:
    __slots__ = ("name", "readonly", "key_positions", "subcommands")

    def __init__(
        self,
        name: str,
        readonly: bool,
        key_positions: Extractor,
        subcommands: dict[str, CommandSpec] | None = None,
    ) -> None:
        self.name = name
        self.readonly = readonly
        self.key_positions = key_positions
        self.subcommands = subcommands

    def keys(self, argv: Sequence[Any]) -> list:
        """The key arguments of ``argv`` (in order, possibly repeated)."""
        return [argv[i] for i in self.key_positions(argv)]

    def __repr__(self) -> str:
        return f"CommandSpec({self.name!r}, readonly={self.readonly})"


def command_name(arg: Any) -> str:
    if isinstance(arg, (bytes, bytearray, memoryview)):
        return bytes(arg).decode("utf-8", "replace").lower()
    if isinstance(arg, str):
        return arg.lower()
    raise TypeError(f"a command name is bytes or str, got {type(arg).__name__}")


# Commands that change a connection's state: sent through execute_command, they would leave a pooled
# connection in that state for the next caller. Each maps to what to use instead.
CONNECTION_STATE_COMMANDS = {
    "multi": "client.pipeline(transaction=True)",
    "exec": "client.pipeline(transaction=True)",
    "discard": "client.pipeline(transaction=True)",
    "watch": "client.pipeline(transaction=True) and its watch()",
    "unwatch": "client.pipeline(transaction=True) and its unwatch()",
    "subscribe": "client.pubsub()",
    "psubscribe": "client.pubsub()",
    "ssubscribe": "client.pubsub()",
    "unsubscribe": "client.pubsub()",
    "punsubscribe": "client.pubsub()",
    "sunsubscribe": "client.pubsub()",
    "monitor": "redis-cli monitor (not supported by this client)",
    "select": "database 0 (the only one Redis Cluster has)",
    "reset": "a new client",
    "quit": "client.close()",
    "hello": "the client's own protocol handling",
    "auth": "ClusterClient(username=..., password=...)",
    "readonly": "read_from=... (the client sends READONLY itself)",
    "readwrite": "read_from='primary'",
    "asking": "nothing: the client follows ASK redirects itself",
}


def refuse_connection_state(argv: Sequence[Any]) -> None:
    """Raise ``ValueError`` for commands that would leave a pooled connection in a special state."""
    head = argv[0]
    name = head.lower() if isinstance(head, str) else command_name(head) if isinstance(head, bytes) else ""
    instead = CONNECTION_STATE_COMMANDS.get(name)
    if instead is None and name == "client" and len(argv) > 1:
        sub = command_name(argv[1]) if isinstance(argv[1], (bytes, str)) else ""
        if sub == "reply":
            instead = "nothing: CLIENT REPLY would desynchronise a pooled connection"
    if instead is not None:
        raise ValueError(
            f"{name.upper()} changes the connection's state and cannot go through execute_command(); use {instead}"
        )


def check_command(args: Sequence[Any]) -> None:
    """What ``execute_command`` refuses before any I/O: no command at all, or one that changes the
    connection's state."""
    if not args:
        raise ValueError("execute_command() needs a command name")
    refuse_connection_state(args)


def route_with(table: CommandTable, args: Sequence[Any], readonly: bool | None) -> tuple[int | None, bool]:
    """The slot (``None`` if keyless) and read-only-ness of any command, from the command table;
    ``readonly`` given overrides the table's flag."""
    spec = table.lookup(args)
    keys = spec.keys(args) if spec is not None else ()
    if readonly is None:
        readonly = spec.readonly if spec is not None else False
    return (slot_of_keys(keys) if keys else None), readonly


def slot_of_keys(keys: Iterable[Any], what: str = "command") -> int | None:
    """The one slot all ``keys`` hash to (``None`` when there are no keys).

    Raises ``CrossSlotError`` naming the slots when they differ, and ``TypeError`` for a key that is
    not bytes/str/int/float/memoryview: both before any I/O.
    """
    slot = None
    slots: dict[int, None] = {}
    for key in keys:
        s = key_slot(key)
        if slot is None:
            slot = s
        slots[s] = None
    if len(slots) > 1:
        listed = ", ".join(str(s) for s in slots)
        raise CrossSlotError(
            f"the keys of this {what} hash to different slots ({listed}); use a {{hash tag}} "
            "to keep keys that must be used together in one slot",
            tuple(slots),
        )
    return slot


# --- extractors -----------------------------------------------------------------------------------


def _no_keys(argv: Sequence[Any]) -> list:
    return []


def _legacy(first: int, last: int, step: int) -> Extractor:
    """Redis's first/last/step triple: ``last`` < 0 counts from the end."""
    if first <= 0:
        return _no_keys
    step = max(step, 1)

    def positions(argv: Sequence[Any]) -> list:
        n = len(argv)
        end = last if last >= 0 else n + last
        return list(range(first, min(end, n - 1) + 1, step))

    return positions


def _int_arg(argv: Sequence[Any], i: int) -> int:
    try:
        value = argv[i]
        if isinstance(value, (bytes, bytearray, memoryview)):
            value = bytes(value)
        return int(value)
    except (IndexError, ValueError, TypeError):
        return 0  # the server will reject the command; route it anywhere


def _keynum(numkeys_at: int, first_key: int, step: int = 1) -> Extractor:
    def positions(argv: Sequence[Any]) -> list:
        count = max(_int_arg(argv, numkeys_at), 0)
        last = min(first_key + count * step, len(argv))
        return list(range(first_key, last, step))

    return positions


def _after_keyword(keyword: str, start: int, lastkey: int, step: int, limit: int) -> Extractor:
    want = keyword.lower()

    def positions(argv: Sequence[Any]) -> list:
        n = len(argv)
        order = range(start, n) if start >= 0 else range(n + start, 0, -1)
        for i in order:
            a = argv[i]
            if isinstance(a, (str, bytes)) and (a.lower() == want or a.lower() == want.encode()):
                return _range(argv, i + 1, lastkey, step, limit)
        return []

    return positions


def _migrate(argv: Sequence[Any]) -> list:
    """``MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw | AUTH2 user pw] [KEYS k...]``.

    With ``KEYS``, argument 3 is the empty string, not a key (as Redis' own ``migrateGetKeys``).
    """
    n = len(argv)
    i = 6
    while i < n:
        word = argv[i]
        word = word.lower() if isinstance(word, (bytes, str)) else b""
        if word in (b"auth2", "auth2"):
            i += 3
        elif word in (b"auth", "auth"):
            i += 2
        elif word in (b"keys", "keys"):
            return list(range(i + 1, n))
        else:
            i += 1
    return [3] if n > 3 else []


def _range(argv: Sequence[Any], begin: int, lastkey: int, step: int, limit: int) -> list:
    n = len(argv)
    step = max(step, 1)
    if lastkey >= 0:
        last = begin + lastkey
    elif limit > 1:
        last = begin + (n - begin) // limit - 1
    else:
        last = n + lastkey
    return list(range(begin, min(last, n - 1) + 1, step))


def _from_key_specs(specs: list[dict]) -> Extractor | None:
    """Compile Redis 7 key specs into one extractor, or ``None`` if any part is 'unknown'."""
    parts: list[Extractor] = []
    for spec in specs:
        if "incomplete" in {str(f).lower() for f in spec.get("flags", ())}:
            return None  # the spec may include non-keys (MIGRATE's "" with KEYS): the built-in rule knows
        begin = spec.get("begin_search", {})
        find = spec.get("find_keys", {})
        btype, bspec = begin.get("type"), begin.get("spec", {})
        ftype, fspec = find.get("type"), find.get("spec", {})
        if ftype == "range":
            lastkey, step, limit = fspec.get("lastkey", 0), fspec.get("keystep", 1), fspec.get("limit", 0)
            if btype == "index":
                index = bspec.get("index", 0)
                parts.append(lambda argv, b=index, lk=lastkey, s=step, lim=limit: _range(argv, b, lk, s, lim))
            elif btype == "keyword":
                parts.append(
                    _after_keyword(str(bspec.get("keyword", "")), bspec.get("startfrom", 1), lastkey, step, limit)
                )
            else:
                return None
        elif ftype == "keynum":
            if btype != "index":
                return None
            b = bspec.get("index", 0)
            parts.append(_keynum(b + fspec.get("keynumidx", 0), b + fspec.get("firstkey", 1), fspec.get("keystep", 1)))
        else:
            return None
    if not parts:
        return _no_keys
    if len(parts) == 1:
        return parts[0]

    def positions(argv: Sequence[Any]) -> list:
        out: list = []
        for part in parts:
            out.extend(p for p in part(argv) if p not in out)
        return out

    return positions


# --- the COMMAND reply ----------------------------------------------------------------------------


def _text(value: Any) -> Any:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


# The key-spec fields whose values are maps; every other list value (``flags``) stays a list.
_MAP_FIELDS = frozenset(("begin_search", "find_keys", "spec"))


def _as_map(value: Any) -> dict:
    """RESP2 flattens maps into ``[k1, v1, k2, v2]``; RESP3 gives dicts. Normalise, recursively.

    Only the known map-valued fields are converted: a flags list such as ``[RW, access]`` has an even
    length and text at every other position too, and must stay a list.
    """
    if isinstance(value, list) and len(value) % 2 == 0 and all(isinstance(k, (bytes, str)) for k in value[::2]):
        it = iter(value)
        value = dict(zip(it, it))
    if not isinstance(value, dict):
        return {}
    out = {}
    for k, v in value.items():
        k = _text(k)
        if k in _MAP_FIELDS:
            out[k] = _as_map(v)
        elif isinstance(v, list):
            out[k] = [_text(x) for x in v]
        else:
            out[k] = _text(v)
    return out


def _spec_from_entry(entry: Sequence[Any]) -> CommandSpec:
    name = _text(entry[0]).lower()
    flags = {_text(f).lower() for f in entry[2]} if len(entry) > 2 else set()
    first, last, step = (int(entry[i]) for i in (3, 4, 5)) if len(entry) > 5 else (0, 0, 0)
    extractor: Extractor | None = None
    if len(entry) > 8 and entry[8]:
        extractor = _from_key_specs([_as_map(s) for s in entry[8]])
    if extractor is None and "movablekeys" in flags:
        builtin = BUILTIN.get(name)
        extractor = builtin.key_positions if builtin else None
    if extractor is None:
        extractor = _legacy(first, last, step)
    subcommands = None
    if len(entry) > 9 and entry[9]:
        subcommands = {}
        for sub in entry[9]:
            spec = _spec_from_entry(sub)
            subcommands[spec.name.split("|", 1)[-1]] = spec
    readonly = "readonly" in flags and "write" not in flags
    return CommandSpec(name, readonly, extractor, subcommands)


class CommandTable:
    """Name -> :class:`CommandSpec`, from the server's ``COMMAND`` reply and the built-in fallback."""

    def __init__(self, specs: dict[str, CommandSpec] | None = None, from_server: bool = False) -> None:
        self._specs: dict[str, CommandSpec] = dict(BUILTIN)
        if specs:
            self._specs.update(specs)
        self.from_server = from_server
        self._raw: dict[Any, CommandSpec | None] = {}  # cache keyed by the caller's own argv[0]

    @classmethod
    def from_command_reply(cls, reply: Sequence[Any]) -> CommandTable:
        specs = {}
        for entry in reply:
            try:
                spec = _spec_from_entry(entry)
            except (TypeError, ValueError, IndexError):
                continue  # one odd entry (a module's) must not cost us the whole table
            specs[spec.name] = spec
        return cls(specs, from_server=True)

    def lookup(self, argv: Sequence[Any]) -> CommandSpec | None:
        """The spec for ``argv`` (subcommand-aware), or ``None`` for a command nobody described."""
        head = argv[0]
        try:
            spec = self._raw[head]
        except (KeyError, TypeError):
            spec = self._specs.get(command_name(head))
            try:
                self._raw[head] = spec
            except TypeError:
                pass
        if spec is not None and spec.subcommands and len(argv) > 1:
            sub = argv[1]
            if isinstance(sub, (bytes, str)):
                return spec.subcommands.get(command_name(sub), spec)
        return spec

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._specs

    def __len__(self) -> int:
        return len(self._specs)


def _builtin() -> dict[str, CommandSpec]:
    table: dict[str, CommandSpec] = {}

    def add(names: str, readonly: bool, extractor: Extractor) -> None:
        for name in names.split():
            table[name] = CommandSpec(name, readonly, extractor)

    one = _legacy(1, 1, 1)
    add(
        "get getrange strlen getbit exists ttl pttl type hget hgetall hmget hkeys hvals hlen hexists "
        "hstrlen hrandfield hscan lrange llen lindex lpos scard smembers sismember smismember srandmember "
        "sscan zcard zscore zmscore zrange zrangebyscore zrevrange zrevrangebyscore zrank zrevrank zcount "
        "zlexcount zrangebylex zrevrangebylex zrandmember zscan xlen xrange xrevrange bitcount bitpos "
        "dump expiretime pexpiretime geopos geodist geohash geosearch substr",
        True,
        one,
    )
    add("object xinfo", True, _legacy(2, 2, 1))  # OBJECT ENCODING key, XINFO STREAM key
    add("xgroup", False, _legacy(2, 2, 1))  # XGROUP CREATE key group id
    add(
        "set setnx setex psetex getset getdel getex append incr incrby incrbyfloat decr decrby setrange "
        "setbit expire pexpire expireat pexpireat persist hset hsetnx hmset hdel hincrby hincrbyfloat "
        "lpush rpush lpushx rpushx lpop rpop lset lrem ltrim linsert sadd srem spop zadd zrem zincrby "
        "zpopmin zpopmax zremrangebyscore zremrangebyrank zremrangebylex xadd xdel xtrim xack "
        "xclaim xautoclaim pfadd restore geoadd bitfield",
        False,
        one,
    )
    add("mget exists touch pfcount", True, _legacy(1, -1, 1))
    add("del unlink pfmerge sdiffstore sinterstore sunionstore", False, _legacy(1, -1, 1))
    add("sdiff sinter sunion", True, _legacy(1, -1, 1))
    add("mset msetnx", False, _legacy(1, -1, 2))
    add("rename renamenx copy smove lmove rpoplpush", False, _legacy(1, 2, 1))
    add("eval evalsha fcall", False, _keynum(2, 3))
    add("eval_ro evalsha_ro fcall_ro", True, _keynum(2, 3))
    add("zunionstore zinterstore zdiffstore", False, lambda a: [1, *_keynum(2, 3)(a)])
    add("zunion zinter zdiff sintercard zintercard", True, _keynum(1, 2))
    add("lmpop zmpop", False, _keynum(1, 2))
    add("xread", True, _after_keyword("streams", 1, -1, 1, 2))
    add("xreadgroup", False, _after_keyword("streams", 4, -1, 1, 2))
    add("sort", False, lambda a: [1, *_after_keyword("store", 2, 0, 1, 0)(a)])
    add("sort_ro", True, one)
    add("migrate", False, _migrate)
    add("dbsize keys scan randomkey", True, _no_keys)  # the server flags these readonly too
    add(
        "ping echo info time flushall flushdb config cluster command "
        "client publish script function readonly readwrite asking lastsave memory slowlog latency",
        False,
        _no_keys,
    )
    return table


BUILTIN: dict[str, CommandSpec] = _builtin()
