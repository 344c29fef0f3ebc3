"""Files that ``a2ad verify --out DIR`` writes beside the report.

Each writer is ``(report, claims, out_dir) -> list[Path]``; later layers
(LaTeX derivations, figures) append theirs to ``WRITERS``.
"""
from __future__ import annotations

from pathlib import Path

from . import figures
from . import report as report_mod


def _report_files(report, claims, out_dir) -> list[Path]:
    return report_mod.write(report, out_dir)


def _figures(report, claims, out_dir) -> list[Path]:
    return [figures.margins(report, out_dir)]


WRITERS = [_report_files, _figures]


def write_all(report: dict, claims, out_dir) -> list[Path]:
    paths: list[Path] = []
    for writer in WRITERS:
        paths.extend(writer(report, claims, Path(out_dir)))
    return paths
