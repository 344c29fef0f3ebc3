"""Register the statement methods on the claims: VD (derivation chains), VF (falsifiers), VN (necessity witnesses).

:func:`attach` is called once, by :func:`proofs_check.claims.all_claims`, so no claim module
names them: every claim with a derivation chain gets VD, every claim with an ``a2ad check`` proposition
gets VF (except :data:`NO_FALSIFIER`), every claim with a necessity witness or a declared necessary
hypothesis gets VN.
"""
from __future__ import annotations

from dataclasses import replace

from proofs_check.verification import chain_method, falsifiers, necessity
from proofs_check.verification.registry import Claim

__all__ = ["attach"]

# Claims with a proposition but no falsifier: none (R1-R4 draw random protocols:
# proofs_check.verification.strategies.random_configs).
NO_FALSIFIER: frozenset[str] = frozenset()


def attach(claims: list[Claim]) -> list[Claim]:
    """``claims`` with VF and VN added where they apply (registry order kept)."""
    from proofs_check.check import PROPOSITIONS

    vn = set(necessity.claims())
    out = []
    for c in claims:
        extra = {}
        if c.id in chain_method.CHAIN_CLAIMS:
            extra["VD"] = chain_method.method(c.id)
        if c.id in PROPOSITIONS and c.id not in NO_FALSIFIER:
            extra["VF"] = falsifiers.method(c.id)
        if c.id in vn:
            extra["VN"] = necessity.method(c.id)
        out.append(replace(c, methods={**c.methods, **extra}) if extra else c)
    return out
