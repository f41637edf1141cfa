"""The sync shell's loops (_sync/drive.py) carry out each effect and decide nothing: driven here by small
scripted generators and recording fakes, no sockets. Also: no module of the client imports client.py."""

from __future__ import annotations

import ast
from pathlib import Path

from rediscluster_lite._sync.drive import drive_batch, drive_route, drive_scan, drive_transaction
from rediscluster_lite._sync.link import ClusterLink, link_of
from rediscluster_lite.effects import EXEC, FORCE_REFRESH, KEYS, PIN, REQUEST
from rediscluster_lite.router import REFRESH, SEND, SEND_BATCH, SLEEP, RetryPolicy
from rediscluster_lite.slotmap import Node

NODE = Node("10.0.0.1", 7000)
PACKAGE = Path(__file__).resolve().parent.parent / "rediscluster_lite"


class Topology:
    def __init__(self) -> None:
        self.refreshes: list[tuple[str, bool]] = []

    def refresh(self, reason: str, *, force: bool = False) -> None:
        self.refreshes.append((reason, force))


def scripted(effects: list[tuple], result=None, seen: list | None = None):
    """A generator yielding ``effects`` in turn, recording what it was sent back, returning ``result``."""
    for effect in effects:
        outcome = yield effect
        if seen is not None:
            seen.append(outcome)
    return result


def test_drive_route_sends_the_frame_sleeps_refreshes_and_returns_the_result():
    topology, sent, seen = Topology(), [], []
    steps = scripted([(SLEEP, 0), (REFRESH, "why"), (SEND, NODE, True, False)], "done", seen)
    result = drive_route(steps, lambda *a: sent.append(a) or b"reply", topology, b"frame", 3.0)
    assert result == "done"
    assert sent == [(NODE, b"frame", True, False, 3.0)]
    assert topology.refreshes == [("why", False)]
    assert seen == [None, None, b"reply"]


def test_drive_batch_hands_each_plan_and_the_frames_to_the_batch_sender():
    topology, seen = Topology(), []
    steps = scripted([(SEND_BATCH, {NODE: [0]}, set(), set()), (FORCE_REFRESH, "failover")], [1], seen)
    result = drive_batch(steps, lambda plan, asking, replicas, packed: {n: packed for n in plan}, topology, [b"f"])
    assert result == [1]
    assert seen == [{NODE: [b"f"]}, None]
    assert topology.refreshes == [("failover", True)]


def test_drive_scan_yields_the_keys_lazily_and_sends_each_request():
    sent = []
    steps = scripted([(REQUEST, NODE, b"scan0"), (KEYS, [b"a", b"b"]), (REQUEST, NODE, b"scan7"), (KEYS, [b"c"])])
    keys = drive_scan(steps, lambda *a: sent.append(a), Topology())
    assert sent == []  # nothing before the first key is asked for
    assert next(keys) == b"a"
    assert sent == [(NODE, b"scan0", False, False)]
    assert list(keys) == [b"b", b"c"]
    assert len(sent) == 2


def test_drive_transaction_pins_and_executes_on_the_shells_callables():
    calls, seen = [], []
    steps = scripted([(PIN, NODE), (EXEC, True)], [b"OK"], seen)
    result = drive_transaction(steps, lambda n: calls.append(("pin", n)), lambda a: ["replies", a], Topology())
    assert result == [b"OK"]
    assert calls == [("pin", NODE)]
    assert seen == [None, ["replies", True]]


def test_link_of_a_link_is_itself_and_of_a_client_is_its_link():
    link = ClusterLink(Topology(), RetryPolicy(), lambda args, ro: (None, False), lambda *a: [])

    class Client:
        @property
        def link(self) -> ClusterLink:
            return link

    assert link_of(link) is link and link_of(Client()) is link


def _imports_of(path: Path) -> set[str]:
    """Absolute names of the package modules ``path`` imports (anywhere in the file)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(parts[: len(parts) - node.level])
            module = ".".join(base + ([node.module] if node.module else []))
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_client_module_imports_the_client_except_the_package():
    tooling = {"cli.py", "demo.py", "monitor.py", "pytest_plugin.py"}  # tools, not parts of the client
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name not in tooling
        and not path.name.startswith("local")
        and path != PACKAGE / "__init__.py"
        and "rediscluster_lite._sync.client" in _imports_of(path)
    ]
    assert offenders == []
