"""Random protocols (issue 26): the cost of ``predict`` and of the batched Monte Carlo.

1. ``predict`` on random protocols (independent draws and Markov chains) as K, d and the number of
   alternatives grow: the in-process document time (median of several runs) and which solver was used
   (dense Kronecker solve up to 4096 second-moment unknowns, GMRES beyond; dense eigenvalues up to
   600, ARPACK beyond). Target: K <= 4, d <= 4, <= 8 alternatives under 1 s.
   Wall and CPU time are both reported: on a loaded machine multi-threaded BLAS makes wall time
   swing (measured: LAPACK eig of 512 x 512 took 0.26 s of CPU alone and 18 s of wall time under a
   load average of 11 on 2 cores).
2. ``a2ad predict`` wall time (a fresh process, as a user runs it) at K = 4, d = 4, 8 alternatives.
3. ``monte_carlo`` throughput: runs x rounds per second (batched over runs).
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from numerics.protocol import config, evaluate, prediction, random_moments, random_simulate

ROOT = Path(__file__).resolve().parent.parent
REPEATS = 3
TARGET_SECONDS = 1.0


def raw_config(K: int, d: int, n_alt: int, markov: bool, seed: int = 0) -> dict:
    """K agents (SPD geometries, scalar steps), n_alt alternatives: a random speaker hearing a random
    convex mix of the others, or a random gossip pair."""
    rng = np.random.default_rng(seed)
    names = [f"A{k}" for k in range(K)]
    agents = []
    for n in names:
        B = rng.standard_normal((d, d))
        H = B @ B.T / d + np.eye(d)
        agents.append({"name": n, "geometry": H.tolist(), "target": rng.standard_normal(d).tolist(),
                       "preconditioner": float(1 / np.linalg.eigvalsh(H)[-1])})
    alts = []
    for k in range(n_alt):
        if k < K:  # every agent speaks in some alternative: agents i = k mod n_alt together
            phase = {}
            for i in range(k, K, n_alt):
                others = [m for m in names if m != names[i]]
                phase[names[i]] = dict(zip(others, rng.dirichlet(np.ones(len(others))).tolist()))
            alts.append({"rounds": [phase]})
        else:
            a, b = rng.choice(K, size=2, replace=False)
            alts.append({"rounds": [{names[a]: {names[b]: 1.0}, names[b]: {names[a]: 1.0}}]})
    if markov:
        labels = [f"s{k}" for k in range(n_alt)]
        for k, alt in enumerate(alts):
            row = rng.dirichlet(np.ones(n_alt))
            alt.update(name=labels[k], next=dict(zip(labels, row.tolist())))
    else:
        p = rng.dirichlet(np.ones(n_alt))
        for k, alt in enumerate(alts):
            alt["probability"] = float(p[k])
    return {"schema_version": 1, "agents": agents, "protocol": {"random": alts}}


def time_predict(K: int, d: int, n_alt: int, markov: bool) -> dict:
    system = config.parse(raw_config(K, d, n_alt, markov))
    times, cpu = [], []
    for _ in range(REPEATS):
        t, c = time.perf_counter(), time.process_time()
        doc = prediction.predict(system)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    M, c = evaluate.stacked_finite(system)
    solver = random_moments.moments(M, c, system.random).solver
    modes = n_alt if markov else 1
    return {"K": K, "d": d, "alternatives": n_alt, "markov": markov, "unknowns": modes * (K * d) ** 2,
            "seconds": statistics.median(times), "cpu_seconds": statistics.median(cpu), "solver": solver,
            "converges": doc["converges"]}


def cli_wall(K: int, d: int, n_alt: int, markov: bool, raw: dict | None = None) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.json"
        path.write_text(json.dumps(raw if raw is not None else raw_config(K, d, n_alt, markov)))
        times = []
        for _ in range(REPEATS):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "proofs_check.cli", "predict", str(path)], cwd=ROOT, check=True,
                           capture_output=True)
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def monte_carlo_rate(K: int = 3, d: int = 2, n_alt: int = 4, runs: int = 20_000, rounds: int = 50) -> float:
    system = config.parse(raw_config(K, d, n_alt, True))
    G = np.stack([a.Gamma for a in system.agents])
    H = np.stack([a.geometry.H for a in system.agents])
    b = np.stack([a.geometry.H @ a.w_star for a in system.agents])
    t = time.perf_counter()
    random_simulate.monte_carlo(G, H, b, [1] * K, system.random, rounds, runs, seed=0)
    return runs * rounds / (time.perf_counter() - t)


def main() -> dict:
    grid = []
    for markov in (False, True):
        for K, d, n_alt in [(2, 2, 2), (4, 2, 8), (2, 4, 8), (4, 4, 2), (4, 4, 4), (4, 4, 8), (4, 4, 16), (6, 4, 8)]:
            row = time_predict(K, d, n_alt, markov)
            grid.append(row)
            print(f"  predict {'markov' if markov else 'indep.'} K={K} d={d} alternatives={n_alt:2d}: "
                  f"{row['unknowns']:5d} unknowns, {row['seconds'] * 1e3:8.1f} ms wall, "
                  f"{row['cpu_seconds'] * 1e3:8.1f} ms CPU ({row['solver']})", flush=True)
    worst = max(r["seconds"] for r in grid if r["K"] <= 4 and r["d"] <= 4 and r["alternatives"] <= 8)
    wall = cli_wall(4, 4, 8, True)
    baseline = cli_wall(0, 0, 0, False, json.loads((ROOT / "examples" / "two_agents.json").read_text()))
    rate = monte_carlo_rate()
    print(f"  worst in-process predict at K, d <= 4, <= 8 alternatives: {worst:.3f} s (target < {TARGET_SECONDS} s)")
    print(f"  a2ad predict wall time, Markov K=4 d=4 8 alternatives: {wall:.2f} s (includes interpreter start; "
          f"examples/two_agents.json takes {baseline:.2f} s)")
    print(f"  monte_carlo: {rate:,.0f} run-rounds per second (K=3, d=2, 4 alternatives, Markov)")
    return {"predict": grid, "worst_small_seconds": worst, "cli_wall_seconds": wall, "cli_baseline_seconds": baseline,
            "monte_carlo_run_rounds_per_second": rate, "target_seconds": TARGET_SECONDS}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
