"""Fixed point of a dense protocol by block elimination with named blocks, proved as a chain (P1, V1).

Eliminating ``(I - Phi_RR) z_R = r_R`` with every entry expanded makes later pivots
polynomials of thousands of words, and one identity with nested inverses that the
rewriting cannot always settle. Here every object of the elimination is a *named letter*
with its definition, so each proof is a small local identity:

- ``Phi_{a,b}``: block (a, b) of the round map, and ``r_{a,j}``: the coefficient of
  ``w_j*`` in ``r_a`` (definitions: the composed phases, polynomials in the ``M_i``);
- step k eliminates column k: the pivot (Schur complement) ``S_k = A^(k)_kk`` gets the
  formal inverse ``Q_k`` (hypothesis: ``S_k`` invertible; rules ``S_k Q_k = Q_k S_k = I``),
  and every updated block ``A^(k+1)_ij = A^(k)_ij - A^(k)_ik Q_k A^(k)_kj`` is a new
  letter ``U^{(k+1)}_{i,j}`` with that definition;
- back substitution ``x_k = Q_k (b^(k)_k - sum_{j>k} A^(k)_kj x_j)`` for a generic right
  side ``b`` (opaque letters), so ``z_R = X r_R`` and each residual is ``X`` applied to the
  right side written in the gaps.

The chain (:func:`chain_checks`): (a) row k of step k holds for x_k given any x_j, j > k,
and ``X_k`` is that formula with ``X_j`` put in; (b) for i > k, row i of step k equals row i of step k+1 plus
``A^(k)_ik Q_k`` times row k of step k (the U letters expanded one level). By induction from the last step, every row
of ``A^(0) x = b`` holds, for any b: ``(I - Phi_RR) z_R = r_R``. With the pivots invertible,
``I - Phi_RR`` is invertible, so the residual systems' solutions are unique.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import sympy as sp

from theory.core.algebra import P_ONE, FreeAlgebra, from_poly, letter, padd, pmul, psubs
from theory.protocol.residuals import by_last, gap_poly, split_gaps
from theory.protocol.symbols import gap, phi_letter, w_star


def r_letter(a: str, j: str) -> sp.Symbol:
    return sp.Symbol(f"r_{{{a},{j}}}", commutative=False)


def u_letter(k: int, a: str, b: str) -> sp.Symbol:
    return sp.Symbol(f"U^{{({k})}}_{{{a},{b}}}", commutative=False)


def _x(k: int) -> sp.Symbol:
    return sp.Symbol(f"x_{k}", commutative=False)


def _b(k: int) -> sp.Symbol:
    return sp.Symbol(f"b_{k}", commutative=False)


@dataclass
class Step:
    k: int
    A: list  # the system at step k after the row swap (polys; entries of rows/cols >= k used)
    b: list  # its right side (polys in the b letters)
    Q: dict  # the pivot's inverse as a poly (a letter, or a number)
    rows: list  # original row (equation) index at each position


@dataclass
class Schur:
    n: int
    steps: list
    nxt: list  # (A, b) of step k+1 before its row swap, for k = 0..n-2
    X: list  # x_k as polys in the b letters (the back substitution)
    defs: dict = field(default_factory=dict)  # letter -> definition poly
    order: list = field(default_factory=list)  # letters in order of definition
    made: list = field(default_factory=list)  # made[k]: the letters of step k+1 (defined at step k)


def eliminate(alg: FreeAlgebra, A: list, label: list) -> Schur:
    """Block elimination of ``A x = b`` (polys) for a generic right side ``b``; see the module text.

    ``label[k]``: the name of unknown k (an agent). Each U letter is registered with
    ``alg.define_letter`` (so numeric evaluation meets definitions and inverses in order).
    """
    n = len(A)
    A = [row[:] for row in A]
    b = [letter(_b(k)) for k in range(n)]
    rows = list(range(n))
    steps, nxt, defs, order = [], [], {}, []
    made: list[list] = [[] for _ in range(n)]  # letters defined at each step
    for k in range(n):
        p = next((i for i in range(k, n) if A[i][k]), None)
        if p is None:
            raise ValueError("the protocol's I - Phi is singular in the free algebra (a block column vanishes)")
        A[k], A[p], b[k], b[p], rows[k], rows[p] = A[p], A[k], b[p], b[k], rows[p], rows[k]
        Qp = alg.inverse_poly(from_poly(A[k][k]))
        steps.append(Step(k, [row[:] for row in A], b[:], Qp, rows[:]))
        newA, newb = [row[:] for row in A], b[:]
        for i in range(k + 1, n):
            newA[i][k] = {}
            if not A[i][k]:
                continue
            L = alg.reduce_poly(pmul(A[i][k], Qp))
            for j in range(k + 1, n):
                val = alg.reduce_poly(padd(A[i][j], pmul(L, A[k][j]), signs=(1, -1)))
                if val:
                    U = u_letter(k + 1, label[rows[i]], label[j])
                    defs[U], newA[i][j] = val, letter(U)
                    order.append(U)
                    made[k].append(U)
                    alg.define_letter(U, val)
                else:
                    newA[i][j] = {}
            newb[i] = alg.reduce_poly(padd(b[i], pmul(L, b[k]), signs=(1, -1)))
        A, b = newA, newb
        if k < n - 1:
            nxt.append(([row[:] for row in A], b[:]))
    X: list = [None] * n  # X[k] is set from X[k+1:], last first
    for k in range(n - 1, -1, -1):
        st = steps[k]
        rest = padd(st.b[k], *[pmul(st.A[k][j], X[j]) for j in range(k + 1, n) if st.A[k][j]],
                      signs=[1] + [-1] * sum(1 for j in range(k + 1, n) if st.A[k][j]))
        X[k] = alg.reduce_poly(pmul(st.Q, rest))
    return Schur(n, steps, nxt, X, defs, order, made)


def solve(sch: Schur, rhs: list) -> list:
    """``X rhs``: substitute the generic right side ``b_k`` by ``rhs[k]`` (any polys)."""
    mapping = {_b(k): rhs[k] for k in range(sch.n)}
    return [psubs(x, mapping) for x in sch.X]


def _row(A_row, cols, xs) -> dict:
    return padd(*[pmul(A_row[j], xs[j]) for j in cols if A_row[j]])


def chain_checks(alg, sch: Schur) -> list:
    """(label, residual poly) of every local identity of the elimination (each must reduce to 0)."""
    n, out = sch.n, []
    xs = [letter(_x(j)) for j in range(n)]
    for k, st in enumerate(sch.steps):
        # (a) x_k = Q_k (b_k - sum_{j>k} A_kj x_j) solves row k of step k, whatever the x_j, j > k
        xk = pmul(st.Q, padd(st.b[k], _row(st.A[k], range(k + 1, n), xs), signs=(1, -1)))
        local = xs[:k] + [xk] + xs[k + 1:]
        res = padd(_row(st.A[k], range(k, n), local), st.b[k], signs=(1, -1))
        out.append((f"elimination step {k + 1}: the pivot row is solved by back substitution", alg.reduce_poly(res)))
        # X_k is that formula with the later unknowns substituted: x_j -> X_j
        rest = padd(st.b[k], _row(st.A[k], range(k + 1, n), sch.X), signs=(1, -1))
        out.append((f"back substitution {k + 1}: X_{k + 1} = Q_{k + 1} (b - later unknowns)",
                    alg.reduce_poly(padd(sch.X[k], pmul(st.Q, rest), signs=(1, -1)))))
        if k == n - 1:
            continue
        A1, b1 = sch.nxt[k]
        expand = {U: sch.defs[U] for U in sch.made[k]}  # one level: the letters this step defined
        for i in range(k + 1, n):
            # (b) row i (step k) = row i (step k+1, U letters expanded) + A_ik Q_k (row k, step k)
            row_k = padd(_row(st.A[i], range(k, n), xs), st.b[i], signs=(1, -1))
            row_k1 = psubs(padd(_row(A1[i], range(k + 1, n), xs), b1[i], signs=(1, -1)), expand)
            pivot_row = padd(_row(st.A[k], range(k, n), xs), st.b[k], signs=(1, -1))
            res = padd(row_k, row_k1, pmul(st.A[i][k], st.Q, pivot_row), signs=(1, -1, -1))
            out.append((f"elimination step {k + 1}: row {i + 1} = its update + multiple of the pivot row",
                        alg.reduce_poly(res)))
    return out


# ---------------------------------------------------------------- the protocol's fixed point and residuals
@dataclass
class Derivation:
    """What the named path derived; :func:`checks` re-proves it from these objects."""

    R: tuple
    schur: Schur
    phi: dict  # (a, b) -> Phi_{a,b} letter, b live
    rco: dict  # (a, j) -> r_{a,j} letter
    self_rows: dict  # a -> D_a in letters (the w_i* coefficient of row a's gap right side)
    self_expanded: dict  # a -> D_a with the letters expanded (an M-polynomial; {} when row a's weights sum to 1)


def _phi_poly(dv: Derivation, a: int, b: int) -> dict:
    L = dv.phi.get((a, b))
    return letter(L) if L is not None else {}


def _r_wstar(dv: Derivation, a: int, names) -> dict:
    """``r_a = sum_j r_{a,j} w_j*``."""
    return padd(*[pmul(letter(L), letter(w_star(names[j]))) for (a2, j), L in dv.rco.items() if a2 == a])


def _A0(dv: Derivation) -> list:
    R = dv.R
    return [[padd(dict(P_ONE) if x == y else {}, _phi_poly(dv, R[x], R[y]), signs=(1, -1)) for y in range(len(R))]
            for x in range(len(R))]


def _gap_rhs(dv: Derivation, names, i: int, a: int) -> dict:
    """Row a of ``r - (I - Phi) 1 w_i*`` in the gaps: ``sum_{j != i} r_{a,j} (w_j* - w_i*) + D_a w_i*``."""
    n = names[i]
    gaps = padd(*[pmul(letter(L), letter(gap(names[j], n))) for (a2, j), L in dv.rco.items()
                    if a2 == a and j != i])
    return padd(gaps, pmul(dv.self_rows[a], letter(w_star(n)))) if dv.self_expanded[a] else gaps


def derive(alg: FreeAlgebra, s, Phi: list, r: list, R: tuple):
    """``(z, residual_self, residual_gaps, Derivation)`` for the protocol ``s`` (polys in named letters)."""
    names, K = s.names, s.K
    phi, rco = {}, {}
    for a in range(K):
        for b in R:
            if Phi[a][b]:
                phi[(a, b)] = L = phi_letter(names[a], names[b])
                alg.define_letter(L, Phi[a][b])
        index = {w_star(m): k for k, m in enumerate(names)}
        for w, poly in sorted(by_last(r[a]).items(), key=lambda kv: index[kv[0]]):
            j = index[w]
            rco[(a, j)] = L = r_letter(names[a], names[j])
            alg.define_letter(L, poly)
    defs = alg.named_letters()
    self_rows, self_expanded = {}, {}
    for a in range(K):
        D = padd(*[letter(L) for (a2, _), L in rco.items() if a2 == a],
                   *[letter(L) for (a2, _), L in phi.items() if a2 == a], signs=None)
        D = padd(D, dict(P_ONE), signs=(1, -1))
        self_rows[a] = D
        self_expanded[a] = alg.reduce_poly(psubs(D, defs))
    # the elimination reads dv's other fields (_A0), so schur is set on the next line
    dv = Derivation(tuple(R), cast(Schur, None), phi, rco, self_rows, self_expanded)
    dv.schur = eliminate(alg, _A0(dv), [names[a] for a in R])
    zR = solve(dv.schur, [_r_wstar(dv, a, names) for a in R])
    z: list = [None] * K  # the live agents' first, then the others' from them
    for x, a in enumerate(R):
        z[a] = zR[x]
    for o in range(K):
        if z[o] is None:
            z[o] = padd(*[pmul(_phi_poly(dv, o, b), zR[y]) for y, b in enumerate(R)],
                          _r_wstar(dv, o, names))
    res_self, res_gaps = [], []
    for i in range(K):
        D, G = split_gaps(residual(dv, names, i), names, i)
        res_self.append(D)
        res_gaps.append(G)
    return z, res_self, res_gaps, dv


def residual(dv: Derivation, names, i: int) -> dict:
    """``e_i = z_i* - w_i*``: X applied to the gap right side (row i of the non-live rows otherwise)."""
    R = dv.R
    eR = solve(dv.schur, [_gap_rhs(dv, names, i, a) for a in R])
    if i in R:
        return eR[R.index(i)]
    return padd(*[pmul(_phi_poly(dv, i, b), eR[y]) for y, b in enumerate(R)], _gap_rhs(dv, names, i, i))


def checks(alg, dv: Derivation, names, Phi: list, r: list, z: list, res_self: list, res_gaps: list) -> list:
    """(label, residual poly) of every identity the named derivation rests on (V1: each must reduce to 0).

    All arguments are word polynomials (``Phi``, ``r``: the round map; ``z``, ``res_self``,
    ``res_gaps``: the derived objects as stored in the Compiled result, so a wrong one fails).
    """
    K, R = len(names), dv.R
    defs = alg.named_letters()
    level0 = {L: defs[L] for L in list(dv.phi.values()) + list(dv.rco.values())}
    out = []
    for (a, b), L in dv.phi.items():
        out.append((f"{L.name} is block ({names[a]}, {names[b]}) of the round map",
                    padd(defs[L], Phi[a][b], signs=(1, -1))))
    for a in range(K):
        out.append((f"r_{names[a]} = sum_j r_{{{names[a]},j}} w*_j",
                    alg.reduce_poly(padd(psubs(_r_wstar(dv, a, names), defs), r[a], signs=(1, -1)))))
    for a in range(K):
        if not dv.self_expanded[a]:
            out.append((f"row {names[a]}: the weights sum to 1, so w_i* drops out of the gap right side",
                        alg.reduce_poly(psubs(dv.self_rows[a], defs))))
    out += chain_checks(alg, dv.schur)
    zR = solve(dv.schur, [_r_wstar(dv, a, names) for a in R])
    ys = {a: letter(sp.Symbol(f"y_{names[a]}", commutative=False)) for a in R}  # z_a*, opaque
    for a in range(K):
        if a in R:
            out.append((f"z*_{names[a]} is the back-substituted solution",
                        alg.reduce_poly(padd((z[a]), zR[R.index(a)], signs=(1, -1)))))
        else:  # z_o* = Phi_oR z_R* + r_o: the round map's row o at the fixed point
            row = padd(*[pmul(_phi_poly(dv, a, b), ys[b]) for b in R], _r_wstar(dv, a, names))
            sub = {sp.Symbol(f"y_{names[b]}", commutative=False): zR[R.index(b)] for b in R}
            out.append((f"z*_{names[a]} (not read by the round map) = Phi_{names[a]}R z_R* + r_{names[a]}",
                        alg.reduce_poly(padd((z[a]), psubs(row, sub), signs=(1, -1)))))
    for i in range(K):
        n = names[i]
        for a in R:  # row a of (I - Phi_RR)(z_R* - 1 w_i*) = r_R - (I - Phi_RR) 1 w_i* is the gap right side
            lhs = padd(_r_wstar(dv, a, names),
                         pmul(padd(dict(P_ONE), *[_phi_poly(dv, a, b) for b in R], signs=[1] + [-1] * len(R)),
                                letter(w_star(n))), signs=(1, -1))
            res = padd(gap_poly(lhs, names, i), letter(w_star(n)), _gap_rhs(dv, names, i, a), signs=(1, 1, -1))
            out.append((f"e_{n}: row {names[a]} of the right side in the gaps",
                        alg.reduce_poly(psubs(res, level0))))  # D_a w_i* is left where row a's weights sum to 1
        e = residual(dv, names, i)
        claimed = padd(*[pmul((G), letter(gap(names[j], n))) for j, G in res_gaps[i].items()],
                         pmul((res_self[i]), letter(w_star(n))))
        out.append((f"e_{n} in the gaps is X times the gap right side",
                    alg.reduce_poly(padd(e, claimed, signs=(1, -1)))))
    return out
