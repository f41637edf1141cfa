"""Every ```python block of README.md and docs/*.md, run against a real local cluster.

One test per page. A page's blocks run in order, in one namespace, as a reader follows the page: a later
block may use names an earlier one defined. A failure names the page and the line of the block's fence.

Rules (keep them few; a doc should read as written):

1. Addresses. The docs use the classic layout of ``LocalCluster(base_port=6300)``: masters on
   127.0.0.1:6300, :6301, :6302, their replicas on :6400, :6401, :6402. Before a block runs, each
   ``127.0.0.1:63NN`` / ``("127.0.0.1", 63NN)`` (also inside a URL) becomes the address of the shared
   session cluster's master NN, and ``64NN`` its replica. Nothing else in a block is rewritten. A block that
   starts its own ``LocalCluster()`` runs it as written (on free ports).
2. Markers: an HTML comment on the line before the fence (blank lines may sit between).
   ``<!-- not run: why -->``  the block is not run (it needs TLS files, a password, kills the shared
   cluster, is a sketch ...); the reason is required, and should name the test that covers the block.
   ``<!-- raises: Name -->``  the block runs and its last line must raise ``Name`` (a builtin exception or
   one of ``rediscluster_lite.errors``): for a page that shows an error.
   Every other block is run; the test counts the blocks and fails if one was neither run nor marked.
3. ``test_*`` functions a block defines (the pytest-fixtures example) are called with the fixtures they
   name, after the page's blocks.

Clients, subscribers and clusters the blocks create are closed when the page ends; nothing is flushed.
Each block gets ``BLOCK_TIMEOUT`` seconds.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import inspect
import re
import signal
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

from rediscluster_lite import ClusterClient, PubSub, errors
from rediscluster_lite.local import LocalCluster

REPO = Path(__file__).resolve().parent.parent
PAGES = ["README.md"] + sorted(p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.md"))
BLOCK_TIMEOUT = 60.0

# Pages being rewritten by someone else: skipped (with their unmarked blocks named) until the entry is removed.
PENDING: dict[str, str] = {}  # page -> why it is skipped for now (none today)

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,})\s*(?P<info>[^`\s]*)")
PYTHON_FENCE = re.compile(r"^[ \t]*`{3,}\s*py(thon)?\s*$")  # the independent count, rule 2
MARKER = re.compile(r"^\s*<!--\s*(?P<kind>not run|raises)\s*:\s*(?P<arg>.*?)\s*-->\s*$")
ADDRESS = re.compile(r'(?P<head>\b127\.0\.0\.1(?::|",\s*))(?P<port>6[34]\d\d)\b')


@dataclass
class Block:
    page: str
    line: int  # of the opening fence (1-based)
    source: str  # dedented, with the doc's line numbers kept (blank lines in front)
    marker: str | None  # "not run" | "raises" | None
    arg: str = ""

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def python_blocks(page: str) -> list[Block]:
    """The ```python blocks of a page, with the marker (if any) on the line before each."""
    lines = (REPO / page).read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, ticks, info = m["indent"], m["ticks"], m["info"]
        end = i + 1
        while end < len(lines) and not re.match(rf"^[ \t]*{ticks}\s*$", lines[end]):
            end += 1
        if end == len(lines):
            raise AssertionError(f"{page}:{i + 1}: code fence never closed")
        if info in ("python", "py"):
            body = []
            for raw in lines[i + 1 : end]:
                if raw.strip() and not raw.startswith(indent):
                    raise AssertionError(f"{page}:{i + 1}: a line of the block is indented less than its fence")
                body.append(raw[len(indent) :])
            before = i - 1
            while before >= 0 and not lines[before].strip():
                before -= 1
            marker = MARKER.match(lines[before]) if before >= 0 else None
            if marker and not marker["arg"]:
                raise AssertionError(f"{page}:{before + 1}: `<!-- {marker['kind']}: -->` needs a reason or a name")
            blocks.append(
                Block(
                    page,
                    i + 1,
                    "\n" * (i + 1) + "\n".join(body) + "\n",
                    marker["kind"] if marker else None,
                    marker["arg"] if marker else "",
                )
            )
        i = end + 1
    return blocks


def substitute(source: str, cluster: LocalCluster) -> str:
    """Rule 1: the docs' 6300/6400 addresses -> the session cluster's nodes of the same role and shard."""
    ports: dict[int, int] = {}
    for n in sorted(cluster.nodes, key=lambda n: n.index):  # role and shard as the cluster was formed
        ports.setdefault((6300 if n.role == "master" else 6400) + n.shard, n.port)  # a shard's first replica

    def repl(m: re.Match) -> str:
        port = int(m["port"])
        if port not in ports:
            raise ValueError(f"the docs' address 127.0.0.1:{port} has no node in the test cluster (rule 1)")
        return f"{m['head']}{ports[port]}"

    return ADDRESS.sub(repl, source)


def exception_class(name: str) -> type[BaseException]:
    cls = getattr(errors, name, None) or getattr(builtins, name, None)
    if not (isinstance(cls, type) and issubclass(cls, BaseException)):
        pytest.fail(f"`<!-- raises: {name} -->` names no exception", pytrace=False)
    return cls


class BlockTimeout(BaseException):  # not an Exception: a block's `except Exception` must not swallow it
    pass


@contextlib.contextmanager
def time_limit(seconds: float = BLOCK_TIMEOUT):
    def alarm(signum, frame):
        raise BlockTimeout(f"still running after {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def doc_traceback(exc: BaseException, filename: str) -> str:
    """The traceback from the block's own frame on (the harness's frames left out)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__))


def last_doc_line(exc: BaseException, filename: str) -> int | None:
    """The line of the block being run when ``exc`` was raised."""
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == filename:
            line = lineno
    return line


def run_block(block: Block, ns: dict, cluster: LocalCluster) -> None:
    filename = str(REPO / block.page)  # tracebacks then show the doc's own lines
    where = f"{block.where}: the block starting at line {block.line}"
    try:
        source = substitute(block.source, cluster)
        tree = ast.parse(source, filename)
    except (ValueError, SyntaxError) as e:
        pytest.fail(f"{where}: {e}", pytrace=False)
    expected = exception_class(block.arg) if block.marker == "raises" else None
    last = tree.body[-1].end_lineno if tree.body else None
    failure = None
    try:
        with time_limit():
            exec(compile(tree, filename, "exec"), ns)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # reported below, with the block's line
        if expected is None or not isinstance(exc, expected) or last_doc_line(exc, filename) != last:
            said = f" at line {last_doc_line(exc, filename)}; the doc says line {last} raises {block.arg}"
            failure = f"{where} raised{said if expected else ''}:\n{doc_traceback(exc, filename)}"
    else:
        if expected is not None:
            failure = f"{where} raised nothing; the doc says its line {last} raises {block.arg}"
    if failure:
        pytest.fail(failure, pytrace=False)


@pytest.fixture
def created(monkeypatch):
    """Every ClusterClient, PubSub and LocalCluster made while a page runs; closed at its end."""
    made: list = []

    def tracking(init):
        def tracking_init(self, *args, **kwargs):
            init(self, *args, **kwargs)
            made.append(self)

        return tracking_init

    for cls in (LocalCluster, ClusterClient, PubSub):
        monkeypatch.setattr(cls, "__init__", tracking(cls.__init__))
    yield made
    for obj in reversed(made):
        obj.close()


@pytest.mark.parametrize("page", PAGES)
def test_page(page, redis_cluster, created, request):
    blocks = python_blocks(page)
    fences = sum(1 for line in (REPO / page).read_text(encoding="utf-8").splitlines() if PYTHON_FENCE.match(line))
    assert len(blocks) == fences, f"{page}: {fences} ```python fences, but {len(blocks)} blocks were parsed"
    if page in PENDING:
        unmarked = [b.line for b in blocks if b.marker is None]
        pytest.skip(f"{page}: {PENDING[page]}; unmarked blocks at lines {unmarked}")

    ns: dict = {"__name__": "__doc_page__"}
    ran = skipped = 0
    for block in blocks:
        if block.marker == "not run":
            skipped += 1
            continue
        run_block(block, ns, redis_cluster)
        ran += 1
    assert ran + skipped == len(blocks), f"{page}: {len(blocks)} blocks, {ran} run and {skipped} marked not run"

    filename = str(REPO / page)
    for name, fn in list(ns.items()):
        if name.startswith("test_") and inspect.isfunction(fn) and fn.__code__.co_filename == filename:
            fixtures = [request.getfixturevalue(p) for p in inspect.signature(fn).parameters]
            failure = None
            try:
                with time_limit():
                    fn(*fixtures)
            except (Exception, BlockTimeout) as exc:
                failure = f"{page}:{fn.__code__.co_firstlineno}: {name}(), defined in the page, failed:\n"
                failure += doc_traceback(exc, filename)
            if failure:
                pytest.fail(failure, pytrace=False)
