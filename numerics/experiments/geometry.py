"""Per-direction view of the biased equilibrium (C5).

Both agents share an eigenbasis; in direction k their per-turn gains are
``a_k = 1 - m_A,k`` and ``b_k = 1 - m_B,k``. C5: the share of the gap ``Delta_k``
that A gives up is ``|e_A,k| / |Delta_k| = (1 - a_k) b_k / (a_k + b_k - a_k b_k)``;
the better-informed agent (larger gain) keeps its target in that direction.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from numerics.agents import random_systems
from numerics.experiments import common, plotting

NAME = "geometry"
DESCRIPTION = "per eigen-direction, which agent keeps its target (C5)"
D = 6


def shares(a, b):
    """C5 fractions of the gap borne by A and by B in one direction with gains a, b."""
    den = a + b - a * b
    return (1 - a) * b / den, (1 - b) * a / den


def run(out_dir: Path, agents: str = "gd", seed: int = 0, quick: bool = False,
        figure_format: str = "png") -> list[Path]:
    new_agent = common.agent_factory(agents, D, seed)
    rng = np.random.default_rng(seed)
    Q = random_systems.orthogonal(rng, D)
    lam_A = np.geomspace(1.0, 0.05, D)  # A informed in the first directions,
    lam_B = lam_A[::-1]                  # B in the last ones
    H_A, H_B = Q @ np.diag(lam_A) @ Q.T, Q @ np.diag(lam_B) @ Q.T
    w_A, w_B = rng.standard_normal(D), rng.standard_normal(D)
    a, b = new_agent("A", H_A, w_A, step=0.9), new_agent("B", H_B, w_B, step=0.9)
    last = common.tail([a, b], 300 if quick else 3000)
    Delta_k = Q.T @ (w_B - w_A)
    sim_A, sim_B = np.abs(Q.T @ (last[0] - w_A) / Delta_k), np.abs(Q.T @ (last[1] - w_B) / Delta_k)
    # eigenvalues of K_A, K_B in the shared basis (exact for GD agents; for LSA agents Gamma_eff
    # is only close to a multiple of I, so the basis is shared only approximately)
    gain_A, gain_B = np.diag(Q.T @ a.K @ Q), np.diag(Q.T @ b.K @ Q)
    pred_A, pred_B = shares(gain_A, gain_B)
    rows = [[k, gain_A[k], gain_B[k], pred_A[k], sim_A[k], pred_B[k], sim_B[k]] for k in range(D)]

    fig, axes = plotting.figure(1, 2, width=5.5, height=4.0)
    ax = axes[0, 0]
    k = np.arange(D)
    ax.bar(k - 0.2, pred_A, 0.4, color="C0", alpha=0.6, label="A gives up (C5)")
    ax.bar(k + 0.2, pred_B, 0.4, color="C3", alpha=0.6, label="B gives up (C5)")
    ax.plot(k - 0.2, sim_A, "ko", mfc="none", label="simulated")
    ax.plot(k + 0.2, sim_B, "ko", mfc="none")
    ax.set_xticks(k, [f"{i + 1}\n$a={gain_A[i]:.2f}$\n$b={gain_B[i]:.2f}$" for i in k], fontsize=7)
    ax.set_xlabel(r"eigen-direction $k$ of the shared basis, with the agents' gains per turn" "\n"
                  r"$a_k$, $b_k$: the eigenvalues of $K_A$, $K_B$ (A's and B's gains), how strongly each prompt "
                  r"informs direction $k$")
    ax.set_ylabel(r"share of the gap given up $|e_k| / |\Delta_k|$")
    ax.set_title("share of the gap each agent gives up")
    plotting.legend_outside(ax)
    grid = np.linspace(0.02, 1.0, 200)
    ga, gb = np.meshgrid(grid, grid)
    sa, sb = shares(ga, gb)
    ax = axes[0, 1]
    # reversed map: blue = A bears the disagreement, as A's bars are blue on the left
    im = ax.pcolormesh(ga, gb, sa / np.maximum(sa + sb, 1e-300), cmap="coolwarm_r", vmin=0, vmax=1, shading="auto")
    ax.plot(gain_A, gain_B, "ko", mfc="none", label=r"this run's directions $(a_k, b_k)$")
    ax.plot(grid, grid, "k--", lw=0.8, label=r"$a_k = b_k$")
    fig.colorbar(im, ax=ax, label="fraction of the disagreement borne by A", location="left", pad=0.3)
    ax.set_xlabel(r"A's gain $a_k$ (per turn, dimensionless)")
    ax.set_ylabel(r"B's gain $b_k$ (per turn, dimensionless)")
    ax.set_title("the larger gain keeps its target")
    plotting.legend_outside(ax)
    fig.suptitle(f"Per-direction split of the disagreement (C5), {agents.upper()} agents", fontsize=10)
    out = Path(out_dir)
    columns = ["direction", "gain_A", "gain_B", "predicted_share_A", "simulated_share_A", "predicted_share_B",
               "simulated_share_B"]
    return [plotting.write_csv(out / "geometry.csv", columns, rows),
            plotting.save(fig, out / "geometry.png", figure_format)]
