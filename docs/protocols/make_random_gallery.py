"""Regenerate the random-protocol gallery: examples/random_*.json, docs/protocols/random_*.rst and
*.png, and docs/protocols/random_gallery.json (the table of derived values beside their Monte Carlo estimates).

Run from the repository root: ``.venv/bin/python docs/protocols/make_random_gallery.py``.
Each page shows what the random compiler derived (and proved, V1), a figure of the stationary
mean and spread against Monte Carlo over drawn schedules of the real agents
(numerics.protocol.random_simulate, which never calls the derived formulas), and what randomness
changes against the deterministic protocol (R1-R3).
"""
from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from make_gallery import AGENTS  # noqa: E402

from numerics.protocol import config  # noqa: E402
from numerics.protocol.random_simulate import monte_carlo  # noqa: E402
from proofs_check.claims.r_random import _raw  # noqa: E402
from theory.protocol import random_gallery as RG, random_report as RR  # noqa: E402
from theory.protocol.random_compiler import compile_random  # noqa: E402
from theory.protocol.random_evaluation import moments, numeric  # noqa: E402

SEED = 2026
RUNS = 20000  # drawn schedules per protocol (standard errors ~ 0.7 % of the spread)
ROUNDS = 200  # rounds per run: the slowest gallery rate is below 0.9, so rate^200 < 1e-9
# Rates from Monte Carlo: coupled runs (same schedules, two initial states) between these rounds. The
# mean-square rate is carried by rare schedules (an agent that is not overwritten for many rounds has
# probability ~ 2^-t), which a finite sample misses at large t: short windows keep them visible, at the
# price of some transient bias; the table reports the estimate as it is.
RATE_ROUNDS = (4, 12)
# The mean's decay is read over a later window: past most of the faster modes' transient, early enough
# that the sample mean of the difference is not sampling noise (whose relative size grows as
# (mean-square rate / mean rate)^t / sqrt(RUNS)). Both windows bias the estimates by a few per cent.
MEAN_RATE_ROUNDS = (8, 20)


def config_for(e: RG.RandomEntry) -> dict:
    K = e.instance.K
    return {"agents": AGENTS[:K], "initial_message": [0.0, 0.0], "protocol": _raw(e.instance)}


def mc(system, rp, rounds: int, runs: int, seed: int) -> np.ndarray:
    G = np.stack([a.Gamma for a in system.agents])
    H = np.stack([a.geometry.H for a in system.agents])
    b = np.stack([a.geometry.H @ a.w_star for a in system.agents])
    return monte_carlo(G, H, b, [1] * len(system.agents), rp, rounds, runs, seed)


def mc_rates(system) -> tuple[float, float]:
    """Mean and mean-square rates per round from coupled runs: the difference of two runs with the same
    schedules is the random product of the Phi_k applied to the initial difference."""
    rp = system.random
    rng = np.random.default_rng(SEED)
    other = dataclasses.replace(rp, initial=rng.standard_normal(rp.initial.shape))
    t0, t1 = RATE_ROUNDS
    m0, m1 = MEAN_RATE_ROUNDS
    diffs = {}
    for t in sorted({t0, t1, m0, m1}):
        diffs[t] = (mc(system, other, t, RUNS, SEED) - mc(system, rp, t, RUNS, SEED)).reshape(RUNS, -1)
    ms = (np.mean(np.sum(diffs[t1] ** 2, axis=1)) / np.mean(np.sum(diffs[t0] ** 2, axis=1))) ** (1 / (2 * (t1 - t0)))
    mean = (np.linalg.norm(diffs[m1].mean(axis=0)) / np.linalg.norm(diffs[m0].mean(axis=0))) ** (1 / (m1 - m0))
    return float(mean), float(ms)


def page(e: RG.RandomEntry, doc: dict, row: dict) -> str:
    title = e.title
    out = [title, "=" * len(title), "",
           f"**What randomness changes.** {e.changes}", "",
           f"The protocol (``examples/random_{e.key}.json``, the numbers used below):", "",
           f".. literalinclude:: ../../examples/random_{e.key}.json", "   :language: json", "",
           "Derived by the random compiler (every protocol-specific object below is proved by substituting it "
           "back, V1)::", "", f"   a2ad derive --protocol examples/random_{e.key}.json --format text", "",
           "Mean and mean-square rates per round, and the generalised Stein equation of the covariance:", "",
           ".. math::", "", "   " + doc["mean_square_condition"]["latex"], "",
           ".. math::", "", "   " + doc["stein_equation"]["latex"], ""]
    if doc.get("definitions"):
        out += ["Named blocks of the elimination (Schur complements of the first-moment system reduced to the "
                "messages written in each alternative; ``2B``: the message B writes in alternative 2):", ""]
        for df in doc["definitions"]:
            out += [".. math::", "", f"   {df['name']} = {df['latex']}", ""]
    if doc["inverses"]:
        out += ["Pivots of the block elimination:", ""]
        for inv in doc["inverses"]:
            out += [".. math::", "", f"   {inv['name']} = \\Big({inv['latex']}\\Big)^{{-1}}", ""]
    if "residuals" in doc:
        out += ["Stationary mean residuals in the gaps between targets:", ""]
        for name, r in doc["residuals"].items():
            out += [".. math::", "", f"   \\mu_{{{name}}} - w^*_{{{name}}} = {r['latex']}", ""]
    else:
        out += ["The stationary mean is given by the conditional first-moment equations "
                r":math:`q_l = \sum_j P_{jl} (\Phi_j q_j + \pi_j \psi_j)`, :math:`\mu = \sum_l q_l` "
                "(" + "; ".join(doc["notes"]) + ").", ""]
    if doc["law"] == "markov":
        out += ["The conditional first moments were reduced exactly to the messages written in each alternative "
                "(an agent that does not write keeps its message, a scalar block), then solved by block "
                "elimination; the conditional second-moment equations :math:`Q_l` (``--format json``, key "
                "``second_moment``) are each re-derived from the alternatives' phases, the expectation taken "
                "term by term, and checked to equal the displayed ones (V1).", ""]
    out += ["How the alternatives move the mean (the first three shown; zero for every alternative iff the "
            "spread is zero, R2):", ""]
    for k, a in enumerate(doc["alternatives"][:3]):
        for nm, d in a["deviation"].items():
            if d["text"] != "0":
                out += [".. math::", "", f"   d_{{{k + 1},{nm}}} = {d['latex']}", ""]
    out += [f".. image:: random_{e.key}.png", f"   :alt: {e.title}: derived stationary mean and spread against "
            "Monte Carlo", "",
            "With the numbers above: mean-square rate "
            f"{row['contraction_rate']:.4f} per round (Monte Carlo {row['contraction_rate_mc']:.4f}), mean rate "
            f"{row['mean_rate']:.4f} (Monte Carlo {row['mean_rate_mc']:.4f}); total spread "
            f"{row['spread']:.4g} (Monte Carlo {row['spread_mc']:.4g}).", ""]
    return "\n".join(out)


def figure(e, names, th, z, path: Path, d: int) -> None:
    w = {a["name"]: np.array(a["target"]) for a in AGENTS}
    K = len(names)
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 3.6))
    x = np.arange(K)
    plateau = [np.linalg.norm(th.mean[i * d:(i + 1) * d] - w[n]) for i, n in enumerate(names)]
    mc_mean = z.mean(axis=0)
    plateau_mc = [np.linalg.norm(mc_mean[i * d:(i + 1) * d] - w[n]) for i, n in enumerate(names)]
    axes[0].bar(x - 0.2, plateau, 0.4, label="derived")
    axes[0].bar(x + 0.2, plateau_mc, 0.4, label=f"Monte Carlo ({RUNS} schedules)")
    axes[0].set_xticks(x, names)
    axes[0].set_ylabel(r"$\|\mu_i - w_i^*\|$ (mean plateau)")
    axes[0].legend(fontsize=7)
    spread = [np.trace(th.covariance[i * d:(i + 1) * d, i * d:(i + 1) * d]) ** 0.5 for i in range(K)]
    C = np.cov(z, rowvar=False)
    spread_mc = [np.trace(C[i * d:(i + 1) * d, i * d:(i + 1) * d]) ** 0.5 for i in range(K)]
    axes[1].bar(x - 0.2, spread, 0.4, label="derived (Stein equation)")
    axes[1].bar(x + 0.2, spread_mc, 0.4, label="Monte Carlo")
    axes[1].set_xticks(x, names)
    axes[1].set_ylabel(r"$\sqrt{\mathrm{tr}\, C_i}$ (stationary spread)")
    axes[1].legend(fontsize=7)
    fig.suptitle(e.title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    rows = {}
    for e in RG.entries():
        cfg = config_for(e)
        (ROOT / "examples" / f"random_{e.key}.json").write_text(json.dumps(cfg, indent=2) + "\n")
        system = config.parse(cfg)
        d = system.agents[0].w_star.shape[0]
        names = list(e.instance.names)
        doc = RR.derived_random(compile_random(e.rspec))  # symbolic probabilities where the entry has them
        rc = compile_random(e.instance)
        th = moments(numeric(rc, {a.name: (a.M, a.w_star) for a in system.agents}))
        z = mc(system, system.random, ROUNDS, RUNS, SEED).reshape(RUNS, -1)
        mean_mc, ms_mc = mc_rates(system)
        wst = np.concatenate([a.w_star for a in system.agents])
        row = {"contraction_rate": th.contraction_rate, "contraction_rate_mc": ms_mc,
               "mean_rate": th.mean_rate, "mean_rate_mc": mean_mc,
               "plateau": float(np.linalg.norm(th.mean - wst)),
               "plateau_mc": float(np.linalg.norm(z.mean(axis=0) - wst)),
               "spread": float(np.trace(th.covariance)), "spread_mc": float(np.trace(np.cov(z, rowvar=False)))}
        rows[e.key] = row
        figure(e, names, th, z, HERE / f"random_{e.key}.png", d)
        (HERE / f"random_{e.key}.rst").write_text(page(e, doc, row))
        print(e.key, {k: round(v, 5) for k, v in row.items()})
    (HERE / "random_gallery.json").write_text(json.dumps({"schema_version": 1, "runs": RUNS, "rounds": ROUNDS,
                                                          "seed": SEED, "protocols": rows}, indent=2) + "\n")
    lines = ["Random protocol gallery", "=======================", "",
             "Who speaks next is drawn (independently, or by a Markov chain). Each page gives what the random "
             "compiler derived (R1-R3), a figure of the stationary mean and spread against Monte Carlo over "
             f"{RUNS} drawn schedules of the real agents, and what randomness changes. Rates are per round; the "
             "plateau is the norm of the joint stationary mean minus the targets; the spread is the trace of "
             "the joint stationary covariance (noiseless agents).", "",
             ".. list-table::", "   :header-rows: 1", "",
             "   * - protocol", "     - mean-square rate (MC)", "     - mean rate (MC)", "     - mean plateau (MC)",
             "     - spread (MC)"]
    for key, r in rows.items():
        lines += [f"   * - :doc:`random_{key}`",
                  f"     - {r['contraction_rate']:.4f} ({r['contraction_rate_mc']:.4f})",
                  f"     - {r['mean_rate']:.4f} ({r['mean_rate_mc']:.4f})",
                  f"     - {r['plateau']:.4f} ({r['plateau_mc']:.4f})",
                  f"     - {r['spread']:.3g} ({r['spread_mc']:.3g})"]
    lines += ["", ".. toctree::", "   :maxdepth: 1", ""] + [f"   random_{k}" for k in rows]
    (HERE / "random_index.rst").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
