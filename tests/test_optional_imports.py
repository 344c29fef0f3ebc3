"""Every third-party import of the package is a runtime dependency, or an optional one used only where
it is optional: imported under ``try ... except ImportError`` whose handler names the extra of
``pyproject.toml`` that installs it (``pip install 'a2a-dynamics[control]'``), and elsewhere in that
file only inside functions (after the guard), never when the module is imported."""
from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("theory", "numerics", "proofs_check")
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRA_HINT = re.compile(r"a2a-dynamics\[([A-Za-z0-9_-]+)\]")


def _names(requirements) -> set[str]:
    """Distributions a list of requirements installs, one level of extras expanded (``dask[distributed]``)."""
    names = set()
    for text in requirements:
        req = Requirement(text)
        names.add(canonicalize_name(req.name))
        for extra in req.extras:
            for sub in importlib.metadata.requires(req.name) or []:
                sub_req = Requirement(sub)
                if sub_req.marker is not None and sub_req.marker.evaluate({"extra": extra}):
                    names.add(canonicalize_name(sub_req.name))
    return names


RUNTIME = _names(PROJECT["dependencies"])
EXTRAS = {extra: _names(reqs) for extra, reqs in PROJECT["optional-dependencies"].items()}


@functools.cache
def _top_level_providers() -> dict:
    """importlib.metadata's module -> distributions map, read once (it scans every installed package)."""
    return importlib.metadata.packages_distributions()


def _distribution(module: str) -> str | None:
    """The distribution that provides a top-level module; None for the standard library and the package."""
    if module in sys.stdlib_module_names or module in PACKAGES or module == "__future__":
        return None
    provided = _top_level_providers().get(module)
    assert provided, f"no installed distribution provides the module {module!r}"
    return canonicalize_name(provided[0])


def _imported(node) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name.split(".")[0] for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0:
        return [node.module.split(".")[0]]
    return []


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:  # a bare except catches ImportError too
        return True
    names = {n.id for n in ast.walk(handler.type) if isinstance(n, ast.Name)}
    return bool(names & {"ImportError", "ModuleNotFoundError"})


def _hint(handlers) -> set[str]:
    return {m for h in handlers for node in ast.walk(h) if isinstance(node, ast.Constant)
            and isinstance(node.value, str) for m in EXTRA_HINT.findall(node.value)}


def problems_in(source: str, where: str) -> list[str]:
    """The imports of one file that break the rule in the module docstring."""
    tree = ast.parse(source)
    guarded: dict[str, str] = {}   # distribution -> extra named by its guard
    plain = []                      # (distribution, line, inside a function)

    def visit(node, in_function: bool, guard_extras: set[str] | None):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Try) and any(_catches_import_error(h) for h in child.handlers):
                hints = _hint([h for h in child.handlers if _catches_import_error(h)])
                for stmt in child.body:
                    visit_stmt(stmt, in_function, hints)
                for rest in child.handlers + child.orelse + child.finalbody:
                    visit(rest, in_function, None)
                continue
            visit_stmt(child, in_function, guard_extras)

    def visit_stmt(stmt, in_function: bool, guard_extras: set[str] | None):
        for module in _imported(stmt):
            dist = _distribution(module)
            if dist is None or dist in RUNTIME:
                continue
            if guard_extras is not None:
                right = [e for e in guard_extras if dist in EXTRAS.get(e, ())]
                guarded[dist] = right[0] if right else f"none of {sorted(guard_extras)}"
            else:
                plain.append((dist, stmt.lineno, in_function))
        is_function = isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        visit(stmt, in_function or is_function, guard_extras if not is_function else None)

    visit(tree, False, None)
    found = [f"{where}: {dist} is guarded but its message names {extra}, not an extra that installs it"
             for dist, extra in guarded.items() if extra not in EXTRAS]
    for dist, line, in_function in plain:
        if dist not in guarded:
            found.append(f"{where}:{line}: {dist} is neither a dependency nor imported under a guard naming its extra")
        elif not in_function:
            found.append(f"{where}:{line}: optional {dist} is imported when the module is imported")
    return found


def _sources():
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def test_every_third_party_import_is_a_dependency_or_guarded_with_its_extra():
    found = [msg for path in _sources() for msg in problems_in(path.read_text(), str(path.relative_to(ROOT)))]
    assert found == []


def test_verify_needs_no_extra():
    """V6 (property checks) imports Hypothesis: a runtime dependency, not only a test extra."""
    assert "hypothesis" in RUNTIME


GUARDED = '''
def run():
    try:
        import control
    except ImportError:
        return "python-control is not installed (pip install 'a2a-dynamics[control]')"
    return control
'''


def test_a_guard_naming_the_extra_passes():
    assert problems_in(GUARDED, "ok.py") == []


@pytest.mark.parametrize("wrong", [
    GUARDED.replace("[control]", "[test-typo]"),                  # an extra that does not exist
    GUARDED.replace("[control]", "[docs]"),                       # an extra that does not install it
    GUARDED.replace("(pip install 'a2a-dynamics[control]')", ""),  # no extra named
    "import control\n",                                           # unguarded, at import time
    GUARDED + "\nimport control\n",                               # guarded once, imported at import time too
    "def f():\n    import pandas\n",                              # lazy but never guarded
])
def test_wrong_imports_are_reported(wrong):
    assert problems_in(wrong, "bad.py")
