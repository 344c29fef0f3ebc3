"""Cache of passed symbolic proofs (V1, V2, V3) for ``a2ad verify``.

A symbolic method is a pure function of its source and of what it proves, so a
passed result can be read back when neither changed. The key is a SHA-256 of

* what was proved: claim ID, statement, hypotheses, relation and the fingerprints
  (``theory.formulas``) of the claim's formulas, the method name and the profile;
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

CACHED_METHODS = ("V1", "V2", "V3")
FIRST_PARTY = ("theory", "numerics", "proofs_check")
ENV_DIR = "A2AD_CACHE_DIR"
FORMAT = 1  # bump when the entry layout changes
RESULT_KEYS = {"method": str, "status": str, "worst_error": (int, float), "tolerance": (int, float),
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


def _imports(name: str, path: str) -> set[str]:
    """First-party modules named by the import statements of module ``name``."""
    tree = ast.parse(Path(path).read_text(), filename=path)
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
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
    out = set()
    for mod in found:
        parts = mod.split(".")
        if parts[0] in FIRST_PARTY:
            out.update(".".join(parts[:k]) for k in range(1, len(parts) + 1))  # packages' __init__ too
    return {m for m in out if _module_file(m)}


@functools.lru_cache(maxsize=None)
def source_closure(module: str) -> tuple[tuple[str, str], ...]:
    """``(module, sha256 of its source)`` for ``module`` and every first-party module it imports."""
    seen: dict[str, str] = {}
    stack = [module]
    while stack:
        name = stack.pop()
        if name in seen or not _module_file(name):
            continue
        path = _module_file(name)
        seen[name] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        stack.extend(_imports(name, path) - set(seen))
    return tuple(sorted(seen.items()))


@functools.lru_cache(maxsize=1)
def _formula_fingerprints() -> dict[str, str]:
    from theory.formulas import all_formulas

    return {fid: f.fingerprint for fid, f in all_formulas().items()}


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for dist in ("sympy", "mpmath"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "none"
    return out


def key(claim, method: str, profile) -> str:
    """The cache key of ``claim.methods[method]`` under ``profile`` (see the module docstring)."""
    fn = claim.methods[method]
    fingerprints = _formula_fingerprints()
    what = {"format": FORMAT, "claim": claim.id, "statement": claim.statement, "title": claim.title,
            "hypotheses": list(claim.hypotheses), "relation": claim.relation, "method": method,
            "formulas": {f: fingerprints.get(f, "missing") for f in claim.formulas},
            "profile": dataclasses.asdict(profile), "function": getattr(fn, "__qualname__", repr(fn)),
            "source": source_closure(fn.__module__), "versions": _versions()}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


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

    @staticmethod
    def cacheable(method: str) -> bool:
        return method in CACHED_METHODS

    def _path(self, claim, method: str, profile) -> Path:
        return self.dir / "proofs" / f"{key(claim, method, profile)}.json"

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
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data))
            os.replace(tmp, path)  # atomic: a concurrent reader sees the old or the new file
        except OSError:
            pass  # a read-only or full disk only costs the speed-up
