"""theory.derivations' lookups by claim ID compare by value: an ID built at run time (read from input, joined from
parts) finds the same chains and formulas as the literal (derivations.py's survivor: ``==`` to ``is``)."""
from __future__ import annotations

from theory import derivations


def test_chains_for_a_claim_id_built_at_run_time():
    for claim in ("C4", "C10", "P2", "R1"):
        built = "".join(list(claim))  # equal to the literal, not the same object
        assert built == claim and built is not claim
        assert derivations.chains_for(built) == derivations.chains_for(claim) != []
