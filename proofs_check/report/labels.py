"""Stable cross-reference labels for claims and formulas, shared by the LaTeX and the docs.

A claim ``C3`` is ``\\label{aad:claim:C3}`` in ``derivations.tex`` and the anchor
``.. _aad-claim-C3:`` in the docs; a formula ``C3.residual_A`` is ``aad:formula:C3.residual-A``
and ``aad-formula-C3.residual-A``. IDs are letters, digits, dots and underscores; an underscore
becomes a hyphen (``_`` is a subscript in math mode and a special character in some packages), so
a label is plain ASCII a paper can type. Two IDs differing only in ``_`` against ``-`` cannot
occur: any character other than letters, digits, ``.`` and ``_`` is refused.

Each ID is labelled exactly once per document: :func:`shown_formulas` decides where.
"""
from __future__ import annotations

import re

from theory.core.formulas import all_formulas

KINDS = ("claim", "formula")
_ID = re.compile(r"[A-Za-z0-9._]+")


def _safe(kind: str, ident: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"label kind {kind!r} is not one of {KINDS}")
    if not _ID.fullmatch(ident):
        raise ValueError(f"ID {ident!r} holds a character other than letters, digits, '.' and '_'")
    return ident.replace("_", "-")


def tex_label(kind: str, ident: str) -> str:
    """The LaTeX label of a claim or formula ID: ``aad:<kind>:<ID with _ as ->``."""
    return f"aad:{kind}:{_safe(kind, ident)}"


def rst_anchor(kind: str, ident: str) -> str:
    """The docs' anchor of the same ID: ``aad-<kind>-<ID with _ as ->`` (Sphinx lower-cases it)."""
    return f"aad-{kind}-{_safe(kind, ident)}"


def shown_formulas(claim, owners: set[str]) -> list[tuple[str, bool]]:
    """The formulas of ``claim``'s section (or docs page) and whether each carries its label there.

    A formula is labelled once: in its own claim's section, or where it first appears when its
    claim is not in the document (``owners``: the IDs of the claims that are). A registered
    formula its claim does not list (``L2.gamma_star_scalar``) is shown in its claim's section too.
    """
    formulas = all_formulas()
    listed = list(claim.formulas) + [fid for fid, f in formulas.items()
                                     if f.claim == claim.id and fid not in claim.formulas]
    return [(fid, formulas[fid].claim == claim.id or formulas[fid].claim not in owners) for fid in listed]
