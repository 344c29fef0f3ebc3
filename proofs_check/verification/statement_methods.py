"""Register the statement methods on the claims: VD (derivation chains), VF (falsifiers), VN (necessity witnesses),
and the typeset check in VS.

:func:`attach` is called once, by :func:`proofs_check.claims.all_claims`, so no claim module
names them: every claim with a derivation chain gets VD, every claim with an ``a2ad check`` proposition
gets VF (except :data:`NO_FALSIFIER`), every claim with a necessity witness or a declared necessary
hypothesis gets VN, and every claim with a registered formula has the LaTeX ``derive`` prints for it read back
in its VS (:mod:`proofs_check.verification.shipped_typeset`; joined to the claim's own VS, if any).
"""
from __future__ import annotations

from dataclasses import replace

from proofs_check.verification import chain_method, falsifiers, necessity, shipped_typeset
from proofs_check.verification.registry import Claim

__all__ = ["attach"]

# Claims with a proposition but no falsifier: none (R1-R4 draw random protocols:
# proofs_check.verification.strategies.random_configs).
NO_FALSIFIER: frozenset[str] = frozenset()


def attach(claims: list[Claim]) -> list[Claim]:
    """``claims`` with VD, VF and VN added where they apply and the typeset check joined to VS (registry order
    kept)."""
    from proofs_check.check import PROPOSITIONS
    from proofs_check.verification.shipped import joint
    from theory.core.formulas import all_formulas

    vn = set(necessity.claims())
    typeset = {f.claim for f in all_formulas().values()}
    out = []
    for c in claims:
        extra = {}
        if c.id in chain_method.CHAIN_CLAIMS:
            extra["VD"] = chain_method.method(c.id)
        if c.id in PROPOSITIONS and c.id not in NO_FALSIFIER:
            extra["VF"] = falsifiers.method(c.id)
        if c.id in vn:
            extra["VN"] = necessity.method(c.id)
        if c.id in typeset:
            check = shipped_typeset.typeset_method(c.id)
            extra["VS"] = joint(c.methods["VS"], check) if "VS" in c.methods else check
        out.append(replace(c, methods={**c.methods, **extra}) if extra else c)
    return out
