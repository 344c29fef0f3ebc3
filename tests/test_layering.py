"""The import structure: the layers hold (theory <- numerics <- proofs_check) and nothing imports
in a cycle, neither module with module nor sub-package with sub-package.

The graph is read from the sources with ``ast`` (nothing is imported), and every import statement
counts, also those inside functions, ``try`` blocks and ``if TYPE_CHECKING:``: a deferred import
still ties the two modules together. An edge goes to the module an import names, not to the parent
packages whose ``__init__`` Python also runs (those would make every re-export look like a cycle).
The check's power: planted cycles and layer breaks in packages written to ``tmp_path``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("theory", "numerics", "proofs_check")  # bottom to top: a layer imports only those below it


# ---------------------------------------------------------------- the graph

def module_files(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Dotted name -> source file for every module of ``packages`` under ``root``."""
    out = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _existing(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of ``name`` that is one of ``modules`` (an attribute import names its module)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imported(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The first-party modules that the import statements of module ``name`` (any depth) name."""
    package = (name if path.name == "__init__.py" else name.rpartition(".")[0]).split(".")
    named = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            named.update(_existing(a.name, modules) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: `from . import x` is x's package, each further dot one level up
                base = ".".join(package[: len(package) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            # `from pkg import sub` names the module pkg.sub; `from pkg import f` names pkg
            named.update(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else _existing(base, modules)
                         for a in node.names)
    return {m for m in named if m is not None and m != name}


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    modules = module_files(root, packages)
    return {name: imported(name, path, modules) for name, path in modules.items()}


def subpackage(name: str) -> str:
    """``numerics.dynamics.closed_forms`` -> ``numerics.dynamics``; a top package is its own."""
    return ".".join(name.split(".")[:2])


def subpackage_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {subpackage(m): set() for m in graph}
    for m, targets in graph.items():
        out[subpackage(m)].update(subpackage(t) for t in targets if subpackage(t) != subpackage(m))
    return out


# ---------------------------------------------------------------- the checks

def components(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one node (Tarjan): the nodes on a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found, key=min)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One import cycle per component, as the path ``[a, b, ..., a]`` from its first node."""
    return [_cycle_through(min(c), c, graph) for c in components(graph)]


def _cycle_through(start: str, component: set[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest path from ``start`` back to itself inside ``component``."""
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & component):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if w not in parent:
                    parent[w] = v
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"{start} is in a strongly connected component without a cycle through it")


def layer_breaks(graph: dict[str, set[str]], layers: tuple[str, ...]) -> list[tuple[str, str]]:
    """``(module, imported module)`` for each import of a higher layer by a lower one."""
    rank = {p: k for k, p in enumerate(layers)}
    return sorted((m, t) for m, targets in graph.items() for t in targets
                  if rank[t.split(".")[0]] > rank[m.split(".")[0]])


def _show(found: list[list[str]]) -> str:
    return "\n".join(" -> ".join(c) for c in found)


# ---------------------------------------------------------------- the package

@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(ROOT, PACKAGES)


def test_graph_covers_the_package(graph):
    # a walk that missed the sources would find no cycle: make sure it saw the modules and their imports
    assert len(graph) > 100
    assert "theory.core.algebra" in graph["theory.derivations"]
    assert "numerics.io.errors" in graph["numerics.io.validate"]


def test_layers_hold(graph):
    """theory imports nothing from numerics or proofs_check; numerics nothing from proofs_check."""
    breaks = layer_breaks(graph, PACKAGES)
    assert not breaks, "lower layer imports a higher one:\n" + "\n".join(f"{m} -> {t}" for m, t in breaks)


def test_no_module_import_cycle(graph):
    found = cycles(graph)
    assert not found, "modules that import each other (directly or through others):\n" + _show(found)


def _edges_inside(graph: dict[str, set[str]], component: set[str]) -> str:
    """The sub-package imports inside a cycle, fewest module imports first (the likely misplaced
    ones), each with its first module imports."""
    edges: dict[tuple[str, str], list[str]] = {}
    for m, targets in sorted(graph.items()):
        for t in sorted(targets):
            a, b = subpackage(m), subpackage(t)
            if a != b and a in component and b in component:
                edges.setdefault((a, b), []).append(f"{m} -> {t}")
    return "\n".join(f"  {a} -> {b} ({len(via)}: {', '.join(via[:2])}{', ...' if len(via) > 2 else ''})"
                     for (a, b), via in sorted(edges.items(), key=lambda e: (len(e[1]), e[0])))


def test_no_subpackage_import_cycle(graph):
    found = components(subpackage_graph(graph))
    assert not found, "sub-packages that import each other:\n" + "\n".join(
        f"{' <-> '.join(sorted(c))}:\n{_edges_inside(graph, c)}" for c in found)


# ---------------------------------------------------------------- the check's power

def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _planted(tmp_path: Path, files: dict[str, str]) -> dict[str, set[str]]:
    base = {"low/__init__.py": "", "low/core/__init__.py": "", "low/core/a.py": "", "low/core/b.py": "",
            "low/other/__init__.py": "", "low/other/c.py": "", "high/__init__.py": "", "high/d.py": ""}
    _write(tmp_path, {**base, **files})
    return import_graph(tmp_path, ("low", "high"))


def test_clean_package_has_no_findings(tmp_path):
    # re-exports through __init__, attribute imports and imports downwards are not cycles
    g = _planted(tmp_path, {"low/core/__init__.py": "from low.core.a import f\n",
                            "low/core/a.py": "def f():\n    return 1\n",
                            "low/core/b.py": "from low.core import f\nfrom . import a\n",
                            "low/other/c.py": "from low.core.b import f\n",
                            "high/d.py": "import low.other.c\nfrom low import core\n"})
    assert g["low.core.b"] == {"low.core", "low.core.a"} and g["high.d"] == {"low.other.c", "low.core"}
    assert cycles(g) == [] and cycles(subpackage_graph(g)) == [] and layer_breaks(g, ("low", "high")) == []


def test_two_module_cycle_is_found(tmp_path):
    g = _planted(tmp_path, {"low/core/a.py": "import low.core.b\n", "low/core/b.py": "from low.core import a\n"})
    assert cycles(g) == [["low.core.a", "low.core.b", "low.core.a"]]


def test_cycle_through_function_and_type_checking_imports_is_found(tmp_path):
    g = _planted(tmp_path, {
        "low/core/a.py": "def f():\n    from low.core.b import g\n    return g\n",
        "low/core/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from low.other import c\n",
        "low/other/c.py": "try:\n    from ..core import a\nexcept ImportError:\n    pass\n"})
    assert cycles(g) == [["low.core.a", "low.core.b", "low.other.c", "low.core.a"]]


def test_subpackage_cycle_without_a_module_cycle_is_found(tmp_path):
    # core.a -> other.c -> core.b: no module imports itself back, but core and other import each other
    g = _planted(tmp_path, {"low/core/a.py": "from low.other.c import x\n",
                            "low/other/c.py": "from low.core.b import y\nx = y\n",
                            "low/core/b.py": "y = 1\n"})
    assert cycles(g) == []
    assert cycles(subpackage_graph(g)) == [["low.core", "low.other", "low.core"]]


def test_layer_break_inside_a_function_is_found(tmp_path):
    g = _planted(tmp_path, {"low/other/c.py": "def f():\n    import high.d\n"})
    assert layer_breaks(g, ("low", "high")) == [("low.other.c", "high.d")]
