"""Canonical residuals for every deterministic protocol (issue 23, "Results are not in canonical form"):
on seeded random protocols (K = 2..4 agents, <= 4 phases, the dense named-Schur path included) every
coefficient ``C_ij`` of ``e_i = sum_j C_ij (w_j* - w_i*)`` (and ``D_i``, and each fixed-point coefficient)
is a scalar times a product of single letters (``M``'s, ``K``'s, ``Q_k``'s and named factors ``S_k``, each
defined once), every displayed form is proved, and the named factors reach every format. A named factor
defined wrongly, a recognised inverse written wrongly, a sum left in a coefficient fail."""
import re
from fractions import Fraction

import numpy as np
import pytest

from proofs_check.verification.shipped_derive import Evaluator
from test_protocol_latex import random_spec
from theory.core.algebra import letter, padd
from theory.protocol import canonical, compiler as P, gallery as G, report
from theory.protocol.symbols import M

# 40 seeds: random_spec gives K = 2 + seed % 3 agents; 11 of them take the named-Schur (dense) path
SHAPE_SEEDS = tuple(range(40))
EVAL_SEEDS = (0, 1, 13, 29)  # two expanded (K = 2, 3) and two dense (K = 3, 4) protocols, evaluated numerically
# canonical and raw residuals are the same matrices: they differ only by rounding (float64 products of a few
# dozen d x d matrices with entries of size <= 1 lose at most ~1e-12 relative)
EVAL_RTOL = 1e-9


def is_letter(f: dict) -> bool:
    return len(f) == 1 and len(next(iter(f))) == 1 and next(iter(f.values())) == 1


def letters_of(cn) -> set:
    """The letters a displayed coefficient may use: M's, K's, the pivots' inverses, named factors (and on the
    dense path the named blocks Phi_{a,b}, r_{a,j}, U^{(k)}_{a,b}, each defined in the document)."""
    out = {Q for _, Q in cn.alg.inverted} | {S for S, _ in cn.named} | {L for L, _ in cn.cp.definitions}
    return out | {M(n) for n in cn.cp.names} | {canonical.k_letter(n) for n in cn.cp.names}


def not_products(cn) -> list:
    """Every displayed coefficient that is not a scalar times a product of allowed single letters."""
    allowed = letters_of(cn)
    coeffs = [C for row in cn.gaps + cn.fixed for C in row.values()] + [D for D in cn.self_ if D is not None]
    return [C for C in coeffs if not all(is_letter(f) and next(iter(f))[0] in allowed for f in C.factors)]


@pytest.fixture(scope="module")
def canonicals():
    return {s: canonical.canonical(P.compile_protocol(random_spec(s), noise=False)) for s in SHAPE_SEEDS}


def test_random_protocols_are_in_canonical_form(canonicals):
    dense = [s for s, cn in canonicals.items() if cn.dense]
    assert len(dense) >= 5 and {cn.cp.spec.K for cn in canonicals.values()} == {2, 3, 4}  # what the seeds cover
    for s, cn in canonicals.items():
        failed = [c.label for c in cn.checks if not c.holds]
        assert not failed, (s, failed[:3])
        assert not_products(cn) == [], s
        # every gap of the compiler's residual is there, and only those
        for i in range(cn.cp.spec.K):
            assert set(cn.gaps[i]) == set(cn.cp.residual_gaps[i]), (s, i)
        # a named factor is a sum (a single word would have been split into letters), named once
        assert all(len(F) > 1 for _, F in cn.named), s
        sums = [tuple(sorted(map(str, F.items()))) for F in cn.sums.values()]
        assert len(set(sums)) == len(sums) == len(cn.named), s
        # the chain includes each named factor's definition: its own check (the displayed definition is the sum
        # it names), and every check of a coefficient using S_k says it substitutes that definition
        labels = [c.label for c in cn.checks]
        for S, _ in cn.named:
            assert canonical.named_label(S) in labels, (s, S)
            for lbl in labels:
                if (f"{S.name} " in lbl or lbl.endswith(S.name)) and lbl != canonical.named_label(S):
                    assert "definition" in lbl, lbl


def test_the_shape_check_has_power(canonicals):
    cn = canonicals[0]
    i, j = 0, next(iter(cn.gaps[0]))
    C = cn.gaps[i][j]
    C.factors.insert(0, padd(letter(M("A")), letter(M("B"))))  # planted: a sum left in the product
    try:
        assert not_products(cn) == [C]
    finally:
        C.factors.pop(0)
    C.factors.insert(0, {(M("A"), M("B")): Fraction(1)})  # planted: a two-letter word as one factor
    try:
        assert not_products(cn) == [C]
    finally:
        C.factors.pop(0)


@pytest.mark.parametrize("key", ["debate", "star"])
def test_a_wrongly_defined_named_factor_fails_its_proof(key):
    cn = canonical.canonical(P.compile_protocol(G.entry(key).spec, noise=False))
    assert cn.named and all(c.holds for c in canonical.proofs(cn))
    for k, (S, F) in enumerate(cn.named):
        w = max(F, key=len)
        planted = [{**F, w: -F[w]},  # flipped sign of one term
                   {x: c for x, c in F.items() if x != w},  # dropped term
                   {**F, tuple(reversed(w)): F[w]} if len(w) > 1 and w != tuple(reversed(w)) else None]  # swapped
        for wrong in [p for p in planted if p is not None and p != F]:
            cn.named[k] = (S, {x: c for x, c in wrong.items() if c})  # the displayed definition
            failed = [c.label for c in canonical.proofs(cn) if not c.holds]
            assert failed and all(S.name in lbl for lbl in failed), (key, S, failed[:2])
            cn.named[k] = (S, F)
            g = cn.sums[S]
            cn.sums[S] = {x: c for x, c in wrong.items() if c}  # the sum the coefficients' checks substitute
            failed = [c.label for c in canonical.proofs(cn) if not c.holds]
            assert failed and all(S.name in lbl or "S" in lbl for lbl in failed), (key, S, failed[:2])
            assert any(lbl != canonical.named_label(S) for lbl in failed)  # a coefficient's check fails too
            cn.sums[S] = g


def test_a_wrongly_defined_named_factor_fails_on_the_dense_path(canonicals):
    cn = next(c for c in canonicals.values() if c.dense and c.named)
    assert all(c.holds for c in canonical.proofs(cn))
    S, F = cn.named[0]
    w = next(iter(F))
    cn.named[0] = (S, {**F, w: 2 * F[w]})  # planted: one coefficient doubled
    try:
        failed = [c.label for c in canonical.proofs(cn) if not c.holds]
        assert failed and all(S.name in lbl for lbl in failed)
    finally:
        cn.named[0] = (S, F)


def test_a_wrong_recognised_inverse_fails_its_proof():
    """The ring's residuals read Q_k M_k ... K_j because I + M_A Q_1 M_D M_C M_B was recognised as
    (I - M_A M_D M_C M_B)^{-1}; that identity is proved on its own, and a wrong one fails."""
    cn = canonical.canonical(P.compile_protocol(G.entry("ring").spec, noise=False))
    assert cn.identities and all(c.holds for c in canonical.identity_checks(cn))
    assert cn.named == []  # nothing left to name: every C_ij of the ring is a product of M's, K's and Q's
    Q, f = cn.identities[0]
    w = next(x for x in f if x)
    cn.identities[0] = (Q, {(): f[()], w: -f[w]})  # planted: I - M_A Q_1 ... in place of I + M_A Q_1 ...
    assert not all(c.holds for c in canonical.identity_checks(cn))


def evaluator(doc: dict, replace: dict | None = None) -> Evaluator:
    """The package's text evaluator at random 3 x 3 transfers and targets, every name the document defines
    (named blocks, inverses, named factors; ``replace``: text name -> planted text) resolvable."""
    rng, d, env = np.random.default_rng(len(doc["agents"])), 3, {}
    for n in doc["agents"]:
        Mn = 0.3 * rng.standard_normal((d, d))
        env.update({f"M_{n}": Mn, f"K_{n}": np.eye(d) - Mn, f"w_{n}_star": rng.standard_normal((d, 1))})
    texts = {e["text_name"]: e["text"] for e in doc.get("definitions", []) + doc["inverses"] + doc["named_factors"]}
    texts.update(replace or {})
    # a named block's plain spelling: Phi_{A,B} -> Phi_A_B, U^{(1)}_{C,D} -> U_1_C_D (as the text prints it)
    texts.update({re.sub(r"\^\{\((\d+)\)\}", r"_\1", k).replace("_{", "_").replace(",", "_").replace("}", ""): v
                  for k, v in texts.items()})
    return Evaluator(d, env, texts, {e["text_name"] for e in doc["inverses"]})


@pytest.fixture(scope="module")
def eval_docs():
    return {s: report.derived_theory(P.compile_protocol(random_spec(s))) for s in EVAL_SEEDS}


@pytest.mark.parametrize("seed", EVAL_SEEDS)
def test_canonical_text_evaluates_to_the_compilers_residual(seed, eval_docs):
    """Every format: the JSON's canonical text (named factors and inverses by their texts) and the compiler's
    raw residual text are the same matrices at random transfers, and the text and macro outputs define the
    named factors."""
    doc = eval_docs[seed]
    ev = evaluator(doc)
    assert doc["named_factors"]
    for n, e in doc["residuals"].items():
        raw, canon = ev.eval(e["text"]), ev.eval(e["canonical_text"])
        assert np.linalg.norm(canon - raw) <= EVAL_RTOL * np.linalg.norm(raw), (seed, n)
    text, macros = report.as_text(doc), report.as_macros(doc, prefix="aadX")
    for nf in doc["named_factors"]:
        assert f"\n{nf['text_name']} = {nf['text']}\n" in text
        word = report.macro_words(nf["text_name"])
        assert f"\\newcommand{{\\aadX{word}}}{{{nf['name']}}}" in macros
        assert f"\\newcommand{{\\aadX{word}Definition}}{{\\aadX{word} = " in macros
    assert "\\mathcal{S}" not in "".join(line for line in macros.splitlines() if "Residual" in line)


def test_the_evaluation_has_power(eval_docs):
    doc = eval_docs[EVAL_SEEDS[0]]
    nf = doc["named_factors"][0]
    flipped = nf["text"].replace(" + ", " # ").replace(" - ", " + ").replace(" # ", " - ")  # planted signs
    assert flipped != nf["text"]
    e = next(e for e in doc["residuals"].values() if nf["text_name"] in e["canonical_text"])
    raw = evaluator(doc).eval(e["text"])
    wrong = evaluator(doc, {nf["text_name"]: flipped}).eval(e["canonical_text"])
    assert np.linalg.norm(wrong - raw) > EVAL_RTOL * np.linalg.norm(raw)
