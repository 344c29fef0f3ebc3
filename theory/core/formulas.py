"""Named derived objects: the formulas a paper would quote.

Each :class:`Formula` holds the SymPy object that the registry verifies; its
LaTeX is rendered from that same object. Theory modules expose ``FORMULAS``
(a list); :func:`all_formulas` collects them by ID, e.g. ``"C2.fixed_point_A"``.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import sympy as sp

from theory.core import notation


@dataclass(frozen=True)
class Formula:
    """``lhs = rhs`` with a stable ID ``<claim>.<name>``.

    Attributes
    ----------
    claim, name : str
        The claim ID (e.g. ``"C2"``) and the formula's name within it; ``id`` joins them.
    lhs, rhs : sympy.Basic
        The SymPy objects the registry verifies; ``latex()`` and ``text()`` render them.
    description : str
        One sentence.

    Examples
    --------
    >>> f = all_formulas()["C3.residual_A"]
    >>> f.text()
    'e_A = (Id - M_A*M_B)**(-1)*M_A*K_B*Delta'
    >>> f.macro
    'aadResidualA'
    """

    claim: str
    name: str
    lhs: sp.Basic
    rhs: sp.Basic
    description: str

    @property
    def id(self) -> str:
        return f"{self.claim}.{self.name}"

    def latex(self) -> str:
        """The paper's LaTeX (names, term order and ``\\aadDelta`` of :mod:`theory.core.notation`)."""
        return f"{notation.latex(self.lhs)} = {notation.latex(self.rhs)}"

    def rhs_latex(self) -> str:
        return notation.latex(self.rhs)

    def text(self) -> str:
        """Plain text (SymPy's str printer with the package's names)."""
        return f"{notation.text(self.lhs)} = {notation.text(self.rhs)}"

    @property
    def fingerprint(self) -> str:
        """Hash of the canonical SymPy form (``srepr``): changes whenever the formula changes."""
        text = f"{sp.srepr(self.lhs)} = {sp.srepr(self.rhs)}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def macro(self) -> str:
        """LaTeX macro name, letters only: ``C2.fixed_point_A`` -> ``aadFixedPointA``."""
        words = re.split(r"[^A-Za-z0-9]+", self.name)
        digits = dict(zip("0123456789",
                          ["Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine"]))
        camel = "".join(w[:1].upper() + w[1:] for w in words if w)
        return "aad" + "".join(digits.get(ch, ch) for ch in camel)


def all_formulas() -> dict[str, Formula]:
    """Every registered formula by ID: the ``FORMULAS`` lists of all theory modules.

    Returns
    -------
    dict of str to Formula
        ``{"C2.fixed_point_A": Formula(...), ...}`` in module order.

    Examples
    --------
    >>> formulas = all_formulas()
    >>> "C2.fixed_point_A" in formulas, formulas["C2.fixed_point_A"].claim
    (True, 'C2')
    """
    import theory
    from theory.core.modules import submodules

    out: dict[str, Formula] = {}
    for module in submodules(theory):
        for f in getattr(module, "FORMULAS", []):
            if f.id in out:
                raise ValueError(f"formula {f.id} defined twice")
            out[f.id] = f
    return out
