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
    """``lhs = rhs`` with a stable ID ``<claim>.<name>``; frozen (the object verified is the object typeset).

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


# The verify method that reads each registered formula (the object typeset, from :func:`all_formulas`) and
# fails when it is wrong, as "CLAIM METHOD": the macros file names it beside "verification: passed".
# VS methods evaluate the formula numerically against a simulation (proofs_check/verification/
# shipped_formulas.py); V1/V2/V3 prove it. A formula not listed is printed as its claim's status with
# "no method reads this formula" (tests/test_shipped_methods.py checks every entry names a registered
# method, and that a wrong formula fails the VS ones).
VERIFIED_BY: dict[str, str] = {
    "L1.gd_readout": "L1 V1", "L1b.general_map": "L1b V1",
    "L2.gamma_star": "L2 V2", "L2.gamma_star_scalar": "L2 V2",
    "C1.round_map_A": "C1 VS", "C1.round_map_B": "C1 VS", "C1.contraction_rate": "C1 VS",
    "C2.fixed_point_A": "C2 VS", "C2.fixed_point_B": "C2 VS",
    "C3.bias_map_A": "C3 VS", "C3.bias_map_B": "C3 VS", "C3.residual_A": "C3 VS", "C3.residual_B": "C3 VS",
    "C5.residual_A_k": "C5 V3", "C5.residual_B_k": "C5 V3", "C5.disagreement_k": "C5 V3", "C5.rate_k": "C5 V3",
    "C7.s_steps": "C7 VS", "C7.limit_residual_B": "C7 VS",
    "C8.attack_condition": "C8 V1", "C8.victim_residual": "C8 V1",
    "C9.full_rank_prompt": "C9 V1",
    "C11.steering_target": "C11 VS",
    "C12.helper_relabel": "C12 VS", "C12.newton_error": "C12 VS", "C13.inexact_newton_error": "C13 VS",
    "C15.stationary_covariance_A": "C15 V1", "C15.stationary_covariance_B": "C15 V1",
    "C16.victim_residual_s_steps": "C16 V4",
    "C17.fixed_point_3_agents": "C17 V1", "C17.residual_3_agents": "C17 V1",
    "C18.least_squares_map": "C18 VS", "C18.implied_target": "C18 VS",
    # read off a derivation chain (theory.derivations): VD proves every step of the chain it is read off
    "C4.linear_in_gap": "C4 VD", "C4.gap_norm": "C4 VD", "C6.self_adjoint": "C6 VD",
    "C10.rank_one_fixes_gap": "C10 VD", "C14.identified_target": "C14 VD",
    "P1.compiled_fixed_point_3_agents": "P1 VD", "P2.simultaneous_fixed_point_B": "P2 VD",
    "P3.repeated_fixed_point_B": "P3 VD", "P5.debate_row_A": "P5 VD",
    "P4.anchored_plateau_A": "P4 V1",
}


def verification_note(fid: str, status: str) -> str:
    """The macros file's ``verification:`` text for formula ``fid`` whose claim has ``status``: a passed
    claim names the method that read this formula (:data:`VERIFIED_BY`), or says that none did."""
    if status != "passed":
        return status
    if fid in VERIFIED_BY:
        return f"passed ({VERIFIED_BY[fid]} reads this formula)"
    return "claim passed; no method reads this formula"
