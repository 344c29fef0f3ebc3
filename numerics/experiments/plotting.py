"""Shared figure and CSV helpers for the experiments (headless matplotlib)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no screen on CI or servers
import matplotlib.pyplot as plt  # noqa: E402

from ..outputs import atomic, write_text  # noqa: E402


def figure(nrows: int = 1, ncols: int = 1, width: float = 6.0, height: float = 4.0):
    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)


def save(fig, path: Path) -> Path:
    """Save atomically (temporary file, then rename) and close the figure."""
    fig.tight_layout()
    try:
        with atomic(path) as tmp:
            fig.savefig(tmp, dpi=120, format=path.suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)
    return path


def write_csv(path: Path, header: list[str], rows) -> Path:
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return write_text(path, buf.getvalue())
