"""The package's shape rules, checked statically (``ast`` only; no package module is imported):

- no function or method in ``rediscluster_lite/`` is over 60 lines long;
- no import circle among the package's modules. A circle through an import inside a function (a lazy
  import) is still a circle for this rule: it only moves the failure from import time to call time, and it
  still ties the two modules together. Imports under ``if TYPE_CHECKING:`` do not run and do not count.

Offenders in files their owners are changing elsewhere sit in the allow-lists below, each named, so that
the owner removes the entry with the fix (a test fails while an entry no longer matches anything).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "rediscluster_lite"
MAX_LINES = 60

# (path from the repo root, qualified name) -> why it is allowed for now. Empty: the tree has no offender.
ALLOWED_LONG_FUNCTIONS: dict[tuple[str, str], str] = {}

# A circle, as the checker prints it ("a -> b -> a", starting at its smallest module), -> why. Empty too.
ALLOWED_CYCLES: dict[str, str] = {}


# ------------------------------------------------------------------ function length


def long_functions(source: str, path: str, limit: int = MAX_LINES) -> list[tuple[str, int, str, int]]:
    """``(path, line, qualified name, lines)`` for each function in ``source`` longer than ``limit`` lines,
    counted from its ``def`` line to its last line (decorators excluded; nested functions count on their own
    and inside their parent)."""
    found: list[tuple[str, int, str, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                length = child.end_lineno - child.lineno + 1
                if length > limit:
                    found.append((path, child.lineno, name, length))
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return found


def format_long(offenders: list[tuple[str, int, str, int]]) -> str:
    return "\n".join(f"{path}:{line} {name} ({length} lines)" for path, line, name, length in offenders)


def package_files() -> list[Path]:
    files = sorted(PACKAGE.rglob("*.py"))
    assert PACKAGE / "_sync" / "client.py" in files and PACKAGE / "router.py" in files  # the glob found it
    return files


def tree_long_functions() -> list[tuple[str, int, str, int]]:
    found = []
    for file in package_files():
        found += long_functions(file.read_text(), file.relative_to(REPO).as_posix())
    return found


# ------------------------------------------------------------------ the import graph

TOP, LAZY = "top", "lazy"  # an import that runs when the module is imported / only when a function is called


def module_name(path: Path, root: Path) -> str:
    """``root/pkg/_sync/client.py`` -> ``pkg._sync.client``; a package's ``__init__.py`` is the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(source: str, module: str, is_package: bool, modules: set[str]) -> list[tuple[str, int, str]]:
    """``(imported module, line, TOP or LAZY)`` for each import in ``source`` of one of ``modules``, relative
    imports resolved against ``module``. ``from pkg import mod`` imports the module ``pkg.mod``; ``from pkg
    import name`` imports ``pkg`` (its ``__init__``). Importing ``a.b.c`` also runs ``a/__init__`` and
    ``a/b/__init__``: those implicit edges are left out (every module would otherwise close a circle with a
    package ``__init__`` that imports it)."""
    found: list[tuple[str, int, str]] = []
    package = module if is_package else module.rpartition(".")[0]

    def resolve(node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = package.split(".")
        base = base[: len(base) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))

    def add(target: str, line: int, kind: str) -> None:
        if target in modules and target != module:
            found.append((target, line, kind))

    def visit_stmt(child: ast.AST, kind: str) -> None:
        if isinstance(child, ast.Import):
            for alias in child.names:
                add(alias.name, child.lineno, kind)
        elif isinstance(child, ast.ImportFrom):
            base = resolve(child)
            for alias in child.names:
                sub = f"{base}.{alias.name}"
                add(sub if sub in modules else base, child.lineno, kind)
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            visit(child, LAZY)
        else:
            visit(child, kind)

    def visit(node: ast.AST, kind: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and is_type_checking(child.test):
                for stmt in child.orelse:  # ``else:`` of ``if TYPE_CHECKING:`` does run
                    visit_stmt(stmt, kind)
            else:
                visit_stmt(child, kind)

    visit(ast.parse(source), TOP)
    return found


Edge = tuple[str, int, str]  # (TOP or LAZY, line, the importer's path)


def import_graph(root: Path, package: str) -> dict[tuple[str, str], Edge]:
    """Every import edge between the modules of ``root/package``: (importer, imported) -> its first import
    that runs at import time, or else its first lazy one."""
    files = {module_name(p, root): p for p in sorted((root / package).rglob("*.py"))}
    edges: dict[tuple[str, str], Edge] = {}
    for name, path in files.items():
        rel = path.relative_to(root).as_posix()
        for target, line, kind in imports_of(path.read_text(), name, path.name == "__init__.py", set(files)):
            old = edges.get((name, target))
            if old is None or (old[0] == LAZY and kind == TOP):
                edges[(name, target)] = (kind, line, rel)
    return edges


def find_cycles(edges: dict[tuple[str, str], Edge] | set[tuple[str, str]]) -> list[list[str]]:
    """The circles to show, each as ``[a, b, ..., a]`` starting at its smallest module, shortest first: for
    each import edge that lies on a circle, the shortest circle through it. (All elementary circles can be
    thousands once a few modules are tangled; this way every edge of a tangle is named once or more, and one
    new edge inside a known tangle still shows up as a new circle.)"""
    graph: dict[str, list[str]] = {}
    for src, dst in sorted(edges):
        graph.setdefault(src, []).append(dst)
    found: set[tuple[str, ...]] = set()
    for src, dst in sorted(edges):
        back = shortest_path(graph, dst, src)
        if back:
            ring = [src] + back[:-1]  # src -> dst -> ... (back to src)
            start = ring.index(min(ring))
            found.add(tuple(ring[start:] + ring[:start] + [ring[start]]))
    return [list(c) for c in sorted(found, key=lambda c: (len(c), c))]


def shortest_path(graph: dict[str, list[str]], start: str, goal: str) -> list[str] | None:
    """``[start, ..., goal]`` with the fewest edges (breadth first; ties go to the smaller names), or None."""
    came_from: dict[str, str | None] = {start: None}
    frontier = [start]
    while frontier and goal not in came_from:
        nxt = []
        for node in frontier:
            for succ in graph.get(node, ()):
                if succ not in came_from:
                    came_from[succ] = node
                    nxt.append(succ)
        frontier = nxt
    if goal not in came_from:
        return None
    path, node = [], goal
    while node is not None:
        path.append(node)
        node = came_from[node]
    return path[::-1]


def format_cycle(cycle: list[str]) -> str:
    return " -> ".join(cycle)


def lazy_links(cycle: list[str], edges: dict[tuple[str, str], Edge]) -> list[str]:
    """The function-level imports a circle goes through, as ``path:line a imports b (in a function)``."""
    links = []
    for src, dst in zip(cycle, cycle[1:]):
        kind, line, path = edges[(src, dst)]
        if kind == LAZY:
            links.append(f"{path}:{line} {src} imports {dst} (in a function)")
    return links


def cycle_report(edges: dict[tuple[str, str], Edge], allowed: dict[str, str], most: int = 20) -> str:
    """What a failure prints: the import-time circles, then the circles through a function-level import."""
    eager, lazy = [], []
    for cycle in find_cycles(edges):
        text = format_cycle(cycle)
        if text in allowed:
            continue
        links = lazy_links(cycle, edges)
        (lazy if links else eager).append(text + "".join(f"\n    via {link}" for link in links))
    parts = []
    sections = (("at import time", eager), ("through a function-level (lazy) import", lazy))
    for title, rows in sections:
        if rows:
            more = f"\n  (+{len(rows) - most} more)" if len(rows) > most else ""
            parts.append(f"import circles {title}:\n  " + "\n  ".join(rows[:most]) + more)
    return "\n".join(parts)


# ------------------------------------------------------------------ the rules, on the tree


def test_no_function_in_the_package_is_over_60_lines():
    offenders = [o for o in tree_long_functions() if (o[0], o[2]) not in ALLOWED_LONG_FUNCTIONS]
    assert not offenders, f"functions over {MAX_LINES} lines (split them into named steps):\n" + format_long(offenders)


def test_the_long_function_allow_list_names_only_offenders():
    current = {(path, name) for path, _, name, _ in tree_long_functions()}
    stale = sorted(set(ALLOWED_LONG_FUNCTIONS) - current)
    assert not stale, f"no longer over {MAX_LINES} lines: remove from ALLOWED_LONG_FUNCTIONS: {stale}"


def test_the_package_has_no_import_circle():
    edges = import_graph(REPO, PACKAGE.name)
    assert ("rediscluster_lite._sync.client", "rediscluster_lite.api") in edges  # the graph found the imports
    report = cycle_report(edges, ALLOWED_CYCLES)
    assert not report, report


def test_the_cycle_allow_list_names_only_circles():
    current = {format_cycle(c) for c in find_cycles(import_graph(REPO, PACKAGE.name))}
    stale = sorted(set(ALLOWED_CYCLES) - current)
    assert not stale, f"no longer a circle: remove from ALLOWED_CYCLES: {stale}"


# ------------------------------------------------------------------ the checkers can fail


def function_source(body_lines: int, decorators: int = 0, indent: str = "") -> str:
    """A function whose ``def`` line and ``body_lines`` lines make ``body_lines + 1`` lines."""
    lines = [f"{indent}@staticmethod" for _ in range(decorators)] + [f"{indent}def f():"]
    lines += [f"{indent}    x = {i}" for i in range(body_lines)]
    return "\n".join(lines) + "\n"


def test_a_61_line_function_is_an_offender_and_a_60_line_one_is_not():
    assert long_functions(function_source(59), "m.py") == []
    assert long_functions(function_source(60), "m.py") == [("m.py", 1, "f", 61)]
    assert format_long(long_functions(function_source(60), "m.py")) == "m.py:1 f (61 lines)"


def test_decorators_do_not_count_and_methods_are_named_by_class():
    source = "class C:\n" + function_source(59, decorators=3, indent="    ")
    assert long_functions(source, "m.py") == []
    source = "class C:\n" + function_source(60, decorators=3, indent="    ")
    assert long_functions(source, "m.py") == [("m.py", 5, "C.f", 61)]


def test_a_long_nested_function_is_an_offender_with_its_parent():
    source = "async def outer():\n" + function_source(60, indent="    ") + "    return f\n"
    assert [(name, n) for _, _, name, n in long_functions(source, "m.py")] == [("outer", 63), ("outer.f", 61)]


def write_package(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_a_two_module_circle_is_found(tmp_path):
    write_package(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": "from .b import x\n", "pkg/b.py": "from . import a\n"})
    edges = import_graph(tmp_path, "pkg")
    assert find_cycles(edges) == [["pkg.a", "pkg.b", "pkg.a"]]
    assert cycle_report(edges, {}) == "import circles at import time:\n  pkg.a -> pkg.b -> pkg.a"
    assert cycle_report(edges, {"pkg.a -> pkg.b -> pkg.a": "allowed"}) == ""


def test_a_circle_through_a_function_level_import_is_reported_apart(tmp_path):
    write_package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "import pkg.b\n",
            "pkg/b.py": "def f():\n    from .a import y\n    return y\n",
        },
    )
    report = cycle_report(import_graph(tmp_path, "pkg"), {})
    assert report == (
        "import circles through a function-level (lazy) import:\n"
        "  pkg.a -> pkg.b -> pkg.a\n"
        "    via pkg/b.py:2 pkg.b imports pkg.a (in a function)"
    )


def test_type_checking_imports_do_not_count_but_its_else_does(tmp_path):
    checking = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import A\n"
    write_package(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": "from .b import B\n", "pkg/b.py": checking})
    assert find_cycles(import_graph(tmp_path, "pkg")) == []
    write_package(tmp_path, {"pkg/b.py": checking + "else:\n    from pkg import a\n"})
    assert find_cycles(import_graph(tmp_path, "pkg")) == [["pkg.a", "pkg.b", "pkg.a"]]


def test_relative_imports_resolve_to_modules_or_their_package(tmp_path):
    write_package(
        tmp_path,
        {
            "pkg/__init__.py": "from .sub.c import C\n",
            "pkg/a.py": "from . import b, VERSION\nfrom .sub import c\n",
            "pkg/b.py": "",
            "pkg/sub/__init__.py": "",
            "pkg/sub/c.py": "from .. import b\nfrom ..a import thing\nimport os, pkg.b\n",
        },
    )
    assert sorted(import_graph(tmp_path, "pkg")) == [
        ("pkg", "pkg.sub.c"),
        ("pkg.a", "pkg"),  # VERSION is not a module: the package's __init__ runs for it
        ("pkg.a", "pkg.b"),
        ("pkg.a", "pkg.sub.c"),
        ("pkg.sub.c", "pkg.a"),
        ("pkg.sub.c", "pkg.b"),
    ]
    assert find_cycles(import_graph(tmp_path, "pkg")) == [
        ["pkg.a", "pkg.sub.c", "pkg.a"],
        ["pkg", "pkg.sub.c", "pkg.a", "pkg"],
    ]


def test_each_circle_is_listed_once_from_its_smallest_module_shortest_first():
    edges = {("a", "b"), ("b", "c"), ("c", "a"), ("c", "b"), ("b", "d")}
    assert [format_cycle(c) for c in find_cycles(edges)] == ["b -> c -> b", "a -> b -> c -> a"]


@pytest.mark.parametrize("spelling", ["TYPE_CHECKING", "typing.TYPE_CHECKING"])
def test_both_spellings_of_type_checking(spelling):
    assert is_type_checking(ast.parse(spelling, mode="eval").body)


def test_a_long_report_names_the_shortest_circles_and_counts_the_rest(tmp_path):
    ring = {f"pkg/m{i}.py": f"from . import m{(i + 1) % 5}, m{(i + 2) % 5}\n" for i in range(5)}
    write_package(tmp_path, {"pkg/__init__.py": "", **ring})
    report = cycle_report(import_graph(tmp_path, "pkg"), {}, most=2)
    lines = report.splitlines()
    assert lines[0] == "import circles at import time:" and lines[-1].startswith("  (+") and len(lines) == 4
