"""key -> slot: spec vectors, key types, every CRC16 backend against an independent reference and against the
server's own CLUSTER KEYSLOT, and backend selection by environment variable."""

from __future__ import annotations

import enum
import math
import os
import random
import socket
import subprocess
import sys
from pathlib import Path

import hiredis
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rediscluster_lite import keyslot
from rediscluster_lite.keyslot import (
    BACKEND,
    BACKENDS,
    ENV_VAR,
    KNOWN_BACKENDS,
    SLOTS,
    UNAVAILABLE,
    crc16_python,
    encode_key,
    hashed_part,
    key_slot,
    key_slot_for,
    key_slot_with,
)

ROOT = Path(__file__).resolve().parent.parent


# --- an independent reference, written from the spec's C code, not from keyslot.py --------------------------


def ref_crc16(data: bytes) -> int:
    """Bitwise CRC16/XMODEM (no table), as in the spec's crc16.c."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def ref_slot(key: bytes) -> int:
    """The spec's keyHashSlot(), loop for loop."""
    keylen = len(key)
    s = 0
    while s < keylen and key[s] != ord("{"):
        s += 1
    if s == keylen:  # no "{": hash the whole key
        return ref_crc16(key) & 16383
    e = s + 1
    while e < keylen and key[e] != ord("}"):
        e += 1
    if e == keylen or e == s + 1:  # no "}" after it, or nothing between: hash the whole key
        return ref_crc16(key) & 16383
    return ref_crc16(key[s + 1 : e]) & 16383


AVAILABLE = list(BACKENDS)
# Every known backend gets a test id; unavailable ones are skipped with the reason, so a CI log shows it.
ALL_BACKENDS = [
    pytest.param(name, marks=pytest.mark.skipif(name not in BACKENDS, reason=UNAVAILABLE.get(name, "")))
    for name in KNOWN_BACKENDS
]

# Keys made of few distinct bytes, many of them braces: where the hash tag rules bite.
brace_keys = st.binary(max_size=0) | st.lists(
    st.sampled_from([b"{", b"}", b"a", b"\x00", b"\xff", b"{}", b"}{"]), max_size=12
).map(b"".join)
any_keys = st.binary(max_size=64) | brace_keys

SPEC_TAGS = [
    (b"{user1000}.following", b"user1000"),
    (b"{user1000}.followers", b"user1000"),
    (b"foo{}{bar}", b"foo{}{bar}"),  # empty first tag: the whole key
    (b"foo{{bar}}zap", b"{bar"),  # the first "{" and the next "}"
    (b"foo{bar}{zap}", b"bar"),  # only the first tag counts
    (b"", b""),
    (b"{", b"{"),
    (b"}", b"}"),
    (b"{}", b"{}"),
    (b"}{", b"}{"),
    (b"}{a}", b"a"),
    (b"{a", b"{a"),
    (b"a}", b"a}"),
    (b"{a}", b"a"),
    (b"{{}}", b"{"),
    (b"{}}", b"{}}"),
    (b"{}a}", b"{}a}"),  # the tag is empty even though another "}" follows
    (b"x{\x00\xff}y", b"\x00\xff"),
]
EDGE_KEYS = [k for k, _ in SPEC_TAGS]
EDGE_KEYS += [b"\x00", b"\xff" * 100, b"{" * 50, b"}" * 50, b"{}" * 50, b"a" * 10_000]


# --- CRC16 backends -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_BACKENDS)
def test_crc16_check_value(name: str) -> None:
    crc16 = BACKENDS[name]
    assert crc16(b"123456789") == 0x31C3  # the spec's check value
    assert crc16(b"") == 0
    assert key_slot_for(name)(b"123456789") == 0x31C3 & 0x3FFF


def test_python_backend_always_available() -> None:
    assert "python" in BACKENDS and BACKENDS["python"] is crc16_python
    assert "binascii" in BACKENDS  # CPython always has it, and it is the default
    assert set(BACKENDS) | set(UNAVAILABLE) == set(KNOWN_BACKENDS)
    assert not set(BACKENDS) & set(UNAVAILABLE)


def test_selected_backend_is_what_key_slot_runs() -> None:
    assert BACKEND in BACKENDS
    assert keyslot.crc16 is BACKENDS[BACKEND]
    assert key_slot is key_slot_for(BACKEND)
    if not os.environ.get(ENV_VAR):
        assert BACKEND == "binascii"


@pytest.mark.skipif("crcmod" not in BACKENDS, reason=UNAVAILABLE.get("crcmod", ""))
def test_crcmod_backend_is_the_c_extension() -> None:
    impl = sys.modules["crcmod.crcmod"]
    assert impl._usingExtension
    assert impl._crcfun.__name__ == "crcmod._crcfunext"
    # the predefined 'xmodem' CRC agrees with the one we built by parameters
    import crcmod.predefined

    xmodem = crcmod.predefined.mkPredefinedCrcFun("xmodem")
    for data in (b"", b"123456789", bytes(range(256))):
        assert BACKENDS["crcmod"](data) == xmodem(data)


@settings(max_examples=500)
@given(any_keys)
@example(b"")
@example(bytes(range(256)))
def test_backends_agree_with_reference(key: bytes) -> None:
    want = ref_crc16(key)
    for name, crc16 in BACKENDS.items():
        assert crc16(key) == want, name


def test_unknown_backend_name() -> None:
    with pytest.raises(ValueError, match="unknown CRC16 backend 'nope'"):
        key_slot_for("nope")


# --- hash tags and slots ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "hashed"), SPEC_TAGS)
def test_hash_tag_rules(key: bytes, hashed: bytes) -> None:
    assert hashed_part(key) == hashed
    want = ref_crc16(hashed) & 0x3FFF
    assert ref_slot(key) == want
    for name in BACKENDS:
        assert key_slot_for(name)(key) == want, name
        assert key_slot_with(BACKENDS[name], key) == want, name


def test_spec_examples() -> None:
    assert key_slot(b"{user1000}.following") == key_slot(b"{user1000}.followers") == key_slot(b"user1000")
    assert key_slot(b"foo{}{bar}") == ref_crc16(b"foo{}{bar}") & 0x3FFF
    assert key_slot(b"foo{{bar}}zap") == key_slot(b"{bar")
    assert key_slot(b"foo{bar}{zap}") == key_slot(b"bar")
    # Values the server reports (CLUSTER KEYSLOT), quoted in the Redis docs and checked live below too.
    assert key_slot(b"foo") == 12182
    assert key_slot(b"somekey") == 11058


@settings(max_examples=1000)
@given(any_keys)
@example(b"")
@example(b"{}")
@example(b"{{}}")
def test_every_backend_key_slot_matches_spec_loop(key: bytes) -> None:
    want = ref_slot(key)
    assert 0 <= want < SLOTS
    for name, crc16 in BACKENDS.items():
        assert key_slot_for(name)(key) == want, name
        assert key_slot_with(crc16, key) == want, name


# --- key types ----------------------------------------------------------------------------------------------


class MyStr(str):
    pass


class MyBytes(bytes):
    pass


class MyFloat(float):
    def __repr__(self) -> str:
        return "MyFloat!"


class Color(enum.IntEnum):
    RED = 7


@pytest.mark.parametrize(
    ("key", "wire"),
    [
        (b"k{t}", b"k{t}"),
        ("k{t}", b"k{t}"),
        ("ключ{é}", "ключ{é}".encode()),
        ("", b""),
        (bytearray(b"k{t}"), b"k{t}"),
        (memoryview(b"xxk{t}xx")[2:-2], b"k{t}"),
        (0, b"0"),
        (-17, b"-17"),
        (2**100, str(2**100).encode()),
        (1.5, b"1.5"),
        (0.1, b"0.1"),
        (-0.0, b"-0.0"),
        (1e16, b"1e+16"),
        (1e-7, b"1e-07"),
        (math.inf, b"inf"),
        (-math.inf, b"-inf"),
        (math.nan, b"nan"),
        (MyStr("k"), b"k"),
        (MyBytes(b"k"), b"k"),
        (Color.RED, b"7"),  # the value, not "Color.RED"
        (MyFloat(2.5), b"2.5"),  # float's repr, not the subclass's
    ],
    ids=repr,
)
def test_accepted_types(key: object, wire: bytes) -> None:
    assert encode_key(key) == wire  # type: ignore[arg-type]
    assert type(encode_key(key)) is bytes  # type: ignore[arg-type]
    want = ref_slot(wire)
    for name in BACKENDS:
        assert key_slot_for(name)(key) == want, name  # type: ignore[arg-type]
    assert key_slot_with(crc16_python, key) == want  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "key",
    [None, True, False, [b"k"], (b"k",), {b"k": 1}, {b"k"}, object(), 1j, type, Color],
    ids=repr,
)
def test_rejected_types(key: object) -> None:
    name = type(key).__name__
    for fn in [encode_key, hashed_part, key_slot, *(key_slot_for(n) for n in BACKENDS)]:
        with pytest.raises(TypeError, match=rf"\bnot {name}$"):
            fn(key)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=rf"\bnot {name}$"):
        key_slot_with(crc16_python, key)  # type: ignore[arg-type]


def test_lone_surrogate_is_an_error() -> None:
    with pytest.raises(UnicodeEncodeError):
        key_slot("\udcff")


@given(st.integers())
def test_int_keys_are_their_decimal_digits(n: int) -> None:
    assert encode_key(n) == str(n).encode()
    assert key_slot(n) == key_slot(str(n)) == ref_slot(str(n).encode())


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_float_keys_are_their_repr(f: float) -> None:
    assert encode_key(f) == repr(f).encode()
    assert key_slot(f) == ref_slot(repr(f).encode())


@given(st.text())
def test_str_keys_are_utf8(s: str) -> None:
    try:
        wire = s.encode()
    except UnicodeEncodeError:
        with pytest.raises(UnicodeEncodeError):
            key_slot(s)
        return
    assert encode_key(s) == wire
    assert key_slot(s) == key_slot(wire) == key_slot(bytearray(wire)) == key_slot(memoryview(wire))


# --- backend selection by environment variable --------------------------------------------------------------


def run_import(value: str | None, prelude: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    if value is not None:
        env[ENV_VAR] = value
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    code = prelude + "import rediscluster_lite.keyslot as k; print(k.BACKEND, k.key_slot(b'123456789'))"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, cwd=str(ROOT)
    )


@pytest.mark.parametrize("name", ALL_BACKENDS)
def test_env_var_forces_backend(name: str) -> None:
    proc = run_import(name)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [name, str(0x31C3 & 0x3FFF)]


@pytest.mark.parametrize(("value", "want"), [(None, "binascii"), ("", "binascii"), (" Python ", "python")])
def test_env_var_default_and_spelling(value: str | None, want: str) -> None:
    proc = run_import(value)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == want


def test_env_var_unknown_value() -> None:
    proc = run_import("crc32")
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ValueError: REDISCLUSTER_LITE_CRC=crc32: unknown CRC16 backend 'crc32'"), last
    assert "binascii, crcmod, python" in last


def test_env_var_unavailable_backend() -> None:
    # Make `import crcmod` fail in the child, as on a machine without the extra.
    proc = run_import("crcmod", prelude="import sys; sys.modules['crcmod'] = None; ")
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    want = "ImportError: REDISCLUSTER_LITE_CRC=crcmod: CRC16 backend 'crcmod' is not available"
    assert last.startswith(want), last
    assert "crcmod is not installed" in last and "available: binascii, python" in last
    # ...while the default still imports fine there.
    proc = run_import(None, prelude="import sys; sys.modules['crcmod'] = None; ")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == "binascii"


@pytest.mark.skipif("crcmod" not in BACKENDS, reason=UNAVAILABLE.get("crcmod", ""))
def test_crcmod_without_c_extension_is_not_offered() -> None:
    # crcmod quietly falls back to pure Python when its extension is missing; we refuse that as "crcmod".
    prelude = "import sys; sys.modules['crcmod._crcfunext'] = None; "
    proc = run_import(None, prelude=prelude + "import rediscluster_lite.keyslot as k; print(k.UNAVAILABLE); ")
    assert proc.returncode == 0, proc.stderr
    assert "installed without its C extension" in proc.stdout
    proc = run_import("crcmod", prelude=prelude)
    assert proc.returncode != 0
    assert "without its C extension crcmod._crcfunext" in proc.stderr.strip().splitlines()[-1]


# --- against the server's own CLUSTER KEYSLOT ---------------------------------------------------------------


def _pack(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def server_slots(sock: socket.socket, keys: list[bytes], batch: int = 1000) -> list[int]:
    """CLUSTER KEYSLOT for every key, pipelined `batch` at a time over one raw socket, parsed by hiredis."""
    reader = hiredis.Reader()
    out: list[int] = []
    for i in range(0, len(keys), batch):
        chunk = keys[i : i + batch]
        sock.sendall(b"".join(_pack(b"CLUSTER", b"KEYSLOT", k) for k in chunk))
        while len(out) < i + len(chunk):
            reply = reader.gets()
            if reply is False:
                data = sock.recv(1 << 16)
                if not data:
                    raise ConnectionError("server closed the connection")
                reader.feed(data)
                continue
            if isinstance(reply, hiredis.ReplyError):
                raise reply
            out.append(reply)
    return out


@pytest.fixture(scope="module")
def keyslot_sock(redis_cluster):  # type: ignore[no-untyped-def]
    node = redis_cluster.nodes[0]
    sock = socket.create_connection((getattr(node, "host", "127.0.0.1"), node.port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    yield sock
    sock.close()


def generated_keys(seed: int = 2024) -> list[bytes]:
    rnd = random.Random(seed)
    keys = list(EDGE_KEYS)
    keys += [rnd.randbytes(rnd.randrange(0, 40)) for _ in range(3000)]  # binary, any byte
    braces = [b"{", b"}", b"{}", b"}{", b"a", b"\x00", b"\xff"]
    keys += [b"".join(rnd.choices(braces, k=rnd.randrange(0, 10))) for _ in range(3000)]  # brace edge cases
    keys += [b"user:%d:{%d}" % (rnd.randrange(10**6), rnd.randrange(100)) for _ in range(500)]
    words = ["ключ", "é", "😀", "{", "}", "tag", " ", "\n"]
    keys += ["".join(rnd.choices(words, k=rnd.randrange(0, 6))).encode() for _ in range(500)]
    return keys


def test_every_backend_matches_cluster_keyslot(keyslot_sock: socket.socket) -> None:
    keys = generated_keys()
    assert len(keys) > 7000 and b"" in keys
    server = server_slots(keyslot_sock, keys)
    assert server[:2] == [ref_crc16(b"user1000") & 0x3FFF] * 2  # SPEC_TAGS starts with the {user1000} pair
    for name in BACKENDS:
        fn = key_slot_for(name)
        mismatches = [(k, s, fn(k)) for k, s in zip(keys, server, strict=True) if fn(k) != s]
        assert not mismatches, (name, mismatches[:5])
    assert [ref_slot(k) for k in keys] == server


def test_non_bytes_keys_match_cluster_keyslot(keyslot_sock: socket.socket) -> None:
    # str / int / float keys: the slot of what the client will send is the server's slot for those bytes.
    keys: list[object] = [
        "foo",
        "somekey",
        "ключ{é}x",
        0,
        -1,
        2**70,
        1.5,
        -0.0,
        1e16,
        math.inf,
        math.nan,
        bytearray(b"{a}b"),
        memoryview(b"x{y}z"),
    ]
    server = server_slots(keyslot_sock, [encode_key(k) for k in keys])  # type: ignore[arg-type]
    assert server[:2] == [12182, 11058]
    for name in BACKENDS:
        assert [key_slot_for(name)(k) for k in keys] == server, name  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(st.lists(any_keys, min_size=1, max_size=200))
def test_generated_keys_match_cluster_keyslot(keyslot_sock: socket.socket, keys: list[bytes]) -> None:
    server = server_slots(keyslot_sock, keys)
    for name in BACKENDS:
        assert [key_slot_for(name)(k) for k in keys] == server, name
