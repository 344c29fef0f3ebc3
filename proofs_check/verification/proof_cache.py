"""Cache of passed symbolic proofs (V1, V2, V3, VD) for ``a2ad verify``.

A symbolic method is a pure function of its source and of what it proves, so a
passed result can be read back when neither changed. The key is a SHA-256 of

* what was proved: claim ID, typeset statement (:mod:`proofs_check.statements.statements`), hypotheses,
  relation and the fingerprints (``theory.core.formulas``) of the claim's formulas, the method name
  and the profile;
* the prover's own code: the source of the module defining the method and of every
  first-party module it imports, transitively (found by parsing the import
  statements), plus the Python, SymPy and mpmath versions.

Numeric methods (V4-V8: random instances, simulations, training, other libraries)
are never cached. Failed or skipped results are never stored, so a failure is
always recomputed. Entries are JSON (never pickle); an unreadable or malformed
entry is a miss. Directory: ``$A2AD_CACHE_DIR``, else ``$XDG_CACHE_HOME/a2ad``,
else ``~/.cache/a2ad``. ``a2ad verify --no-cache`` bypasses it.
"""
from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import importlib.util
import json
import os
import sys
from pathlib import Path

from proofs_check.statements import statements

CACHED_METHODS = ("V1", "V2", "V3", "VD")
FIRST_PARTY = ("theory", "numerics", "proofs_check")
ENV_DIR = "A2AD_CACHE_DIR"
FORMAT = 1  # bump when the entry layout changes
RESULT_KEYS: dict[str, type | tuple[type, ...]] = {
    "method": str, "status": str, "worst_error": (int, float), "tolerance": (int, float),
    "instances": int, "seconds": (int, float), "detail": str}


def default_dir() -> Path:
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "a2ad"


@functools.lru_cache(maxsize=None)
def _module_file(name: str) -> str | None:
    mod = sys.modules.get(name)
    path = getattr(mod, "__file__", None)
    if path is None:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            return None
        path = spec.origin if spec is not None else None
    return path if path and path.endswith(".py") else None


def _statements(tree: ast.Module):
    """Every statement, nested ones included (imports are statements: no need to visit expressions)."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        yield node
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            stack.extend(getattr(node, field, ()))


def _named_modules(name: str, path: str, source: bytes | None = None) -> set[str]:
    """Every first-party dotted name (and its parent packages) an import statement of ``name`` mentions."""
    tree = ast.parse(Path(path).read_bytes() if source is None else source, filename=path)
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _statements(tree):
        if isinstance(node, ast.Import):
            bases = [a.name for a in node.names]
            found.update(bases)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)  # `from pkg import submodule`
    out: set[str] = set()
    for mod in found:
        parts = mod.split(".")
        if parts[0] in FIRST_PARTY:
            out.update(".".join(parts[:k]) for k in range(1, len(parts) + 1))  # packages' __init__ too
    return out


# sha256 of a module's source -> the names its import statements mention. Content-addressed (the
# same source always names the same modules), so entries read back from any cache directory
# (ProofCache.load_import_index) are valid; they spare parsing every first-party file each run.
_NAMED_BY_SOURCE: dict[str, list[str]] = {}
_PARSED_HERE: set[str] = set()  # entries this process added (saved by ProofCache.save_import_index)
MAX_INDEX = 2000  # entries kept in imports.json (old sources' entries are dropped beyond it)


@functools.lru_cache(maxsize=None)
def _module_info(name: str) -> tuple[str, frozenset[str]] | None:
    """``(sha256 of the source, first-party imports)`` of one module, each file read and parsed once."""
    path = _module_file(name)
    if path is None:
        return None
    source = Path(path).read_bytes()
    sha = hashlib.sha256(source).hexdigest()
    named = _NAMED_BY_SOURCE.get(sha)
    if named is None:
        named = _NAMED_BY_SOURCE[sha] = sorted(_named_modules(name, path, source))
        _PARSED_HERE.add(sha)
    return sha, frozenset(m for m in named if _module_file(m))


@functools.lru_cache(maxsize=None)
def source_closure(module: str) -> tuple[tuple[str, str], ...]:
    """``(module, sha256 of its source)`` for ``module`` and every first-party module it imports."""
    seen: dict[str, str] = {}
    stack = [module]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        info = _module_info(name)
        if info is None:
            continue
        seen[name] = info[0]
        stack.extend(info[1] - set(seen))
    return tuple(sorted(seen.items()))


@functools.lru_cache(maxsize=1)
def _formula_fingerprints() -> dict[str, str]:
    from theory.core.formulas import all_formulas

    return {fid: f.fingerprint for fid, f in all_formulas().items()}


def theory_sources() -> str:
    """SHA-256 of the source of every ``theory`` module (what :func:`theory.core.formulas.all_formulas` imports,
    and their first-party imports) and of the versions: the formulas, hence their fingerprints, are a
    function of these alone."""
    import theory
    from theory.core.modules import submodules

    modules = ["theory"] + [m.__name__ for m in submodules(theory)]
    closure = sorted({item for m in modules for item in source_closure(m)})
    what = {"format": FORMAT, "source": closure, "versions": _versions()}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


@functools.lru_cache(maxsize=1)
def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for dist in ("sympy", "mpmath"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "none"
    return out


def key(claim, method: str, profile, fingerprints: dict | None = None) -> str:
    """The cache key of ``claim.methods[method]`` under ``profile`` (see the module docstring).

    ``fingerprints``: the formula fingerprints (computed here when None)."""
    fn = claim.methods[method]
    fingerprints = _formula_fingerprints() if fingerprints is None else fingerprints
    typeset = statements.STATEMENTS.get(claim.id)  # every registered claim has one (tests/test_paper_latex.py)
    what = {"format": FORMAT, "claim": claim.id, "statement": typeset and dataclasses.asdict(typeset),
            "title": claim.title,
            "hypotheses": list(claim.hypotheses), "relation": claim.relation, "method": method,
            "formulas": {f: fingerprints.get(f, "missing") for f in claim.formulas},
            "profile": dataclasses.asdict(profile), "function": getattr(fn, "__qualname__", repr(fn)),
            "source": source_closure(fn.__module__), "versions": _versions()}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


def chain_key(chain) -> str:
    """The cache key of ``theory.derivations.check(chain)``: the chain's claim, title, method and
    dimensions, and the sources :mod:`theory.derivations` builds and checks it from (every chain is a
    pure function of them), plus the versions."""
    what = {"format": FORMAT, "derivation": [chain.claim, chain.title, chain.method, list(chain.dims)],
            "steps": len(chain.steps), "source": source_closure("theory.derivations"), "versions": _versions()}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


def _step_checks(entry, steps: int) -> list | None:
    """The passed step checks stored in ``entry`` (None unless every one is well-formed and holds)."""
    from theory.derivations import StepCheck

    if not (isinstance(entry, list) and len(entry) == steps - 1):
        return None
    out = []
    for k, e in enumerate(entry, start=1):
        if not (isinstance(e, dict) and e.get("index") == k and e.get("holds") is True
                and isinstance(e.get("method"), str) and e.get("residual") == "0"
                and isinstance(e.get("justified"), list)
                and all(isinstance(j, list) and len(j) == 2 and all(isinstance(x, str) for x in j)
                        for j in e["justified"])):
            return None
        out.append(StepCheck(k, e["method"], True, "0", tuple(tuple(j) for j in e["justified"])))
    return out


def _valid(entry) -> bool:
    if not isinstance(entry, dict) or entry.get("status") != "passed":
        return False
    for k, types in RESULT_KEYS.items():
        if not isinstance(entry.get(k), types) or isinstance(entry.get(k), bool):
            return False
    return entry["worst_error"] <= entry["tolerance"]


class ProofCache:
    """Passed V1-V3 results on disk, keyed by :func:`key`; also last run's timings (for scheduling)."""

    def __init__(self, directory=None):
        self.dir = Path(directory) if directory is not None else default_dir()
        self._fingerprints: dict | None = None
        self.load_import_index()

    @staticmethod
    def cacheable(method: str) -> bool:
        return method in CACHED_METHODS

    def _path(self, claim, method: str, profile) -> Path:
        return self.dir / "proofs" / f"{key(claim, method, profile, self.fingerprints())}.json"

    def fingerprints(self) -> dict[str, str]:
        """The formula fingerprints, read back from the directory when :func:`theory_sources` is unchanged
        (building every formula to hash it costs more than all cached proofs together)."""
        if self._fingerprints is None:
            path = self.dir / f"fingerprints-{theory_sources()}.json"
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                data = None
            if not (isinstance(data, dict) and all(isinstance(k, str) and isinstance(v, str)
                                                   for k, v in data.items())):
                data = _formula_fingerprints()
                for old in self.dir.glob("fingerprints-*.json"):  # an older theory's: never read again
                    try:
                        old.unlink()
                    except OSError:
                        pass
                self._write(path, data)
            self._fingerprints = data
        return self._fingerprints

    def load_import_index(self) -> None:
        """Read the content-addressed import index (see ``_NAMED_BY_SOURCE``) kept in the directory."""
        try:
            data = json.loads((self.dir / "imports.json").read_text())
        except (OSError, ValueError):
            return
        if isinstance(data, dict):
            _NAMED_BY_SOURCE.update({k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, list)
                                     and all(isinstance(m, str) for m in v)})

    def save_import_index(self) -> None:
        """Store the index when this process parsed a source it did not know (newest entries kept)."""
        if not _PARSED_HERE:
            return
        keep = list(_PARSED_HERE) + [k for k in _NAMED_BY_SOURCE if k not in _PARSED_HERE]
        self._write(self.dir / "imports.json", {k: _NAMED_BY_SOURCE[k] for k in keep[:MAX_INDEX]})
        _PARSED_HERE.clear()

    def get(self, claim, method: str, profile) -> dict | None:
        if not self.cacheable(method):
            return None
        try:
            entry = json.loads(self._path(claim, method, profile).read_text())
        except (OSError, ValueError):
            return None
        if not _valid(entry) or entry["method"] != method:
            return None
        return dict(entry, seconds=0.0, cached=True)

    def put(self, claim, method: str, profile, result: dict) -> None:
        if not self.cacheable(method) or not _valid(result):
            return
        self._write(self._path(claim, method, profile), result)

    def chain_checks(self, chain) -> list:
        """``theory.derivations.check(chain)``, read back when a check of the same chain (:func:`chain_key`)
        passed before; only a check whose every step holds is stored, so a failure is always recomputed."""
        from theory import derivations

        path = self.dir / "derivations" / f"{chain_key(chain)}.json"
        try:
            stored = _step_checks(json.loads(path.read_text()), len(chain.steps))
        except (OSError, ValueError):
            stored = None
        if stored is not None:
            return stored
        checks = derivations.check(chain)
        if all(c.holds for c in checks):
            self._write(path, [dataclasses.asdict(c) for c in checks])
        return checks

    def timings(self, profile_name: str) -> dict:
        try:
            data = json.loads((self.dir / f"timings-{profile_name}.json").read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: float(v) for k, v in data.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}

    def record_timings(self, profile_name: str, seconds: dict) -> None:
        self._write(self.dir / f"timings-{profile_name}.json", dict(self.timings(profile_name), **seconds))

    @staticmethod
    def _write(path: Path, data) -> None:
        from numerics.io import outputs
        from numerics.io.errors import InputError

        try:  # atomic: a concurrent reader sees the old or the new file
            outputs.write_text(path, json.dumps(data), option="proof cache")
        except InputError:
            pass  # a read-only or full disk only costs the speed-up
