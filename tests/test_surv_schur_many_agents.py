"""The named Schur path (theory/protocol/schur.py) on a protocol of 261 agents, the mutation killer's test for
that module (mutation/targets.toml): P1's V2 checks the path at explicit exact matrices on protocols of 4 agents,
whose indices all lie in CPython's cache of small ints (-5..256), where comparing indices by identity (``is``)
agrees with comparing them by value. Here the dense protocol's four agents come after 257 agents that speak
without hearing anyone (an empty listening row: no one hears them, they are not live), so the dense protocol's
agents have indices 257..260 (B, C, D live, as in DENSE); the derivation must stay on the named path and every
identity of its chain (V1) must reduce to 0. Costs 10-17 s of CPU (the free-algebra round map of 261 agents), so
it runs here and in the killer, not in ``a2ad verify --profile quick``."""
from __future__ import annotations

from proofs_check.verification.shipped_derive import DENSE
from theory.protocol import checks, compiler, description

FILLERS = 257  # agents before the dense protocol's: its agents get indices 257..260


def test_the_named_path_beyond_the_small_int_cache():
    lower = {"A": "a", "B": "b", "C": "c", "D": "d"}  # sort after the fillers' upper-case names
    dense = [{lower[lst]: {lower[s]: w for s, w in row.items()} for lst, row in ph.items()} for ph in DENSE]
    fillers = [f"F{k:03d}" for k in range(FILLERS)]
    rounds = [dict(dense[0], **{f: {} for f in fillers})] + dense[1:]
    names = fillers + ["a", "b", "c", "d"]
    assert sorted(names) == names
    cp = compiler.compile_protocol(description.spec(names, rounds))
    assert cp.named is not None, "not derived on the named Schur path"
    assert tuple(cp.named.R) == (258, 259, 260)  # b, c, d (DENSE's live agents)
    failed = [c.label for c in checks.named_checks(cp) if not c.holds]
    assert not failed, failed[:5]
