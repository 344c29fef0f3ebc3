"""Markov chains whose reduced first-moment system has 8-18 unknowns (issue 26 item 1): the stationary
mean by block elimination with every object named (theory.protocol.named_elimination), proved, and
evaluated with agents against numerics' stationary mean; planted wrong named blocks fail their proof."""
import dataclasses

import numpy as np
import pytest
import sympy as sp

from theory.core.algebra import letter, padd, pmul, to_poly
from theory.protocol import named_elimination as NE
from theory.protocol.random_checks import verify
from theory.protocol.random_compiler import compile_random
from theory.protocol.random_description import markov
from theory.protocol.random_evaluation import derived_mean, moments, numeric
from theory.protocol.symbols import M, gap, w_star

# Relative agreement of two float64 computations of the same mean (well-conditioned: weights >= 1/4).
REL_TOL = 1e-9
HALF = sp.Rational(1, 2)
NAMES = ("A", "B", "C")
PAIRS = (("A", "B"), ("B", "C"), ("C", "A"))


def _chain(kinds: str, seed: int = 0):
    """A Markov chain over three agents, one alternative per letter of ``kinds``: ``g`` a gossip pair
    (two writers, the pairs in turn), ``s`` a simultaneous phase (all three write, each a drawn weighted
    average of the other two); the transition matrix drawn with every entry positive."""
    rng = np.random.default_rng(seed)
    alts = []
    for k, kind in enumerate(kinds):
        if kind == "g":
            x, y = PAIRS[k % 3]
            alts.append([{x: {x: HALF, y: HALF}, y: {x: HALF, y: HALF}}])
        else:
            phase = {}
            for x in NAMES:
                o = [z for z in NAMES if z != x]
                w = int(rng.integers(1, 4))
                phase[x] = {o[0]: sp.Rational(w, w + 1), o[1]: sp.Rational(1, w + 1)}
            alts.append([phase])
    rows = [[sp.Integer(int(v)) + 1 for v in rng.integers(0, 3, len(kinds))] for _ in kinds]
    return markov(list(NAMES), alts, [[v / sum(r) for v in r] for r in rows])


def _agents(seed: int, d: int = 2) -> dict:
    """Non-symmetric contractions (a wrong word order shows) and targets."""
    rng = np.random.default_rng(seed)
    return {n: (np.diag(rng.uniform(0.2, 0.7, d)) + 0.1 * rng.standard_normal((d, d)), rng.standard_normal(d))
            for n in NAMES}


def _rel(a, b) -> float:
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def _failed(rc) -> list[str]:
    return [c.label for c in verify(rc) if not c.holds]


# (alternatives, written messages): gossip pairs only, simultaneous phases only, and a mix
CHAINS = {"gggg": 8, "ssss": 12, "ggsgsggg": 18}


@pytest.fixture(scope="module", params=sorted(CHAINS))
def chain(request):
    return request.param, compile_random(_chain(request.param))


def _walk(rc, ag: dict, polys: list, gaps: bool = False) -> list:
    """Word polynomials evaluated with the agents in one pass over the named letters and formal inverses
    (in order of creation; numpy products word by word). theory.protocol.evaluation.evaluate does the
    same through SymPy expressions, one pass per expression (seconds for 2000 letters): compared below."""
    d = len(next(iter(ag.values()))[1])
    table = {M(n): np.asarray(Mn, float) for n, (Mn, _) in ag.items()}
    table.update({w_star(n): np.asarray(wn, float).reshape(-1, 1) for n, (_, wn) in ag.items()})
    if gaps:
        table.update({gap(j, i): table[w_star(j)] - table[w_star(i)] for i in ag for j in ag if i != j})

    def value(p: dict):
        out = None  # a d x d block or a d x 1 message: the words' last letters decide
        for w, c in p.items():
            term = float(c) * np.eye(d)
            for L in w:
                term = term @ table[L]
            out = term if out is None else out + term
        return np.zeros((d, d)) if out is None else out
    for kind, a, b in rc.alg.events:
        if kind == "def":
            table[a] = value(b)
        else:
            table[b] = np.linalg.inv(value(to_poly(a)))
    return [value(p) for p in polys]


def test_chain_gets_a_proved_closed_form_mean_equal_to_the_numeric_solve(chain):
    kinds, rc = chain
    assert rc.named is not None and rc.mean is not None, rc.notes
    assert len(rc.named.writers) == CHAINS[kinds]
    assert not _failed(rc)
    ag = _agents(len(kinds))
    mu = moments(numeric(rc, ag)).mean  # numerics' stationary mean (a linear solve, no derived formula)
    got = np.concatenate([v[:, 0] for v in _walk(rc, ag, rc.mean)])
    assert _rel(got, mu) < REL_TOL
    if CHAINS[kinds] == 8:  # the package's evaluator agrees (it walks every letter once per expression)
        assert _rel(derived_mean(rc, ag), mu) < REL_TOL
    # the displayed residuals, evaluated with the gaps w_j* - w_i*, are the mean minus the target
    res = [padd(*[pmul(G, letter(gap(NAMES[j], n))) for j, G in rc.residual_gaps[i].items()])
           for i, n in enumerate(NAMES)]
    assert all(rc.residual_gaps) and not any(rc.residual_self)
    d = len(ag["A"][1])
    for i, v in enumerate(_walk(rc, ag, res, gaps=True)):
        assert _rel(v[:, 0], mu[i * d:(i + 1) * d] - ag[NAMES[i]][1]) < REL_TOL
    # power: a planted error in one Schur block moves the evaluated mean
    bad = dataclasses.replace(rc, alg=dataclasses.replace(rc.alg))  # same events list: plant on a copy
    bad.alg.events = [(k, a, {w: 2 * c for w, c in b.items()} if k == "def" and a == rc.named.schur.order[0] else b)
                      for k, a, b in rc.alg.events]
    assert _rel(np.concatenate([v[:, 0] for v in _walk(bad, ag, rc.mean)]), mu) > 1e-6


def test_the_displayed_size_is_linear_in_the_letters(chain):
    """Every later definition is one elimination step over entries of the system as given (at most
    ``m0`` words each), so its length is bounded independently of the step (the expanded back
    substitution doubles with each step)."""
    _, rc = chain
    el = rc.named.schur
    W = len(rc.named.writers)
    m0 = max(len(p) for row in el.A[0] for p in row)
    bound = m0 * m0 + m0 + W * m0
    letters = rc.alg.named_letters()
    for s, p in letters.items():
        if not str(s).startswith(("h^{(0)", "G_")):  # the given right side and the agent sums
            assert len(p) <= bound, (str(s), len(p), bound)
    assert len(letters) <= W ** 3  # about W^3 / 3 Schur blocks, 3 W^2 / 2 right-side entries


def _first(rc, prefix: str) -> bool:
    return any(x.startswith(prefix) for x in _failed(rc))


def _with(rc, **kw):
    return dataclasses.replace(rc, named=dataclasses.replace(rc.named, **kw))


def test_planted_wrong_named_blocks_fail_their_proof():
    rc = compile_random(_chain("gggg"))
    assert not _failed(rc)
    el = rc.named.schur
    # a Schur block with a flipped sign
    U = el.order[len(el.order) // 2]
    defs = dict(el.defs)
    defs[U] = {w: -c for w, c in defs[U].items()}
    assert _first(_with(rc, schur=dataclasses.replace(el, defs=defs)), "elimination step")
    # step 2's stored system is not step 1's update (one entry with a flipped sign)
    A1 = [row[:] for row in el.A[1]]
    i, j = next((i, j) for i in range(1, el.n) for j in range(1, el.n) if A1[i][j])
    A1[i][j] = {w: -c for w, c in A1[i][j].items()}
    planted = dataclasses.replace(el, A=[el.A[0], A1, *el.A[2:]])
    assert "elimination step 2: the system is step 1's update with rows 2 and" in " ".join(
        _failed(_with(rc, schur=planted)))
    # a dropped term in an eliminated right side, then in a back-substituted unknown, of target B
    side = el.sides[1]
    for kind, prefix in (("h^{(2)", "elimination step"), ("y^{B}", "back substitution")):
        L = next(s for s in side.defs if str(s).startswith(kind) and len(side.defs[s]) > 1)
        sdefs = dict(side.defs)
        sdefs[L] = dict(list(sdefs[L].items())[1:])
        sides = [dataclasses.replace(side, defs=sdefs) if s is side else s for s in el.sides]
        assert _first(_with(rc, schur=dataclasses.replace(el, sides=sides)), prefix), kind
    # a wrong right side given to the elimination (its first entry doubled)
    given = [{w: 2 * c for w, c in side.given[0].items()}] + side.given[1:]
    sides = [dataclasses.replace(side, given=given) if s is side else s for s in el.sides]
    assert _first(_with(rc, schur=dataclasses.replace(el, sides=sides)), "right side B")
    # a mean coefficient G with a dropped term
    key = next(k for k, p in rc.named.G.items() if len(p) > 1)
    G = dict(rc.named.G)
    G[key] = dict(list(G[key].items())[1:])
    assert _first(_with(rc, G=G), "G_(")
    # a displayed residual with a flipped sign
    gaps = [dict(g) for g in rc.residual_gaps]
    j = next(iter(gaps[2]))
    gaps[2][j] = {w: -c for w, c in gaps[2][j].items()}
    assert _first(dataclasses.replace(rc, residual_gaps=gaps), "mean residual of C")


def test_large_chain_latex_compiles_with_no_overfull_box(tmp_path, chain):
    """The printed derivation of the 12-message chain (about 700 named blocks), through pdflatex."""
    import re
    import subprocess

    from test_latex import need_pdflatex
    from theory.protocol import random_report as RR
    kinds, rc = chain
    if CHAINS[kinds] != 12:
        return  # one large document is enough (pdflatex time)
    need_pdflatex()
    doc = RR.derived_random(rc)
    tex = RR.as_latex(doc)
    assert "Named blocks" in tex and r"G_{A,B}" in tex and r"y^{B}_{4C}" in tex
    (tmp_path / "doc.tex").write_text(tex)
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    log = (tmp_path / "doc.log").read_text(errors="replace")
    assert run.returncode == 0, log[-2000:]
    assert "Overfull" not in log, re.findall(r"Overfull.*", log)[:5]


def test_named_elimination_on_a_small_system_matches_the_exact_inverse():
    """The elimination alone, on scalars: the named solution evaluates to A^-1 c (Fractions)."""
    from theory.core.algebra import FreeAlgebra
    alg = FreeAlgebra()
    A = [[{(): sp.Integer(v)} if v else {} for v in row] for row in ([0, 2, 1], [1, 1, 0], [3, 0, 4])]
    el = NE.eliminate(alg, A, ["a", "b", "c"])
    side = NE.solve(alg, el, [{(): sp.Integer(v)} for v in (1, 2, 3)], "s")
    assert not [lab for lab, res in NE.checks(alg, el) if res]
    x = sp.Matrix([[0, 2, 1], [1, 1, 0], [3, 0, 4]]).inv() * sp.Matrix([1, 2, 3])

    def solution(planted=None) -> list:
        vals: dict = {}

        def value(p: dict):
            return sum((c * sp.Mul(*[vals[L] for L in w]) for w, c in p.items()), sp.Integer(0))
        for kind, a, b in alg.events:  # definitions and formal inverses, in order of creation
            if kind == "def":
                vals[a] = value(b) + (1 if a == planted else 0)
            else:
                vals[b] = 1 / value(to_poly(a))
        return [value(p) for p in side.x]
    assert solution() == list(x)
    assert solution(planted=el.order[0]) != list(x)  # a wrong Schur block changes it (the comparison has power)


def test_weights_not_summing_to_one_keep_the_w_star_term_of_the_residual():
    """A listener whose weights sum to 3/4 (A) or 5/6 (B): sum_j G_ij - 1 is displayed and evaluates to
    the residual's w_i* part; dropping it (as if the weights summed to one) fails its proof."""
    q, third = sp.Rational(1, 4), sp.Rational(1, 3)
    alts = [[{"A": {"A": q, "B": HALF}, "B": {"A": HALF, "B": HALF}}],
            [{"B": {"B": HALF, "C": third}, "C": {"B": HALF, "C": HALF}}],
            [{"C": {"C": HALF, "A": HALF}, "A": {"C": HALF, "A": HALF}}],
            [{"A": {"B": HALF, "C": HALF}, "B": {"A": HALF, "C": HALF}, "C": {"A": HALF, "B": HALF}}]]
    rc = compile_random(markov(list(NAMES), alts, [[q] * 4] * 4))
    assert rc.named is not None and len(rc.named.writers) == 9 and not _failed(rc)
    assert all(rc.residual_self)
    ag = _agents(5)
    mu = moments(numeric(rc, ag)).mean
    assert _rel(np.concatenate([v[:, 0] for v in _walk(rc, ag, rc.mean)]), mu) < REL_TOL
    d = len(ag["A"][1])
    res = [padd(*[pmul(G, letter(gap(NAMES[j], n))) for j, G in rc.residual_gaps[i].items()],
                pmul(rc.residual_self[i], letter(w_star(n)))) for i, n in enumerate(NAMES)]
    for i, v in enumerate(_walk(rc, ag, res, gaps=True)):
        assert _rel(v[:, 0], mu[i * d:(i + 1) * d] - ag[NAMES[i]][1]) < REL_TOL
    dropped = dataclasses.replace(rc, residual_self=[{} for _ in NAMES])
    assert _first(dropped, "sum_j c_j = (I - B)(pi (x) 1)")
