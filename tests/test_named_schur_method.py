"""The named Schur path's V2 (proofs_check.verification.named_schur): passes on the package, fails on
planted errors of theory.protocol.schur (a wrong letter name, a wrong back substitution, a misnumbered step)."""
from __future__ import annotations

import pytest

from proofs_check.verification.named_schur import named_schur_method
from proofs_check.verification.registry import Profile

QUICK = Profile.named("quick")


def _passes(out) -> bool:
    return out.worst_error <= out.tolerance


def test_passes_on_the_package():
    out = named_schur_method(QUICK)
    assert _passes(out), out.detail
    assert out.instances == 4 and "MISMATCH" not in out.detail


def test_u_letter_of_the_wrong_step_fails(monkeypatch):
    import sympy as sp

    from theory.protocol import schur

    monkeypatch.setattr(schur, "u_letter",
                        lambda k, a, b: sp.Symbol(f"U^{{({k + 1})}}_{{{a},{b}}}", commutative=False))
    out = named_schur_method(QUICK)
    assert not _passes(out) and "no block of a Schur complement" in out.detail


def test_wrong_fixed_point_fails(monkeypatch):
    from theory.protocol import schur

    orig = schur.solve
    monkeypatch.setattr(schur, "solve", lambda sch, rhs: orig(sch, rhs[::-1]))
    out = named_schur_method(QUICK)
    assert not _passes(out) and ("fixed point" in out.detail or "coefficient" in out.detail)


@pytest.mark.parametrize("shift", [0, 2])
def test_misnumbered_chain_fails(monkeypatch, shift):
    from theory.protocol import schur

    orig = schur.chain_checks

    def renumbered(alg, sch):
        return [(lb.replace("step 1:", f"step {shift}:"), res) for lb, res in orig(alg, sch)]

    monkeypatch.setattr(schur, "chain_checks", renumbered)
    out = named_schur_method(QUICK)
    assert not _passes(out) and "numbered" in out.detail


def test_a_dropped_identity_of_the_printed_proof_fails(monkeypatch):
    from theory.protocol import schur

    orig = schur.checks

    def fewer(*args):
        return [(lb, res) for lb, res in orig(*args) if "is block" not in lb]

    monkeypatch.setattr(schur, "checks", fewer)
    out = named_schur_method(QUICK)
    assert not _passes(out) and "missing from the printed proof" in out.detail


def test_a_letter_printed_out_of_order_fails(monkeypatch):
    """r_{a,j} made commutative: SymPy prints it first in each term (a wrong product for d >= 2)."""
    import sympy as sp

    from theory.protocol import schur

    monkeypatch.setattr(schur, "r_letter", lambda a, j: sp.Symbol(f"r_{{{a},{j}}}", commutative=True))
    out = named_schur_method(QUICK)
    assert not _passes(out) and "commutative factors" in out.detail


@pytest.mark.parametrize("plant", ["no noise injected", "noise of the wrong listener", "noise block transposed"])
def test_a_wrong_noisy_round_on_the_named_path_fails(monkeypatch, plant):
    """The dense protocol's noisy round (theory.protocol.noise.noise_poly, as the compiler uses it): an empty
    injection, one whose noise is the next agent's covariance, or one whose off-diagonal blocks are swapped."""
    from theory.protocol import compiler, noise
    from theory.protocol.symbols import noise_cov

    real = noise.noise_poly

    def wrong(s):
        Q = real(s)
        if plant == "no noise injected":
            return [[{} for _ in row] for row in Q]
        if plant == "noise block transposed":
            return [[Q[b][a] for b in range(len(Q))] for a in range(len(Q))]
        swap = {noise_cov(n): noise_cov(s.names[(k + 1) % len(s.names)]) for k, n in enumerate(s.names)}
        return [[{tuple(swap.get(x, x) for x in w): c for w, c in q.items()} for q in row] for row in Q]

    monkeypatch.setattr(compiler, "noise_poly", wrong)
    out = named_schur_method(QUICK)
    assert not _passes(out) and "noisy round equation" in out.detail, out.detail
