"""How the covariance (Stein) solve and `a2ad fit` scale with the dimension d = 25, 50, 100, 200.

Side by side in one run (medians of REPEATS interleaved runs, one BLAS thread as `a2ad` uses):
the package's Schur solve, scipy's ``solve_discrete_lyapunov`` (its default, the bilinear transform
at these sizes) and, at d = 25 only, the dense Kronecker reference (O(d^6): 23 s at d = 80).
``fit`` is :func:`numerics.fit.fitting.fit_transcript` (what `a2ad fit` runs, without the figure)
on a noisy two-agent GD transcript of max(ROUNDS, ROUNDS_PER_DIM d) rounds with FIT_BOOTSTRAP resamples. The exponent
is the log-log least-squares slope over d (pass: at most MAX_EXPONENT). Last, one `a2ad fit` of a
d = 60 transcript with the default bootstrap, timed end to end (target: at most 60 s).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DIMS = (25, 50, 100, 200)
REPEATS = 5
FIT_REPEATS = 3
ROUNDS = 400
# With fewer than ~10 d rounds most pairs-bootstrap refits at d >= 100 diverge (fitted rho >= 1), and a
# diverging refit skips the covariance solve: the timing would leave out what it is meant to measure.
ROUNDS_PER_DIM = 10
FIT_BOOTSTRAP = 10  # per-resample cost is what scales; the default 200 would take minutes at d = 200
KRONECKER_DIMS = (25,)
MAX_EXPONENT = 3.5
CLI_D, CLI_TARGET_SECONDS = 60, 60.0
RATE = 0.95
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
ROOT = Path(__file__).resolve().parent.parent


def stein_round(rng, d: int):
    """A Gaussian ``J`` scaled to ``rho(J) = RATE`` (non-normal, complex eigenvalues) and a PSD ``Q``."""
    J = rng.standard_normal((d, d))
    J *= RATE / np.max(np.abs(np.linalg.eigvals(J)))
    R = rng.standard_normal((d, d))
    return J, R @ R.T / d


def transcript(d: int, rounds: int, seed: int):
    """A noisy two-agent GD conversation (noise sd 0.1) as a transcript."""
    from numerics.dynamics import noisy
    from numerics.io import transcripts
    from numerics.protocol import simulate
    from proofs_check.verification.instances import random_gd_agent

    rng = np.random.default_rng(seed)
    agents = [noisy.NoisyAgent(random_gd_agent(rng, d, name), 0.01 * np.eye(d), seed + k)
              for k, name in enumerate("AB")]
    v0 = rng.standard_normal(d)
    return transcripts.from_run(agents, v0, simulate.run(agents, v0, rounds))


def exponent(dims, seconds) -> float:
    """Least-squares slope of log(seconds) against log(d)."""
    return float(np.polyfit(np.log(dims), np.log(seconds), 1)[0])


def medians(fns: dict, repeats: int) -> dict:
    """Median seconds of each callable, the callables interleaved so load changes hit all alike."""
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def measure() -> dict:
    from scipy.linalg import solve_discrete_lyapunov

    from numerics.dynamics import lyapunov
    from numerics.fit import fitting

    rng = np.random.default_rng(0)
    solve = {"package (Schur)": [], "scipy": [], "Kronecker reference": {}}
    fit = []
    for d in DIMS:
        J, Q = stein_round(rng, d)
        fns = {"package (Schur)": lambda: lyapunov.discrete_lyapunov(J, Q),
               "scipy": lambda: solve_discrete_lyapunov(J, Q)}
        if d in KRONECKER_DIMS:
            fns["Kronecker reference"] = lambda: lyapunov.kronecker_lyapunov(J, Q)
        for k, v in medians(fns, REPEATS).items():
            if k == "Kronecker reference":
                solve[k][d] = v
            else:
                solve[k].append(v)
        tr = transcript(d, max(ROUNDS, ROUNDS_PER_DIM * d), d)
        fit.append(medians({"fit": lambda: fitting.fit_transcript(tr, bootstrap=FIT_BOOTSTRAP, seed=0)},
                           FIT_REPEATS)["fit"])
    return {"dims": list(DIMS), "solve_seconds": solve, "fit_seconds": fit}


def cli_fit_seconds() -> float:
    """`a2ad fit` of a d = CLI_D, ROUNDS-round transcript with the default bootstrap, end to end."""
    with tempfile.TemporaryDirectory() as tmp:
        path = transcript(CLI_D, ROUNDS, CLI_D).write(Path(tmp) / "transcript.jsonl")
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "proofs_check.cli", "fit", str(path), "--json",
                        "--figure", str(Path(tmp) / "fit.png")], capture_output=True, check=True, cwd=ROOT)
        return time.perf_counter() - t


def main() -> dict:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, **ONE_THREAD, PYTHONPATH=path)
    child = subprocess.run([sys.executable, __file__, "--measure"], capture_output=True, text=True, check=True,
                           env=env, cwd=ROOT)
    out = json.loads(child.stdout)
    dims = out["dims"]
    solve = out["solve_seconds"]
    out["exponents"] = {k: exponent(dims, solve[k]) for k in ("package (Schur)", "scipy")}
    out["exponents"]["fit"] = exponent(dims, out["fit_seconds"])
    out["cli_fit_seconds_d60"] = cli_fit_seconds()
    out["pass"] = (max(out["exponents"][k] for k in ("package (Schur)", "fit")) <= MAX_EXPONENT
                   and out["cli_fit_seconds_d60"] <= CLI_TARGET_SECONDS)
    ms = lambda xs: ", ".join(f"{1e3 * x:.1f}" for x in xs)  # noqa: E731
    print(f"Stein solve P = J P J^T + Q (rho {RATE}), d = {dims}, medians of {REPEATS}, ms: "
          f"package Schur [{ms(solve['package (Schur)'])}] -> d^{out['exponents']['package (Schur)']:.2f}; "
          f"scipy [{ms(solve['scipy'])}] -> d^{out['exponents']['scipy']:.2f}; Kronecker reference "
          + "; ".join(f"d={d}: {1e3 * s:.1f} ms" for d, s in solve["Kronecker reference"].items()))
    print(f"fit_transcript (max({ROUNDS}, {ROUNDS_PER_DIM} d) rounds, bootstrap {FIT_BOOTSTRAP}), "
          f"medians of {FIT_REPEATS}, s: "
          f"[{', '.join(f'{s:.2f}' for s in out['fit_seconds'])}] -> d^{out['exponents']['fit']:.2f} "
          f"(pass: exponents <= {MAX_EXPONENT})")
    print(f"a2ad fit, d = {CLI_D}, {ROUNDS} rounds, default bootstrap: {out['cli_fit_seconds_d60']:.1f} s "
          f"(target <= {CLI_TARGET_SECONDS:.0f} s); {'PASS' if out['pass'] else 'FAIL'}")
    return out


if __name__ == "__main__":
    if sys.argv[1:] == ["--measure"]:
        print(json.dumps(measure()))
    else:
        main()
