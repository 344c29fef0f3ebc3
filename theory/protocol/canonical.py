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
   ``omega``), each ``Q = F^{-1}`` with ``F = a - V`` may be written ``(I + Q V)/a`` or ``(I + V Q)/a``; the
   variant with no symbolic denominator is kept. Pivots are displayed the same way;
5. *named factors*: items 1 and 3 are repeated on what is left between the common letters (a sum ``Y`` with
   ``F_k Y`` or ``Y F_k`` shorter is ``Q_k`` times that); a sum ``I + a W Q V`` with ``Q = (I - a V W)^{-1}``
   is the inverse ``(I - a W V)^{-1}`` (push-through again; its own identity is proved); a sum that still
   stays is a *named factor* ``S_k`` (LaTeX ``\\mathcal{S}_k``), defined once beside the ``Q_k``; the same
   sum (up to a scalar, pulled out so the identity's coefficient, or the shortest word's, is 1) gets the
   same name, and its definition is displayed as ``a I +`` a product where its other terms factor so
   (proved equal to the sum). So every displayed ``C_ij`` (and every ``D_i``) is a scalar times a product of
   single letters.

A protocol derived with named Schur blocks (``cp.named``, theory.protocol.schur) gets the same shape: its
``C_ij``, ``D_i`` and the coefficient ``Z_ij`` of ``w_j*`` in ``z_i*`` (polynomials in the named blocks
``Phi_{a,b}``, ``r_{a,j}``, ``U^{(k)}_{a,b}`` and the ``Q_k``) are factored by items 1, 3 and 5 and proved
equal to the named elimination's, which :func:`theory.protocol.checks.verify` proves by its own chain.

Every displayed form is proved equal to the compiler's raw result (:func:`proofs`: reduction in the free
algebra of theory.core.algebra), each named factor replaced by the sum it names; a failed proof means the raw
form is printed instead, as one named factor (never an unproved form).
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

__all__ = ["Canonical", "Coefficient", "Naming", "canonical", "identity_checks", "name_sums", "named_checks",
           "named_letter", "proofs", "r_in_c"]

# item 1 only on polynomials up to this many words: each try reduces F_k X, costly on the long coefficients of the
# named Schur path (hundreds of words). Measured on the random protocols of seeds 0-29: 3.0 s instead of 9.2 s,
# the same 268 named factors with 6% more words in their definitions.
PEEL_MAX_WORDS = 64
MAX_FACTOR_DEPTH = 4  # item 5: how often the peeling and the common letters are tried again on what is left
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
    ``D_i`` (a :class:`Coefficient`; None when the weights sum to 1); ``pivots``: ``(Q, F)`` of every inverse
    used, ``F`` in its displayed form; ``named``: ``(S, definition)`` of every named factor (item 5);
    ``alg``: the compiler's algebra plus the push-through inverses. ``dense``: derived with named Schur blocks,
    so ``fixed[i][j]`` is the coefficient ``Z_ij`` of ``w_j*`` (not of ``K_j w_j*``) and ``X``, ``z``, ``rc``
    are empty."""

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
    named: list = field(default_factory=list)  # (S_k letter, definition poly), in order of naming
    dense: bool = False
    identities: list = field(default_factory=list)  # (Q', I + a W Q V): inverses recognised by item 5
    recognise: bool = True  # item 5 recognises inverses (off when one of their identities failed)
    sums: dict = field(default_factory=dict)  # S_k -> the sum it names (its displayed definition may use other S)
    raw: tuple = ()  # dense: (C_ij, D_i, Z_ij) of the named elimination, the polynomials the displays must equal

    def definitions(self) -> dict:
        """``{S_k: the sum it names}`` (in the ``M``'s and ``Q``'s, no ``S`` in it; :func:`named_checks` proves
        each displayed definition equal to it)."""
        return dict(self.sums)

    def residual(self, i: int) -> sp.Expr:
        n = self.cp.names
        out = sp.Add(*[C.expr() * gap(n[j], n[i]) for j, C in self.gaps[i].items()])
        D = self.self_[i]
        return out + (D.expr() * w_star(n[i]) if D is not None else 0)


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
    changed = len(X) <= PEEL_MAX_WORDS
    while changed and len(X) > 1:
        changed = False
        for Q, F in inv.items():
            for side in ("left", "right"):
                if not any(w and w[0 if side == "left" else -1] == Q for w in X):
                    continue  # X = Q Y leaves Q at the start of some word of X (a cheap test first)
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


def _is_letter(f: dict) -> bool:
    return len(f) == 1 and len(next(iter(f))) == 1 and next(iter(f.values())) == 1


def _as_inverse(alg: FreeAlgebra, core: dict, ids: list) -> tuple[Any, sp.Symbol] | None:
    """Item 5's first try: ``b (I + a W Q V) = b (I - a W V)^{-1}`` when ``Q = (I - a V W)^{-1}`` (push-through;
    ``W`` may be empty, then it is ``Q`` itself): ``(b, Q')``, the identity ``Q' = I + a W Q V`` recorded in
    ``ids`` (proved in :func:`proofs`); None when ``core`` is not of that form."""
    if len(core) != 2 or () not in core:
        return None
    b = core[()]
    (u, c), = ((w, c) for w, c in core.items() if w)
    a = _divide(c, b)
    inv = _inverse_of(alg)
    for p, x in enumerate(u):
        F = inv.get(x)
        W, V = u[:p], u[p + 1:]
        if F is None or alg.reduce_poly(padd(F, {(): Fraction(1), V + W: -a}, signs=(1, -1))):
            continue  # (reduced: a pivot such as the anchored one is stored with removable 1/omega terms)
        Q2 = alg.inverse(from_poly({(): Fraction(1), W + V: -a})) if W else x
        if isinstance(Q2, sp.Symbol):
            if W and all(Q != Q2 for Q, _ in ids):
                ids.append((Q2, {(): Fraction(1), u: a}))
            return b, Q2
    return None


def _split(alg: FreeAlgebra, X: dict, ids: list | None, depth: int = 0) -> tuple[Any, list]:
    """``X = scalar * factors`` by items 1, 3 and 4, then item 5's repetition on the sum left in the middle."""
    left, Y, right = _peel(alg, X)
    if _symbolic_denominators(Y):  # (pivots are also shortened by item 4, see canonical; factors only cleared)
        Y = desingularize(alg, Y)
    pre, core, suf = _common(Y)
    scalar, core = _scalar(core)
    middle: list
    hit = _as_inverse(alg, core, ids) if ids is not None else None
    if len(core) == 1:
        (w, c), = core.items()
        scalar, middle = scalar * _sym(c), [letter(x) for x in w]
    elif hit is not None:
        scalar, middle = scalar * _sym(hit[0]), [letter(hit[1])]
    elif (left or right or pre or suf) and depth < MAX_FACTOR_DEPTH:  # something came off: try the rest again
        s2, middle = _split(alg, core, ids, depth + 1)
        scalar = scalar * _sym(s2)
    else:
        middle = [core]
    factors = [letter(Q) for Q in left] + [letter(x) for x in pre] + middle
    factors += [letter(x) for x in suf] + [letter(Q) for Q in right]
    return scalar, factors


def factor(alg: FreeAlgebra, X: dict, ids: list | None = None) -> Coefficient:
    """``X`` (a word polynomial in M's and inverse letters) as a :class:`Coefficient` (items 1-4 and the
    recognised inverses of item 5, recorded in ``ids``; the naming of item 5 is :func:`name_sums`)."""
    scalar, factors = _split(alg, X, ids)
    return Coefficient(_simplify(scalar), _push_through(alg, factors))


def named_letter(k: int) -> sp.Symbol:
    """The k-th named factor ``S_k`` (item 5; LaTeX ``\\mathcal{S}_k``, text ``Sk``)."""
    return sp.Symbol(f"S{k}", commutative=False)


def _unit(f: dict):
    """The coefficient a named factor is divided by: the identity's, else the shortest (first) word's."""
    return f[()] if () in f else f[min(f, key=lambda w: (len(w), tuple(x.name for x in w)))]


def _divide(c, u):
    if isinstance(c, Fraction) and isinstance(u, Fraction):
        return c / u
    q = sp.factor(sp.cancel(_sym(c) / _sym(u)))
    return Fraction(int(q.p), int(q.q)) if q.is_Rational else q


@dataclass
class Naming:
    """Item 5's named factors as they are collected: ``named`` (``S_k``, displayed definition), ``sums`` (the
    sum each names, expanded and divided by its unit); ``alg``/``ids``: the algebra (and recognised inverses)
    that factor a definition's non-identity part (None: definitions stay expanded)."""

    alg: FreeAlgebra | None = None
    ids: list | None = None
    named: list = field(default_factory=list)
    sums: list = field(default_factory=list)


def name_sums(naming: Naming, C: Coefficient) -> Coefficient:
    """Item 5: ``C`` with every sum factor replaced by its named factor (a new ``S_k``, or the one already
    naming that sum up to a scalar); a one-word factor is split into its letters."""
    scalar, out = _sym(C.scalar), []
    for f in C.factors:
        if _is_letter(f):
            out.append(f)
            continue
        if len(f) == 1:
            (w, c), = f.items()
            scalar, out = scalar * _sym(c), out + [letter(x) for x in w]
            continue
        hit = _as_inverse(naming.alg, f, naming.ids) if naming.alg is not None and naming.ids is not None else None
        if hit is not None:  # I + a W Q V is an inverse (item 5's first try), not a sum to name
            scalar, out = scalar * _sym(hit[0]), out + [letter(hit[1])]
            continue
        u = _unit(f)
        g = {w: _divide(c, u) for w, c in f.items()}
        S = next((S for h, S in naming.sums if h == g), None)
        if S is None:
            saved = len(naming.named), len(naming.sums)
            shown = _shown(naming, g)  # may name inner sums first (smaller numbers)
            hit = _shown_inverse(naming, shown)
            if hit is not None:  # its factored form is I + a W Q V: an inverse after all
                del naming.named[saved[0]:], naming.sums[saved[1]:]
                scalar, out = scalar * _sym(u) * _sym(hit[0]), out + [letter(hit[1])]
                continue
            S = named_letter(len(naming.named) + 1)
            naming.named.append((S, shown))
            naming.sums.append((g, S))
        scalar = scalar * _sym(u)
        out.append(letter(S))
    return Coefficient(_simplify(scalar), out)


def _shown_inverse(naming: Naming, shown: dict) -> tuple[Any, sp.Symbol] | None:
    """``shown = I + a W Q V`` with no named factor in it, recognised as an inverse (:func:`_as_inverse`)."""
    if naming.alg is None or naming.ids is None or len(shown) != 2:
        return None
    if any(str(x.name).startswith("S") and x.name[1:].isdigit() for w in shown for x in w):
        return None
    return _as_inverse(naming.alg, shown, naming.ids)


def _shown(naming: Naming, g: dict) -> dict:
    """A named factor's displayed definition: ``a I + (its other terms factored as a product)`` when they
    factor (``I + S_2 Q_2 M_C S_4 Q_1``, inner sums named in turn, each with fewer words) and that form is proved
    equal to ``g`` (:func:`_definition_residual`), else ``g`` (and no inner name is kept)."""
    if naming.alg is None or () not in g or len(g) < 3:
        return g
    C = factor(naming.alg, {w: c for w, c in g.items() if w}, naming.ids)
    if sum(1 for f in C.factors if not _is_letter(f)) == 1 and len(C.factors) == 1:
        return g  # the rest is one sum again: nothing gained
    saved = len(naming.named), len(naming.sums)
    shown = padd({(): g[()]}, name_sums(naming, C).poly())
    if _definition_residual(naming.alg, shown, g, {S: h for h, S in naming.sums}):
        del naming.named[saved[0]:], naming.sums[saved[1]:]
        return g
    return shown


def _definition_residual(alg: FreeAlgebra, shown: dict, g: dict, sums: dict) -> dict:
    """What is left of ``shown - g`` (named factors replaced by their sums), reduced, then multiplied on the
    left by the pivots of the leading inverses of ``shown``'s product term as long as needed (invertible by
    hypothesis: a left factor does not change whether the difference is 0)."""
    word = max(shown, key=len)
    return _settle(alg, padd(psubs(shown, sums), g, signs=(1, -1)), _leading_pivots(alg, word))


def named_label(S: sp.Symbol) -> str:
    return f"{S.name} as displayed is the sum it names"


def named_checks(cn: Canonical) -> list[Check]:
    """Each named factor's displayed definition (other ``S`` in it replaced by the sums they name) equals the
    sum it names, the one the coefficients' checks substitute (:func:`_definition_residual`)."""
    out = []
    for S, F in cn.named:
        res = _definition_residual(cn.alg, F, cn.sums.get(S, {}), cn.sums)
        out.append(Check(named_label(S), not res, sp.sstr(from_poly(res))))
    return out


def _with_k(C: Coefficient, name: str) -> Coefficient:
    return Coefficient(C.scalar, C.factors + [letter(k_letter(name))])


def canonical(cp: Compiled, recognise: bool = True) -> Canonical:
    """The canonical residuals of ``cp`` (see the module text), each proved (:func:`proofs`); ``recognise``:
    item 5's recognised inverses (without them when one of their identities does not reduce)."""
    out = _dense(cp, recognise) if cp.named is not None else _expanded(cp, recognise)
    if recognise and not all(c.holds for c in identity_checks(out)):
        return canonical(cp, recognise=False)
    return out


def _expanded(cp: Compiled, recognise: bool) -> Canonical:
    alg = _copy(cp.alg)
    X, z, rc = _coefficients_of_c(cp, alg)
    n, K = cp.names, cp.spec.K
    ids: list | None = [] if recognise else None
    raw = [{j: factor(alg, X[i][j], ids) for j in sorted(X[i]) if X[i][j]} for i in range(K)]
    selfs = [cp.poly(x) for x in cp.residual_self]
    D = [factor(alg, p, ids) if p else None for p in selfs]
    out = Canonical(cp, alg, [], [], [], [], X, z, rc, identities=ids if ids is not None else [],
                    recognise=recognise)
    _assign(out, raw, D)
    out.checks = proofs(out)
    for i in range(K):  # a product the rewriting could not settle: X_ij as eliminated, as one named factor
        for j in list(raw[i]):
            if not _settled(out.checks, factor_label(n[i], n[j])):
                raw[i][j] = Coefficient(1, [X[i][j]])
        if D[i] is not None and not _settled(out.checks, self_label(n[i])):
            D[i] = Coefficient(1, [selfs[i]])
    if not all(c.holds for c in out.checks):
        _assign(out, raw, D)
        out.checks = proofs(out)
    return out


def _settled(checks: list, label: str) -> bool:
    return all(c.holds for c in checks if c.label.startswith(label))


def _set_pivots(cn: Canonical) -> None:
    """Every inverse of the algebra (the compiler's, then those the factoring made) in its displayed form
    (item 4 on the expanded path; the named path's pivots are single letters already)."""
    cn.pivots = [(Q, to_poly(F) if cn.dense else desingularize(cn.alg, to_poly(F))) for F, Q in cn.alg.inverted]


def _naming(cn: Canonical) -> Naming:
    """A fresh naming on ``cn``'s algebra (recognised inverses recorded in ``cn.identities`` when enabled)."""
    return Naming(cn.alg, cn.identities if cn.recognise else None)


def _assign(cn: Canonical, raw: list, D: list) -> None:
    """The displayed coefficients from the factored ones, sums named (item 5): residuals first, so the
    ``S_k`` they use have the smallest numbers."""
    n, naming = cn.cp.names, _naming(cn)
    gaps = [{j: name_sums(naming, C) for j, C in row.items() if j != i} for i, row in enumerate(raw)]
    self_ = [name_sums(naming, d) if d is not None else None for d in D]
    fixed = [{j: (gaps[i][j] if j != i else name_sums(naming, C)) for j, C in row.items()}
             for i, row in enumerate(raw)]
    cn.fixed, cn.named, cn.self_, cn.sums = fixed, naming.named, self_, {S: g for g, S in naming.sums}
    _set_pivots(cn)
    cn.gaps = [{j: _with_k(C, n[j]) for j, C in row.items()} for row in gaps] if not cn.dense else gaps


def _dense(cp: Compiled, recognise: bool) -> Canonical:
    """Items 1, 3 and 5 on the named elimination's ``C_ij``, ``D_i`` and ``Z_ij`` (see the module text)."""
    from theory.protocol.residuals import by_last

    alg, n, K = _copy(cp.alg), cp.names, cp.spec.K
    gaps = [{j: cp.poly(G) for j, G in sorted(cp.residual_gaps[i].items())} for i in range(K)]
    selfs = [cp.poly(x) for x in cp.residual_self]
    idx = {w_star(m): k for k, m in enumerate(n)}
    Z = [{idx[v]: p for v, p in sorted(by_last(cp.poly(e)).items(), key=lambda kv: idx[kv[0]])}
         for e in cp.fixed_point]
    ids: list | None = [] if recognise else None
    raw_g = [{j: factor(alg, p, ids) for j, p in row.items()} for row in gaps]
    raw_z = [{j: factor(alg, p, ids) for j, p in row.items()} for row in Z]
    D = [factor(alg, p, ids) if p else None for p in selfs]
    out = Canonical(cp, alg, [], [], [], dense=True, identities=ids if ids is not None else [],
                    recognise=recognise)
    out.raw = (gaps, selfs, Z)
    _assign_dense(out, raw_g, raw_z, D)
    out.checks = proofs(out)
    if not all(c.holds for c in out.checks):  # what the rewriting could not settle: as one named factor
        for i in range(K):
            for j in raw_g[i]:
                if not _settled(out.checks, gap_label(n[i], n[j])):
                    raw_g[i][j] = Coefficient(1, [gaps[i][j]])
            for j in raw_z[i]:
                if not _settled(out.checks, fixed_label(n[i], n[j])):
                    raw_z[i][j] = Coefficient(1, [Z[i][j]])
            if D[i] is not None and not _settled(out.checks, self_label(n[i])):
                D[i] = Coefficient(1, [selfs[i]])
        _assign_dense(out, raw_g, raw_z, D)
        out.checks = proofs(out)
    return out


def _assign_dense(cn: Canonical, raw_g: list, raw_z: list, D: list) -> None:
    naming = _naming(cn)
    cn.gaps = [{j: name_sums(naming, C) for j, C in row.items()} for row in raw_g]
    cn.self_ = [name_sums(naming, d) if d is not None else None for d in D]
    cn.fixed = [{j: name_sums(naming, C) for j, C in row.items()} for row in raw_z]
    cn.named, cn.sums = naming.named, {S: g for g, S in naming.sums}
    _set_pivots(cn)


def _matrix(alg: FreeAlgebra, expr) -> sp.MatrixExpr:
    return to_matrix_expr(alg, expr)


def _leading_pivots(alg: FreeAlgebra, word: tuple) -> tuple:
    """The pivots ``F`` of the run of inverse letters that starts ``word`` (innermost first): multiplying a
    difference by them on the left clears those inverses, as the peeling did."""
    inv = {Q: F for F, Q in alg.inverted}
    out = []
    for x in word:
        if x not in inv:
            break
        out.append(inv[x])
    return tuple(out)


def _word(C: Coefficient) -> tuple:
    """The letters of a product (its sum factors, if any, end it)."""
    out: tuple = ()
    for f in C.factors:
        if not _is_letter(f):
            break
        out += next(iter(f))
    return out


def proofs(cn: Canonical) -> list[Check]:
    """V1 of the canonical residuals, a chain from the round map to each displayed ``C_ij``:

    1. ``r`` with every ``c_j`` opaque, then ``c_j = K_j w_j*`` put in, is the compiler's ``r``;
    2. ``z*(c)`` is fixed by the round map, ``z* = Phi z* + r`` (reduced to 0), so with ``c_j = K_j w_j*`` it is
       the compiler's fixed point (unique: the pivots are invertible) and ``e_i = sum_{j != i} X_ij K_j
       (w_j* - w_i*) + (sum_j X_ij K_j - I) w_i*``;
    3. so ``z*`` is the compiler's (both are fixed points, the pivots are invertible): ``D_i`` is the compiler's and
       ``C_ij = X_ij K_j``;
    4. each inverse recognised by item 5 is proved: its pivot times the sum it replaces reduces to ``I``;
    5. each displayed product ``C_ij K_j^{-1}`` equals ``X_ij``, each named factor ``S_k`` replaced by its
       displayed definition (theory.core.algebra reduction; a leading run of inverses is cleared by multiplying
       by its pivots), each displayed ``D_i`` equals the compiler's, and each displayed pivot equals the
       compiler's.

    Derived with named Schur blocks (``cn.dense``): steps 1-3 are the named elimination's own chain
    (theory.protocol.schur, proved by :func:`theory.protocol.checks.verify`); steps 4 and 5 prove the recognised
    inverses and each displayed ``C_ij``, ``D_i`` and ``Z_ij`` (named factors by their definitions) equal to the
    named elimination's.
    """
    if cn.dense:
        return identity_checks(cn) + named_checks(cn) + _dense_proofs(cn)
    cp, alg, n, K = cn.cp, cn.alg, cn.cp.names, cn.cp.spec.K
    defs = {f"K_{m}": I - _matrix(alg, M(m)) for m in n}
    out = identity_checks(cn) + named_checks(cn)
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
            out.append(factor_check(cn, i, j, C if j == i else cn.gaps[i][j]))
        missing = {j for j, X in cn.X[i].items() if j != i and X} - set(cn.gaps[i])
        out += [Check(factor_label(n[i], n[j]), False, "a gap is missing") for j in missing]
        if cn.self_[i] is not None:
            out.append(coefficient_check(cn, self_label(n[i]), cn.self_[i], cp.poly(cp.residual_self[i])))
        elif cp.poly(cp.residual_self[i]):
            out.append(Check(self_label(n[i]), False, "the w_i* term is missing"))
    return out


def _dense_proofs(cn: Canonical) -> list[Check]:
    gaps, selfs, Z = cn.raw
    n, out = cn.cp.names, []
    for i in range(cn.cp.spec.K):
        for j, G in gaps[i].items():
            C = cn.gaps[i].get(j)
            out.append(coefficient_check(cn, gap_label(n[i], n[j]), C, G) if C is not None
                       else Check(gap_label(n[i], n[j]), False, "a gap is missing"))
        D = cn.self_[i]
        if D is not None or selfs[i]:
            out.append(coefficient_check(cn, self_label(n[i]), D, selfs[i]) if D is not None
                       else Check(self_label(n[i]), False, "the w_i* term is missing"))
        for j, Zij in Z[i].items():
            C = cn.fixed[i].get(j)
            out.append(coefficient_check(cn, fixed_label(n[i], n[j]), C, Zij) if C is not None
                       else Check(fixed_label(n[i], n[j]), False, "a term is missing"))
    return out


def _with_definitions(cn: Canonical, label: str, C: Coefficient) -> str:
    """The label, naming the named factors ``C`` uses (each replaced by its definition in the check)."""
    used = [f for f in C.factors if _is_letter(f) and next(iter(f))[0] in cn.definitions()]
    names = list(dict.fromkeys(next(iter(f))[0].name for f in used))
    if not names:
        return label
    return label + f", with {' and '.join(names)} by {'its' if len(names) == 1 else 'their'} definition" + (
        "" if len(names) == 1 else "s")


def factor_label(i: str, j: str) -> str:
    return f"X_{i}{j} as displayed is X_{i}{j} as eliminated"


def self_label(i: str) -> str:
    return f"D_{i} as displayed is the compiler's D_{i}"


def gap_label(i: str, j: str) -> str:
    return f"C_{i}{j} as displayed is the named elimination's C_{i}{j}"


def fixed_label(i: str, j: str) -> str:
    return f"Z_{i}{j} as displayed is the named elimination's Z_{i}{j}"


def coefficient_check(cn: Canonical, label: str, C: Coefficient, target: dict) -> Check:
    """``C`` (named factors replaced by their definitions) equals the word polynomial ``target``, reduced in the
    free algebra; a leading run of inverses ``Q_a Q_b ...`` of ``C`` is cleared by multiplying the difference
    on the left by ``F_a``, then ``F_b``, ..., each invertible by hypothesis. Failing that, the same with each
    recognised inverse ``Q' = I + a W Q V`` (item 5, proved on its own in :func:`proofs`) written as its sum on
    both sides."""
    pivots = _leading_pivots(cn.alg, _word(C))
    first = _settle(cn.alg, padd(psubs(C.poly(), cn.definitions()), target, signs=(1, -1)), pivots)
    if first and cn.identities:
        ids = dict(cn.identities)
        again = _settle(cn.alg, psubs(padd(psubs(C.poly(), cn.definitions()), target, signs=(1, -1)), ids), pivots)
        if not again:
            return Check(_with_definitions(cn, label, C) + ", recognised inverses as their sums", True, "0")
    return Check(_with_definitions(cn, label, C), not first, sp.sstr(from_poly(first)))


def _settle(alg: FreeAlgebra, diff: dict, pivots: tuple) -> dict:
    """``diff`` reduced, multiplied on the left by ``pivots`` (each invertible by hypothesis) one by one as long
    as that is needed: what is left (empty when it settles)."""
    res = alg.reduce_poly(diff)
    for F in pivots:  # as few pivots as settle it
        if not res:
            break
        diff = pmul(to_poly(F), diff)
        res = alg.reduce_poly(diff)
    return res


def identity_label(k: int) -> str:
    return f"Q{k} recognised in a coefficient: pivot {k} times the sum it inverts is the identity"


def identity_checks(cn: Canonical) -> list[Check]:
    """Item 5's recognised inverses: ``F' (I + a W Q V)`` reduces to the identity, so (``F'`` invertible by
    hypothesis) ``Q' = F'^{-1}`` is that sum."""
    inv, index = _inverse_of(cn.alg), {Q: k + 1 for k, (_, Q) in enumerate(cn.alg.inverted)}
    out = []
    for Q, f in cn.identities:
        res = cn.alg.reduce_poly(padd(pmul(inv[Q], f), P_ONE, signs=(1, -1)))
        out.append(Check(identity_label(index[Q]), not res, sp.sstr(from_poly(res))))
    return out


def factor_check(cn: Canonical, i: int, j: int, C: Coefficient) -> Check:
    """Item 4 of :func:`proofs` for one ``C_ij`` (``X_ii`` when ``j == i``): its product without ``K_j``
    equals ``X_ij`` (:func:`coefficient_check`)."""
    n = cn.cp.names
    inner = Coefficient(C.scalar, C.factors[:-1]) if j != i else C  # without its K_j
    return coefficient_check(cn, factor_label(n[i], n[j]), inner, cn.X[i][j])
