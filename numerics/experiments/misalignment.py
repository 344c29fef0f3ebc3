"""Plateaus against the objective gap (C3, C4).

For three prompt geometries, sweep the gap scale ``s`` (``w_B* = w_A* + s Delta_0``) and
the angle ``theta`` between equal-norm targets. Lines: ``||G_A Delta||`` and
``||G_B Delta||`` (C3); points: the real agents' plateaus after a long run.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from numerics.dynamics import closed_forms
from numerics.experiments import common, plotting

NAME = "misalignment"
DESCRIPTION = "plateau of both agents vs gap size and angle between targets, several geometries (C3, C4)"
GEOMETRIES = ("isotropic", "anisotropic", "rank-deficient")
D = 4
RADIUS = 1.0


def targets_scale(s: float, d: int) -> tuple[np.ndarray, np.ndarray]:
    w_A = np.zeros(d)
    w_A[0] = 1.0
    direction = np.ones(d) / np.sqrt(d)
    return w_A, w_A + s * direction


def targets_angle(theta: float, d: int) -> tuple[np.ndarray, np.ndarray]:
    w_A, w_B = np.zeros(d), np.zeros(d)
    w_A[0] = RADIUS
    w_B[0], w_B[1] = RADIUS * np.cos(theta), RADIUS * np.sin(theta)
    return w_A, w_B


def run(out_dir: Path, agents: str = "gd", seed: int = 0, quick: bool = False,
        figure_format: str = "png") -> list[Path]:
    new_agent = common.agent_factory(agents, D, seed)
    rng = np.random.default_rng(seed)
    turns = 400 if quick else 2000
    # CSV name -> (grid, targets, axis label in the documents' symbols)
    sweeps = {"gap scale s = ||w_B* - w_A*||": (np.linspace(0, 2, 5 if quick else 11), targets_scale,
                                                r"gap scale $s = \|w_B^* - w_A^*\|$"),
              "angle theta (rad)": (np.linspace(0, np.pi, 5 if quick else 13), targets_angle,
                                    r"angle $\theta$ between the targets (rad)")}
    rows = []
    fig, axes = plotting.figure(2, len(GEOMETRIES), width=4.2, height=3.4)
    for j, kind in enumerate(GEOMETRIES):
        H_A, H_B = common.geometry(kind, rng, D), common.geometry("anisotropic", rng, D)
        for i, (label, (grid, make, axis_label)) in enumerate(sweeps.items()):
            pred: dict[str, list[float]] = {"A": [], "B": []}
            sim: dict[str, list[float]] = {"A": [], "B": []}
            for x in grid:
                w_A, w_B = make(x, D)
                a, b = new_agent("A", H_A, w_A), new_agent("B", H_B, w_B)
                G_A, G_B = closed_forms.bias_maps(a.M, b.M)
                Delta = w_B - w_A
                last = common.tail([a, b], turns)
                for name, p, s in (("A", G_A @ Delta, last[0] - w_A), ("B", -G_B @ Delta, last[1] - w_B)):
                    pred[name].append(float(np.linalg.norm(p)))
                    sim[name].append(float(np.linalg.norm(s)))
                    rows.append([kind, label, x, name, np.linalg.norm(p), np.linalg.norm(s)])
            ax = axes[i, j]
            for name, colour in (("A", "C0"), ("B", "C3")):
                ax.plot(grid, pred[name], "-", color=colour, label=f"{name}: C3 prediction")
                ax.plot(grid, sim[name], "o", color=colour, mfc="none", label=f"{name}: simulated")
            ax.set_xlabel(axis_label)
            ax.set_ylabel(r"plateau $\|e\|$ (units of $w^*$)")
            ax.set_title(f"A {kind}, B anisotropic")
            ax.grid(alpha=0.3)
    plotting.legend_outside(axes[0, -1], fontsize=8)
    fig.suptitle(f"Plateaus against the gap size (top) and the angle between targets (bottom), "
                 f"{agents.upper()} agents (C3, C4)", fontsize=10)
    out = Path(out_dir)
    return [plotting.write_csv(out / "misalignment.csv",
                               ["geometry_A", "sweep", "value", "agent", "residual_norm", "sim_residual_norm"], rows),
            plotting.save(fig, out / "misalignment.png", figure_format)]
