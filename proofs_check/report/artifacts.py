"""Files that ``a2ad verify --out DIR`` writes beside the report.

Each writer is ``(report, claims, out_dir, figure_format, cache) -> list[Path]``; later layers
(LaTeX derivations, figures) append theirs to ``WRITERS``. ``cache``: the proof cache
(:class:`proofs_check.verification.proof_cache.ProofCache`) the run used, or None (``--no-cache``).
"""
from __future__ import annotations

from pathlib import Path

from proofs_check.report import figures, writers as report_mod


def _report_files(report, claims, out_dir, figure_format, cache) -> list[Path]:
    return report_mod.write(report, out_dir)


def _figures(report, claims, out_dir, figure_format, cache) -> list[Path]:
    return [figures.margins(report, out_dir, figure_format)]


def _derivations(report, claims, out_dir, figure_format, cache) -> list[Path]:
    """derivations.tex always; derivations.pdf when pdflatex is present. Each chain's step checks are
    read back from the proof cache when they passed before (the chain and its sources unchanged)."""
    from proofs_check.report import latex
    from theory import derivations

    doc, _ = latex.derivations_tex(claims, report, derivations.check if cache is None else cache.chain_checks)
    from numerics.io.outputs import write_text

    tex = write_text(out_dir / "derivations.tex", doc)
    return [tex] + ([latex.compile_pdf(tex)] if latex.pdflatex() else [])


WRITERS = [_report_files, _figures, _derivations]


def write_all(report: dict, claims, out_dir, figure_format: str = "png", cache=None) -> list[Path]:
    """Every file of ``verify --out DIR``; the figure as png, pdf or svg."""
    paths: list[Path] = []
    for writer in WRITERS:
        paths.extend(writer(report, claims, Path(out_dir), figure_format, cache))
    return paths
