"""Regenerate the random-protocol gallery: examples/random_*.json, docs/protocols/random_*.rst and
*.png, and docs/protocols/random_gallery.json (the table of derived values beside their Monte Carlo estimates).

Run from the repository root: ``.venv/bin/python docs/protocols/make_random_gallery.py``.
Each page shows what the random compiler derived (and proved, V1), a figure of the stationary
mean and spread against Monte Carlo over drawn schedules of the real agents
(numerics.protocol.random_simulate, which never calls the derived formulas), and what randomness
changes against the deterministic protocol (R1-R3).
"""
from __future__ import annotations

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
from numerics.protocol.random_estimates import (  # noqa: E402
    N_BOOT,
    ROUNDOFF,
    Z_BAR,
    StationaryEstimate,
    bar,
    estimate_rates,
    stationary_estimates,
    within_bar,
)
from numerics.protocol.random_simulate import monte_carlo  # noqa: E402
from proofs_check.claims.r_random import _raw  # noqa: E402
from theory.protocol import random_gallery as RG, random_report as RR  # noqa: E402
from theory.protocol.random_compiler import compile_random  # noqa: E402
from theory.protocol.random_evaluation import moments, numeric  # noqa: E402

SEED = 2026
RUNS = 20000  # drawn schedules per protocol for the stationary mean and spread
ROUNDS = 400  # rounds per run: the slowest gallery mean-square rate is below 0.91, and 0.91^400 < 1e-16
# Rounds drawn for the rates (numerics.protocol.random_estimates: the mean of Phi and of Phi (x) Phi over
# drawn rounds of the real agents): bootstrap standard errors ~ 3e-4 of the rates at this size.
RATE_DRAWS = 1_000_000


def config_for(e: RG.RandomEntry) -> dict:
    K = e.instance.K
    return {"agents": AGENTS[:K], "initial_message": [0.0, 0.0], "protocol": _raw(e.instance)}


def gd_arrays(system) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The agents' ``Gamma``, ``H`` and ``b = H w_star``, stacked (K, d, d), (K, d, d), (K, d)."""
    G = np.stack([a.Gamma for a in system.agents])
    H = np.stack([a.geometry.H for a in system.agents])
    b = np.stack([a.geometry.H @ a.w_star for a in system.agents])
    return G, H, b


def mc(system, rp, rounds: int, runs: int, seed: int) -> np.ndarray:
    return monte_carlo(*gd_arrays(system), [1] * len(system.agents), rp, rounds, runs, seed)


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
            "With the numbers above (Monte Carlo beside each derived value, with its bar: "
            f"{Z_BAR:g} standard errors plus the bootstrap bias): mean-square rate {row['contraction_rate']:.4f} per "
            f"round (Monte Carlo {_pm(row, 'contraction_rate')}), mean rate {row['mean_rate']:.4f} "
            f"(Monte Carlo {_pm(row, 'mean_rate')}); mean plateau {row['plateau']:.4f} (Monte Carlo "
            f"{_pm(row, 'plateau')}); total spread {_num(row['spread'])} (Monte Carlo {_pm(row, 'spread')}).", ""]
    return "\n".join(out)


def _num(x: float) -> str:
    """A table number: 4 decimals, or ``0`` below the round-off bar (zero spread)."""
    return "0" if abs(x) < ROUNDOFF else f"{x:.4f}"


def _pm(row: dict, key: str) -> str:
    """``estimate +- bar`` of a table entry."""
    return f"{_num(row[key + '_mc'])} ± {row[key + '_bar']:.1e}"


def figure(e: RG.RandomEntry, names: list, th, st: StationaryEstimate, row: dict, path: Path, d: int) -> None:
    """Per agent: derived plateau and spread beside Monte Carlo (error bars: the agreement bar); and the
    two rates beside their Monte Carlo estimates."""
    w = {a["name"]: np.array(a["target"]) for a in AGENTS}
    K = len(names)
    fig, axes = plt.subplots(1, 3, figsize=(13.0, 3.6), gridspec_kw={"width_ratios": [K, K, 2]})
    x = np.arange(K)
    plateau = [np.linalg.norm(th.mean[i * d:(i + 1) * d] - w[n]) for i, n in enumerate(names)]
    spread = [np.trace(th.covariance[i * d:(i + 1) * d, i * d:(i + 1) * d]) ** 0.5 for i in range(K)]
    mc_label = f"Monte Carlo ({RUNS} schedules) ± bar"
    for ax, derived, est, se, ylabel, dlabel in (
            (axes[0], plateau, st.plateau_i, st.plateau_i_se, r"$\|\mu_i - w_i^*\|$ (mean plateau)", "derived"),
            (axes[1], spread, st.spread_i, st.spread_i_se, r"$\sqrt{\mathrm{tr}\, C_i}$ (stationary spread)",
             "derived (Stein equation)")):
        ax.bar(x - 0.2, derived, 0.4, label=dlabel)
        ax.bar(x + 0.2, est, 0.4, yerr=[bar(s) for s in se], capsize=3, label=mc_label)
        ax.set_xticks(x, names)
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7)
    keys = ("contraction_rate", "mean_rate")
    xr = np.arange(2)
    axes[2].bar(xr - 0.2, [row[k] for k in keys], 0.4, label="derived")
    axes[2].bar(xr + 0.2, [row[k + "_mc"] for k in keys], 0.4, yerr=[row[k + "_bar"] for k in keys], capsize=3,
                label=f"Monte Carlo ({RATE_DRAWS:.0e} drawn rounds) ± bar")
    axes[2].set_xticks(xr, ["mean-square", "mean"])
    axes[2].set_ylabel("rate per round")
    axes[2].legend(fontsize=7)
    fig.suptitle(e.title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table_row(system, th, z: np.ndarray) -> tuple[dict, StationaryEstimate]:
    """Derived values beside their Monte Carlo estimates, standard errors, biases and bars (the JSON row)."""
    rates = estimate_rates(*gd_arrays(system), [1] * len(system.agents), system.random, RATE_DRAWS, SEED)
    wst = np.stack([a.w_star for a in system.agents])
    st = stationary_estimates(z, wst)
    derived = {"contraction_rate": th.contraction_rate, "mean_rate": th.mean_rate,
               "plateau": float(np.linalg.norm(th.mean - wst.ravel())), "spread": float(np.trace(th.covariance))}
    est = {"contraction_rate": (rates.contraction_rate, rates.contraction_rate_se, rates.contraction_rate_bias),
           "mean_rate": (rates.mean_rate, rates.mean_rate_se, rates.mean_rate_bias),
           "plateau": (st.plateau, st.plateau_se, 0.0), "spread": (st.spread, st.spread_se, 0.0)}
    row: dict = {}
    for key, value in derived.items():
        m, se, bias = est[key]
        row |= {key: value, key + "_mc": m, key + "_se": se, key + "_bias": bias, key + "_bar": bar(se, bias),
                key + "_agrees": within_bar(value, m, se, bias)}
    return row, st


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
        z = mc(system, system.random, ROUNDS, RUNS, SEED)
        row, st = table_row(system, th, z)
        rows[e.key] = row
        figure(e, names, th, st, row, HERE / f"random_{e.key}.png", d)
        (HERE / f"random_{e.key}.rst").write_text(page(e, doc, row))
        print(e.key, {k: (round(v, 5) if isinstance(v, float) else v) for k, v in row.items()})
    bad = [f"{k}.{c}" for k, r in rows.items() for c in ("contraction_rate", "mean_rate", "plateau", "spread")
           if not r[c + "_agrees"]]
    (HERE / "random_gallery.json").write_text(json.dumps({
        "schema_version": 2, "runs": RUNS, "rounds": ROUNDS, "rate_draws": RATE_DRAWS, "bootstrap": N_BOOT,
        "seed": SEED, "z_bar": Z_BAR, "roundoff": ROUNDOFF,
        "bar": "z_bar * se + |bias| + roundoff (bias: bootstrap, rates only)", "protocols": rows}, indent=2) + "\n")
    lines = ["Random protocol gallery", "=======================", "",
             "Who speaks next is drawn (independently, or by a Markov chain). Each page gives what the random "
             "compiler derived (R1-R3), a figure of the stationary mean and spread against Monte Carlo over "
             f"{RUNS} drawn schedules of the real agents, and what randomness changes. Rates are per round; the "
             "plateau is the norm of the joint stationary mean minus the targets; the spread is the trace of "
             "the joint stationary covariance (noiseless agents).", "",
             "Every Monte Carlo value is computed without the derived formulas. Plateau and spread: the "
             f"messages of {RUNS} independent runs of {ROUNDS} drawn rounds of the GD agents. Rates: the "
             "round map of each alternative is read off one round of the agents (from the zero state and the "
             "unit states), and the mean of :math:`\\Phi` and of :math:`\\Phi \\otimes \\Phi` is taken over "
             f"{RATE_DRAWS:,} drawn rounds (for a chain: transitions, conditionally on the previous "
             "alternative); the rates are their spectral radii (the square root for the mean square). "
             f"Each estimate is given ± its bar: {Z_BAR:g} standard errors (sampling; a parametric bootstrap "
             f"of {N_BOOT} replicates for the rates) plus, for the rates, the bootstrap estimate of the "
             "bias of a spectral radius of an estimated operator (of the order of a standard error where the "
             "largest modulus is attained by several eigenvalues, as in the group chat), plus "
             f"{ROUNDOFF:g} for round-off. Every derived value lies within its bar"
             + ("." if not bad else f" except {', '.join(bad)}."), "",
             ".. list-table::", "   :header-rows: 1", "",
             "   * - protocol", "     - mean-square rate (MC ± bar)", "     - mean rate (MC ± bar)",
             "     - mean plateau (MC ± bar)", "     - spread (MC ± bar)"]
    for key, r in rows.items():
        lines += [f"   * - :doc:`random_{key}`"]
        lines += [f"     - {_num(r[c])} ({_pm(r, c)})" for c in ("contraction_rate", "mean_rate", "plateau", "spread")]
    lines += ["", ".. toctree::", "   :maxdepth: 1", ""] + [f"   random_{k}" for k in rows]
    (HERE / "random_index.rst").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
