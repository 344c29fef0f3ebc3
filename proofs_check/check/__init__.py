"""Claim statements as executable propositions (``a2ad check``).

Each claim's typeset statement (:mod:`proofs_check.statements.statements`) is built from named
hypotheses and conclusions; :data:`PROPOSITIONS` gives each name an evaluator on a concrete
instance (:mod:`proofs_check.check.core`). tests/test_check.py checks the names agree.
"""
from __future__ import annotations

from proofs_check.check import claims_other, claims_pair, random_claims
from proofs_check.check.core import Proposition

PROPOSITIONS: dict[str, Proposition] = {p.claim: p for p in claims_pair.PROPOSITIONS + claims_other.PROPOSITIONS
                                         + random_claims.PROPOSITIONS}
