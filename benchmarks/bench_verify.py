"""Wall time of `a2ad verify` as a user runs it (a subprocess): quick with a cold and a warm
proof cache, and full; medians over REPEATS runs.

Side by side with older code: set ``A2AD_BENCH_BASELINE`` to a checkout of it (e.g.
``git worktree add --detach ../base <commit>``); its ``verify --profile quick --json`` then runs
with this interpreter (``PYTHONPATH`` = the checkout, checked to be what is imported) in turn
with ours, and the ratio of the medians is printed (the target of issue 15 is >= 3.5x).
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPEATS = 3
BASELINE_ENV = "A2AD_BENCH_BASELINE"
TARGET_RATIO = 3.5


def _wall(cmd, env, cwd=None) -> tuple[float, int]:
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    return time.perf_counter() - t, proc.returncode


def _baseline_env(root: Path) -> dict:
    """The environment that makes this interpreter import the baseline checkout (and checks that it does)."""
    env = dict(os.environ, PYTHONPATH=str(root), A2AD_NO_PROGRESS="1")
    # byte-compiled like ours (make bench compiles this checkout): the comparison is of the code, not of caching
    packages = [str(root / p) for p in ("numerics", "theory", "proofs_check")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], capture_output=True, check=True)
    found = subprocess.run([sys.executable, "-c", "import proofs_check; print(proofs_check.__file__)"],
                           capture_output=True, text=True, env=env, cwd=root, check=True).stdout.strip()
    if not Path(found).resolve().is_relative_to(root.resolve()):
        raise SystemExit(f"{BASELINE_ENV}={root}: python imports proofs_check from {found}, not the baseline")
    return env


def main(repeats: int = REPEATS) -> dict:
    a2ad = str(Path(sys.executable).with_name("a2ad"))
    quick = ["verify", "--profile", "quick", "--json"]
    baseline = Path(os.environ[BASELINE_ENV]).resolve() if os.environ.get(BASELINE_ENV) else None
    base_env = _baseline_env(baseline) if baseline else None
    out, codes = {"cold": [], "warm": [], "full": [], "baseline": []}, []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(repeats):  # interleaved, so a change of load hits every variant alike
            env = dict(os.environ, A2AD_CACHE_DIR=str(Path(tmp) / f"cache{k}"), A2AD_NO_PROGRESS="1")
            for kind in ("cold", "warm"):  # a fresh cache directory, then the same one again
                seconds, code = _wall([a2ad, *quick], env)
                out[kind].append(seconds)
                codes.append(code)
            if baseline:
                seconds, code = _wall([sys.executable, "-m", "proofs_check.cli", *quick], base_env, cwd=baseline)
                out["baseline"].append(seconds)
                codes.append(code)
        env = dict(os.environ, A2AD_CACHE_DIR=str(Path(tmp) / "cache0"), A2AD_NO_PROGRESS="1")
        seconds, code = _wall([a2ad, "verify", "--profile", "full", "--json"], env)
        out["full"].append(seconds)
        codes.append(code)
    med = {k: statistics.median(v) for k, v in out.items() if v}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"a2ad verify --profile quick: cold cache {med['cold']:.1f} s, warm cache {med['warm']:.1f} s "
          f"(medians of {repeats}); --profile full (warm) {med['full']:.1f} s (target <= 60 s); "
          f"exit codes {sorted(set(codes))}; load average {load:.1f}")
    result = {"quick_cold_seconds": out["cold"], "quick_warm_seconds": out["warm"], "full_seconds": out["full"],
              "medians": med, "exit_codes": codes, "load_average": load}
    if baseline:
        ratios = {kind: med["baseline"] / med[kind] for kind in ("warm", "cold")}
        print(f"  side by side with {baseline}: its quick run {med['baseline']:.1f} s = "
              f"{ratios['warm']:.2f}x our warm-cache run, {ratios['cold']:.2f}x our cold one "
              f"(target >= {TARGET_RATIO}x)")
        result.update(baseline=str(baseline), baseline_seconds=out["baseline"], ratio_to_baseline=ratios)
    else:
        print(f"  (set {BASELINE_ENV} to a checkout of older code to print the side-by-side ratio)")
    return result


if __name__ == "__main__":
    main()
