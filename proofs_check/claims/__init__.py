"""One module per claim family; each defines ``CLAIMS``. :func:`all_claims` discovers them.

The discovery lives here, above :mod:`proofs_check.verification` (whose registry types and methods
the claim modules use), so the verification layer never imports the claims.
"""
from __future__ import annotations

import sys
from collections.abc import Iterable

from proofs_check.verification.registry import Claim
from theory.core.modules import submodules

__all__ = ["all_claims", "select", "validate"]


def _claim_key(claim_id: str) -> tuple[int, int, str]:
    # L1 < L1b < L2 < C1 < C2 < ... < C17 (letter group, number, suffix)
    order = {"L": 0, "C": 1, "P": 2, "R": 3}
    head, num, tail = claim_id[0], "", ""
    for ch in claim_id[1:]:
        if ch.isdigit() and not tail:
            num += ch
        else:
            tail += ch
    return (order.get(head, 4), int(num or 0), tail)


def all_claims() -> list[Claim]:
    """Every claim from every module of this package, in the order of docs/theory.rst."""
    found: dict[str, Claim] = {}
    for module in submodules(sys.modules[__name__]):
        for claim in getattr(module, "CLAIMS", []):
            if claim.id in found:
                raise ValueError(f"claim {claim.id} registered twice")
            found[claim.id] = claim
    validate(found.values())
    from proofs_check.verification.statement_methods import attach  # VF and VN, registered for every claim in one place

    return attach(sorted(found.values(), key=lambda c: _claim_key(c.id)))


def validate(claims: Iterable[Claim]) -> None:
    """Every registered claim must say where it comes from (proofs_check/statements/provenance.py)."""
    missing = [c.id for c in claims if c.provenance is None]
    if missing:
        raise ValueError(f"claims without provenance (add them to proofs_check/statements/provenance.py): {missing}")


def select(ids: list[str] | None) -> list[Claim]:
    """The registered claims named by ``ids`` in the caller's order (all of them when empty)."""
    claims = all_claims()
    if not ids:
        return claims
    known = {c.id: c for c in claims}
    for i in ids:
        if i not in known:
            from numerics.io.errors import InputError
            raise InputError("claim", i, f"is not registered; known claims: {', '.join(known)}")
    return [known[i] for i in ids]
