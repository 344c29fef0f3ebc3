"""One list of formulas for every output format: ``derive --format text|json|macros`` print the same
formulas in the same order, each as one row.

The order is the registry's: claims as :func:`proofs_check.claims.all_claims` lists them (the order of
docs/theory.rst), and within a claim the formulas its registration lists, then its other registered
formulas in module order (as :func:`proofs_check.report.labels.shown_formulas`).
"""
from __future__ import annotations

from theory.core import notation
from theory.core.formulas import Formula, all_formulas

__all__ = ["ordered", "row"]


def ordered(claim_ids=None) -> list[Formula]:
    """The registered formulas of ``claim_ids`` (default: every claim), in registry order.

    Parameters
    ----------
    claim_ids : iterable of str, optional
        Claim IDs (``"C3"``); any order, the output follows the registry.

    Returns
    -------
    list of Formula
        Each formula once, grouped by claim.
    """
    from proofs_check.claims import all_claims

    formulas = all_formulas()
    wanted = None if claim_ids is None else set(claim_ids)
    out: list[Formula] = []
    for claim in all_claims():
        if wanted is not None and claim.id not in wanted:
            continue
        own = [fid for fid in claim.formulas if formulas[fid].claim == claim.id]
        own += [fid for fid, f in formulas.items() if f.claim == claim.id and fid not in own]
        out += [formulas[fid] for fid in own]
    return out


def row(f: Formula, provenance: str, description: str) -> dict:
    """``f`` as printed by every format: LaTeX, Python/SymPy text with its ``symbols`` table, fingerprint, macro.

    ``symbols`` names every name in ``text`` (:func:`theory.core.notation.text_symbols`): with it,
    ``sympy.parse_expr`` reads each side of ``text`` back to the formula (matrices noncommutative).
    """
    return {"id": f.id, "claim": f.claim, "latex": f.latex(), "text": f.text(),
            "symbols": notation.text_symbols(f.lhs, f.rhs), "fingerprint": f.fingerprint, "macro": f.macro,
            "description": description, "provenance": provenance}
