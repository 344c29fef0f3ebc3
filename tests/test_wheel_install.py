"""Installed as users install it: the built wheel, no extras, in a fresh virtual environment.

The wheel is built from a copy of the sources (``pip wheel --no-deps``), installed into a new venv
(pip fetches the dependencies from the registry or its cache), and the installed ``a2ad`` runs
``verify --profile quick`` and one command of each family from a directory outside the
repository, with ``PYTHONPATH`` removed so that nothing but the installed package can be imported.
``verify`` must fail no method and may skip one only when it names an extra of ``pyproject.toml``
whose packages are missing; installing that extra must then remove the skip.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
EXTRAS = PYPROJECT["project"]["optional-dependencies"]
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "theory", "numerics", "proofs_check")
INSTALL_TIMEOUT = 900  # seconds: pip may download numpy, scipy, numba, pyarrow... on a cold cache
COMMAND_TIMEOUT = 600  # seconds: verify --profile quick takes about 30 s alone on 2 cores
EXTRA_HINT = re.compile(r"pip install '?a2a-dynamics\[([A-Za-z0-9_-]+)\]'?")
# simulate iterates the real maps; predict solves for the fixed point. 400 turns at rate 0.15 leave
# 0.15^400 of the start: only float64 rounding of the two computations separates them.
FIXED_POINT_TOL = 1e-12


def _clean_env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(PYTHONNOUSERSITE="1", A2AD_NO_PROGRESS="1", A2AD_CACHE_DIR=str(tmp / "proof-cache"),
               MPLBACKEND="Agg", NUMBA_CACHE_DIR=str(tmp / "numba-cache"))
    return env


def _run(args, cwd: Path, env: dict, timeout: float = COMMAND_TIMEOUT, ok=(0,)) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode in ok, (f"{' '.join(map(str, args))} exited {proc.returncode}\n"
                                  f"stdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-2000:]}")
    return proc


class Installed:
    """A fresh venv holding the wheel, and a working directory outside the repository."""

    def __init__(self, tmp: Path):
        self.tmp, self.env = tmp, _clean_env(tmp)
        self.work = tmp / "work"
        self.work.mkdir()
        self.wheel = self._build_wheel()
        venv = tmp / "venv"
        _run([sys.executable, "-m", "venv", venv], tmp, self.env)
        self.python = venv / "bin" / "python"
        self.pip(self.wheel)

    def _build_wheel(self) -> Path:
        # A copy, so that setuptools' in-tree build/ and *.egg-info never land in the checkout.
        src = self.tmp / "src"
        src.mkdir()
        for name in SOURCES:
            path = ROOT / name
            if path.is_dir():
                shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(path, src / name)
        dist = self.tmp / "dist"
        _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-input", "-w", dist, src], self.tmp,
             self.env, INSTALL_TIMEOUT)
        (wheel,) = dist.glob("a2a_dynamics-*.whl")
        return wheel

    def pip(self, requirement) -> None:
        _run([self.python, "-m", "pip", "install", "--no-input", "--disable-pip-version-check", requirement],
             self.tmp, self.env, INSTALL_TIMEOUT)

    def a2ad(self, *args, ok=(0,)) -> subprocess.CompletedProcess:
        return _run([self.python.parent / "a2ad", *args], self.work, self.env, ok=ok)

    def verify(self, *args) -> dict:
        """The JSON report (exit 1, a failed check, is reported by the caller with its details)."""
        return json.loads(self.a2ad("verify", "--profile", "quick", "--json", *args, ok=(0, 1)).stdout)

    def has_distribution(self, name: str) -> bool:
        code = f"import importlib.metadata as m\ntry:\n m.version({name!r})\nexcept m.PackageNotFoundError:\n exit(1)"
        return subprocess.run([self.python, "-c", code], env=self.env, timeout=60).returncode == 0


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    return Installed(tmp_path_factory.mktemp("wheel"))


def _requirement_name(requirement: str) -> str:
    return re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)


def verify_problems(report: dict, has_distribution) -> list[str]:
    """Every method that failed, and every skip that does not name an extra whose packages are missing."""
    problems = []
    for claim in report["claims"]:
        for method in claim["methods"]:
            where = f"{claim['id']} {method['method']}: {method['status']}: {method.get('detail')}"
            if method["status"] == "skipped":
                hint = EXTRA_HINT.search(method.get("detail") or "")
                extra = hint and hint.group(1)
                if extra not in EXTRAS:
                    problems.append(f"{where} (names no extra of pyproject.toml)")
                elif all(has_distribution(_requirement_name(r)) for r in EXTRAS[extra]):
                    problems.append(f"{where} (the extra '{extra}' is installed)")
            elif method["status"] != "passed":
                problems.append(where)
    return problems


def _skips_by_extra(report: dict) -> dict[str, set[str]]:
    """Extra named by each skip -> the claims that skipped a method for want of it."""
    found: dict[str, set[str]] = {}
    for claim in report["claims"]:
        for method in claim["methods"]:
            if method["status"] == "skipped":
                found.setdefault(EXTRA_HINT.search(method["detail"]).group(1), set()).add(claim["id"])
    return found


def test_the_installed_package_is_the_one_imported(installed):
    code = "import numerics, proofs_check, theory; print(proofs_check.__file__)"
    where = _run([installed.python, "-c", code], installed.work, installed.env).stdout.strip()
    assert Path(where).is_relative_to(installed.tmp / "venv"), where


def test_verify_quick_fails_nothing_and_skips_only_naming_a_missing_extra(installed):
    report = installed.verify()
    assert report["claims"]
    assert verify_problems(report, installed.has_distribution) == []
    # The extra named is the right one: once it is installed, those claims skip nothing.
    for extra, claims in sorted(_skips_by_extra(report).items()):
        installed.pip(f"{installed.wheel}[{extra}]")
        again = installed.verify("--claims", ",".join(sorted(claims)))
        assert [(c["id"], m["method"], m["status"]) for c in again["claims"] for m in c["methods"]
                if m["status"] != "passed"] == []


def test_predict_is_the_source_trees_and_simulate_reaches_its_fixed_point(installed):
    config = EXAMPLES / "two_agents.json"
    prediction = installed.a2ad("predict", config).stdout
    dev_env = dict(os.environ, PYTHONPATH=str(ROOT), A2AD_NO_PROGRESS="1")
    assert prediction == _run([sys.executable, "-m", "proofs_check.cli", "predict", config], ROOT, dev_env).stdout
    fixed = json.loads(prediction)["agents"]
    simulated = json.loads(installed.a2ad("simulate", config, "--turns", "400").stdout)["agents"]
    for name, agent in fixed.items():
        np.testing.assert_allclose(simulated[name]["messages"][-1], agent["fixed_point"], atol=FIXED_POINT_TOL)


def test_derive_text_and_protocol(installed):
    assert "C3" in installed.a2ad("derive", "--format", "text", "--claims", "C3").stdout
    compiled = installed.a2ad("derive", "--protocol", EXAMPLES / "protocol_anchored.json", "--format", "text").stdout
    assert "live agents" in compiled


def test_attack(installed):
    outcome = json.loads(installed.a2ad("attack", EXAMPLES / "two_agents.json", "--kind", "full").stdout)
    assert outcome["kind"] == "full" and outcome["agent_entry"]["name"] == outcome["attacker"]


def test_llm_run_local_then_fit_its_transcript(installed):
    installed.a2ad("llm-run", EXAMPLES / "text_agents.json", "--turns", "40", "--out", "llm.jsonl",
                   "--backend", "local", "--local-noise", "0.02", "--seed", "0")
    lines = (installed.work / "llm.jsonl").read_text().splitlines()
    assert len(lines) == 2 * 40
    fit = json.loads(installed.a2ad("fit", "llm.jsonl", "--json", "--bootstrap", "20").stdout)
    assert fit["claim"] == "C18" and list(fit["agents"]) == ["A", "B"]


def test_train_lsa_smallest(installed):
    installed.a2ad("train-lsa", "--d", "2", "--N", "5", "--steps", "200", "--batch", "32", "--out", "lsa.npz")
    with np.load(installed.work / "lsa.npz") as weights:
        assert weights.files


def test_experiment_quick(installed):
    installed.a2ad("experiment", "misalignment", "--quick", "--out", "experiment")
    written = {p.suffix for p in (installed.work / "experiment").iterdir()}
    assert {".csv", ".png"} <= written


def test_sweep_local_tiny_spec(installed):
    spec = {"base": json.loads((EXAMPLES / "two_agents.json").read_text()),
            "axes": {"agents.0.preconditioner": [0.5, 1.0, 1.5]},
            "measure": ["predict", {"simulate": {"turns": 50}}], "seed": 0}
    (installed.work / "sweep.json").write_text(json.dumps(spec))
    installed.a2ad("sweep", "sweep.json", "--out", "sweep", "--backend", "local", "--workers", "1")
    code = "import pyarrow.parquet as pq; print(pq.read_table('sweep/results').num_rows)"
    assert _run([installed.python, "-c", code], installed.work, installed.env).stdout.strip() == "3"


# Power of the verify check: a failed method, a skip naming no extra, a skip naming an extra that is
# installed, and a skip naming an unknown extra are all reported.
def _report(status: str, detail: str) -> dict:
    return {"claims": [{"id": "C1", "methods": [{"method": "V8", "status": status, "detail": detail}]}]}


@pytest.mark.parametrize("status, detail, installed_too", [
    ("failed", "raised ModuleNotFoundError: No module named 'hypothesis'", False),
    ("skipped", "python-control is not installed (pip install 'a2a-dynamics')", False),
    ("skipped", "python-control is not installed (pip install 'a2a-dynamics[test]')", True),
    ("skipped", "python-control is not installed (pip install 'a2a-dynamics[nonexistent]')", False),
])
def test_verify_check_catches_wrong_variants(status, detail, installed_too):
    assert verify_problems(_report(status, detail), lambda name: installed_too)


def test_verify_check_accepts_a_skip_naming_a_missing_extra():
    detail = "python-control is not installed (pip install 'a2a-dynamics[control]')"
    assert verify_problems(_report("skipped", detail), lambda name: False) == []
