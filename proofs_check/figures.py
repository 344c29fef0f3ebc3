"""Figures for ``a2ad verify --out DIR``: how far each method's worst error sits below its tolerance."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from numerics.experiments import plotting

# Exact methods (error and tolerance 0) are drawn hatched at this floor, below the
# 60-digit V5 errors (~1e-52), so they appear on a log axis.
EXACT_FLOOR = 1e-64


def margins(report: dict, out_dir: Path) -> Path:
    """Bar chart of log10(worst error) and log10(tolerance) per claim and method."""
    labels, errs, tols, colors = [], [], [], []
    colour = {"passed": "tab:green", "failed": "tab:red", "skipped": "tab:gray"}
    for claim in report["claims"]:
        for m in claim["methods"]:
            labels.append(f"{claim['id']} {m['method']}")
            errs.append(max(m["worst_error"] or 0.0, EXACT_FLOOR) if m["worst_error"] is not None else np.nan)
            tols.append(max(m["tolerance"] or 0.0, EXACT_FLOOR) if m["tolerance"] is not None else np.nan)
            colors.append(colour[m["status"]])
    fig, axes = plotting.figure(width=max(6.0, 0.28 * len(labels)), height=4.0)
    ax = axes[0, 0]
    x = np.arange(len(labels))
    bars = ax.bar(x, errs, color=colors, label="worst error")
    for bar, e in zip(bars, errs):
        if e == EXACT_FLOOR:
            bar.set_hatch("//")
    ax.scatter(x, tols, marker="_", s=120, color="black", label="tolerance", zorder=3)
    ax.set_yscale("log")
    ax.set_xticks(x, labels, rotation=90, fontsize=7)
    ax.set_ylabel("worst error (bars) vs tolerance (ticks)")
    ax.set_title(f"a2ad verify ({report['profile']}): hatched = exact (0 = 0), drawn at {EXACT_FLOOR:g}")
    ax.legend(loc="upper right", fontsize=7)
    return plotting.save(fig, out_dir / "figures" / "verification_margins.png")
