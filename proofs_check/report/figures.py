"""Figures for ``a2ad verify --out DIR``: how far each method's worst error sits from its tolerance.

One panel per unit (:func:`proofs_check.report.writers.unit`): relative errors on a log
axis, agreeing digits, standard errors and the remaining scales each on their
own axis, so no two units share one. The exact symbolic methods (V1-V3, 0 = 0)
are counted in the title instead of drawn.
"""
from __future__ import annotations

import math
from pathlib import Path

from numerics.experiments import plotting
from proofs_check.report.writers import unit

COLOUR = {"passed": "tab:green", "failed": "tab:red", "skipped": "tab:gray"}
LOG_UNITS = ("rel. error", "rate diff", "abs. excess")
FLOOR = 1e-18  # an error of exactly 0 on a log axis is drawn here (below float64 round-off)


# Unit names as drawn (the keys are the report's unit names)
SHOWN = {"x bar": r"$\bar{x}$"}


def margins(report: dict, out_dir: Path, figure_format: str = "png") -> Path:
    """Worst error (bars, coloured by status) and tolerance (black ticks) per method, one panel per unit."""
    groups: dict[str, list] = {}
    exact = 0
    for claim in report["claims"]:
        for m in claim["methods"]:
            u = unit(claim["id"], m)
            if u == "exact":
                exact += 1
                continue
            if m["worst_error"] is None or m["tolerance"] is None:
                continue
            err, tol = m["worst_error"], m["tolerance"]
            if u == "digits":
                err, tol = (99.0 if err == 0 else -math.log10(err)), -math.log10(tol)
            groups.setdefault(u, []).append((f"{claim['id']} {m['method']}", err, tol, m["status"]))
    order = [u for u in ("rel. error", "digits", "std errors", "rate diff", "abs. excess", "x bar") if u in groups]
    widths = [max(1, len(groups[u])) for u in order] or [1]
    fig, axes = plotting.figure(1, max(1, len(order)), width=1.0, height=4.2,
                                gridspec_kw={"width_ratios": widths})
    fig.set_size_inches(max(7.0, 0.32 * sum(widths) + 1.2 * len(order) + 2.5), 4.6)
    for ax, u in zip(axes[0], order):
        labels, errs, tols, statuses = zip(*groups[u])
        x = list(range(len(labels)))
        if u in LOG_UNITS:
            errs = tuple(max(e, FLOOR) for e in errs)
            ax.set_yscale("log")
        ax.bar(x, errs, color=[COLOUR[s] for s in statuses])
        ax.scatter(x, tols, marker="_", s=160, color="black", zorder=3)
        ax.set_xticks(x, labels, rotation=90, fontsize=7)
        ax.set_xlim(-0.7, len(x) - 0.3)
        better = "higher is better" if u == "digits" else "lower is better"
        ax.set_ylabel(f"{SHOWN.get(u, u)} ({better})")
        ax.set_title(SHOWN.get(u, u), fontsize=9)
        ax.set_xlabel("claim and method")
    handles = [plotting.patch(COLOUR[s], f"worst error, {s}") for s in ("passed", "failed")] + \
        [plotting.tick("tolerance (bar)")]
    plotting.legend_outside(axes[0, -1], handles=handles)
    fig.suptitle(f"a2ad verify ({report['profile']}): worst error against tolerance, one panel per unit; "
                 f"{exact} exact symbolic checks (V1-V3, 0 = 0) not drawn", fontsize=9)
    return plotting.save(fig, out_dir / "figures" / "verification_margins.png", figure_format)
