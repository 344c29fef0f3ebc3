"""The proof cache's derivation step checks (``verify --out`` reads passed chain checks back)."""
from __future__ import annotations

import json
from dataclasses import replace

from proofs_check.report import latex
from proofs_check.verification import proof_cache
from theory import derivations


def _chain(claim: str = "C2") -> derivations.Chain:
    return derivations.chains_for(claim)[0]


def test_passed_checks_are_stored_and_read_back_unchanged(tmp_path, monkeypatch):
    chain = _chain()
    cache = proof_cache.ProofCache(tmp_path)
    first = cache.chain_checks(chain)
    assert first == derivations.check(chain) and all(c.holds for c in first)
    stored = list((tmp_path / "derivations").glob("*.json"))
    assert len(stored) == 1

    def no_prover(chain):
        raise AssertionError("a stored chain was re-proved")

    monkeypatch.setattr(derivations, "check", no_prover)
    assert proof_cache.ProofCache(tmp_path).chain_checks(chain) == first


def test_a_failed_chain_is_never_stored_and_is_refused_at_print_time(tmp_path):
    chain = _chain()
    (e0, why0), *rest = chain.steps
    wrong = replace(chain, steps=((e0, why0), *rest[:-1], (-rest[-1][0], rest[-1][1])))  # flipped last step
    cache = proof_cache.ProofCache(tmp_path)
    checks = cache.chain_checks(wrong)
    assert not checks[-1].holds
    assert not list((tmp_path / "derivations").glob("*.json"))
    try:
        latex.chain_latex(wrong, check=cache.chain_checks)
    except latex.UnverifiedStep:
        pass
    else:
        raise AssertionError("a chain whose last step fails was printed")


def test_malformed_or_failing_entries_are_misses(tmp_path):
    chain = _chain()
    cache = proof_cache.ProofCache(tmp_path)
    good = cache.chain_checks(chain)
    path = next((tmp_path / "derivations").glob("*.json"))
    entry = json.loads(path.read_text())
    for bad in ([dict(entry[0], holds=False)] + entry[1:], [dict(entry[0], residual="1")] + entry[1:], entry[:-1],
                "not a list", [dict(entry[0], justified=[["only one"]])] + entry[1:]):
        path.write_text(json.dumps(bad))
        assert proof_cache._step_checks(json.loads(path.read_text()), len(chain.steps)) is None
        assert cache.chain_checks(chain) == good  # recomputed (and stored again)
    path.write_text("{")
    assert cache.chain_checks(chain) == good


def test_the_key_names_the_chain_and_its_sources(monkeypatch):
    chain = _chain()
    assert proof_cache.chain_key(chain) != proof_cache.chain_key(replace(chain, title=chain.title + " "))
    assert proof_cache.chain_key(chain) != proof_cache.chain_key(_chain("C4"))
    before = proof_cache.chain_key(chain)
    monkeypatch.setattr(proof_cache, "source_closure", lambda m: (("theory.derivations", "changed"),))
    assert proof_cache.chain_key(chain) != before


def test_the_cached_document_equals_the_recomputed_one(tmp_path):
    from proofs_check.claims import all_claims

    claims = [c for c in all_claims() if c.id in ("C2", "C4")]
    cache = proof_cache.ProofCache(tmp_path)
    plain = latex.derivations_tex(claims)
    assert latex.derivations_tex(claims, check=cache.chain_checks) == plain  # first run: stores
    assert latex.derivations_tex(claims, check=cache.chain_checks) == plain  # second: reads back
