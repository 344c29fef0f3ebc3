"""Shared figure and CSV helpers for the experiments (headless matplotlib)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no screen on CI or servers
import matplotlib.pyplot as plt  # noqa: E402

from numerics.io.outputs import atomic, write_text  # noqa: E402


def figure(nrows: int = 1, ncols: int = 1, width: float = 6.0, height: float = 4.0, **kwargs):
    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, **kwargs)


def legend_outside(ax, **kwargs):
    """The legend to the right of the axes, never over the data."""
    kwargs.setdefault("fontsize", 7)
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kwargs)


def patch(colour, label: str):
    """A legend entry for bars of one colour."""
    from matplotlib.patches import Patch

    return Patch(color=colour, label=label)


def tick(label: str):
    """A legend entry for the black tolerance ticks."""
    from matplotlib.lines import Line2D

    return Line2D([], [], color="black", marker="_", ls="none", markersize=12, label=label)


def save(fig, path: Path) -> Path:
    """Save atomically (temporary file, then rename) and close the figure."""
    fig.tight_layout()
    try:
        with atomic(path) as tmp:  # bbox_inches="tight" keeps legends placed outside the axes
            fig.savefig(tmp, dpi=120, format=path.suffix.lstrip(".") or "png", bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def write_csv(path: Path, header: list[str], rows) -> Path:
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return write_text(path, buf.getvalue())
