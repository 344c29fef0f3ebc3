"""Canonical form of a protocol's residuals (P1): ``e_i = sum_{j != i} C_ij (w_j* - w_i*) + D_i w_i*``
with each ``C_ij = X_ij K_j`` written as a product of the ``M``'s, ``K``'s and named inverses ``Q_k``.

``X_ij`` is the coefficient of ``c_j = K_j w_j*`` in the fixed point ``z_i*`` (every target enters
only through its ``c_j``), found by the compiler's elimination with each ``c_j`` an opaque letter;
so ``C_ij = X_ij K_j`` holds by construction, the same shape for every agent. ``X_ij`` is then
factored (package extension, no claim of uniqueness):

1. *peel*: ``X = Q_k Y`` when ``Y = F_k X`` (reduced) has fewer words, ``F_k = Q_k^{-1}`` (or on the right);
2. *push-through*: ``W (I - V W)^{-1} = (I - W V)^{-1} W`` for a leading word ``W`` of ``M``'s, so the
   agent's own inverse comes first (the round robin's residuals then read as C3's
   ``(I - M_A M_B)^{-1} M_A K_B Delta``); the new inverse is a hypothesis (``I - W V`` invertible,
   equivalent to ``I - V W`` invertible for square blocks);
3. *common factors*: common leading and trailing letters and a common scalar;
4. *no removable singularity*: where a coefficient divides by a symbol (the anchored weight
   ``alpha``), each ``Q = F^{-1}`` with ``F = a - V`` may be written ``(I + Q V)/a`` or ``(I + V Q)/a``; the
   variant with no symbolic denominator is kept. Pivots are displayed the same way.

Every displayed form is proved equal to the compiler's raw result by :func:`theory.core.algebra.prove`
(:func:`proofs`); a failed proof means the raw form is printed instead (never an unproved one).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from itertools import product as cartesian
from typing import Any

import sympy as sp

from theory.core.algebra import P_ONE, FreeAlgebra, from_poly, letter, padd, pmul, prove, psubs, to_poly
from theory.core.model import I
from theory.protocol import fixed_point
from theory.protocol.printing import to_matrix_expr
from theory.protocol.result import Check, Compiled
from theory.protocol.round_map import phase_tails
from theory.protocol.symbols import M, gap, w_star

__all__ = ["Canonical", "Coefficient", "canonical", "proofs", "r_in_c"]

MAX_DESINGULAR_VARIANTS = 64  # variants of item 4 tried per polynomial (3^letters; the gallery needs 3)
# item 4 only on a polynomial with no symbolic denominator up to this many words, and only with pivots up to
# this many words (substituting a long pivot multiplies the words; random dense protocols have hundreds)
DESINGULAR_MAX_WORDS = 12


def c_letter(name: str) -> sp.Symbol:
    """``c_i = K_i w_i*`` as one opaque letter (so the fixed point is linear in the ``c``'s)."""
    return sp.Symbol(f"c_{name}", commutative=False)


def k_letter(name: str) -> sp.Symbol:
    return sp.Symbol(f"K_{name}", commutative=False)


@dataclass
class Coefficient:
    """``scalar * factors[0] * factors[1] * ...``: each factor a word polynomial (a letter or a short sum)."""

    scalar: Any
    factors: list

    def poly(self) -> dict:
        out = pmul(*self.factors) if self.factors else dict(P_ONE)
        return {w: c * self.scalar for w, c in out.items()}

    def expr(self) -> sp.Expr:
        return _sym(self.scalar) * sp.Mul(*[from_poly(f) for f in self.factors])


@dataclass
class Canonical:
    """The canonical residuals of ``cp``: ``gaps[i][j]`` is ``C_ij`` (ending in ``K_j``), ``self_[i]`` is
    ``D_i`` (the compiler's, a polynomial; empty when the weights sum to 1); ``pivots``: ``(Q, F)`` of every
    inverse used, ``F`` in its displayed form; ``alg``: the compiler's algebra plus the push-through inverses."""

    cp: Compiled
    alg: FreeAlgebra
    gaps: list
    self_: list
    pivots: list
    fixed: list = field(default_factory=list)  # fixed[i][j]: X_ij factored, z_i* = sum_j X_ij K_j w_j*
    X: list = field(default_factory=list)  # X[i][j]: coefficient of c_j in z_i* (the elimination's, reduced)
    z: list = field(default_factory=list)  # z_i* with c_j opaque
    rc: list = field(default_factory=list)  # the round map's r with c_j opaque
    checks: list = field(default_factory=list)

    def residual(self, i: int) -> sp.Expr:
        n = self.cp.names
        return (sp.Add(*[C.expr() * gap(n[j], n[i]) for j, C in self.gaps[i].items()])
                + from_poly(self.self_[i]) * sp.Symbol(f"w^*_{n[i]}", commutative=False))


def _sym(c):
    return sp.Rational(c.numerator, c.denominator) if isinstance(c, Fraction) else c


def _copy(alg: FreeAlgebra) -> FreeAlgebra:
    out = FreeAlgebra(max_words=alg.max_words)
    out.rules, out.inverted, out.events = list(alg.rules), list(alg.inverted), list(alg.events)
    return out


def _size(p: dict) -> int:
    return len(p)


def _symbolic_denominators(p: dict) -> int:
    return sum(1 for c in p.values() if getattr(c, "free_symbols", None) and sp.denom(sp.together(c)).free_symbols)


def r_in_c(cp: Compiled) -> list:
    """The round map's ``r`` with each ``c_j`` an opaque letter: ``r_a = sum_(p, listener) tail_p[a, listener] c``."""
    s, K = cp.spec, cp.spec.K
    idx = {nm: k for k, nm in enumerate(s.names)}
    tails = phase_tails(s)
    rc: list = [{} for _ in range(K)]
    for p, phase in enumerate(s.phases):
        for listener, _ in phase:
            for a in range(K):
                rc[a] = padd(rc[a], pmul(tails[p][a][idx[listener]], letter(c_letter(listener))))
    return rc


def _coefficients_of_c(cp: Compiled, alg: FreeAlgebra) -> tuple[list, list, list]:
    """``(X, z, rc)``: ``X[i][j]`` the coefficient of ``c_j`` in ``z_i*`` (word polynomials), by the compiler's
    elimination of ``(I - Phi_RR) z_R = r_R`` with ``r`` written in opaque ``c_j`` letters (``rc``)."""
    s, K, R = cp.spec, cp.spec.K, cp.live
    idx = {nm: k for k, nm in enumerate(s.names)}
    rc = r_in_c(cp)
    Phi = [[cp.poly(x) for x in row] for row in cp.Phi]
    A = [[padd(dict(P_ONE) if a == b else {}, Phi[a][b], signs=(1, -1)) for b in R] for a in R]
    zR = fixed_point.eliminate(alg, A, [rc[a] for a in R])
    z: list = [None] * K
    for k, a in enumerate(R):
        z[a] = zR[k]
    for o in range(K):
        if z[o] is None:
            z[o] = alg.reduce_poly(padd(*[pmul(Phi[o][a], z[a]) for a in R], rc[o]))
    X = []
    for i in range(K):
        row: dict = {}
        for w, c in z[i].items():
            if not w or not w[-1].name.startswith("c_"):
                raise ValueError(f"z*_{s.names[i]} has a term not ending in some c_j")
            j = idx[w[-1].name[2:]]
            row.setdefault(j, {})[w[:-1]] = c
        X.append(row)
    return X, z, rc


def _inverse_of(alg: FreeAlgebra) -> dict:
    return {Q: to_poly(F) for F, Q in alg.inverted}


def _peel(alg: FreeAlgebra, X: dict) -> tuple[list, dict, list]:
    """``X = left * Y * right`` with ``left``, ``right`` lists of inverse letters (item 1)."""
    inv = _inverse_of(alg)
    left: list = []
    right: list = []
    changed = True
    while changed and len(X) > 1:
        changed = False
        for Q, F in inv.items():
            for side in ("left", "right"):
                Y = alg.reduce_poly(pmul(F, X) if side == "left" else pmul(X, F))
                if Y and _size(Y) < _size(X):
                    (left.append if side == "left" else right.insert)(*((Q,) if side == "left" else (0, Q)))
                    X, changed = Y, True
                    break
            if changed:
                break
    return left, X, right


def _common(X: dict) -> tuple[tuple, dict, tuple]:
    """``X = prefix * Y * suffix`` with the longest common leading and trailing letters (item 3)."""
    words = list(X)
    pre: tuple = ()
    while all(len(w) > len(pre) for w in words) and len({w[len(pre)] for w in words}) == 1:
        pre += (words[0][len(pre)],)
    rest = [w[len(pre):] for w in words]
    suf: tuple = ()
    while all(len(w) > len(suf) for w in rest) and len({w[len(w) - len(suf) - 1] for w in rest}) == 1:
        suf = (rest[0][len(rest[0]) - len(suf) - 1],) + suf
    Y = {w[len(pre):len(w) - len(suf)]: c for w, c in X.items()}
    return pre, Y, suf


def _scalar(X: dict) -> tuple[object, dict]:
    """A common scalar factor: the first coefficient, when every other is a rational multiple of it."""
    first: Any = next(iter(X.values()))
    ratios = {w: sp.cancel(_sym(c) / _sym(first)) for w, c in X.items()}
    if all(r.is_Rational for r in ratios.values()):
        return _sym(first), {w: Fraction(int(r.p), int(r.q)) for w, r in ratios.items()}
    return 1, X


def desingularize(alg: FreeAlgebra, X: dict) -> dict:
    """Item 4: ``X`` with inverse letters rewritten ``Q = (1 + Q V)/a`` or ``(1 + V Q)/a`` (``F = a - V``), the
    variant with the fewest symbolic denominators, then fewest words (no rewriting afterwards); ``X`` itself
    unless a variant is strictly better."""
    if not _symbolic_denominators(X) and len(X) > DESINGULAR_MAX_WORDS:
        return X  # only shortening is at stake: not worth 3^letters expansions of a long polynomial
    inv = _inverse_of(alg)
    used = [Q for Q in inv if any(Q in w for w in X) and len(inv[Q]) <= DESINGULAR_MAX_WORDS]
    if not used:
        return X
    best, key = X, (_symbolic_denominators(X), len(X))
    for choice in list(cartesian((None, "left", "right"), repeat=len(used)))[:MAX_DESINGULAR_VARIANTS]:
        sub = {}
        for Q, how in zip(used, choice):
            if how is None:
                continue
            F = inv[Q]
            a = F.get((), 0)
            if a == 0:
                break
            V = {w: -c for w, c in F.items() if w}
            QV = pmul(letter(Q), V) if how == "left" else pmul(V, letter(Q))
            sub[Q] = {w: _simplify(c / a) for w, c in padd(dict(P_ONE), QV).items()}
        else:
            Y = _clean_sym(_substitute(X, sub))
            k = (_symbolic_denominators(Y), len(Y))
            if k < key:
                best, key = Y, k
    return best


def _simplify(c):
    return sp.factor(sp.cancel(_sym(c))) if getattr(_sym(c), "free_symbols", None) else c


def _clean_sym(p: dict) -> dict:
    out = {w: _simplify(c) for w, c in p.items()}
    return {w: c for w, c in out.items() if c != 0}


def _substitute(X: dict, sub: dict) -> dict:
    """Replace every occurrence of each letter in ``sub`` by its polynomial (no rewriting)."""
    out: dict = {}
    for w, c in X.items():
        parts = [sub.get(x, letter(x)) for x in w]
        for w2, c2 in (pmul(*parts) if parts else dict(P_ONE)).items():
            out[w2] = out.get(w2, 0) + c * c2
    return out


def _push_through(alg: FreeAlgebra, factors: list) -> list:
    """Item 2: ``[W..., Q_k, rest]`` -> ``[Q', W..., rest]`` when ``F_k = I - V W`` and ``I - W V`` differs."""
    letters = [next(iter(f))[0] if len(f) == 1 and len(next(iter(f))) == 1 and next(iter(f.values())) == 1 else None
               for f in factors]
    k = 0
    while k < len(letters) and str(letters[k]).startswith("M_"):
        k += 1
    if k == 0 or k >= len(letters) or letters[k] is None:
        return factors
    inv = _inverse_of(alg)
    Q = letters[k]
    if Q not in inv:
        return factors
    W = tuple(letters[:k])
    F = inv[Q]
    if F.get((), 0) != 1 or any(w and w[-len(W):] != W for w in F):
        return factors
    F2 = {(W + w[:-len(W)] if w else ()): c for w, c in F.items()}
    if not padd(F2, F, signs=(1, -1)):
        return factors
    Q2 = alg.inverse(from_poly(F2))
    return [letter(Q2)] + factors[:k] + factors[k + 1:]


def factor(alg: FreeAlgebra, X: dict) -> Coefficient:
    """``X`` (a word polynomial in M's and inverse letters) as a :class:`Coefficient` (items 1-4)."""
    left, Y, right = _peel(alg, X)
    if _symbolic_denominators(Y):  # (pivots are also shortened by item 4, see canonical; factors only cleared)
        Y = desingularize(alg, Y)
    pre, core, suf = _common(Y)
    scalar, core = _scalar(core)
    factors = [letter(Q) for Q in left] + [letter(x) for x in pre]
    if len(core) > 1 or next(iter(core)) != ():
        if len(core) == 1:
            (w, c), = core.items()
            scalar = scalar * _sym(c)
            factors += [letter(x) for x in w]
        else:
            factors.append(core)
    elif core[()] != 1:
        scalar = scalar * _sym(core[()])
    factors += [letter(x) for x in suf] + [letter(Q) for Q in right]
    return Coefficient(_simplify(scalar), _push_through(alg, factors))


def canonical(cp: Compiled) -> Canonical | None:
    """The canonical residuals of ``cp`` (see the module text), each proved (:func:`proofs`); ``None`` for a
    protocol derived with named Schur blocks (its residuals are already one product per term)."""
    if cp.named is not None:
        return None
    alg = _copy(cp.alg)
    X, z, rc = _coefficients_of_c(cp, alg)
    n = cp.names
    fixed = [{j: factor(alg, X[i][j]) for j in sorted(X[i]) if X[i][j]} for i in range(cp.spec.K)]
    gaps = [{j: Coefficient(C.scalar, C.factors + [letter(k_letter(n[j]))]) for j, C in fixed[i].items() if j != i}
            for i in range(cp.spec.K)]
    pivots = [(Q, desingularize(alg, to_poly(F))) for F, Q in alg.inverted]
    out = Canonical(cp, alg, gaps, [cp.poly(x) for x in cp.residual_self], pivots, fixed, X, z, rc)
    out.checks = proofs(out)
    for i in range(cp.spec.K):  # a product the rewriting could not settle: X_ij as eliminated instead
        for j in list(out.fixed[i]):
            label = factor_label(n[i], n[j])
            if any(c.label == label and not c.holds for c in out.checks):
                out.fixed[i][j] = Coefficient(1, [X[i][j]])
                if j != i:
                    out.gaps[i][j] = Coefficient(1, [X[i][j], letter(k_letter(n[j]))])
                out.checks = [c for c in out.checks if c.label != label]
                out.checks.append(Check(label + " (displayed unfactored)", True, "0"))
    return out


def _matrix(alg: FreeAlgebra, expr) -> sp.MatrixExpr:
    return to_matrix_expr(alg, expr)


def _leading_pivots(cn: Canonical, C: Coefficient) -> tuple:
    """The pivots ``F`` of the run of inverse letters that starts ``C`` (innermost first): multiplying the
    difference by them on the left clears those inverses, as the peeling did."""
    inv = {Q: F for F, Q in cn.alg.inverted}
    out = []
    for f in C.factors:
        if len(f) != 1:
            break
        (w, _), = f.items()
        if len(w) != 1 or w[0] not in inv:
            break
        out.append(inv[w[0]])
    return tuple(out)


def proofs(cn: Canonical) -> list[Check]:
    """V1 of the canonical residuals, a chain from the round map to each displayed ``C_ij``:

    1. ``r`` with every ``c_j`` opaque, then ``c_j = K_j w_j*`` put in, is the compiler's ``r``;
    2. ``z*(c)`` is fixed by the round map, ``z* = Phi z* + r`` (reduced to 0), so with ``c_j = K_j w_j*`` it is
       the compiler's fixed point (unique: the pivots are invertible) and ``e_i = sum_{j != i} X_ij K_j
       (w_j* - w_i*) + (sum_j X_ij K_j - I) w_i*``;
    3. so ``z*`` is the compiler's (both are fixed points, the pivots are invertible): ``D_i`` is the compiler's and
       ``C_ij = X_ij K_j``;
    4. each displayed product ``C_ij K_j^{-1}`` equals ``X_ij`` (theory.core.algebra.prove; a leading run of
       inverses is cleared by multiplying by its pivots), and each displayed pivot equals the compiler's.
    """
    cp, alg, n, K = cn.cp, cn.alg, cn.cp.names, cn.cp.spec.K
    defs = {f"K_{m}": I - _matrix(alg, M(m)) for m in n}
    out = []
    c_is_Kw = {c_letter(m): padd(letter(w_star(m)), pmul(letter(M(m)), letter(w_star(m))), signs=(1, -1))
               for m in n}
    for a in range(K):
        res = padd(psubs(cn.rc[a], c_is_Kw), cp.poly(cp.r[a]), signs=(1, -1))
        out.append(Check(f"r_{n[a]} in the c_j is the round map's r_{n[a]}", not res, sp.sstr(from_poly(res))))
    Phi = [[cp.poly(x) for x in row] for row in cp.Phi]
    for a in range(K):
        res = alg.reduce_poly(padd(cn.z[a], *[pmul(Phi[a][b], cn.z[b]) for b in range(K)], cn.rc[a],
                                   signs=[1] + [-1] * (K + 1)))
        out.append(Check(f"z*_{n[a]} in the c_j is fixed by the round map", not res, sp.sstr(from_poly(res))))
    for k, ((F, _), (_, Fd)) in enumerate(zip(alg.inverted, cn.pivots)):
        if to_poly(F) != Fd:
            pr = prove(_matrix(alg, from_poly(Fd)), _matrix(alg, F), definitions=defs)  # small: prove itself
            out.append(Check(f"displayed pivot {k + 1} equals the compiler's", pr.holds, sp.sstr(pr.residual)))
    for i in range(K):
        for j, C in cn.fixed[i].items():
            out.append(factor_check(cn, i, j, Coefficient(C.scalar, C.factors + [letter(k_letter(n[j]))])))
        missing = {j for j, X in cn.X[i].items() if j != i and X} - set(cn.gaps[i])
        out += [Check(factor_label(n[i], n[j]), False, "a gap is missing") for j in missing]
    return out


def factor_label(i: str, j: str) -> str:
    return f"X_{i}{j} as displayed is X_{i}{j} as eliminated"


def factor_check(cn: Canonical, i: int, j: int, C: Coefficient) -> Check:
    """Item 4 of :func:`proofs` for one ``C_ij``: its product without ``K_j`` equals ``X_ij``, reduced in the
    free algebra (the reduction theory.core.algebra.prove runs; a leading run of inverses ``Q_a Q_b ...`` is
    cleared by multiplying the difference on the left by ``F_a``, then ``F_b``, ..., each invertible by hypothesis)."""
    alg, n = cn.alg, cn.cp.names
    label = factor_label(n[i], n[j])
    inner = Coefficient(C.scalar, C.factors[:-1])  # without its K_j
    diff = padd(inner.poly(), cn.X[i][j], signs=(1, -1))
    res = alg.reduce_poly(diff)
    for F in _leading_pivots(cn, inner):  # as few pivots as settle it
        if not res:
            break
        diff = pmul(to_poly(F), diff)
        res = alg.reduce_poly(diff)
    return Check(label, not res, sp.sstr(from_poly(res)))
