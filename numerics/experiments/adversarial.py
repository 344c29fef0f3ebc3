"""One-sided wins (C8-C10) and the victim's defence (C16).

An attacker with the full-rank (C9) or rank-one (C10) prompt talks to a GD victim.
The attacker's error goes to 0 while the victim's goes to ``||M_B Delta||`` (C8);
a third panel shows the victim's plateau against its steps per turn with the
C16 bound ``||M_B^{s_B}|| ||Delta||``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from numerics.agents import random_systems
from numerics.agents.gd import GDAgent
from numerics.experiments import common, plotting
from numerics.interventions import attacks
from numerics.protocol import simulate

NAME = "adversarial"
DESCRIPTION = "attacker's error -> 0, victim's -> ||M_B Delta|| for full-rank and rank-one prompts (C8-C10, C16)"
D = 4


def run(out_dir: Path, agents: str = "gd", seed: int = 0, quick: bool = False,
        figure_format: str = "png") -> list[Path]:
    new_agent = common.agent_factory(agents, D, seed)
    rng = np.random.default_rng(seed)
    turns = 60 if quick else 150
    H_B = random_systems.spd(rng, D, cond=10.0)
    w_A, w_B = rng.standard_normal(D), rng.standard_normal(D)
    Gamma_A = random_systems.spd(rng, D, cond=3.0)
    Gamma_A /= np.max(np.linalg.eigvalsh(Gamma_A))
    rows = []
    fig, axes = plotting.figure(1, 3, width=4.6, height=3.8)
    victim = new_agent("B", H_B, w_B)
    Delta = w_B - w_A
    plateau_B = np.linalg.norm(victim.M @ Delta)
    for j, kind in enumerate(("full", "rank-one")):
        prompt = (attacks.full_rank_prompt(Gamma_A, w_A, N=D, rng=rng) if kind == "full"
                  else attacks.rank_one_prompt(Gamma_A, victim.M, w_A, w_B, N=1))
        attacker = prompt.agent(Gamma_A)
        msgs = simulate.run([attacker, victim], np.zeros(D), turns)
        e_A, e_B = np.linalg.norm(msgs[:, 0] - w_A, axis=1), np.linalg.norm(msgs[:, 1] - w_B, axis=1)
        rows += [[kind, t + 1, e_A[t], e_B[t], plateau_B] for t in range(turns)]
        ax = axes[0, j]
        t = np.arange(1, turns + 1)
        # C8 line wide and grey underneath, the victim thin with markers on top: both stay visible
        ax.axhline(plateau_B, color="0.55", ls="-", lw=5, alpha=0.6, zorder=1, label=r"C8 prediction $\|M_B \Delta\|$")
        ax.semilogy(t, common.floor(e_A), "C0", zorder=3, label=r"attacker A: $\|u_t - w_A^*\|$")
        ax.semilogy(t, common.floor(e_B), "C3", lw=1, marker="o", ms=2.5, markevery=4, zorder=3,
                    label=r"victim B: $\|v_t - w_B^*\|$")
        ax.set_title(rf"{kind} attack prompt ($\rho = {prompt.rho:.2f}$)")
        ax.set_xlabel(r"turn $t$ (rounds)")
        ax.set_ylabel(r"distance to own target (units of $w^*$)")
        ax.grid(alpha=0.3, which="both")
    # C16: the victim's defence, more steps per turn
    attacker = attacks.full_rank_prompt(Gamma_A, w_A, N=D, rng=rng).agent(Gamma_A)
    s_values = np.arange(1, 9)
    observed, bound = [], []
    for s in s_values:
        b = GDAgent("B", victim.geometry, victim.Gamma, int(s))  # the victim's mechanism, s GD steps per turn
        observed.append(np.linalg.norm(common.tail([attacker, b], 5)[1] - w_B))  # M_A = 0: exact after one round
        bound.append(np.linalg.norm(b.M, 2) * np.linalg.norm(Delta))
        rows.append(["defence", int(s), 0.0, observed[-1], bound[-1]])
    ax = axes[0, 2]
    ax.semilogy(s_values, bound, color="0.55", lw=5, alpha=0.6, label=r"C16 bound $\|M_B^s\|\,\|\Delta\|$")
    ax.semilogy(s_values, observed, "C3o", label="victim B: simulated plateau")
    ax.set_xlabel(r"victim's GD steps per turn $s_B$")
    ax.set_ylabel(r"victim's plateau $\|e_B\|$ (units of $w^*$)")
    ax.set_title("defence (C16):\n" r"$\|e_B\| \leq \|M_B^s\|\,\|\Delta\|$")
    ax.grid(alpha=0.3, which="both")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    h2, l2 = ax.get_legend_handles_labels()
    plotting.legend_outside(ax, handles=handles + h2, labels=labels + l2)
    fig.suptitle(f"Attacks on a {agents.upper()} victim: attacker's error " r"$\to 0$, victim's $\to \|M_B \Delta\|$ "
                 r"(C8-C10); the victim's error is bounded by $\|M_B^s\|\,\|\Delta\|$ (C16)", fontsize=10)
    out = Path(out_dir)
    return [plotting.write_csv(out / "adversarial.csv", ["attack", "turn_or_steps", "attacker_sim_residual_norm",
                                                         "victim_sim_residual_norm", "victim_reference"], rows),
            plotting.save(fig, out / "adversarial.png", figure_format)]

