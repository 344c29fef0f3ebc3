"""Dimension-free proofs in the free (noncommutative) algebra (method V1).

A claim is an identity between matrix expressions (SymPy ``MatrixExpr``).
:func:`to_free` maps it to noncommutative symbols: ``I -> 1``, products keep
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
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

# Rewriting always shortens words, so it terminates; this bounds runaway loops. Every reduction
# of the test suite and of verify (563, measured) reached its normal form within 3 passes, so 10
# leaves room and makes a rewriting that does not shorten words (a wrong rule) fail in seconds.
MAX_REWRITE_PASSES = 10


class NotJustified(ValueError):
    """A factor the prover would invert or multiply by that no named hypothesis makes invertible."""


@dataclass
class FreeAlgebra:
    """Translation context: symbol table and the rewrite rules collected so far.

    ``justify``: ``None`` (inverses taken on trust, for derivation chains) or a list of
    ``(hypothesis, MatrixExpr)``: then every inverted factor must match one of them.

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
        if isinstance(expr, sp.MatPow) and expr.exp.is_Integer and expr.exp > 0:
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

    def inverse(self, F: sp.Expr) -> sp.Expr:
        """A symbol for ``F^{-1}`` with rewrite rules ``m Q -> (1 - rest Q)/a`` and ``Q m -> (1 - Q rest)/a``.

        ``F = a m + rest`` with ``m`` its longest monomial.
        """
        F = sp.expand(F)
        if F.is_commutative:
            if F == 0:
                raise ValueError("cannot invert 0")
            return 1 / F  # a nonzero scalar (e.g. I - 0) needs no rewrite rule
        for G, Q in self.inverted:
            if sp.expand(G - F) == 0:
                return Q
        self.justification(F, "inverted factor")
        Q = self.symbol(f"({sp.sstr(F)})^{{-1}}")
        terms = sp.Add.make_args(F)
        lead = max(terms, key=lambda t: (len(_word(t)), sp.sstr(t)))
        coeff, word = _split(lead)
        if not word:
            raise ValueError(f"cannot invert the scalar-only expression {F}")
        rest = F - lead
        m = sp.Mul(*word)
        self.rules.append((m * Q, sp.expand((1 - rest * Q) / coeff)))
        self.rules.append((Q * m, sp.expand((1 - Q * rest) / coeff)))
        self.inverted.append((F, Q))
        return Q

    def reduce(self, expr: sp.Expr) -> sp.Expr:
        """Expand and apply the inverse rules until nothing changes."""
        expr = sp.expand(expr)
        for _ in range(MAX_REWRITE_PASSES):
            new = expr
            for lhs, rhs in self.rules:
                new = sp.expand(new.subs(lhs, rhs))
            if new == expr:
                return expr
            expr = new
        raise RuntimeError("free-algebra rewriting did not reach a normal form")


def _split(term: sp.Expr) -> tuple[sp.Expr, list]:
    c, nc = term.args_cnc()
    return sp.Mul(*c), nc if nc else []


def _word(term: sp.Expr) -> list:
    out = []
    for f in _split(term)[1]:
        if f.is_Pow:
            out.extend([f.base] * int(f.exp))
        else:
            out.append(f)
    return out


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
        alg.rules.append((alg.convert(word), alg.convert(value)))
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
