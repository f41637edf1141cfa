"""Key -> hash slot, exactly as the Redis Cluster specification defines it.

Rules (https://redis.io/docs/reference/cluster-spec/#hash-tags):

* A key is hashed as bytes. ``encode_key`` is the one place that turns a Python key into those bytes, and the
  client uses the same function for its wire encoding, so the slot we compute is the slot the server computes
  for the bytes we send:

  ===================  ==========================================================================
  ``bytes``            as is
  ``str``              UTF-8 (strict: a lone surrogate raises ``UnicodeEncodeError``)
  ``int``              decimal digits, ``str(n).encode()`` (``b"%d" % n``, so an ``int`` subclass
                       with its own ``__str__``, such as an ``IntEnum`` on 3.10, still sends its value)
  ``float``            ``repr(f).encode()`` (shortest round-trip form: ``1.5`` -> ``b"1.5"``,
                       ``1e16`` -> ``b"1e+16"``, ``nan`` -> ``b"nan"``), via ``float.__repr__``
  ``bytearray``,       their bytes (``bytes(key)``)
  ``memoryview``
  anything else        ``TypeError`` naming the type; ``bool`` too, although it is an ``int``:
                       ``True`` would silently become key ``b"True"`` or ``b"1"``, both surprising
  ===================  ==========================================================================

* Hash tag: if the key contains ``{``, and a ``}`` somewhere after that first ``{``, and at least one byte
  lies between them, only the bytes between the first ``{`` and the first ``}`` after it are hashed.
  Otherwise (no ``{``, no ``}`` after it, or an empty tag ``{}``) the whole key is hashed.
  ``foo{}{bar}`` hashes the whole key, ``foo{{bar}}zap`` hashes ``{bar``, ``foo{bar}{zap}`` hashes ``bar``.

* slot = CRC16/XMODEM(hashed bytes) mod 16384 (poly 0x1021, init 0, no reflection, no final xor).

CRC16 backends, one interface ``crc16(data: bytes) -> int``:

* ``binascii``: the stdlib's C ``binascii.crc_hqx(data, 0)``; always there on CPython, and the fastest.
* ``crcmod``:   crcmod's C extension (``crcmod._crcfunext``), when the ``crcmod`` extra is installed. If
  crcmod is installed without its C extension it is *not* offered: its pure-Python path is slower than ours.
* ``python``:   a table-driven pure-Python fallback, always available.

The default is ``binascii``; ``REDISCLUSTER_LITE_CRC=binascii|crcmod|python`` forces one at import. An unknown
name raises ``ValueError``, a known but unavailable one ``ImportError``, both saying what is available.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable

__all__ = [
    "BACKEND",
    "BACKENDS",
    "ENV_VAR",
    "KNOWN_BACKENDS",
    "SLOTS",
    "UNAVAILABLE",
    "Key",
    "crc16",
    "crc16_raw",
    "crc16_python",
    "encode_key",
    "hashed_part",
    "key_slot",
    "key_slot_for",
    "key_slot_with",
]

SLOTS = 16384
_MASK = SLOTS - 1  # 0x3FFF: mod 16384 as a mask
ENV_VAR = "REDISCLUSTER_LITE_CRC"
KNOWN_BACKENDS = ("binascii", "crcmod", "python")

Key = bytes | str | int | float | bytearray | memoryview
Crc16 = Callable[[bytes], int]


# --- encoding -----------------------------------------------------------------------------------------------


def encode_key(key: Key) -> bytes:
    """The bytes the client sends for ``key`` (and hashes). See the module docstring for the table."""
    t = type(key)
    # Exact types first: cheap identity checks cover nearly every call.
    if t is bytes:
        return key  # type: ignore[return-value]
    if t is str:
        return key.encode()  # type: ignore[union-attr]
    if t is int:
        return b"%d" % key
    if t is float:
        return float.__repr__(key).encode()  # type: ignore[arg-type]
    if t is bytearray or t is memoryview:
        return bytes(key)  # type: ignore[arg-type]
    # Subclasses. bool before int: it is an int subclass we refuse.
    if isinstance(key, bool):
        raise TypeError("key must be bytes, str, int, float, bytearray or memoryview, not bool")
    if isinstance(key, bytes):
        return bytes(key)
    if isinstance(key, str):
        return str.encode(key)
    if isinstance(key, int):
        return b"%d" % key  # the integer value, whatever the subclass's __str__ says
    if isinstance(key, float):
        return float.__repr__(key).encode()
    if isinstance(key, (bytearray, memoryview)):
        return bytes(key)
    raise TypeError(f"key must be bytes, str, int, float, bytearray or memoryview, not {type(key).__name__}")


def hashed_part(key: Key) -> bytes:
    """The bytes of ``key`` that are hashed: the hash tag if there is a non-empty one, else the whole key."""
    k = encode_key(key)
    start = k.find(b"{")
    if start != -1:
        end = k.find(b"}", start + 1)
        if end > start + 1:  # -1 (no "}") and start + 1 (empty tag "{}") both mean: whole key
            return k[start + 1 : end]
    return k


# --- CRC16/XMODEM backends ----------------------------------------------------------------------------------


def _make_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


_TABLE = _make_table()


def crc16_python(data: bytes, crc: int = 0, _table: tuple[int, ...] = _TABLE) -> int:
    """Table-driven CRC16/XMODEM in pure Python (the fallback; also the reference the tests trust)."""
    for byte in data:
        crc = ((crc << 8) & 0xFF00) ^ _table[(crc >> 8) ^ byte]
    return crc


# name -> two-argument function f(data, crc) for the hot path. Every backend accepts (data, 0) positionally,
# which lets key_slot call crc_hqx directly instead of through a one-argument wrapper.
_RAW: dict[str, Callable[[bytes, int], int]] = {}
# name -> why it is not available (for error messages and test skips).
UNAVAILABLE: dict[str, str] = {}

try:
    from binascii import crc_hqx as _crc_hqx
except ImportError as exc:  # pragma: no cover - CPython always has it
    UNAVAILABLE["binascii"] = f"binascii.crc_hqx is missing: {exc}"
else:
    _RAW["binascii"] = _crc_hqx


def _load_crcmod() -> Callable[[bytes, int], int]:
    try:
        import crcmod
    except ImportError as exc:
        hint = "pip install 'rediscluster_lite[crcmod]'"
        raise ImportError(f"crcmod is not installed ({hint}): {exc}") from exc
    # crcmod silently falls back to its own pure-Python code when its C extension failed to build; that would
    # be slower than our fallback, so only the C extension counts as the "crcmod" backend.
    impl = importlib.import_module("crcmod.crcmod")
    if not getattr(impl, "_usingExtension", False):
        raise ImportError("crcmod is installed without its C extension crcmod._crcfunext (pure Python only)")
    return crcmod.mkCrcFun(0x11021, initCrc=0, rev=False, xorOut=0)  # == crcmod.predefined 'xmodem'


try:
    _RAW["crcmod"] = _load_crcmod()
except ImportError as exc:
    UNAVAILABLE["crcmod"] = str(exc)

_RAW["python"] = crc16_python

# Self-check: a broken build must not route keys to wrong nodes. 0x31C3 is the spec's check value.
for _name, _fun in list(_RAW.items()):
    if _fun(b"123456789", 0) != 0x31C3:  # pragma: no cover - only a broken C build gets here
        del _RAW[_name]
        UNAVAILABLE[_name] = f"{_name} failed the CRC16/XMODEM self-check (123456789 -> 0x31C3)"


def _one_arg(name: str) -> Crc16:
    if name == "binascii":

        def crc16_binascii(data: bytes) -> int:
            return _crc_hqx(data, 0)

        return crc16_binascii
    return _RAW[name]  # crcmod's function and crc16_python already default crc to 0


BACKENDS: dict[str, Crc16] = {name: _one_arg(name) for name in KNOWN_BACKENDS if name in _RAW}


# --- key -> slot --------------------------------------------------------------------------------------------


def key_slot_with(crc16: Crc16, key: Key) -> int:
    """``key_slot`` with any one-argument CRC16 function (for tests and comparisons; not the hot path)."""
    return crc16(hashed_part(key)) & _MASK


def _make_key_slot(crc: Callable[[bytes, int], int]) -> Callable[[Key], int]:
    # A closure per backend, so the hot path calls the C function directly (no wrapper frame, no dict lookup).
    def key_slot(key: Key) -> int:
        """Hash slot (0..16383) of ``key``: CRC16/XMODEM of its hash tag or of the whole key, mod 16384."""
        if type(key) is not bytes:
            key = key.encode() if type(key) is str else encode_key(key)  # type: ignore[union-attr]
        # Fast path: most keys have no tag. 123 is ord("{"): an int needle goes straight to memchr, while
        # `b"{" in key` first tries int(b"{"), raising and clearing a TypeError (~130 ns vs ~16 ns on 3.11).
        if 123 not in key:  # type: ignore[operator]
            return crc(key, 0) & 0x3FFF  # type: ignore[arg-type]
        # Two partitions beat find/find/slice here (~230 vs ~320 ns): after the first "{", up to the next "}".
        tag, closed, _ = key.partition(b"{")[2].partition(b"}")  # type: ignore[union-attr]
        if tag and closed:  # a non-empty tag with its "}"; "{}" or a "{" never closed hash the whole key
            return crc(tag, 0) & 0x3FFF
        return crc(key, 0) & 0x3FFF  # type: ignore[arg-type]

    key_slot.__qualname__ = "key_slot"
    return key_slot


_KEY_SLOT = {name: _make_key_slot(fun) for name, fun in _RAW.items()}


def key_slot_for(backend: str) -> Callable[[Key], int]:
    """The ``key_slot`` function built on ``backend`` (the very code ``key_slot`` runs, with another CRC)."""
    try:
        return _KEY_SLOT[backend]
    except KeyError:
        raise _backend_error(backend) from None


def _backend_error(name: str) -> Exception:
    available = ", ".join(BACKENDS)
    if name in UNAVAILABLE:
        return ImportError(f"CRC16 backend {name!r} is not available: {UNAVAILABLE[name]} (available: {available})")
    return ValueError(
        f"unknown CRC16 backend {name!r}: choose one of {', '.join(KNOWN_BACKENDS)} (available here: {available})"
    )


def _select() -> str:
    wanted = os.environ.get(ENV_VAR, "").strip().lower()
    if not wanted:
        # Preference order: binascii is ~3x faster per key than crcmod (see benchmarks/bench_keyslot.py).
        return next(name for name in KNOWN_BACKENDS if name in _RAW)
    if wanted not in _RAW:
        err = _backend_error(wanted)
        raise type(err)(f"{ENV_VAR}={wanted}: {err}")
    return wanted


BACKEND: str = _select()
crc16: Crc16 = BACKENDS[BACKEND]
key_slot: Callable[[Key], int] = _KEY_SLOT[BACKEND]
# The selected backend's two-argument form ``crc(data, 0)``, for hot paths that inline key_slot's no-tag case.
crc16_raw: Callable[[bytes, int], int] = _RAW[BACKEND]
