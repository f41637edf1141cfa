"""How the tooling prints: :class:`Printer` (lines, tables, spinners, JSON), durations, one-line errors.

The CLI, the demo and the monitor all print through this module.

Rules this module keeps:

* rich only on a terminal (and only when it is installed); anywhere else (pipes, files, tests) plain aligned
  text, so scripts never have to strip colour codes.
* A failure is exactly one line on stderr, ``rediscluster-lite: error: ...``.
* It imports nothing else of the package: the tooling modules import it, never the other way round.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

__all__ = ["PROG", "Printer", "plain_table", "seconds", "fail"]

PROG = "rediscluster-lite"


class Printer:
    """Lines and tables: rich on a terminal, plain aligned text everywhere else (or when rich is missing)."""

    def __init__(self, out: TextIO | None = None, *, plain: bool = False) -> None:
        self.out = out if out is not None else sys.stdout
        self.console: Any = None
        if not plain and _isatty(self.out):
            try:
                from rich.console import Console
            except ImportError:  # rich is an extra (`pip install rediscluster_lite[cli]`)
                pass
            else:
                self.console = Console(file=self.out, highlight=False)

    @property
    def rich(self) -> bool:
        return self.console is not None

    def line(self, text: str = "", style: str | None = None, indent: int = 0) -> None:
        self.segments((text, style), indent=indent)

    def segments(self, *parts: str | tuple[str, str | None], indent: int = 0) -> None:
        """One line built from plain strings and ``(text, rich style)`` pairs."""
        pairs = [(p, None) if isinstance(p, str) else p for p in parts]
        if self.console is None:
            self.out.write(" " * indent + "".join(t for t, _ in pairs) + "\n")
            return
        from rich.text import Text

        text = Text(" " * indent)
        for t, style in pairs:
            text.append(t, style=style or "")
        self.console.print(text, soft_wrap=True)

    def table(
        self,
        columns: Sequence[str],
        rows: Sequence[Sequence[str]],
        indent: int = 0,
        styles: Sequence[str | None] | None = None,
    ) -> None:
        if self.console is None:
            self.out.write(plain_table(columns, rows, indent))
            return
        from rich.padding import Padding

        self.console.print(Padding(self.rich_table(columns, rows, styles), (0, 0, 0, indent), expand=False))

    def rich_table(self, columns: Sequence[str], rows: Sequence[Sequence[str]], styles: Any = None) -> Any:
        from rich import box
        from rich.table import Table

        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold cyan")
        for c in columns:
            numeric = c in _NUMERIC
            table.add_column(c, justify="right" if numeric else "left", no_wrap=True)
        for i, row in enumerate(rows):
            table.add_row(*row, style=(styles[i] if styles else None) or "")
        return table

    @contextlib.contextmanager
    def status(self, text: str) -> Iterator[None]:
        """A spinner while something slow runs (terminal only; plain output stays quiet)."""
        if self.console is None:
            yield
            return
        with self.console.status(text, spinner="dots"):
            yield

    def json(self, obj: Any) -> None:
        self.out.write(json.dumps(obj, indent=2) + "\n")

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.out.flush()


_NUMERIC = frozenset({"KEYS", "SLOTS", "SLOT", "OPS/S", "CLIENTS", "PID", "EPOCH", "TOOK", "SET TOOK"})


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def plain_table(columns: Sequence[str], rows: Sequence[Sequence[str]], indent: int = 0) -> str:
    """Columns padded to their widest cell, two spaces apart; the last column is not padded."""
    widths = [len(c) for c in columns]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = []
    for row in [columns, *rows]:
        cells = [
            cell.rjust(widths[i]) if columns[i] in _NUMERIC else cell.ljust(widths[i]) for i, cell in enumerate(row)
        ]
        lines.append((" " * indent + "  ".join(cells)).rstrip())
    return "\n".join(lines) + "\n"


def seconds(s: float) -> str:
    """A duration the way people read it: ``8 ms``, ``2.41 s``."""
    if s < 0.01:
        return f"{s * 1000:.1f} ms"
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def fail(message: str) -> None:
    """Report a failure as exactly one line on stderr."""
    # Exactly one line: launcher errors may carry a node's log tail after a newline (it stays in the
    # data dir's logs, which the first line names).
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    sys.stderr.write(f"{PROG}: error: {first}\n")
    sys.stderr.flush()
