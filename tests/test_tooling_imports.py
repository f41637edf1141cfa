"""What importing the package does, and does not do: the client never loads the tooling, the pytest plugin
loads nothing until a fixture is used, and the tooling modules import each other without a circle.

Each check runs in a fresh interpreter, so what other tests imported cannot hide an import.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "rediscluster_lite"
TOOLING_NAMES = {"cli", "cli_output", "demo", "monitor", "probe", "pytest_plugin", "__main__"}


def tooling_modules() -> list[str]:
    """The tooling: the launcher (``local*``), the CLI, demo, monitor, probe and pytest plugin."""
    names = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem.startswith("local") or p.stem in TOOLING_NAMES)
    assert {"local", "local_procs", "cli", "monitor", "probe"} <= set(names)  # the glob found the package
    return names


def run_python(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, env=env, cwd=REPO
    )
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


LOADED_TOOLING = """
import sys
tooling = {tooling!r}
print(sorted(m for m in sys.modules if m.startswith("rediscluster_lite.") and m.split(".")[1] in tooling))
"""


def test_the_client_imports_no_tooling_module():
    out = run_python("import rediscluster_lite\n" + LOADED_TOOLING.format(tooling=tooling_modules()))
    assert out == "[]"


def test_importing_the_pytest_plugin_loads_and_registers_nothing():
    code = """
        import atexit, signal, sys
        import pytest, rediscluster_lite  # pytest itself registers an atexit handler: count after it
        handlers = atexit._ncallbacks()
        sigs = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP))
        import rediscluster_lite.pytest_plugin
        assert atexit._ncallbacks() == handlers, "the plugin registered an atexit handler"
        assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)) == sigs, "signal handler"
    """
    tooling = [m for m in tooling_modules() if m != "pytest_plugin"]
    out = run_python(textwrap.dedent(code) + LOADED_TOOLING.format(tooling=tooling))
    assert out == "[]"


def test_importing_the_launcher_registers_nothing_until_a_cluster_starts():
    code = """
        import atexit, signal
        handlers = atexit._ncallbacks()
        sigterm = signal.getsignal(signal.SIGTERM)
        from rediscluster_lite import local, local_procs
        assert atexit._ncallbacks() == handlers, "importing the launcher registered an atexit handler"
        assert signal.getsignal(signal.SIGTERM) == sigterm
        assert not local_procs._LIVE
        print("ok")
    """
    assert run_python(code) == "ok"


USER_CONFTEST = """
import sys

# Installed, the pytest11 entry point has loaded the plugin already; uninstalled, load it the same way.
if "rediscluster_lite.pytest_plugin" not in sys.modules:
    pytest_plugins = ["rediscluster_lite.pytest_plugin"]
"""

USER_TEST = """
import sys

def test_a_user_test_that_uses_no_fixture(request):
    assert request.config.pluginmanager.is_registered(sys.modules["rediscluster_lite.pytest_plugin"])
    loaded = sorted(m for m in sys.modules if m.startswith("rediscluster_lite.local") or m == "rediscluster_lite.probe")
    assert loaded == []
"""


def test_a_pytest_run_with_the_plugin_but_no_fixture_never_loads_the_launcher(tmp_path):
    (tmp_path / "conftest.py").write_text(USER_CONFTEST)
    (tmp_path / "test_user.py").write_text(USER_TEST)
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "test_user.py"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 passed" in r.stdout


# ------------------------------------------------------------------ the import graph


def package_imports(module: str) -> set[str]:
    """The package modules ``module`` imports, at the top or inside a function (``from . import x`` too)."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level == 1:
                names = [base] if base else [a.name for a in node.names]
            elif base.startswith("rediscluster_lite."):
                names = [base.split(".", 2)[1]]
            else:
                continue
            found |= {n.split(".")[0] for n in names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("rediscluster_lite.")}
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [node, nxt] if nxt in path else [node, nxt]
            if nxt not in state:
                cycle = visit(nxt, path + [node])
                if cycle:
                    return cycle
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start, [])
            if cycle:
                return cycle
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) is not None
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_tooling_imports_form_no_circle():
    tooling = set(tooling_modules())
    graph = {m: package_imports(m) & tooling for m in tooling}
    assert graph["monitor"] and "cli" not in graph["monitor"] and "cli" not in graph["demo"]
    assert find_cycle(graph) is None, find_cycle(graph)


@pytest.mark.parametrize("module", ["probe", "cli_output", "local_errors"])
def test_the_bottom_layers_import_no_other_tooling(module):
    assert package_imports(module) & set(tooling_modules()) == set()
