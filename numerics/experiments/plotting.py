"""Shared figure and CSV helpers for the experiments (headless matplotlib)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no screen on CI or servers
import matplotlib.pyplot as plt  # noqa: E402

from numerics.io.outputs import atomic, figure_path, write_text  # noqa: E402


def figure(nrows: int = 1, ncols: int = 1, width: float = 6.0, height: float = 4.0, **kwargs):
    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, **kwargs)


def legend_outside(ax, **kwargs):
    """The legend to the right of the axes, never over the data."""
    kwargs.setdefault("fontsize", 7)
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kwargs)


def math_name(name: str) -> str:
    """An agent's name as a mathtext subscript or symbol: ``A`` stays ``A``, any other text is set upright with
    mathtext's special characters escaped (a config may name an agent ``"A_1 $x"``)."""
    if name.isascii() and name.isalnum():
        return name
    escaped = "".join("\\" + ch if ch in "\\{}_^$%#&~" else ch for ch in name).replace(" ", "\\ ")
    return r"\mathrm{" + escaped + "}"


def patch(colour, label: str):
    """A legend entry for bars of one colour."""
    from matplotlib.patches import Patch

    return Patch(color=colour, label=label)


def tick(label: str):
    """A legend entry for the black tolerance ticks."""
    from matplotlib.lines import Line2D

    return Line2D([], [], color="black", marker="_", ls="none", markersize=12, label=label)


def save(fig, path: Path, figure_format: str = "png") -> Path:
    """Save atomically (temporary file, then rename) as ``figure_format`` (png, pdf or svg: the path's
    extension is replaced) and close the figure."""
    path = figure_path(path, figure_format)
    fig.tight_layout()
    try:
        with atomic(path) as tmp:  # bbox_inches="tight" keeps legends placed outside the axes
            fig.savefig(tmp, dpi=120, format=figure_format, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def write_csv(path: Path, header: list[str], rows) -> Path:
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return write_text(path, buf.getvalue())
