"""V7: two trained LSA agents with different input covariances and misaligned targets.

Left: each agent's error per turn (real forward passes) with the C3 plateau built from
its ``Gamma_eff`` and its prompt as a dashed line. Right: ``Gamma_eff`` against
``Gamma*`` (L2), entry by entry.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import trained_pair
from . import common, plotting

NAME = "trained-lsa"
DESCRIPTION = "two LSA agents trained on different Sigma: simulated plateaus vs C3 from Gamma_eff; Gamma_eff vs Gamma*"


def run(out_dir: Path, agents: str = "lsa", seed: int = 0, quick: bool = False,
        parameterisation: str = "full") -> list[Path]:
    common.check_agents(agents, supported=common.AGENT_KINDS)  # LSA agents either way: that is the experiment
    tp = trained_pair.train_pair(800 if quick else 3000, seed=seed, parameterisation=parameterisation,
                                 turns=60 if quick else 100)
    rows = []
    fig, axes = plotting.figure(1, 2, width=5.5, height=4.2)
    ax = axes[0, 0]
    t = np.arange(1, len(tp.messages) + 1)
    for i, (agent, pred, colour) in enumerate(zip(tp.agents, tp.predicted, ("C0", "C3"))):
        err = np.linalg.norm(tp.messages[:, i] - agent.w_star, axis=1)
        ax.plot(t, err, color=colour, label=f"{agent.name}: simulated (real forward passes)")
        ax.axhline(np.linalg.norm(pred), color=colour, ls="--", lw=1, label=f"{agent.name}: C3 plateau from Gamma_eff")
        rows += [[agent.name, k + 1, err[k], np.linalg.norm(pred)] for k in range(len(t))]
    errs = tp.plateau_errors()
    ax.set_title(f"plateau vs C3: rel. error {errs[0]:.1e} (A), {errs[1]:.1e} (B)")
    ax.set_xlabel("turn")
    ax.set_ylabel("||message - own target||")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    for agent, res, marker in zip(tp.agents, tp.training, ("o", "s")):
        ax.plot(res.Gamma_star.ravel(), res.Gamma_eff.ravel(), marker, mfc="none",
                label=f"{agent.name}: rel. error {res.rel_error:.1e}, |p_x| {res.p_x_norm:.0e}, |q_yx| {res.q_yx_norm:.0e}")
    lim = max(float(np.max(r.Gamma_star)) for r in tp.training) * 1.1
    ax.plot([0, lim], [0, lim], "k--", lw=0.8)
    ax.set_xlabel("Gamma* entry (L2)")
    ax.set_ylabel("trained Gamma_eff entry")
    ax.set_title(f"trained preconditioners ({parameterisation} parameterisation)")
    ax.legend(fontsize=7)
    out = Path(out_dir)
    gamma_rows = [[a.name, i, j, r.Gamma_eff[i, j], r.Gamma_star[i, j]]
                  for a, r in zip(tp.agents, tp.training) for i in range(trained_pair.D) for j in range(trained_pair.D)]
    return [plotting.write_csv(out / "trained_lsa.csv", ["agent", "turn", "error", "predicted_plateau"], rows),
            plotting.write_csv(out / "trained_lsa_gamma.csv", ["agent", "i", "j", "Gamma_eff", "Gamma_star"], gamma_rows),
            plotting.save(fig, out / "trained_lsa.png")]
