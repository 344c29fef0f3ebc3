"""Contract tests for the last survivors of the protocol compiler's mutation sessions (issue 22 item 5, helper
``surv5``). Each test states the rule it reads (docs/protocol.rst, docs/config.rst or the module texts) and builds
its reference from the protocol's definition, never from the code under test.

* ``report.derived_theory``: the printed form does not depend on SymPy's cache (a letter made again after the
  cache was cleared is equal, not identical, to the compiled one); when a step of the canonical form's chain does
  not reduce to 0 the compiler's proved forms are printed instead (its module text), with every printed check
  holding, ``weights_sum_to_one`` as defined (the residual's ``w_i*`` coefficient vanishes: at equal targets the
  fixed point is the target) and the inverses' text names in the text spelling (``Q1``, as docs/protocol.rst's
  text format prints them).
* ``cost.hearing_counts``: ``N = A_P ... A_1`` over the phases' 0/1 hearing patterns, a non-listener keeping its
  message (cost.py's module text), for a protocol of 300 agents (indices past CPython's small-int cache).
* ``printing.text``: a transposed letter prints as ``transpose(X)`` with ``X`` the letter's own text (SymPy reads
  the text format back: ``transpose`` of another name is another matrix), also for an agent whose name is a label
  of ``notation.NAMES`` (``A^s``: the Python API accepts any name; ``derive --protocol`` refuses it).
* ``random_checks``: a Markov chain with a symbolic transition probability is checked (``markov``: "a symbolic one
  is a hypothesis"); on the named path a planted wrong ``T`` fails the exact identity ``T (I - S) = I``.
* ``checks.noisy_round_check`` (named path): a planted wrong round-map block fails, and the residual printed is a
  vector (every term ends in ``z*``, ``x`` or ``eta``).
* ``rate.rate_reduction``: the claimed rate of block matrices ``A (x) X`` against ``rho``, and the module text's
  rule for when a rate is reduced.

These inputs are ones ``derive --protocol`` cannot receive from a config (or planted wrong objects), so they are
contract tests of the Python API, not verify methods (mutation/targets.toml lists this file in the killers).
"""
from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from theory import api
from theory.protocol import canonical, cost, description, report
from theory.protocol.result import Check

# Float64 fixed points of d = 2 systems with transfers of norm <= 0.5: the residual's w_i* coefficient is
# either exactly 0 (then |z_i - w| is round-off, ~1e-15) or of order 0.1 for these weights.
SELF_TOL = 1e-9


def _compile(names, rounds):
    return api.compile_protocol(api.protocol_spec(names, rounds), noise=False)


# -- report.derived_theory ---------------------------------------------------------------------------------------

def test_printed_form_does_not_depend_on_sympys_cache():
    """``K_j`` is written where a coefficient is exactly ``X (I - M_j)`` (docs/protocol.rst) whether or not the
    letter ``M_j`` is still the object SymPy cached when the protocol was compiled."""
    from sympy.core.cache import clear_cache
    cp = _compile(["A", "B"], None)
    clear_cache()  # as a long session evicts entries: M_B is made again, equal but not identical
    doc = report.derived_theory(cp)
    fresh = report.derived_theory(_compile(["A", "B"], None))
    for name in ("A", "B"):
        assert doc["residuals"][name]["text"] == fresh["residuals"][name]["text"]
    assert "K_B" in doc["residuals"]["A"]["text"]  # e_A = M_A Q1 (I - M_B) (w_B* - w_A*): exactly X (I - M_B)


def _fixed_point_at_equal_targets(names, rounds, rng, d=2):
    """``z*`` (K x d) of the numeric round map when every agent's target is the same ``w``; each phase updates
    its listeners at once from the messages at the phase's start: ``z_i <- M_i (sum_j a_ij z_j) + (I - M_i) w``."""
    K, idx = len(names), {n: k for k, n in enumerate(names)}
    Ms = [0.5 * q / np.linalg.norm(q, 2) for q in rng.standard_normal((K, d, d))]
    w = rng.standard_normal(d)
    # z <- Phi z + r, composed phase by phase on (K d)-vectors
    Phi, r = np.eye(K * d), np.zeros(K * d)
    for phase in rounds:
        A, c = np.eye(K * d), np.zeros(K * d)
        for lst, row in phase.items():
            i = idx[lst]
            A[i * d:(i + 1) * d] = 0.0
            for src, wt in row.items():
                A[i * d:(i + 1) * d, idx[src] * d:(idx[src] + 1) * d] += float(wt) * Ms[i]
            c[i * d:(i + 1) * d] = (np.eye(d) - Ms[i]) @ w
        Phi, r = A @ Phi, A @ r + c
    z = np.linalg.solve(np.eye(K * d) - Phi, r)
    return z.reshape(K, d), w


FALLBACK_CASES = {
    "normalised": (["A", "B"], [{"A": {"B": 1}}, {"B": {"A": 1}}]),
    "unnormalised": (["A", "B"], [{"A": {"B": Fraction(1, 2)}}, {"B": {"A": Fraction(3, 2)}}]),
}


@pytest.mark.parametrize("case", sorted(FALLBACK_CASES))
def test_canonical_chain_failure_prints_the_compilers_forms(case, monkeypatch):
    """derived_theory's module text: the canonical form is printed "when every identity of its chain reduces to
    0; else in the compiler's form". A failing chain step is planted in the canonical form (no protocol found so
    far reaches it, docs/mutation.rst); the document then prints only proved checks, ``weights_sum_to_one``
    as the fixed point at equal targets says, and the inverses' text names as the text format spells them."""
    names, rounds = FALLBACK_CASES[case]
    real = canonical.canonical

    def failing(cp, *args, **kwargs):
        cn = real(cp, *args, **kwargs)
        cn.checks = list(cn.checks) + [Check("a planted chain step", False, "M_A")]
        return cn

    monkeypatch.setattr(canonical, "canonical", failing)
    doc = report.derived_theory(_compile(names, rounds))
    assert doc["checks"] and all(c["holds"] for c in doc["checks"])
    assert not any(c["label"] == "a planted chain step" for c in doc["checks"])
    assert not any("canonical_text" in r for r in doc["residuals"].values())  # the compiler's form
    z, w = _fixed_point_at_equal_targets(names, rounds, np.random.default_rng(5))
    for k, name in enumerate(names):
        sums_to_one = bool(np.linalg.norm(z[k] - w) < SELF_TOL)
        assert doc["residuals"][name]["weights_sum_to_one"] is sums_to_one, name
    assert doc["inverses"]
    for inv in doc["inverses"]:
        assert re.fullmatch(r"Q[1-9][0-9]*", inv["text_name"]), inv["text_name"]
        assert f"{inv['text_name']} invertible" in doc["hypotheses"]


def test_fallback_cases_cover_both_answers():
    """The two fallback cases above see ``weights_sum_to_one`` both true and false (else a wrong comparison could
    pass them): checked on the numeric fixed point only."""
    seen = set()
    for names, rounds in FALLBACK_CASES.values():
        z, w = _fixed_point_at_equal_targets(names, rounds, np.random.default_rng(5))
        seen |= {bool(np.linalg.norm(z[k] - w) < SELF_TOL) for k in range(len(names))}
    assert seen == {True, False}


# -- cost.hearing_counts -----------------------------------------------------------------------------------------

def test_hearing_counts_past_the_small_int_cache():
    """``N = A_P ... A_1`` (cost.py): 300 agents; phase 1: the first hears the last, phase 2: every other agent
    hears the first. The last agent keeps its message through phase 1 (a word on N's diagonal, then heard by the
    others), which only the identity start of the product gives."""
    K = 300
    names = [f"a{k}" for k in range(K)]
    rounds = [{names[0]: {names[-1]: 1}}, {nm: {names[0]: 1} for nm in names[1:]}]
    s = description.spec(names, rounds)
    idx = {nm: k for k, nm in enumerate(names)}
    ref = np.eye(K, dtype=np.int64)
    for phase in s.phases:
        A = np.eye(K, dtype=np.int64)
        for listener, row in phase:
            A[idx[listener]] = 0
            for src, wt in row:
                A[idx[listener], idx[src]] += int(wt != 0)
        ref = A @ ref
    N, _ = cost.hearing_counts(s)
    assert np.array_equal(np.array(N, dtype=np.int64), ref)


# -- printing.text -----------------------------------------------------------------------------------------------

_TRANSPOSE = re.compile(r"transpose\(([^()]*)\)")


def test_transposed_letter_prints_as_the_letters_text():
    """The Lyapunov equation of a noisy protocol holds ``M_i^T``: its text is ``transpose(<text of M_i>)``, the
    text the round map prints for ``M_i``, also when the agent's name is a ``notation.NAMES`` label."""
    doc = api.derive(api.protocol_spec(["A^s", "B"]))
    phi_text = " ; ".join(c["text"] for row in doc["round_map"]["Phi"] for c in row)
    args = [a for e in doc["lyapunov"].values() for a in _TRANSPOSE.findall(e["text"])]
    assert args
    for a in args:
        assert re.search(r"(?<![A-Za-z0-9_])" + re.escape(a) + r"(?![A-Za-z0-9_])", phi_text), (a, phi_text)


# -- random_checks: symbolic chains (Python API) and a planted wrong object -----------------------------------

def test_symbolic_transition_probabilities_are_checked():
    """``random_description.markov``: "a symbolic [entry] is a hypothesis". A chain with a symbolic ``p`` (no
    assumptions: SymPy cannot order it against 0) compiles and every conditional second-moment equation is
    re-derived and holds."""
    from theory.protocol import random_checks
    from theory.protocol.random_compiler import compile_random
    from theory.protocol.random_description import markov
    p = sp.Symbol("p")
    rs = markov(["A", "B"], [[{"A": {"B": 1}}], [{"B": {"A": 1}}]], [[p, 1 - p], [1 - p, p]])
    out = random_checks.second_moment_checks(compile_random(rs))
    assert len(out) == 2 and all(c.holds for c in out), [(c.label, c.residual) for c in out]


def _named_chain():
    """Two agents, four alternatives on a cycle a -> {a, b} -> c -> d -> a, 7 written messages: the named path
    (the structure of ``shipped_randb.NAMED_SMALL``, exact weights)."""
    from theory.protocol.random_compiler import compile_random
    from theory.protocol.random_description import markov
    H = sp.Rational(1, 2)
    alts = [[{"Ann": {"Bo": 1}, "Bo": {"Ann": 1}}], [{"Ann": {"Bo": H, "Ann": H}, "Bo": {"Ann": 1}}],
            [{"Ann": {"Bo": 1}, "Bo": {"Ann": sp.Rational(3, 5), "Bo": sp.Rational(2, 5)}}], [{"Ann": {"Bo": 1}}]]
    P = [[H, H, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0]]
    rc = compile_random(markov(["Ann", "Bo"], alts, P))
    assert rc.named is not None
    return rc


def test_planted_wrong_scalar_inverse_fails_its_exact_check():
    """``named_mean_checks``: ``T (I - S) = I`` is an exact matrix identity that must be zero. It holds as compiled;
    with ``T`` doubled (a planted wrong inverse) it must fail, and its residual is that nonzero matrix."""
    import dataclasses

    from theory.protocol import random_checks
    rc = _named_chain()
    label = "T (I - S) = I"
    assert all(c.holds for c in random_checks.named_mean_checks(rc))
    wrong = dataclasses.replace(rc, named=dataclasses.replace(rc.named, T=2 * rc.named.T))
    bad = [c for c in random_checks.named_mean_checks(wrong) if c.label.startswith(label)]
    assert len(bad) == 1 and not bad[0].holds
    T, S = rc.named.T, rc.named.S
    assert sp.sympify(bad[0].residual) == sp.Matrix(2 * T * (sp.eye(T.shape[0]) - S) - sp.eye(T.shape[0]))


# -- checks.noisy_round_check on the named path ------------------------------------------------------------------

_VECTOR = re.compile(r"(x|z\^\*|eta)_")  # the vector letters of the noisy round (docstring below)


def test_named_noisy_round_residual_is_a_vector(monkeypatch):
    """The noisy round's residual is what is left of the deviation minus ``Phi (z - z*)`` and the propagated
    noise: a vector, so every printed term is a product of matrices ending in a vector letter (``z*``, ``x``,
    ``eta``). On the named path (``z*`` opaque), with a planted wrong round-map block the check fails and prints
    such terms. The switch to named blocks is lowered to reach that path on two agents (a performance bound)."""
    from theory.protocol import checks, compiler
    from theory.protocol.symbols import M
    monkeypatch.setattr(compiler, "EXPANDED_MAX_WORDS", 1)
    cp = api.compile_protocol(["A", "B"], noise=True)
    assert cp.named is not None and cp.noise
    assert checks.noisy_round_check(cp).holds
    cp.Phi[1][0] = cp.Phi[1][0] + M("A")  # planted: B's block from A gains M_A
    c = checks.noisy_round_check(cp)
    assert not c.holds
    terms = [t.strip() for t in re.split(r" [+-] |^-", c.residual) if t.strip()]
    assert any("z^*_" in t for t in terms), c.residual
    for t in terms:
        assert "(" not in t and _VECTOR.match(re.split(r"(?<!\^)\*", t)[-1]), (t, c.residual)


# -- rate.rate_reduction: the claimed rate against the spectral radius ------------------------------------------

# Block matrices Phi = A (x) X: every block an integer multiple of one letter X, so the blocks of Phi^q are A^q's
# entries times X^q and cancel exactly as signed weights can make a round map's powers cancel. The first four were
# found by a search over small A, the last built by hand (helper surv5); each has a structure the reduction must
# not take for a cycle of components: components joined by one-way links, a group that only a non-live agent
# reads (the last agent: nobody reads it, so Phi_RR has a component nothing in R reads), two separate cycles of
# components, a cycle that does not pass through the first component, and a component that is a tail into a cycle.
RATE_CASES = {
    "two-way links only": [[0, 0, 0, 0], [0, 0, 2, 1], [0, 1, 0, 0], [-1, 0, 0, 0]],
    "a group read only by a non-live agent": [[0, 0, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0], [0, 2, 0, 1, 0, 0],
                                              [0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 1, 0]],
    "two cycles of components": [[0, 0, 0, 1, 0, 0], [0, 0, 2, 0, 0, 0], [0, 1, 0, 0, 0, 1], [1, 0, 0, 0, 0, 0],
                                 [0, 1, 0, 0, 0, -1], [0, 0, 0, 0, -1, 0]],
    "a cycle not through the first": [[0, 0, 0, -1, 1], [0, 0, 0, 0, 0], [0, 0, 0, 1, 1], [-1, 0, 1, 0, 0],
                                      [0, 1, 0, 0, 0]],
    # agent 0 is read by the pair {1, 2} with weights +1 and -1, and 1 and 2 are read alike: agent 0's word cancels
    # from Phi^2 on, so agent 0 is a component of its own (a tail into the cycle {1, 2} <-> {3, 4}) at every power
    "a tail into a cycle of components": [[0, 0, 0, 0, 0], [1, 0, 0, 1, 2], [-1, 0, 0, 1, -1], [0, 1, 1, 0, 0],
                                          [0, 2, 2, 0, 0]],
}
# Eigenvalues of these small dense float64 matrices (d = 3) are exact to ~1e-13 relative; a defective top
# eigenvalue would lose accuracy to ~1e-7 (sqrt of machine epsilon), still far below the mutants' errors (> 25%).
RATE_REL_TOL = 1e-6


def _numeric(expr, env: dict) -> np.ndarray:
    """A word polynomial expression at concrete matrices (``env``: letter -> array)."""
    d = next(iter(env.values())).shape[0]
    out = np.zeros((d, d))
    for term in sp.Add.make_args(sp.expand(expr)):
        if term == 0:
            continue
        coeff, word = term.args_cnc()
        m = float(sp.Mul(*coeff)) * np.eye(d)
        for f in word:
            base, k = (f.base, int(f.exp)) if f.is_Pow else (f, 1)
            m = m @ np.linalg.matrix_power(env[base], k)
        out += m
    return out


def _rho(m: np.ndarray) -> float:
    return float(max(abs(np.linalg.eigvals(m))))


@pytest.mark.parametrize("case", sorted(RATE_CASES))
def test_reduced_rate_is_the_spectral_radius(case):
    """``rate.rate_reduction(Phi, R)``: ``rho(Phi) = rho(Phi_RR) = max_k rho(blocks_k)^(1/q)`` (its docstring),
    ``R`` the live agents (nonzero block columns); checked at a random X against ``rho(A (x) X)``."""
    from theory.protocol import rate
    A = np.array(RATE_CASES[case])
    X = sp.Symbol("X", commutative=False)
    Phi = [[sp.Integer(int(a)) * X for a in row] for row in A]
    R = [j for j in range(len(A)) if A[:, j].any()]
    env = {X: np.random.default_rng(3).standard_normal((3, 3))}
    q, blocks = rate.rate_reduction(Phi, R)
    claimed = max(_rho(np.block([[_numeric(e, env) for e in row] for row in b])) for b in blocks) ** (1.0 / q)
    truth = _rho(np.kron(A.astype(float), env[X]))
    assert abs(claimed - truth) <= RATE_REL_TOL * truth, (q, claimed, truth)


def test_no_cyclic_reduction_when_a_component_maps_into_two():
    """rate.py's module text reduces the rate only (a) at the least power ``q`` with ``Phi_RR^q`` block
    triangular, or (b) when ``Phi_RR`` maps each of the ``q`` components of ``Phi_RR^q`` into the next, around one
    cycle; "others keep rho(Phi_RR) itself". Here agent 0 (it hears nobody) is read by
    agent 2 and, with weights +1 and -1, by agents 4 and 5, which are read alike: the components of ``Phi^3`` are
    {0, 1}, {2, 3}, {4, 5}, and ``Phi`` maps {0, 1} into both others. Neither (a) (no power is block triangular,
    checked on ``A``'s powers) nor (b) holds, so the rate is ``rho(Phi_RR)`` itself: power 1, one block."""
    from theory.protocol import rate
    A = np.array([[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1], [1, 1, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0],
                  [1, 0, 1, 2, 0, 0], [-1, 0, 1, 2, 0, 0]])
    n = len(A)
    for q in range(1, 2 * n + 1):  # the blocks of Phi^q are A^q's entries times X^q
        Aq = np.linalg.matrix_power(A, q)
        assert np.triu(Aq, 1).any() and np.tril(Aq, -1).any(), q
    A3 = np.linalg.matrix_power(A, 3)
    label = {0: 0, 1: 0, 2: 1, 3: 1, 4: 2, 5: 2}
    assert all(label[i] == label[k] for i in range(n) for k in range(n) if A3[i, k])  # Phi^3 keeps the groups
    assert {label[i] for i in range(n) for k in (0, 1) if A[i, k]} == {1, 2}  # {0, 1} maps into two groups
    X = sp.Symbol("X", commutative=False)
    Phi = [[sp.Integer(int(a)) * X for a in row] for row in A]
    q, blocks = rate.rate_reduction(Phi, list(range(n)))
    assert (q, blocks) == (1, [Phi])
