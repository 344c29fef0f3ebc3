"""A Markov chain's conditional first moments by exact scalar reduction and named block elimination (R1).

The unknowns are the blocks ``q_{l,a}`` (u = l K + a) of the conditional first moments,
``q = B q + b`` with ``B[(l,a),(j,c)] = P[j,l] Phi_j[a][c]`` and ``b_(l,a) = sum_j P[j,l] pi_j psi_j[a]``.
Most blocks of ``B`` are scalars: an agent that does not write in alternative j keeps its message
(``Phi_j[a][a] = I``). Split ``B = S + N`` (``S`` the scalar blocks, an exact matrix, ``N`` the blocks
holding some ``M_i``). ``N`` factors as ``N = E F``: ``F`` maps ``q`` to the *written messages*
``y_{j,a} = sum_c Phi_j[a][c] q_{j,c}`` (one per alternative j and agent a that writes in it; the
non-scalar part of row a of ``Phi_j``), and ``E[(l,a),(j,a)] = P[j,l]`` is exact. With
``T = (I - S)^{-1}`` (exact; it exists when every agent writes in an alternative the chain reaches)

    y = F T E y + F T b,        q = T E y + T b,

so only the written messages are unknown (the group chat: one per alternative; a gossip chain: two
per alternative). By linearity they are solved once per target, ``b = sum_j c_j w_j*``: the right side
``F T c_j`` is eliminated by :mod:`theory.protocol.named_elimination`, where every Schur block, every
eliminated right-side entry and every back-substituted unknown is a named letter defined from earlier
ones (the displayed size is linear in the letters, not exponential in the steps). The coefficient of
``w_j*`` in agent a's stationary mean is the letter ``G_{a,j} = sum_l q_{l,a}`` with
``q = T E y^{j} + T c_j``, so ``mu_a = sum_j G_{a,j} w_j*``; since ``sum_j c_j = (I - B)(pi (x) 1)``
(whose solution is ``pi (x) 1``, so ``sum_j G_{a,j} = 1``), the mean residual of agent i in the gaps is
``mu_i - w_i* = sum_{j != i} G_{i,j} (w_j* - w_i*)``.

Proof (:func:`checks`; each item reduces to 0 or holds exactly): ``T (I - S) = I``; ``B = S + E F``;
for opaque ``y`` and ``beta``, with ``q = T E y + T beta``: ``q - B q - beta = E (y - F q)`` (so a
solution of the reduced system gives one of the original, for any right side; conversely
``y = F q``); the eliminated matrix is ``I - F T E``; ``b = sum_j c_j w_j*``; each right side is
``F T c_j``; the elimination's local identities (:func:`theory.protocol.named_elimination.checks`);
each ``G_{a,j}``'s definition; the displayed ``mu_a``; ``sum_j c_j = (I - B)(pi (x) 1)``; the
displayed residuals. Hypotheses: the pivots invertible (then the solution is unique).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import sympy as sp

from theory.core.algebra import P_ONE, FreeAlgebra, letter, padd, pmul, pscale
from theory.protocol import named_elimination as NE
from theory.protocol.residuals import by_last
from theory.protocol.symbols import gap, w_star

# Word bound of the solving algebra (the expanded path's q_l and sums; a named definition is one step,
# far below it): past it a reduced polynomial is refused (TooLarge). The gallery's group chat stays
# under 250 words; the bound makes an expanded attempt fail in seconds rather than minutes.
NAMED_MAX_WORDS = 3000
# The expanded elimination's back substitution grows exponentially with the number of written messages
# (unknowns of the reduced system): it is tried up to this many (the group chat has 6), then named blocks.
EXPANDED_UNKNOWNS = 6
# The named elimination's size is linear in its letters, but a dense reduced system of W unknowns has
# about W^3 / 3 of them. Measured (3 agents, dense chains, `derive` to the printed document): W = 6: 1.2 s,
# 12: 4 s, 18: 6 s, 24: 15 s (5 000 letters), 32: 33 s (11 500 letters, 1.7 MB of LaTeX). Past this
# many the mean is left to its equations with a note (numeric predict is unaffected).
MAX_UNKNOWNS = 24

__all__ = ["NAMED_MAX_WORDS", "EXPANDED_UNKNOWNS", "MAX_UNKNOWNS", "MarkovMean", "unknown_label", "split_scalar",
           "reduce_system", "reduced", "recover", "agent_sum", "derive", "checks", "mean_coefficient",
           "weight_defect"]


def unknown_label(j: int, name: str) -> str:
    """The label of the written message ``y_{j,a}`` in the named blocks: alternative (1-based), agent."""
    return f"{j + 1}{name}"


@dataclass
class MarkovMean:
    """What :func:`derive` built; :func:`checks` re-proves the displayed objects from it."""

    S: sp.Matrix  # the scalar blocks of B (exact)
    T: sp.Matrix  # (I - S)^{-1}
    N: list  # the other blocks (word polynomials, m x m)
    writers: list  # (j, a): agent a writes in alternative j (the unknowns y, in order)
    E: sp.Matrix  # m x len(writers), exact
    F: list  # len(writers) x m word polynomials
    schur: NE.Elimination
    columns: list = field(default_factory=list)  # per target j: c_j, the coefficient of w_j* in b (m polys)
    G: dict = field(default_factory=dict)  # (a, j) -> the definition of G_{a,j}


def _scalar(p: dict):
    """The exact number of a block that is a scalar multiple of the identity (0 for an empty one), else None."""
    if not p:
        return sp.Integer(0)
    if set(p) != {()}:
        return None
    c = p[()]
    return sp.Rational(c.numerator, c.denominator) if isinstance(c, Fraction) else sp.sympify(c)


def split_scalar(B: list) -> tuple[sp.Matrix, list]:
    """``B = S + N``: ``S`` the scalar blocks (an exact matrix), ``N`` the others (word polynomials)."""
    m = len(B)
    S = sp.zeros(m, m)
    N: list = [[{} for _ in range(m)] for _ in range(m)]
    for u in range(m):
        for v in range(m):
            s = _scalar(B[u][v])
            if s is None:
                N[u][v] = B[u][v]
            else:
                S[u, v] = s
    return S, N


def apply(T: sp.Matrix, vec: list) -> list:
    """``T vec`` for an exact matrix T and a list of word polynomials."""
    return [padd(*[pscale(vec[w], T[u, w]) for w in range(T.cols) if T[u, w] != 0 and vec[w]]) for u in range(T.rows)]


def reduce_system(Phi: list, P, B: list) -> MarkovMean:
    """The exact pieces ``S, T, N, E, F`` of the module text (``schur`` and ``gap_rhs`` left unset);
    ValueError when ``I - S`` is singular (an agent that never writes where the chain goes)."""
    n, K, m = len(Phi), len(Phi[0]), len(B)
    S, N = split_scalar(B)
    A = sp.eye(m) - S
    if A.det() == 0:
        raise ValueError("I - S (the scalar blocks of the conditional first-moment operator) is singular: "
                         "some agent never writes in an alternative the chain reaches")
    writers = [(j, a) for j in range(n) for a in range(K) if any(_scalar(Phi[j][a][c]) is None for c in range(K))]
    E = sp.zeros(m, len(writers))
    F: list = [[{} for _ in range(m)] for _ in writers]
    for w, (j, a) in enumerate(writers):
        for l in range(n):
            E[l * K + a, w] = P[j][l]
        for c in range(K):
            if _scalar(Phi[j][a][c]) is None:
                F[w][j * K + c] = Phi[j][a][c]
    return MarkovMean(S, A.inv(), N, writers, E, F, None)  # type: ignore[arg-type]


def _matvec(F: list, x: list) -> list:
    return [padd(*[pmul(row[v], x[v]) for v in range(len(x)) if row[v] and x[v]]) for row in F]


def reduced(mm: MarkovMean, rhs: list) -> tuple[list, list]:
    """The reduced system ``y = (F T E) y + F T rhs``: ``(F T E, F T rhs)`` (word polynomials)."""
    TE = mm.T * mm.E
    m = TE.rows
    FTE = [[padd(*[pscale(row[v], TE[v, w]) for v in range(m) if row[v] and TE[v, w] != 0])
            for w in range(TE.cols)] for row in mm.F]
    return FTE, _matvec(mm.F, apply(mm.T, rhs))


def recover(mm: MarkovMean, y: list, rhs: list) -> list:
    """``q = T E y + T rhs``: every conditional first moment from the written messages."""
    return [padd(a, b) for a, b in zip(apply(mm.T * mm.E, y), apply(mm.T, rhs))]


def agent_sum(mm: MarkovMean, a: int, K: int, n: int, y: list, rhs: list) -> dict:
    """``sum_l q_{l,a}`` with ``q = T E y + T rhs``: one exact row combination (not every q)."""
    rows = [l * K + a for l in range(n)]
    TE = mm.T * mm.E
    cy = [sum(TE[u, w] for u in rows) for w in range(TE.cols)]
    cb = [sum(mm.T[u, v] for u in rows) for v in range(mm.T.cols)]
    return padd(*[pscale(y[w], c) for w, c in enumerate(cy) if c != 0 and y[w]],
                *[pscale(rhs[v], c) for v, c in enumerate(cb) if c != 0 and rhs[v]])


def _columns(b: list, names) -> list:
    """``c_j``: the coefficient of ``w_j*`` in each entry of ``b`` (``b = sum_j c_j w_j*``)."""
    parts = [by_last(p) for p in b]
    return [[pt.get(w_star(x), {}) for pt in parts] for x in names]


def weight_defect(alg: FreeAlgebra, mm: MarkovMean, B: list, law: tuple) -> list:
    """Rows of ``sum_j c_j - (I - B)(pi (x) 1)``: all 0 when every agent's weights sum to one (then the
    mean's coefficients ``G_{i,j}`` sum to one: the solution for ``(I - B)(pi (x) 1)`` is ``pi (x) 1``)."""
    K, m = len(mm.columns), len(B)
    out = []
    for u in range(m):
        cols = [v for v in range(m) if B[u][v]]
        ones = padd(pscale(dict(P_ONE), law[u // K]), *[pscale(B[u][v], law[v // K]) for v in cols],
                    signs=[1] + [-1] * len(cols))
        out.append(alg.reduce_poly(padd(*[mm.columns[j][u] for j in range(K)], ones, signs=[1] * K + [-1])))
    return out


def mean_coefficient(a: str, j: str) -> sp.Symbol:
    """``G_{a,j}``: the coefficient of ``w_j*`` in agent a's stationary mean (a named letter)."""
    return sp.Symbol(f"G_{{{a},{j}}}", commutative=False)


def derive(alg: FreeAlgebra, names, Phi: list, P, B: list, b: list, law: tuple):
    """``(mean, residual_self, residual_gaps, MarkovMean)`` (word polynomials in named letters);
    TooLarge past MAX_UNKNOWNS written messages."""
    from theory.core.algebra import TooLarge

    K, n = len(names), len(Phi)
    mm = reduce_system(Phi, P, B)
    if len(mm.writers) > MAX_UNKNOWNS:
        raise TooLarge(f"{len(mm.writers)} written messages to solve for (limit {MAX_UNKNOWNS})")
    FTE, _ = reduced(mm, b)
    W = len(mm.writers)
    A = [[padd(dict(P_ONE) if x == y else {}, FTE[x][y], signs=(1, -1)) for y in range(W)] for x in range(W)]
    mm.schur = NE.eliminate(alg, A, [unknown_label(j, names[a]) for j, a in mm.writers])
    mm.columns = _columns(b, names)
    for j in range(K):
        NE.solve(alg, mm.schur, _matvec(mm.F, apply(mm.T, mm.columns[j])), names[j])
    mean = []
    for a in range(K):
        terms = []
        for j in range(K):
            G = alg.reduce_poly(agent_sum(mm, a, K, n, mm.schur.sides[j].x, mm.columns[j]))
            if G:
                sym = mean_coefficient(names[a], names[j])
                mm.G[(a, j)] = G
                alg.define_letter(sym, G)
                terms.append(pmul(letter(sym), letter(w_star(names[j]))))
        mean.append(padd(*terms))
    # mu_i - w_i* = sum_{j != i} G_ij (w_j* - w_i*) + (sum_j G_ij - 1) w_i*; the last term is 0 when the
    # weights sum to one (weight_defect), else it is displayed
    one = not any(weight_defect(alg, mm, B, law))
    res_self: list = []
    for i in range(K):
        Gs = [letter(mean_coefficient(names[i], names[j])) for j in range(K) if (i, j) in mm.G]
        res_self.append({} if one else padd(*Gs, dict(P_ONE), signs=[1] * len(Gs) + [-1]))
    res_gaps = [{j: letter(mean_coefficient(names[i], names[j])) for j in range(K) if j != i and (i, j) in mm.G}
                for i in range(K)]
    return mean, res_self, res_gaps, mm


def checks(alg: FreeAlgebra, mm: MarkovMean, names, B: list, b: list, law: tuple, mean: list,
           res_self: list, res_gaps: list) -> list[tuple[str, object]]:
    """(label, residual) of every identity of the module text: a word polynomial that must reduce to 0,
    or an exact SymPy matrix that must be zero. ``mean``, ``res_*`` are the displayed objects."""
    K, m, W = len(names), len(B), len(mm.writers)
    n = m // K
    out: list[tuple[str, object]] = [("T (I - S) = I: the scalar blocks inverted exactly",
                                      mm.T * (sp.eye(m) - mm.S) - sp.eye(m))]
    EF = [[padd(*[pscale(mm.F[w][v], mm.E[u, w]) for w in range(W) if mm.E[u, w] != 0 and mm.F[w][v]])
           for v in range(m)] for u in range(m)]
    worst: dict = {}
    for u in range(m):
        for v in range(m):  # B = S + E F, block by block
            s = {(): mm.S[u, v]} if mm.S[u, v] != 0 else {}
            worst = worst or padd(B[u][v], s, EF[u][v], signs=(1, -1, -1))
    out.append(("B = S + E F: the operator's blocks are its scalar part plus the written messages", worst))
    # named as the document names the written messages (y_{1A}) and the blocks q_{l,a}, u = l K + a (beta_{2B})
    y = [letter(sp.Symbol(f"y_{{{unknown_label(j, names[a])}}}", commutative=False)) for j, a in mm.writers]
    beta = [letter(sp.Symbol(f"beta_{{{unknown_label(u // K, names[u % K])}}}", commutative=False))
            for u in range(m)]
    q = [padd(a, c) for a, c in zip(apply(mm.T * mm.E, y), apply(mm.T, beta))]
    Fq = _matvec(mm.F, q)
    Ey = apply(mm.E, [padd(y[w], Fq[w], signs=(1, -1)) for w in range(W)])
    worst = {}
    for u in range(m):
        cols = [v for v in range(m) if B[u][v]]
        res = padd(q[u], *[pmul(B[u][v], q[v]) for v in cols], beta[u], Ey[u], signs=[1] + [-1] * (len(cols) + 2))
        worst = worst or alg.reduce_poly(res)
    out.append(("q = T E y + T beta gives q - B q - beta = E (y - F q) for any y, beta (the reduced system "
                "is equivalent)", worst))
    # the reduced matrix eliminated is I - F T E
    FTE, _ = reduced(mm, b)
    worst = {}
    for x in range(W):
        for z in range(W):
            worst = worst or padd(mm.schur.A[0][_position(mm.schur, x)][z], dict(P_ONE) if x == z else {}, FTE[x][z],
                                  signs=(1, -1, 1))
    out.append(("the eliminated matrix is I - F T E (the reduced system's operator)", worst))
    worst = {}
    for u in range(m):  # b = sum_j c_j w_j*
        worst = worst or padd(b[u], *[pmul(mm.columns[j][u], letter(w_star(names[j]))) for j in range(K)],
                              signs=[1] + [-1] * K)
    out.append(("b = sum_j c_j w*_j: the right side split by target", worst))
    for j in range(K):
        side = mm.schur.sides[j]
        Fc = _matvec(mm.F, apply(mm.T, mm.columns[j]))
        worst = {}
        for g, f in zip(side.given, Fc):
            worst = worst or padd(g, f, signs=(1, -1))
        out.append((f"right side {names[j]} is F T c_{names[j]}", worst))
    out += NE.checks(alg, mm.schur)
    letters = alg.named_letters()
    for a in range(K):
        for j in range(K):
            got = mm.G.get((a, j), {})
            want = agent_sum(mm, a, K, n, mm.schur.sides[j].x, mm.columns[j])
            out.append((f"G_({names[a]},{names[j]}) = sum_l q_(l,{names[a]}) with q = T E y + T c_{names[j]}, "
                        f"y the back substitution for target {names[j]}",
                        alg.reduce_poly(padd(got, want, signs=(1, -1)))))
        claimed = padd(*[pmul(letter(mean_coefficient(names[a], names[j])), letter(w_star(names[j])))
                         for j in range(K) if mean_coefficient(names[a], names[j]) in letters])
        out.append((f"mu_{names[a]} = sum_j G_({names[a]},j) w*_j (written messages: "
                    f"{', '.join(unknown_label(j, names[x]) for j, x in mm.writers)})",
                    alg.reduce_poly(padd(mean[a], claimed, signs=(1, -1)))))
    defect = weight_defect(alg, mm, B, law)
    if not any(res_self):  # the w_i* terms dropped: proved here
        worst = next((p for p in defect if p), {})
        out.append(("sum_j c_j = (I - B)(pi (x) 1), so sum_j G_(i,j) = 1 (the solution for it is pi (x) 1)",
                    worst))
    for i in range(K):
        wi = letter(w_star(names[i]))
        claimed = padd(*[pmul(G, letter(gap(names[j], names[i]))) for j, G in res_gaps[i].items()],
                       pmul(res_self[i], wi))
        # mu_i - w_i* = sum_{j != i} G_ij (w_j* - w_i*) + (sum_j G_ij - 1) w_i*, the last term 0 when proved above
        Gs = [j for j in range(K) if mean_coefficient(names[i], names[j]) in letters]
        want = padd(*[pmul(letter(mean_coefficient(names[i], names[j])), letter(gap(names[j], names[i])))
                      for j in Gs if j != i])
        if any(res_self):
            want = padd(want, *[pmul(letter(mean_coefficient(names[i], names[j])), wi) for j in Gs], wi,
                        signs=[1] * (len(Gs) + 1) + [-1])
        out.append((f"mean residual of {names[i]} in the gaps: sum_(j != {names[i]}) G_({names[i]},j) "
                    f"(w*_j - w*_{names[i]}) + (sum_j G_({names[i]},j) - 1) w*_{names[i]}",
                    alg.reduce_poly(padd(want, claimed, signs=(1, -1)))))
    return out


def _position(el: NE.Elimination, x: int) -> int:
    """Where the original row x sits after step 0's swap (the stored system of step 0)."""
    p = el.pivot[0]
    return {0: p, p: 0}.get(x, x)
