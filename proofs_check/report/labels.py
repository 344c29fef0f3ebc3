"""Stable cross-reference labels for claims and formulas, shared by the LaTeX and the docs.

A claim ``C3`` is ``\\label{aad:claim:C3}`` in ``derivations.tex`` and the anchor
``.. _aad-claim-C3:`` in the docs; a formula ``C3.residual_A`` is ``aad:formula:C3.residual-A``
and ``aad-formula-C3.residual-A``. IDs are letters, digits, dots and underscores; an underscore
becomes a hyphen (``_`` is a subscript in math mode and a special character in some packages), so
a label is plain ASCII a paper can type. Two IDs differing only in ``_`` against ``-`` cannot
occur: any character other than letters, digits, ``.`` and ``_`` is refused.
"""
from __future__ import annotations

import re

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
