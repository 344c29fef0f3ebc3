"""V7: two trained LSA agents with different input covariances and misaligned targets.

Left: each agent's error per turn (real forward passes) with the C3 plateau built from
its ``Gamma_eff`` and its prompt as a dashed line. Right: ``Gamma_eff`` against
``Gamma*`` (L2), entry by entry.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from numerics.experiments import common, plotting
from numerics.lsa import trained_pair

NAME = "trained-lsa"
DESCRIPTION = "two LSA agents trained on different Sigma: simulated plateaus vs C3 from Gamma_eff; Gamma_eff vs Gamma*"


def run(out_dir: Path, agents: str = "lsa", seed: int = 0, quick: bool = False,
        parameterisation: str = "full", figure_format: str = "png") -> list[Path]:
    common.check_agents(agents, supported=common.AGENT_KINDS)  # LSA agents either way: that is the experiment
    tp = trained_pair.train_pair(800 if quick else 3000, seed=seed, parameterisation=parameterisation,
                                 turns=60 if quick else 100)
    rows = []
    fig, axes = plotting.figure(1, 2, width=5.5, height=4.2)
    ax = axes[0, 0]
    t = np.arange(1, len(tp.messages) + 1)
    colours = ("C0", "C3")  # A blue, B red in both panels
    for i, (agent, pred, colour) in enumerate(zip(tp.agents, tp.predicted, colours)):
        err = np.linalg.norm(tp.messages[:, i] - agent.w_star, axis=1)
        ax.axhline(np.linalg.norm(pred), color=colour, ls="--", lw=2.5, alpha=0.5,
                   label=rf"{agent.name}: C3 plateau from $\Gamma_{{\mathrm{{eff}}}}$")
        ax.plot(t, err, color=colour, lw=1, label=f"{agent.name}: simulated (real forward passes)")
        rows += [[agent.name, k + 1, err[k], np.linalg.norm(pred)] for k in range(len(t))]
    errs = tp.plateau_errors()
    ax.set_title(f"plateau vs C3: rel. error {errs[0]:.1e} (A), {errs[1]:.1e} (B)")
    ax.set_xlabel(r"turn $t$ (rounds)")
    ax.set_ylabel(r"distance to own target (units of $w^*$)")
    ax.grid(alpha=0.3)
    plotting.legend_outside(ax)
    ax = axes[0, 1]
    k = np.arange(1, trained_pair.D + 1)
    for agent, res, colour, S in zip(tp.agents, tp.training, colours, (trained_pair.SIGMA_A, trained_pair.SIGMA_B)):
        ax.plot(k, np.diag(res.Gamma_star), "-", color=colour, lw=2.5, alpha=0.5,
                label=rf"{agent.name}: $\Gamma^*$ (L2), $\Sigma = \mathrm{{diag}}({', '.join(f'{s:.2g}' for s in S)})$")
        ax.plot(k, np.diag(res.Gamma_eff), "o", color=colour, mfc="none",
                label=rf"{agent.name}: trained $\Gamma_{{\mathrm{{eff}}}}$ (rel. error {res.rel_error:.1e})")
    ax.set_xticks(k)
    ax.set_xlabel(r"coordinate $k$ ($\Sigma_{kk}$: A's variances rise with $k$, B's fall)")
    ax.set_ylabel(r"$\Gamma_{kk}$ (1 / units of $\Sigma$)")
    ax.set_title(rf"$\Gamma$ follows each agent's own $\Sigma$ ({parameterisation})", fontsize=10)
    plotting.legend_outside(ax)
    fig.suptitle(r"Two LSA agents trained on different input covariances: plateaus (C3) and $\Gamma^*$ (L2)",
                 fontsize=10)
    out = Path(out_dir)
    gamma_rows = [[a.name, i, j, r.Gamma_eff[i, j], r.Gamma_star[i, j]]
                  for a, r in zip(tp.agents, tp.training) for i in range(trained_pair.D) for j in range(trained_pair.D)]
    return [plotting.write_csv(out / "trained_lsa.csv", ["agent", "turn", "sim_residual_norm", "residual_norm"], rows),
            plotting.write_csv(out / "trained_lsa_gamma.csv", ["agent", "i", "j", "Gamma_eff", "Gamma_star"],
                               gamma_rows),
            plotting.save(fig, out / "trained_lsa.png", figure_format)]
