"""VD (proofs_check.verification.chain_method): every claim with a derivation chain has it, it passes on the
package, and it fails on a planted wrong step (a chain whose last expression has a flipped sign)."""
from __future__ import annotations

import dataclasses

import pytest

from proofs_check.claims import all_claims
from proofs_check.verification import chain_method
from proofs_check.verification.registry import PROFILES
from theory import derivations


def test_chain_claims_are_the_chains_claims():
    assert chain_method.CHAIN_CLAIMS == {c.claim for c in derivations.CHAINS}


def test_every_claim_with_a_chain_has_vd():
    claims = {c.id: c for c in all_claims()}
    assert {cid for cid, c in claims.items() if "VD" in c.methods} == chain_method.CHAIN_CLAIMS


@pytest.mark.parametrize("claim", ["C4", "C14", "R2"])
def test_vd_passes_on_the_package(claim):
    out = chain_method.method(claim)(PROFILES["quick"])
    assert out.worst_error == 0 and out.instances > 0, out.detail


@pytest.mark.parametrize("claim", ["C4", "C14", "R2"])
def test_vd_fails_on_a_wrong_step(monkeypatch, claim):
    chains = list(derivations.CHAINS)
    k = next(i for i, c in enumerate(chains) if c.claim == claim)
    (last, why) = chains[k].steps[-1]
    chains[k] = dataclasses.replace(chains[k], steps=chains[k].steps[:-1] + ((-last, why),))
    monkeypatch.setattr(derivations, "CHAINS", chains)
    out = chain_method.method(claim)(PROFILES["quick"])
    assert out.worst_error >= 1 and out.worst_error > out.tolerance, out.detail


@pytest.mark.parametrize("wrong", [lambda f: f.rhs.xreplace({derivations.omega: 1 - derivations.omega}),
                                   lambda f: -f.rhs], ids=["weights swapped", "sign flipped"])
def test_p4_v1_reads_the_registered_anchored_plateau(monkeypatch, wrong):
    """P4.anchored_plateau_A, printed in the macros file as read by P4's V1: P4's V1 fails when it is wrong."""
    from proofs_check.claims import p_protocol

    p4_v1 = next(c for c in p_protocol.CLAIMS if c.id == "P4").methods["V1"]
    assert p4_v1(PROFILES["quick"]).worst_error == 0
    formulas = [dataclasses.replace(f, rhs=wrong(f)) if f.id == "P4.anchored_plateau_A" else f
                for f in derivations.FORMULAS]
    monkeypatch.setattr(derivations, "FORMULAS", formulas)
    out = p4_v1(PROFILES["quick"])
    assert out.worst_error > out.tolerance, out.detail


@pytest.mark.parametrize("fid", ["C4.linear_in_gap", "C14.identified_target", "P5.debate_row_A"])
def test_vd_reads_the_registered_formula_off_its_chain(monkeypatch, fid):
    """A registered formula built from another step of its chain (the one before the last) fails its claim's VD."""
    chain = derivations.chain_of(fid)
    assert chain is not None and len(chain.steps) >= 2
    formulas = [dataclasses.replace(f, rhs=chain.steps[-2][0]) if f.id == fid else f for f in derivations.FORMULAS]
    claim = fid.split(".")[0]
    assert chain_method.method(claim)(PROFILES["quick"]).worst_error == 0
    monkeypatch.setattr(derivations, "FORMULAS", formulas)
    out = chain_method.method(claim)(PROFILES["quick"])
    assert out.worst_error >= 1 and fid in out.detail, out.detail


@pytest.mark.parametrize("claim", ["C9", "C4"])
def test_vd_fails_when_the_checker_cannot_fail(monkeypatch, claim):
    """The negative control: a V2 residual that is always 0 (C9's chain) or a V1 proof that always closes (C4's)
    makes E_0 = 2 E_0 pass, and VD fails."""
    from theory.core import algebra

    if claim == "C9":
        monkeypatch.setattr(derivations, "_v2_residual", lambda chain, lhs, rhs: 0)
    else:
        orig = algebra.prove
        monkeypatch.setattr(algebra, "prove", lambda *a, **k: dataclasses.replace(orig(*a, **k), residual=0))
    out = chain_method.method(claim)(PROFILES["quick"])
    assert out.worst_error >= 1 and "control" in out.detail, out.detail


def test_vd_reads_c16s_cited_start(monkeypatch):
    """C16's chain starts from C3's e_B with M_B^{s_B}; its exact-attacker definitions (M_A = 0) hide the factor
    (I - M_B^{s_B} M_A)^{-1} from the step's proof, so a sign flipped inside it fails VD only through the cited form."""
    chains = list(derivations.CHAINS)
    k = next(i for i, c in enumerate(chains) if c.claim == "C16")
    (first, why) = chains[k].steps[0]
    S, M_A = derivations.S_B_steps, derivations.A.M
    wrong = first.xreplace({derivations.I - S * M_A: derivations.I + S * M_A})
    assert wrong != first
    chains[k] = dataclasses.replace(chains[k], steps=((wrong, why),) + chains[k].steps[1:])
    monkeypatch.setattr(derivations, "CHAINS", chains)
    assert not derivations.failed_steps("C16")  # the step still holds
    out = chain_method.method("C16")(PROFILES["quick"])
    assert out.worst_error >= 1 and "C3's e_B" in out.detail, out.detail


def test_vd_reads_the_printed_method_labels(monkeypatch):
    """Each step's label ([V1] in derivations.tex, "proved step by step by V1" in the macros file) must be its chain's
    method; a checker that labels a V1 step "V3" fails VD."""
    orig = derivations.check

    def mislabelled(chain):
        return [dataclasses.replace(c, method="V3") for c in orig(chain)]

    monkeypatch.setattr(derivations, "check", mislabelled)
    out = chain_method.method("C14")(PROFILES["quick"])
    assert out.worst_error >= 1 and "labelled 'V3'" in out.detail, out.detail


def test_vd_reads_which_chains_are_the_claims_and_every_steps_check(monkeypatch):
    """A lookup that hands C4 another claim's chains, or a check list with a step 0, fails VD."""
    orig_for, orig_check = derivations.chains_for, derivations.check
    monkeypatch.setattr(derivations, "chains_for", lambda claim: orig_for(claim) + orig_for("C5"))
    out = chain_method.method("C4")(PROFILES["quick"])
    assert out.worst_error >= 1 and "C5" in out.detail, out.detail
    monkeypatch.setattr(derivations, "chains_for", orig_for)
    monkeypatch.setattr(derivations, "check", lambda chain: [dataclasses.replace(c, index=c.index - 1)
                                                             for c in orig_check(chain)])
    out = chain_method.method("C14")(PROFILES["quick"])
    assert out.worst_error >= 1 and "checks of steps" in out.detail, out.detail


@pytest.mark.parametrize("claim", ["C2", "L1", "P4"])
def test_vd_fails_when_an_unjustified_inverse_is_accepted(monkeypatch, claim):
    """A V1 checker that marks a step inverting a factor no hypothesis makes invertible as holding (theory.derivations'
    "not justified" branch with True) fails VD: the step (I + Z)^-1 (I + Z) E_0 must be refused."""
    orig = derivations.check

    def lenient(chain):
        return [dataclasses.replace(c, holds=True) if c.residual.startswith("not justified") else c
                for c in orig(chain)]

    monkeypatch.setattr(derivations, "check", lenient)
    out = chain_method.method(claim)(PROFILES["quick"])
    assert out.worst_error >= 1 and "no hypothesis makes invertible" in out.detail, out.detail


@pytest.mark.parametrize("fid, k", [("C4.linear_in_gap", 1), ("C4.gap_norm", 0)])
def test_vd_fails_when_a_formula_is_read_off_another_chain(monkeypatch, fid, k):
    """C4 has two chains and two formulas; a registry that reads one formula off the other's chain (derivations.py's
    survivors: the chain index 0 and 1 swapped) fails VD: two formulas read off one chain, or ||Delta||^2 equal to a
    vector."""
    chain = derivations.chains_for("C4")[k]
    wrong = {fid: (chain.steps[0][0] if fid == "C4.linear_in_gap" else derivations.gap_norm_sq, chain.steps[-1][0])}
    formulas = [dataclasses.replace(f, lhs=wrong[f.id][0], rhs=wrong[f.id][1]) if f.id in wrong else f
                for f in derivations.FORMULAS]
    orig_of = derivations.chain_of
    monkeypatch.setattr(derivations, "FORMULAS", formulas)
    monkeypatch.setattr(derivations, "chain_of", lambda f: chain if f == fid else orig_of(f))
    out = chain_method.method("C4")(PROFILES["quick"])
    assert out.worst_error >= 1 and "both read off" in out.detail, out.detail
    assert ("its sides have shapes" in out.detail) == (fid == "C4.gap_norm"), out.detail  # a scalar = a vector


def test_vd_fails_when_v2_reads_only_the_first_entry(monkeypatch):
    """A V2 checker that returns the first entry of lhs - rhs (derivations.py's survivor: ``entry != 0`` to ``!= 1``
    in the residual) passes a step wrong only in a later entry; VD's V2 control must catch it."""
    import sympy as sp

    def first_entry_only(chain, lhs, rhs):
        matrices, scalars = chain.explicit(chain.dims[0])
        diff = sp.Matrix(derivations.evaluate(lhs, matrices)) - sp.Matrix(derivations.evaluate(rhs, matrices))
        return sp.simplify(diff.xreplace(scalars)[0])

    monkeypatch.setattr(derivations, "_v2_residual", first_entry_only)
    out = chain_method.method("C10")(PROFILES["quick"])
    assert out.worst_error >= 1 and "wrong only in its last entry" in out.detail, out.detail
