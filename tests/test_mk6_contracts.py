"""Contracts of theory.protocol.random_markov that only the Python API reaches (the mutation killer of
random_markov.py runs this file, mutation/targets.toml; R1's VS checks what ``derive --protocol`` prints, with
proofs_check/verification/shipped_mk6.py):

- the documented limits that shipped_mk6 checks are the ones docs/protocol.rst states;
- :func:`random_markov.derive` refuses more than ``MAX_UNKNOWNS`` written messages itself (the compiler checks
  the same bound first, so only a direct call reaches derive's own test): the limit lowered to 2, a chain of 2
  written messages is derived, one of 3 refused with the number and the limit;
- a chain in which an agent never writes (no unique stationary mean; the command refuses such a config, the
  Python API compiles it) leaves its conditional first moments to their equations with the reason in the
  module's words, ``I - S`` singular because some agent never writes where the chain goes;
- every identity of :func:`random_markov.checks` can fail: on a three-agent chain derived with named blocks, each
  planted wrong certificate (a block of ``B``, the inverse ``T``, the eliminated matrix, the right side ``b``, a
  given right side of the elimination) makes exactly the identity that reads it fail, while the derived one
  passes every identity; the failing residual of the reduced system's equivalence keeps each product in order
  (the written messages ``y`` and the right sides ``beta`` are noncommutative letters: a column stands last), and
  names its unknowns as docs/protocol.rst states: ``y_{1A}`` after the written message, ``beta_{2B}`` after the
  block ``q_{2,B}`` (u = l K + a, the module text's order of the blocks).
"""
import copy
import re
from pathlib import Path

import pytest
import sympy as sp

from proofs_check.verification import shipped_mk6
from theory.core.algebra import FreeAlgebra, TooLarge, letter, padd
from theory.protocol import random_markov
from theory.protocol.random_checks import named_mean_checks
from theory.protocol.random_compiler import compile_random
from theory.protocol.random_description import markov

DOC = Path(__file__).resolve().parent.parent / "docs" / "protocol.rst"
R = sp.Rational


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_documented_limits_are_the_ones_checked():
    doc = _flat(DOC.read_text())
    assert f"up to {shipped_mk6.DOCUMENTED_MAX_UNKNOWNS} of them in closed form" in doc
    assert f"an expression of more than {shipped_mk6.DOCUMENTED_MAX_WORDS} words leaves the mean" in doc
    assert f"``a derived expression exceeds {shipped_mk6.DOCUMENTED_MAX_WORDS} words``" in doc


def _derive(rc):
    return random_markov.derive(FreeAlgebra(max_words=random_markov.NAMED_MAX_WORDS), rc.names, rc.Phi, rc.rspec.P,
                                rc.mean_map, rc.mean_offset, rc.law)


HALF = [[R(1, 2), R(1, 2)], [R(1, 2), R(1, 2)]]
THIRDS = [[R(1, 3)] * 3] * 3


def test_derive_refuses_past_its_limit(monkeypatch):
    two = compile_random(markov(["A", "B"], [[{"A": {"B": 1}}], [{"B": {"A": 1}}]], HALF))
    three = compile_random(markov(["A", "B"], [[{"A": {"B": 1}}], [{"B": {"A": 1}}], [{"A": {"B": R(1, 2)}}]],
                                  THIRDS))
    monkeypatch.setattr(random_markov, "MAX_UNKNOWNS", 2)
    mean, _, _, mm = _derive(two)  # exactly at the limit: derived
    assert len(mm.writers) == 2 and all(mean)
    with pytest.raises(TooLarge, match=re.escape("3 written messages to solve for (limit 2)")):
        _derive(three)


def test_an_agent_that_never_writes():
    rc = compile_random(markov(["A", "B"], [[{"A": {"B": 1}}], [{"A": {"A": R(1, 2), "B": R(1, 2)}}]], HALF))
    assert rc.mean is None
    assert any("I - S (the scalar blocks of the conditional first-moment operator) is singular: some agent never "
               "writes in an alternative the chain reaches" in x for x in rc.notes), rc.notes


@pytest.fixture(scope="module")
def chain3():
    names, alts, P = shipped_mk6.CHAIN3
    rc = compile_random(markov(list(names), alts, P))
    assert rc.named is not None
    return rc


def _results(rc, mm=None, B=None, b=None) -> dict:
    mm = rc.named if mm is None else mm
    out = random_markov.checks(rc.alg, mm, rc.names, rc.mean_map if B is None else B,
                               rc.mean_offset if b is None else b, rc.law, rc.mean, rc.residual_self,
                               rc.residual_gaps)
    return {label: res for label, res in out}


def _fails(res) -> bool:
    return bool(res) if isinstance(res, dict) else not (isinstance(res, sp.MatrixBase) and res.is_zero_matrix)


def _label(results: dict, start: str) -> str:
    hits = [x for x in results if x.startswith(start)]
    assert len(hits) == 1, (start, list(results))
    return hits[0]


def test_the_derived_chain_passes_every_identity(chain3):
    results = _results(chain3)
    assert not [x for x, res in results.items() if _fails(res)]
    assert all(c.holds for c in named_mean_checks(chain3))


def _planted(chain3, what: str):
    mm = copy.deepcopy(chain3.named)
    B, b = copy.deepcopy(chain3.mean_map), copy.deepcopy(chain3.mean_offset)
    extra = letter(sp.Symbol("M_A", commutative=False))
    if what == "B":
        B[-1][-1] = padd(B[-1][-1], extra)
    elif what == "T":
        mm.T = mm.T * 2
    elif what == "F":  # a written block of F changed (B = S + E F no longer holds)
        v = next(v for v, f in enumerate(mm.F[0]) if f)
        mm.F[0][v] = padd(mm.F[0][v], extra)
    elif what == "A":
        mm.schur.A[0][-1][-1] = padd(mm.schur.A[0][-1][-1], extra)
    elif what == "b":
        b[-1] = padd(b[-1], extra)
    elif what == "given":
        mm.schur.sides[0].given[-1] = padd(mm.schur.sides[0].given[-1], extra)
    return _results(chain3, mm, B, b)


@pytest.mark.parametrize("what, label", [
    ("B", "B = S + E F"),
    ("T", "q = T E y + T beta gives"),
    ("F", "q = T E y + T beta gives"),
    ("A", "the eliminated matrix is I - F T E"),
    ("b", "b = sum_j c_j w*_j"),
    ("given", "right side A is F T c_A"),
])
def test_a_planted_wrong_certificate_fails_its_identity(chain3, what, label):
    results = _planted(chain3, what)
    assert _fails(results[_label(results, label)])


def test_a_failing_residual_keeps_each_product_in_order(chain3):
    """The reduced system's identity with a wrong block of F: its residual, as random_checks prints it (the
    refusal names it), has the agents' letters before the written messages y and the right sides beta in every
    product."""
    from theory.core.algebra import from_poly

    results = _planted(chain3, "F")
    text = sp.sstr(from_poly(results[_label(results, "q = T E y + T beta gives")]))
    assert re.search(r"M_\w\*(y|beta)_\{", text), text
    assert not re.search(r"(y|beta)_\{\w+\}\*M_", text), text


def test_a_failing_residual_names_its_unknowns_as_the_document_does(chain3):
    """docs/protocol.rst: a failing identity of the reduced system names its opaque unknowns ``y_{1A}`` (a written
    message, alternative from 1 and writer) and ``beta_{2B}`` (the right side of ``q_{2,B}``). With ``F[0][v]``
    changed by ``X``, ``q - B q - beta - E (y - F q)`` is ``-E[u, 0] X q_v`` on the rows ``E`` reaches, and ``q_v =
    sum_w (T E)[v, w] y_w + sum_u' T[v, u'] beta_u'``: the residual holds the ``y`` of each written message with
    ``(T E)[v, w] != 0`` and the ``beta`` of each block with ``T[v, u'] != 0``, no other. The expected names are
    built here from the certificate's ``T``, ``E`` and writers, the blocks in the module text's order (u = l K +
    a)."""
    doc = _flat(DOC.read_text())
    assert "labels: ``y_{1A}`` for a written message and ``beta_{2B}`` for the right side of ``q_{2,B}``" in doc
    mm, names = chain3.named, list(chain3.names)
    K = len(names)
    v = next(v for v, f in enumerate(mm.F[0]) if f)
    TE = mm.T * mm.E
    want = {f"y_{{{j + 1}{names[a]}}}" for w, (j, a) in enumerate(mm.writers) if TE[v, w] != 0}
    want |= {f"beta_{{{u // K + 1}{names[u % K]}}}" for u in range(mm.T.rows) if mm.T[v, u] != 0}
    results = _planted(chain3, "F")
    res = results[_label(results, "q = T E y + T beta gives")]
    got = {s.name for w in res for s in w if s.name.startswith(("y_", "beta_"))}
    assert len(want) > 2 and got == want, (sorted(got), sorted(want))
