"""Dimension-free proofs in the free (noncommutative) algebra (method V1).

A claim is an identity between matrix expressions (SymPy ``MatrixExpr``).
:meth:`FreeAlgebra.convert` maps it to noncommutative symbols: ``I -> 1``, products keep
their order, and each ``Inverse(F)`` becomes a fresh symbol ``F^{-1}`` with
the two defining relations ``F F^{-1} = 1`` and ``F^{-1} F = 1`` as rewrite
rules (F is one of the factors the hypotheses make invertible). The
difference is then multiplied through by the listed factors, expanded, and
rewritten to normal form; the claim holds when the result is exactly 0.

The prover trusts no factor: every factor it multiplies by, and (when the caller names
its hypotheses with ``invertible=``) every factor it inverts, must equal one that a
named hypothesis makes invertible; otherwise :class:`NotJustified` is raised. Extra
relations a hypothesis gives (``U^T U = I``) enter as named rewrite rules. A proof whose
two sides are structurally equal before any rewriting is flagged ``trivial``.

Representation: an element is a *word polynomial* ``{word: coefficient}``, a word being a tuple
of noncommutative letters (SymPy symbols) and its coefficient commutative (a Python ``Fraction``
while computing, much faster than SymPy Rationals, or a SymPy expression such as ``1 - omega``).
Terms are collected by word, so a symbolic weight keeps one term per word and the inverse rules
terminate, and the rules rewrite words directly (``subs`` on large noncommutative sums is slow).
SymPy expressions are the interface (:func:`to_poly`, :func:`from_poly`).

Named letters (:meth:`FreeAlgebra.define_letter`) stay opaque letters whose definitions are
recorded, not substituted: the protocol compiler's Schur blocks (P1) are proved as chains of small
local identities in them. :attr:`FreeAlgebra.events` lists definitions and inverses in order of
creation, for numeric evaluation.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

# Rewriting always shortens words, so it terminates; this bounds runaway loops. A pass rewrites
# each word once (its first match): every reduction of verify --profile quick and of derive
# --protocol on the dense example (676, measured) reached its normal form within 4 passes. 200 is
# the protocol compiler's bound from before the two algebras became one (kept: dense protocols
# have long words); a rule that does not shorten words fails at it, or at MAX_POLY_WORDS first.
MAX_REWRITE_PASSES = 200
# A reduced polynomial with more words than this is refused (TooLarge) rather than computed for
# minutes: dense many-agent, many-phase protocols swell under symbolic elimination (numeric
# predict still works), and a wrong rule that multiplies terms stops here within seconds.
MAX_POLY_WORDS = 20_000


class NotJustified(ValueError):
    """A factor the prover would invert or multiply by that no named hypothesis makes invertible."""


class TooLarge(ValueError):
    """A reduced polynomial exceeded the algebra's ``max_words`` words."""


# ---------------------------------------------------------------- word polynomials
def _letters(word) -> tuple:
    """The letters of a noncommutative product, powers written out (``M**2 -> (M, M)``)."""
    out = []
    for f in word:
        if f.is_Pow:
            if not (f.exp.is_Integer and f.exp > 0):
                raise TypeError(f"no word for the power {f} (only positive integer powers of a letter)")
            out.extend([f.base] * int(f.exp))
        else:
            out.append(f)
    return tuple(out)


def _simplify_coeff(c):
    if type(c) in _NUMBERS:  # a Fraction or an int is simplified already (and has no free_symbols to look up)
        return c
    return _cancel(c) if getattr(c, "free_symbols", None) else c


_NUMBERS = (Fraction, int)


@functools.lru_cache(maxsize=4096)
def _cancel(c):
    """``sp.cancel``, memoised: SymPy expressions are immutable and a derivation meets the same symbolic
    coefficient many times (P2 with a symbolic weight: 48 distinct among 525)."""
    return sp.cancel(c)


def _coeff(c):
    """Numeric coefficients as Python Fractions (much faster than SymPy Rationals); symbolic ones stay SymPy."""
    if isinstance(c, Fraction):
        return c
    if getattr(c, "is_Rational", False):
        return Fraction(int(c.p), int(c.q))
    return c


def _sym(c):
    return sp.Rational(c.numerator, c.denominator) if isinstance(c, Fraction) else c


def _clean(poly: dict) -> dict:
    """Coefficients simplified, zero terms dropped."""
    return {w: c for w, c in ((w, _simplify_coeff(c)) for w, c in poly.items()) if c != 0}


def to_poly(expr) -> dict:
    """``expr`` as ``{word (tuple of letters): commutative coefficient}``, one entry per word."""
    if isinstance(expr, dict):
        return expr
    out: dict = {}
    for term in sp.Add.make_args(sp.sympify(expr)):  # our own expressions (never user input)
        coeff, word = term.args_cnc()
        if (any(f.is_Add or (f.is_Pow and f.base.is_Add) for f in word)
                or any(f.is_Add for f in coeff if not f.is_Number)):
            for w, c in to_poly(sp.expand(term)).items():  # not yet expanded: expand this term only
                out[w] = out.get(w, sp.Integer(0)) + c
            continue
        key = _letters(word)
        out[key] = out.get(key, 0) + _coeff(sp.Mul(*coeff))
    return _clean(out)


def from_poly(poly: dict) -> sp.Expr:
    """The SymPy expression of a word polynomial (symbolic coefficients factored)."""
    terms = []
    for w, c in poly.items():
        c = sp.factor(c) if getattr(c, "free_symbols", None) else _sym(c)
        terms.append(sp.Mul(c, *w) if w else c)
    return sp.Add(*terms)


def padd(*polys, signs=None) -> dict:
    """``sum_k signs[k] polys[k]`` (all signs +1 by default)."""
    out: dict = {}
    for k, p in enumerate(polys):
        sg = 1 if signs is None else signs[k]
        for w, c in p.items():
            out[w] = out.get(w, 0) + sg * c
    return _clean(out)


def pmul(*polys) -> dict:
    """The product of word polynomials, in order (words concatenate)."""
    out = {(): Fraction(1)}
    for p in polys:
        nxt: dict = {}
        for w1, c1 in out.items():
            for w2, c2 in p.items():
                key = w1 + w2
                nxt[key] = nxt.get(key, 0) + c1 * c2
        out = _clean(nxt)
    return out


def pscale(p: dict, c) -> dict:
    """``c p`` for a commutative ``c``."""
    c = _coeff(c)
    return _clean({w: c * v for w, v in p.items()})


def psubs(poly: dict, mapping: dict) -> dict:
    """Replace letters by word polynomials (``mapping``: letter -> poly) anywhere in each word."""
    out: dict = {}
    for w, c in poly.items():
        terms: list[tuple[tuple[Any, ...], Any]] = [((), c)]
        for x in w:
            rep = mapping.get(x)
            if rep is None:
                terms = [(tw + (x,), tc) for tw, tc in terms]
            else:
                terms = [(tw + rw, tc * rc) for tw, tc in terms for rw, rc in rep.items()]
        for tw, tc in terms:
            out[tw] = out.get(tw, 0) + tc
    return _clean(out)


def letter(sym) -> dict:
    """The one-letter word polynomial ``sym``."""
    return {(sym,): Fraction(1)}


P_ONE = {(): Fraction(1)}  # the unit (the identity matrix)


def normal(expr) -> sp.Expr:
    """Expand and collect terms by word, cancelling each (commutative) coefficient.

    ``expand`` alone keeps ``M Q`` and ``M Q / omega`` apart; rewriting needs one term per word.
    """
    return from_poly(to_poly(expr))


def _find(word: tuple, sub: tuple) -> int:
    """First position of ``sub`` in ``word`` (hashes first: SymPy equality is slow)."""
    n, m = len(word), len(sub)
    if m > n:
        return -1
    hw = [hash(x) for x in word]
    hs = [hash(x) for x in sub]
    for k in range(n - m + 1):
        if hw[k:k + m] == hs and word[k:k + m] == sub:
            return k
    return -1


# ---------------------------------------------------------------- the algebra
@dataclass
class FreeAlgebra:
    """Translation context: symbol table, rewrite rules, inverses and named letters collected so far.

    ``rules``: ``(word, word polynomial)`` rewrite rules (an inverse's two defining rules, and the
    relations a hypothesis gives). ``inverted``: ``(F, F^{-1} symbol)`` in order of creation.
    ``definitions``: MatrixSymbol name -> element it abbreviates (substituted by :meth:`convert`).
    ``justify``: ``None`` (inverses taken on trust, for derivation chains) or a list of
    ``(hypothesis, MatrixExpr)``: then every inverted factor must match one of them.
    ``events``: ``("def", letter, poly)`` of each named letter and ``("inv", F, Q)`` of each
    inverse, in order of creation. ``max_words``: a reduction past this many words raises
    :class:`TooLarge`.

    Examples
    --------
    A formal inverse comes with its rewrite rules, so ``Q - Q J`` reduces to 1 for ``Q = (I - J)^{-1}``:

    >>> import sympy as sp
    >>> from theory.core.model import I
    >>> from theory.round_robin.two_agents import J_A
    >>> alg = FreeAlgebra()
    >>> Q, J = alg.convert(sp.Inverse(I - J_A)), alg.convert(J_A)
    >>> Q, alg.reduce(Q - Q * J)
    ((1 - M_A*M_B)^{-1}, 1)
    """

    symbols: dict = field(default_factory=dict)
    rules: list = field(default_factory=list)
    inverted: list = field(default_factory=list)
    definitions: dict = field(default_factory=dict)
    justify: list | None = None
    used: dict = field(default_factory=dict)  # factor (sstr) -> hypothesis that makes it invertible
    events: list = field(default_factory=list)
    max_words: int = MAX_POLY_WORDS

    def justification(self, F: sp.Expr, what: str) -> str | None:
        """The hypothesis that makes the free-algebra element ``F`` invertible; NotJustified if none."""
        if F == 0:
            raise NotJustified(f"{what} 0 is never invertible")
        if self.justify is None:
            return None
        saved, self.justify = self.justify, None  # the candidates are plain factors: convert unchecked
        try:
            for reason, expr in saved:
                if sp.expand(self.convert(expr) - F) == 0:
                    self.used[sp.sstr(F)] = reason
                    return reason
        finally:
            self.justify = saved
        raise NotJustified(f"{what} {sp.sstr(F)} is not made invertible by any named hypothesis "
                           f"({', '.join(r for r, _ in saved) or 'none named'})")

    def symbol(self, name: str) -> sp.Symbol:
        if name not in self.symbols:
            self.symbols[name] = sp.Symbol(name, commutative=False)
        return self.symbols[name]

    def convert(self, expr) -> sp.Expr:
        """MatrixExpr (or scalar) -> element of the free algebra."""
        if isinstance(expr, sp.MatrixSymbol):
            sym = self.symbol(expr.name)
            return self.definitions.get(expr.name, sym)
        if isinstance(expr, sp.Identity):
            return sp.Integer(1)
        if isinstance(expr, sp.ZeroMatrix):
            return sp.Integer(0)
        if isinstance(expr, sp.MatAdd):
            return sp.Add(*[self.convert(a) for a in expr.args])
        if isinstance(expr, sp.MatMul):
            return sp.Mul(*[self.convert(a) for a in expr.args])
        if isinstance(expr, sp.Inverse):
            return self.inverse(self.convert(expr.arg))
        if isinstance(expr, sp.Transpose):
            return self.transpose(expr.arg)
        if isinstance(expr, sp.MatPow) and expr.exp.is_Integer and expr.exp >= 0:  # (an unevaluated A^0 is I)
            return self.convert(expr.base) ** int(expr.exp)
        if isinstance(expr, sp.MatPow) and expr.exp.is_Integer and expr.exp < 0:
            return self.inverse(self.convert(expr.base)) ** int(-expr.exp)
        if isinstance(expr, MatrixExpr):
            raise TypeError(f"no free-algebra translation for {type(expr).__name__}: {expr}")
        return sp.sympify(expr)  # a scalar coefficient from our own expressions (never user input)

    def transpose(self, arg) -> sp.Expr:
        """``A^T`` of a symbol is a new symbol ``A^T``; of a sum or product, distributed (reversing products)."""
        if isinstance(arg, sp.MatrixSymbol):
            name = f"{arg.name}^T"
            return self.definitions.get(name, self.symbol(name))
        if isinstance(arg, sp.Transpose):
            return self.convert(arg.arg)
        if isinstance(arg, sp.MatAdd):
            return sp.Add(*[self.transpose(a) for a in arg.args])
        if isinstance(arg, sp.MatMul):
            coeff, factors = arg.as_coeff_matrices()
            return coeff * sp.Mul(*[self.transpose(a) for a in reversed(factors)])
        if isinstance(arg, (sp.Identity, sp.ZeroMatrix)):
            return self.convert(arg)
        raise TypeError(f"no free-algebra translation for the transpose of {type(arg).__name__}: {arg}")

    def inverse(self, F) -> sp.Expr:
        """A symbol ``Q`` for ``F^{-1}`` (``F`` an expression or a word polynomial), with the rewrite
        rules ``m Q -> (1 - rest Q)/a`` and ``Q m -> (1 - Q rest)/a``.

        ``F = a m + rest`` with ``m`` its longest word (ties: the larger word as text). A nonzero
        scalar ``F`` returns its reciprocal (no rule); the same ``F`` returns the same ``Q``.
        """
        Fp = to_poly(F)
        F = from_poly(Fp)
        if all(not w for w in Fp):
            c = Fp.get((), 0)
            if c == 0:
                raise ValueError("cannot invert 0")
            return _sym(1 / c) if isinstance(c, Fraction) else 1 / c  # a nonzero scalar (e.g. I - 0)
        for G, Q in self.inverted:
            if not padd(to_poly(G), Fp, signs=(1, -1)):
                return Q
        self.justification(F, "inverted factor")
        Q = self.symbol(f"({sp.sstr(F)})^{{-1}}")
        lead = max(Fp, key=lambda w: (len(w), sp.sstr(sp.Mul(*w))))
        a = Fp[lead]
        left = {(): _simplify_coeff(1 / a)}
        right = {(): _simplify_coeff(1 / a)}
        for w, c in Fp.items():
            if w != lead:
                left[w + (Q,)] = _simplify_coeff(left.get(w + (Q,), 0) - c / a)
                right[(Q,) + w] = _simplify_coeff(right.get((Q,) + w, 0) - c / a)
        self.rules.append((lead + (Q,), left))
        self.rules.append(((Q,) + lead, right))
        self.inverted.append((F, Q))
        self.events.append(("inv", F, Q))
        return Q

    def inverse_poly(self, F) -> dict:
        """:meth:`inverse` as a word polynomial: its letter, or the reciprocal of a scalar."""
        Q = self.inverse(F)
        return letter(Q) if isinstance(Q, sp.Symbol) else {(): _coeff(Q)}

    def relation(self, word, value) -> None:
        """The rewrite rule ``word -> value`` (both expressions; ``word`` one word with coefficient 1)."""
        lhs = to_poly(word)
        if len(lhs) != 1 or next(iter(lhs.values())) != 1 or not next(iter(lhs)):
            raise ValueError(f"a relation's left side must be one word, not {sp.sstr(word)}")
        self.rules.append((next(iter(lhs)), to_poly(value)))

    def define_letter(self, sym: sp.Symbol, poly: dict) -> None:
        """A named letter with its definition (kept opaque in reductions; recorded for evaluation)."""
        self.events.append(("def", sym, poly))

    def named_letters(self) -> dict:
        """``{letter: word polynomial}`` of the named letters, in order of definition."""
        return {sym: poly for kind, sym, poly in self.events if kind == "def"}

    def reduce_poly(self, poly: dict) -> dict:
        """Apply the rules until no left-hand side occurs in any word."""
        for _ in range(MAX_REWRITE_PASSES):
            out: dict = {}
            changed = False
            for w, c in poly.items():
                for lhs, rhs in self.rules:
                    k = _find(w, lhs)
                    if k >= 0:
                        pre, post = w[:k], w[k + len(lhs):]
                        for rw, rc in rhs.items():
                            key = pre + rw + post
                            out[key] = out.get(key, 0) + c * rc
                        changed = True
                        break
                else:
                    out[w] = out.get(w, 0) + c
            poly = _clean(out)
            if len(poly) > self.max_words:
                raise TooLarge(f"a derived expression exceeds {self.max_words} words")
            if not changed:
                return poly
        raise RuntimeError("free-algebra rewriting did not reach a normal form")

    def reduce(self, expr: sp.Expr) -> sp.Expr:
        """Expand, collect by word and apply the rules until nothing changes."""
        return from_poly(self.reduce_poly(to_poly(expr)))


@dataclass(frozen=True)
class FreeProof:
    """Outcome of a V1 proof: the reduced difference (0 when proved) and what was cleared.

    ``justified``: (factor, hypothesis) for every factor multiplied by or inverted;
    ``checked``: the inverses were checked against named hypotheses; ``trivial``: the two
    sides were structurally equal before the prover ran (such a "proof" proves nothing).
    """

    residual: sp.Expr
    multiplied_by: tuple[str, ...]
    inverted: tuple[str, ...]
    terms: int
    justified: tuple[tuple[str, str], ...] = ()
    checked: bool = False
    trivial: bool = False

    @property
    def holds(self) -> bool:
        return self.residual == 0


def structurally_equal(lhs, rhs) -> bool:
    """Both sides the same expression as built (SymPy may already have collapsed e.g. ``F^{-1} F``)."""
    if lhs == rhs:
        return True
    diff = lhs - rhs
    return isinstance(diff, sp.ZeroMatrix) or diff == 0


def prove(lhs, rhs, left_factors=(), definitions: dict | None = None, invertible: dict | None = None,
          relations: dict | None = None) -> FreeProof:
    """Prove ``lhs == rhs`` in the free algebra.

    ``left_factors``: MatrixExprs the hypotheses make invertible; the difference
    is multiplied on the left by each (innermost first); each must equal a factor
    named in ``invertible`` (else NotJustified). ``definitions``: map from a
    MatrixSymbol name to the MatrixExpr it abbreviates (e.g. ``K_A -> I - M_A``).
    ``invertible``: ``{hypothesis: factor or tuple of factors}``; when given, every inverse in the
    identity must be one of these factors too. ``relations``: ``{hypothesis: (word, value)}``,
    rewrite rules ``word -> value`` a hypothesis gives (e.g. ``U^T U -> I``); each word
    must be longer than its value so rewriting terminates.

    Returns
    -------
    FreeProof
        ``holds`` when the reduced difference ``residual`` is 0.

    Examples
    --------
    C2: ``u*`` is a fixed point of the round ``T_A(T_B(.))``, and a wrong right-hand side fails:

    >>> from theory.round_robin import two_agents as T
    >>> prove(T.A.T(T.B.T(T.u_star)), T.u_star, definitions=T.DEFINITIONS).holds
    True
    >>> prove(T.A.T(T.B.T(T.u_star)), T.u_star + T.A.c, definitions=T.DEFINITIONS).holds
    False
    """
    pairs = None if invertible is None else [
        (reason, f) for reason, fs in invertible.items() for f in (fs if isinstance(fs, (tuple, list)) else (fs,))]
    alg = FreeAlgebra(justify=pairs)
    for name, value in (definitions or {}).items():
        alg.definitions[name] = alg.convert(value)
    for reason, (word, value) in (relations or {}).items():
        alg.relation(alg.convert(word), alg.convert(value))
        alg.used[f"{sp.sstr(word)} = {sp.sstr(value)}"] = reason
    trivial = structurally_equal(lhs, rhs)
    diff = alg.convert(lhs) - alg.convert(rhs)
    for F in left_factors:
        if invertible is None:
            raise NotJustified(f"left factor {sp.sstr(F)}: name the hypothesis that makes it invertible "
                               "(invertible={hypothesis: factor})")
        f = alg.convert(F)
        alg.justification(sp.expand(f), "left factor")
        diff = f * diff
    residual = alg.reduce(diff)
    return FreeProof(residual=residual,
                     multiplied_by=tuple(sp.sstr(F) for F in left_factors),
                     inverted=tuple(sp.sstr(G) for G, _ in alg.inverted),
                     terms=len(sp.Add.make_args(residual)) if residual != 0 else 0,
                     justified=tuple(alg.used.items()), checked=invertible is not None, trivial=trivial)
