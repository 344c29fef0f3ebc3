"""The sweep gallery's figures: ``a2ad sweep`` on the ``examples/sweep_*.json`` listed in GALLERY,
written to ``docs/_generated/sweeps/NAME/`` with a few numbers read back from the Parquet
results in ``NAME/summary.rst`` (called by generate.py)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
GALLERY = ("sweep_convergence", "sweep_plateau", "sweep_random")  # quick sweeps (seconds)


def summary(spec, cols) -> str:
    conv = cols["converges"]
    if "mean_rate" in cols:  # a random protocol
        between = (cols["mean_rate"] < 1) & ~conv
        lines = [f"{spec.n_points} grid points; the messages converge in mean square at {conv.mean():.0%} of them "
                 f"(mean-square rate from {cols['contraction_rate'].min():.3f} to "
                 f"{cols['contraction_rate'].max():.3f}); at {between.mean():.0%} the mean converges while the "
                 "second moment does not."]
        return "\n".join(lines) + "\n"
    lines = [f"{spec.n_points} grid points; the pair converges (rho < 1) at {conv.mean():.0%} of them, "
             f"contraction rate rho from {cols['contraction_rate'].min():.3f} to {cols['contraction_rate'].max():.3f}."]
    gaps = [cols[k][conv] for k in cols if k.startswith("sim_fixed_point_distance_")]
    if gaps:
        worst = max(float(np.max(g)) for g in gaps)
        lines.append(f"Simulated messages ({spec.measures['simulate']['turns']} rounds) against the predicted "
                     f"fixed points: largest distance {worst:.1e} over the converging points.")
    return "\n".join(lines) + "\n"


def write(out: Path) -> list[Path]:
    from numerics.sweep import run as sweep_run, spec as sweep_spec

    figures = []
    for name in GALLERY:
        spec = sweep_spec.load(ROOT / "examples" / f"{name}.json")
        outcome = sweep_run.run(spec, out / name, force=True)
        (out / name / "summary.rst").write_text(summary(spec, sweep_run.read_results(out / name)))
        figures.append(outcome.phase)
    return figures
