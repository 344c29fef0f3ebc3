"""The adaptive helper (C12-C14b): the main agent's error per turn for each helper.

A fixed misaligned helper leaves the plateau ``||G_A Delta||``; an aligned one
converges at ``rho(M_A M_B)``; Newton helpers at ``|1 - alpha| rho(M_A)`` (exact
after one round when ``alpha = 1``); an inexact Newton helper at
``rho(M_A (I - alpha Hhat^{-1} H_A))``; the identification helper is exact from
round d+2; Broyden's iterate ``v_2d`` is ``w_A*`` (C14b), so A is exact from
round 2d+1, up to float64 round-off (the 2d-round termination is exact-arithmetic). Reference slopes are dashed.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from numerics.agents import random_systems
from numerics.dynamics import closed_forms
from numerics.experiments import common, plotting
from numerics.interventions.helper_policies import BroydenPolicy, IdentificationPolicy, NewtonPolicy, RelabellingHelper
from numerics.protocol import simulate

NAME = "helper"
DESCRIPTION = ("main agent's error vs turn for fixed, Newton, inexact-Newton, identification and Broyden helpers "
               "(C12-C14b)")
D = 4
# The CSV's theory column names the quantity as predict does; the legend in words.
LEGEND = {"residual_norm": "plateau", "contraction_rate": "rate"}
SHOWN = {"Newton alpha=1": r"Newton $\alpha = 1$", "Newton alpha=0.5": r"Newton $\alpha = 0.5$"}  # CSV name -> legend
BROYDEN_DPS = 30  # mpmath digits for the Broyden helper: exact termination (C14b) needs more than float64


def run(out_dir: Path, agents: str = "gd", seed: int = 0, quick: bool = False,
        figure_format: str = "png") -> list[Path]:
    new_agent = common.agent_factory(agents, D, seed)
    rng = np.random.default_rng(seed)
    turns = 30 if quick else 40
    H_A = random_systems.spd(rng, D, cond=20.0)
    w_A = rng.standard_normal(D)
    a = new_agent("A", H_A, w_A, step=0.5)
    X_B = rng.standard_normal((2 * D, D))
    H_B = X_B.T @ X_B / len(X_B)
    Gamma_B = 0.5 / np.max(np.linalg.eigvalsh(H_B)) * np.eye(D)
    w_B_mis = w_A + rng.standard_normal(D)
    Hhat = H_A + 0.3 * random_systems.spd(rng, D, cond=3.0)
    u0 = 3 * rng.standard_normal(D)
    probes = np.vstack([u0, u0 + np.eye(D)])
    b_A = a.geometry.b

    def relabelling(policy):
        return RelabellingHelper("B", X_B, Gamma_B, policy)

    fixed = lambda w: common.gd_agent("B", H_B, w, step=0.5)  # noqa: E731 - same mechanism, fixed labels
    M_A, M_B = a.M, fixed(w_A).M
    rho_pair = float(closed_forms.spectral_radius(M_A @ M_B))
    rho_A = float(closed_forms.spectral_radius(M_A))
    G_A, _ = closed_forms.bias_maps(M_A, M_B)
    runs: list[tuple[str, object, np.ndarray, tuple[str, float]]] = [
        ("fixed, misaligned", fixed(w_B_mis), u0, ("residual_norm", float(np.linalg.norm(G_A @ (w_B_mis - w_A))))),
        ("fixed, aligned", fixed(w_A), u0, ("contraction_rate", rho_pair)),
        ("Newton alpha=1", relabelling(NewtonPolicy(H_A, b_A, 1.0)), u0, ("contraction_rate", 0.0)),
        ("Newton alpha=0.5", relabelling(NewtonPolicy(H_A, b_A, 0.5)), u0, ("contraction_rate", 0.5 * rho_A)),
        ("inexact Newton", relabelling(NewtonPolicy(H_A, b_A, 1.0, Hhat)), u0,
         ("contraction_rate", float(closed_forms.spectral_radius(M_A @ (np.eye(D) - np.linalg.solve(Hhat, H_A)))))),
        ("identification", relabelling(IdentificationPolicy(probes)), probes[0], ("exact from round", D + 2)),
        ("Broyden", relabelling(BroydenPolicy(u0, BROYDEN_DPS)), u0, ("exact from round", 2 * D + 1)),
    ]
    rows = []
    fig, axes = plotting.figure(1, 1, width=8.0, height=5.2)
    ax = axes[0, 0]
    t = np.arange(1, turns + 1)
    for k, (label, helper, start, (kind, value)) in enumerate(runs):
        e = np.linalg.norm(simulate.run([a, helper], start, turns)[:, 0] - w_A, axis=1)
        rows += [[label, i + 1, e[i], kind, value] for i in range(turns)]
        colour = f"C{k}"
        ax.semilogy(t, common.floor(e), "-o", ms=3, color=colour,
                    label=f"{SHOWN.get(label, label)} ({LEGEND.get(kind, kind)} {value:.3g})")
        if kind == "residual_norm":
            ax.axhline(value, color=colour, ls="--", lw=1)
        elif kind == "contraction_rate":
            if value > 0:  # alpha = 1 has rate 0: exact after one round, nothing to draw
                ax.semilogy(t, e[0] * value ** (t - 1), "--", lw=1, color=colour)
        else:
            ax.axvline(value, color=colour, ls=":", lw=1)
    ax.plot([], [], "k--", lw=1, label="theory: plateau or rate (dashed)")
    ax.plot([], [], "k:", lw=1, label="theory: exact from this round (dotted)")
    ax.set_xlabel(r"turn $t$ (A's $t$-th message)")
    ax.set_ylabel(r"main agent's error $\|u_t - w_A^*\|$ (units of $w^*$)")
    ax.set_title(f"Main agent ({agents.upper()}) with different helpers (C12-C14b); one colour per helper")
    ax.grid(alpha=0.3, which="both")
    plotting.legend_outside(ax)
    out = Path(out_dir)
    return [plotting.write_csv(out / "helper.csv", ["helper", "turn", "main_sim_residual_norm", "theory",
                                                    "theory_value"], rows),
            plotting.save(fig, out / "helper.png", figure_format)]
