"""Per-key cost of key_slot with each CRC16 backend (timeit, medians of interleaved rounds).

    python benchmarks/bench_keyslot.py [--rounds 15] [--number 200000]

Rows: the bare crc16 call, then key_slot on typical keys (bytes without a tag, bytes with a tag, str, int).
redis-py's ``redis.crc.key_slot`` is listed for reference when redis-py is installed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from rediscluster_lite import keyslot  # noqa: E402

CASES: list[tuple[str, object]] = [
    ("bytes 17B, no tag", b"user:1000:profile"),
    ("bytes 64B, no tag", b"session:" + b"x" * 56),
    ("bytes, {tag}", b"{user1000}.following"),
    ("str 17B, no tag", "user:1000:profile"),
    ("str, {tag}", "{user1000}.following"),
    ("int", 1234567),
]


def candidates() -> list[tuple[str, str, Callable[[object], int]]]:
    """(row label, column label, function of one key)."""
    out: list[tuple[str, str, Callable[[object], int]]] = []
    for name, crc in keyslot.BACKENDS.items():
        out.append(("crc16 only, 17B", name, lambda _k, crc=crc: crc(b"user:1000:profile")))
    for label, key in CASES:
        for name in keyslot.BACKENDS:
            fn = keyslot.key_slot_for(name)
            out.append((label, name, lambda _k, f=fn, key=key: f(key)))
        try:
            from redis.crc import key_slot as redis_key_slot
        except ImportError:
            continue
        # redis-py wants bytes (its client encodes first); give it what its encoder would.
        enc = keyslot.encode_key(key)  # type: ignore[arg-type]
        out.append((label, "redis-py", lambda _k, f=redis_key_slot, key=enc: f(key)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--number", type=int, default=200_000, help="calls per timing")
    args = ap.parse_args()

    cands = candidates()
    timers = [timeit.Timer("f(None)", globals={"f": f}) for _, _, f in cands]
    samples: list[list[float]] = [[] for _ in cands]
    loop_ns = []
    empty = timeit.Timer("f(None)", globals={"f": lambda _k: None})
    for _ in range(args.rounds):  # interleave candidates so drift hits all alike
        loop_ns.append(empty.timeit(args.number) / args.number * 1e9)
        for i, t in enumerate(timers):
            samples[i].append(t.timeit(args.number) / args.number * 1e9)

    overhead = statistics.median(loop_ns)
    cols = list(keyslot.BACKENDS) + (["redis-py"] if any(c == "redis-py" for _, c, _ in cands) else [])
    rows: dict[str, dict[str, float]] = {}
    for (row, col, _), s in zip(cands, samples, strict=True):
        rows.setdefault(row, {})[col] = statistics.median(s) - overhead

    print(
        f"python {sys.version.split()[0]}, default backend {keyslot.BACKEND!r}, "
        f"{args.rounds} rounds x {args.number} calls, median ns/key "
        f"(the harness's lambda call, {overhead:.0f} ns, subtracted)"
    )
    print(f"{'':20}" + "".join(f"{c:>11}" for c in cols))
    for row, vals in rows.items():
        print(f"{row:20}" + "".join(f"{vals[c]:>11.0f}" if c in vals else f"{'':>11}" for c in cols))


if __name__ == "__main__":
    main()
