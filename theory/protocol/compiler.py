"""The protocol compiler (P1): any linear interaction protocol in, its derived theory out.

Each agent's turn is ``T_i(w) = M_i w + c_i`` with ``c_i = K_i w_i* = (1 - M_i) w_i*``;
``M_i`` stands for the per-turn transfer (``M_i^{s_i}`` with s steps per turn, C7).
``M_i`` and ``w_i*`` are noncommutative SymPy symbols, so every result holds in any
dimension. From the phases alone the compiler

1. composes the round map of the joint state ``z = (m_1, ..., m_K)``: phase p replaces
   block row i (i in S_p) by ``M_i sum_j W_ij (row j)`` and adds ``c_i``, so a round is
   ``z <- Phi z + r`` with ``Phi = Phi_P ... Phi_1``;
2. finds the live agents R (nonzero block columns of Phi: messages read before they are
   overwritten), so ``rho(Phi) = rho(Phi_RR)`` and the fixed point needs only
   ``(I - Phi_RR) z_R* = r_R``;
3. solves that system by block Gaussian elimination in the free algebra, each pivot
   becoming a formal inverse with its defining rewrite rules (theory.core.algebra), then
   ``z_o* = Phi_oR z_R* + r_o`` for the other agents;
4. writes each residual ``e_i = z_i* - w_i*`` in the gaps ``w_j* - w_i*`` (the
   coefficient of ``w_i*`` itself reduces to 0 when every listener's weights sum to 1);
5. reduces the rate: the least power q with ``Phi_RR^q`` block triangular gives
   ``rho = max_k rho(D_k)^{1/q}`` over its diagonal blocks (``rho(M_A M_B)`` for round
   robin, ``rho(M_A M_B)^{1/2}`` for a simultaneous pair);
6. derives the stationary covariance (Lyapunov) equation for agents that add
   independent noise ``eta`` (covariance ``S_i``) to each message they emit.

Every derived object is checked by :func:`verify` (method V1). Weights may be numbers
or SymPy symbols (e.g. an anchoring weight ``alpha``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Mapping, Sequence

import sympy as sp

from theory.core.algebra import MAX_REWRITE_PASSES, FreeAlgebra

ONE = sp.Integer(1)


def _letters(word) -> tuple:
    out = []
    for f in word:
        if f.is_Pow:
            out.extend([f.base] * int(f.exp))
        else:
            out.append(f)
    return tuple(out)


def _simplify_coeff(c):
    return sp.cancel(c) if getattr(c, "free_symbols", None) else c


def _coeff(c):
    """Numeric coefficients as Python Fractions (much faster than SymPy Rationals); symbolic ones stay SymPy."""
    if isinstance(c, Fraction):
        return c
    if getattr(c, "is_Rational", False):
        return Fraction(int(c.p), int(c.q))
    return c


def _sym(c):
    return sp.Rational(c.numerator, c.denominator) if isinstance(c, Fraction) else c


def to_poly(expr) -> dict:
    """``expr`` as ``{word (tuple of letters): commutative coefficient}``, one entry per word."""
    if isinstance(expr, dict):
        return expr
    out: dict = {}
    for term in sp.Add.make_args(sp.sympify(expr)):
        coeff, word = term.args_cnc()
        if any(f.is_Add or (f.is_Pow and f.base.is_Add) for f in word) or any(f.is_Add for f in coeff if not f.is_Number):
            for w, c in to_poly(sp.expand(term)).items():  # not yet expanded: expand this term only
                out[w] = out.get(w, sp.Integer(0)) + c
            continue
        key = _letters(word)
        out[key] = out.get(key, 0) + _coeff(sp.Mul(*coeff))
    return {w: c for w, c in ((w, _simplify_coeff(c)) for w, c in out.items()) if c != 0}


def padd(*polys, signs=None) -> dict:
    out: dict = {}
    for k, p in enumerate(polys):
        sg = 1 if signs is None else signs[k]
        for w, c in p.items():
            out[w] = out.get(w, 0) + sg * c
    return {w: c for w, c in ((w, _simplify_coeff(c)) for w, c in out.items()) if c != 0}


def pmul(*polys) -> dict:
    out = {(): Fraction(1)}
    for p in polys:
        nxt: dict = {}
        for w1, c1 in out.items():
            for w2, c2 in p.items():
                key = w1 + w2
                nxt[key] = nxt.get(key, 0) + c1 * c2
        out = {w: c for w, c in ((w, _simplify_coeff(c)) for w, c in nxt.items()) if c != 0}
    return out


def pscale(p: dict, c) -> dict:
    c = _coeff(c)
    out = {w: _simplify_coeff(c * v) for w, v in p.items()}
    return {w: v for w, v in out.items() if v != 0}


def letter(sym) -> dict:
    return {(sym,): Fraction(1)}


P_ONE = {(): Fraction(1)}


def ptranspose(p: dict) -> dict:
    """Transpose: reverse each word and transpose each letter (see :func:`_t`)."""
    return {tuple(_t(x) for x in reversed(w)): c for w, c in p.items()}


def from_poly(poly: dict) -> sp.Expr:
    terms = []
    for w, c in poly.items():
        c = sp.factor(c) if getattr(c, "free_symbols", None) else _sym(c)
        terms.append(sp.Mul(c, *w) if w else c)
    return sp.Add(*terms)


def normal(expr) -> sp.Expr:
    """Expand and collect terms by word, cancelling each (commutative) coefficient.

    ``expand`` alone keeps ``M Q`` and ``M Q / alpha`` apart; rewriting needs one term per word.
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


# A derived object with more words than this is refused rather than computed for minutes: dense
# many-agent, many-phase protocols swell under symbolic elimination (numeric predict still works).
MAX_POLY_WORDS = 20_000
# The expanded elimination is kept while every reduced polynomial stays under this many words
# (the gallery and the re-derived claims stay under 40); past it, the fixed point is derived with
# named Schur blocks instead (theory.protocol.schur), whose proofs are small local identities.
EXPANDED_MAX_WORDS = 300


class TooLarge(ValueError):
    """The symbolic elimination exceeded MAX_POLY_WORDS words."""


class ProtocolAlgebra(FreeAlgebra):
    """:class:`theory.core.algebra.FreeAlgebra` with terms collected by word (so symbolic weights such
    as ``alpha`` keep one term per word and the inverse rules terminate) and the rewriting done
    on words directly (``subs`` on large noncommutative sums is what made proofs slow)."""

    def __init__(self, max_words: int | None = None):
        super().__init__()
        self.word_rules: list = []  # (lhs word, rhs poly)
        self.max_words = MAX_POLY_WORDS if max_words is None else max_words
        self.events: list = []  # ("def", letter, poly) and ("inv", F, Q) in order of creation

    def define(self, sym: sp.Symbol, poly: dict) -> None:
        """A named letter with its definition (evaluated before anything that uses it)."""
        self.events.append(("def", sym, poly))

    def named_letters(self) -> dict:
        """``{letter: word polynomial}`` of the named letters, in order of definition."""
        return {sym: poly for kind, sym, poly in self.events if kind == "def"}

    def inverse(self, F) -> sp.Expr:
        Fp = to_poly(F)
        F = from_poly(Fp)
        if all(not w for w in Fp):
            c = Fp.get((), 0)
            if c == 0:
                raise ValueError("cannot invert 0")
            return _sym(1 / c) if isinstance(c, Fraction) else 1 / c
        for G, Q in self.inverted:
            if not padd(to_poly(G), Fp, signs=(1, -1)):
                return Q
        Q = self.symbol(f"({sp.sstr(F)})^{{-1}}")
        lead = max(Fp, key=lambda w: (len(w), sp.sstr(sp.Mul(*w))))
        a = Fp[lead]
        rest = {w: c for w, c in Fp.items() if w != lead}
        left = {(): _simplify_coeff(1 / a)}
        right = {(): _simplify_coeff(1 / a)}
        for w, c in rest.items():
            left[w + (Q,)] = _simplify_coeff(left.get(w + (Q,), 0) - c / a)
            right[(Q,) + w] = _simplify_coeff(right.get((Q,) + w, 0) - c / a)
        self.word_rules.append((lead + (Q,), left))
        self.word_rules.append(((Q,) + lead, right))
        m = sp.Mul(*lead)
        self.rules.append((m * Q, from_poly(left)))
        self.rules.append((Q * m, from_poly(right)))
        self.inverted.append((F, Q))
        self.events.append(("inv", F, Q))
        return Q

    def reduce_poly(self, poly: dict) -> dict:
        """Apply the word rules until no left-hand side occurs in any word."""
        for _ in range(MAX_REWRITE_PASSES * 20):
            out: dict = {}
            changed = False
            for w, c in poly.items():
                for lhs, rhs in self.word_rules:
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
            poly = {w: c for w, c in ((w, _simplify_coeff(c)) for w, c in out.items()) if c != 0}
            if len(poly) > self.max_words:
                raise TooLarge(f"a derived expression exceeds {self.max_words} words")
            if not changed:
                return poly
        raise RuntimeError("free-algebra rewriting did not reach a normal form")

    def reduce(self, expr: sp.Expr) -> sp.Expr:
        return from_poly(self.reduce_poly(to_poly(expr)))


def _length(term) -> int:
    n = 0
    for f in term.args_cnc()[1]:
        n += int(f.exp) if f.is_Pow else 1
    return n


# ---------------------------------------------------------------- the protocol
@dataclass(frozen=True)
class Spec:
    """A protocol: agent names and phases ``((listener, ((source, weight), ...)), ...)``."""

    names: tuple[str, ...]
    phases: tuple

    @property
    def K(self) -> int:
        return len(self.names)


# A float weight is read as the simplest fraction with a denominator up to this whose double is the
# same float (0.3333333333333333 -> 1/3): the numerics cannot tell the two apart, and the derivation
# stays readable; other floats keep their exact shortest decimal.
WEIGHT_MAX_DENOMINATOR = 10**6


def weight(w) -> sp.Expr:
    """A listening weight as an exact SymPy number, or a SymPy expression (kept as it is).

    A float becomes the simplest fraction ``p/q`` (``q <= WEIGHT_MAX_DENOMINATOR``) with
    ``float(p/q) == w`` when there is one, else its exact shortest decimal (never sympify of text).
    """
    if isinstance(w, sp.Basic):
        return w
    if isinstance(w, bool):
        raise TypeError(f"weight {w!r} is not a number")
    if isinstance(w, int):
        return sp.Integer(w)
    f = Fraction(repr(float(w)))
    simple = f.limit_denominator(WEIGHT_MAX_DENOMINATOR)
    if float(simple) == float(w):
        f = simple
    return sp.Rational(f.numerator, f.denominator)


def spec(names: Sequence[str], rounds: Sequence) -> Spec:
    """Build a Spec from phases given as ``{listener: {source: weight}}`` (or pair lists)."""
    phases = []
    for phase in rounds:
        items = phase.items() if isinstance(phase, Mapping) else phase
        out = []
        for listener, row in items:
            row_items = row.items() if isinstance(row, Mapping) else row
            out.append((listener, tuple((src, weight(w)) for src, w in row_items)))
        phases.append(tuple(out))
    return Spec(tuple(names), tuple(phases))


def round_robin(names: Sequence[str]) -> Spec:
    """Agents speak in list order and agent i hears agent i-1 (C17)."""
    K = len(names)
    return spec(names, [{names[i]: {names[(i - 1) % K]: 1}} for i in range(K)])


def from_numeric(protocol) -> Spec:
    """The Spec of a validated ``numerics.protocol.spec.Protocol`` (duck-typed: names and index phases)."""
    n = protocol.names
    return spec(n, [[(n[i], [(n[j], w) for j, w in row]) for i, row in phase] for phase in protocol.phases])


# ---------------------------------------------------------------- symbols
def M(name: str) -> sp.Symbol:
    return sp.Symbol(f"M_{name}", commutative=False)


def w_star(name: str) -> sp.Symbol:
    return sp.Symbol(f"w^*_{name}", commutative=False)


def c(name: str) -> sp.Expr:
    """``c_i = K_i w_i* = (1 - M_i) w_i*``."""
    return (ONE - M(name)) * w_star(name)


def gap(j: str, i: str) -> sp.Symbol:
    """The gap ``w_j* - w_i*`` as one symbol."""
    return sp.Symbol(f"(w^*_{j} - w^*_{i})", commutative=False)


def noise_cov(name: str) -> sp.Symbol:
    return sp.Symbol(f"S_{name}", commutative=False)


def transpose(expr: sp.Expr) -> sp.Expr:
    """Transpose in the free algebra: reverse every word; ``X -> X^T``, ``S_i`` and ``P_ii`` symmetric."""
    out = []
    for term in sp.Add.make_args(sp.expand(expr)):
        coeff, word = term.args_cnc()
        letters = []
        for f in word:
            base, n = (f.base, int(f.exp)) if f.is_Pow else (f, 1)
            letters.extend([_t(base)] * n)
        out.append(sp.Mul(*coeff) * sp.Mul(*reversed(letters)))
    return sp.Add(*out)


def _t(sym: sp.Symbol) -> sp.Symbol:
    name = sym.name
    if name.startswith("S_") or (name.startswith("V_") and _symmetric_block(name)):
        return sym
    if name.endswith("^T"):
        return sp.Symbol(name[:-2], commutative=False)
    if name.startswith("V_"):  # V_{ij}^T = V_{ji}
        i, j = name[3:-1].split(",")
        return sp.Symbol(f"V_{{{j},{i}}}", commutative=False)
    return sp.Symbol(f"{name}^T", commutative=False)


def _symmetric_block(name: str) -> bool:
    inner = name[3:-1] if name.startswith("V_{") else ""
    if "," not in inner:
        return True  # V_A: one agent's covariance
    i, j = inner.split(",")
    return i == j


def cov_block(i: str, j: str) -> sp.Symbol:
    """Block (i, j) of the stationary covariance: ``V_i`` on the diagonal, ``V_{i,j}`` off it."""
    return sp.Symbol(f"V_{i}" if i == j else f"V_{{{i},{j}}}", commutative=False)


# ---------------------------------------------------------------- block algebra (on word polynomials)
def _pmatmul(A, B):
    n, m, k = len(A), len(B[0]), len(B)
    return [[padd(*[pmul(A[i][l], B[l][j]) for l in range(k) if A[i][l] and B[l][j]]) for j in range(m)]
            for i in range(n)]


def _pmatvec(A, v):
    return [padd(*[pmul(A[i][l], v[l]) for l in range(len(v)) if A[i][l] and v[l]]) for i in range(len(A))]


def _matmul(A, B):
    """Block product of SymPy entries (through word polynomials)."""
    P_ = _pmatmul([[to_poly(x) for x in row] for row in A], [[to_poly(x) for x in row] for row in B])
    return [[from_poly(x) for x in row] for row in P_]


def _c_poly(name: str) -> dict:
    return padd(letter(w_star(name)), pmul(letter(M(name)), letter(w_star(name))), signs=(1, -1))


def _identity(K: int) -> list:
    return [[dict(P_ONE) if i == j else {} for j in range(K)] for i in range(K)]


def phase_poly(s: Spec, phase) -> tuple[list, list]:
    """``Phi_p`` (K x K word polynomials) and ``r_p`` of one phase (P1)."""
    K, idx = s.K, {n: k for k, n in enumerate(s.names)}
    Phi, r = _identity(K), [{} for _ in range(K)]
    for listener, row in phase:
        i = idx[listener]
        Phi[i] = [{} for _ in range(K)]
        for src, wt in row:
            Phi[i][idx[src]] = padd(Phi[i][idx[src]], pscale(letter(M(listener)), wt))
        r[i] = _c_poly(listener)
    return Phi, r


def compose_poly(s: Spec) -> tuple[list, list]:
    """``Phi = Phi_P ... Phi_1`` and ``r`` of one round, composing the phase maps."""
    Phi, r = _identity(s.K), [{} for _ in range(s.K)]
    for phase in s.phases:
        Pp, rp = phase_poly(s, phase)
        Phi = _pmatmul(Pp, Phi)
        r = [padd(a, b) for a, b in zip(_pmatvec(Pp, r), rp)]
    return Phi, r


def phase_map(s: Spec, phase) -> tuple[list, list]:
    """``Phi_p`` and ``r_p`` as SymPy expressions."""
    Phi, r = phase_poly(s, phase)
    return [[from_poly(x) for x in row] for row in Phi], [from_poly(x) for x in r]


def compose(s: Spec) -> tuple[list, list]:
    """``Phi`` and ``r`` of one round as SymPy expressions."""
    Phi, r = compose_poly(s)
    return [[from_poly(x) for x in row] for row in Phi], [from_poly(x) for x in r]


def live(Phi) -> tuple[int, ...]:
    """Indices of the nonzero block columns of Phi."""
    K = len(Phi)
    return tuple(j for j in range(K) if any((Phi[i][j] if isinstance(Phi[i][j], dict) else Phi[i][j] != 0)
                                            for i in range(K)))


# ---------------------------------------------------------------- compiled theory
@dataclass
class Compiled:
    spec: Spec
    alg: FreeAlgebra
    Phi: list
    r: list
    live: tuple[int, ...]
    fixed_point: list  # z_i*, one expression per agent
    residual_self: list  # coefficient of w_i* in e_i (0 when the weights sum to 1)
    residual_gaps: list  # per agent i: {j: G_ij}, e_i = sum_j G_ij (w_j* - w_i*) + residual_self_i w_i*
    rate_power: int  # q: rho(Phi) = max_k rho(rate_blocks_k)^(1/q)
    rate_blocks: list  # square block matrices (lists of lists of expressions)
    lyapunov: dict = field(default_factory=dict)  # (i, j) in R x R -> rhs of V_RR = Phi_RR V_RR Phi_RR^T + Q_RR
    noise: list = field(default_factory=list)  # Q (K x K blocks) injected per round
    seconds: float = 0.0
    named: object = None  # theory.protocol.schur.Derivation when derived with named Schur blocks
    definitions: list = field(default_factory=list)  # (letter, expr) of the named path, in order
    polys: dict = field(default_factory=dict, repr=False)  # id(expr) -> (expr, word polynomial), to skip re-expanding

    def poly(self, expr) -> dict:
        hit = self.polys.get(id(expr))
        return hit[1] if hit is not None and hit[0] is expr else to_poly(expr)

    @property
    def names(self) -> tuple[str, ...]:
        return self.spec.names

    def reduce(self, expr):
        return self.alg.reduce(expr)

    def residual(self, i: int) -> sp.Expr:
        """``e_i`` written in the gaps (plus ``w_i*`` times its coefficient)."""
        n = self.names
        return sp.Add(*[G * gap(n[j], n[i]) for j, G in self.residual_gaps[i].items()]) + self.residual_self[i] * w_star(n[i])


def _eliminate(alg: "ProtocolAlgebra", A: list, b: list) -> list:
    """Solve ``A z = b`` (word polynomials) by Gaussian elimination; pivots become formal inverses."""
    n = len(A)
    A = [row[:] for row in A]
    b = b[:]
    pivots = []
    for k in range(n):
        p = next((i for i in range(k, n) if A[i][k]), None)
        if p is None:
            raise ValueError("the protocol's I - Phi is singular in the free algebra (a block column vanishes)")
        A[k], A[p], b[k], b[p] = A[p], A[k], b[p], b[k]
        Q = alg.inverse(A[k][k])
        Qp = letter(Q) if isinstance(Q, sp.Symbol) else {(): _coeff(Q)}
        pivots.append(Qp)
        for i in range(k + 1, n):
            if not A[i][k]:
                continue
            L = alg.reduce_poly(pmul(A[i][k], Qp))
            A[i] = [alg.reduce_poly(padd(A[i][j], pmul(L, A[k][j]), signs=(1, -1))) for j in range(n)]
            b[i] = alg.reduce_poly(padd(b[i], pmul(L, b[k]), signs=(1, -1)))
    z = [None] * n
    for k in range(n - 1, -1, -1):
        rest = padd(b[k], *[pmul(A[k][j], z[j]) for j in range(k + 1, n)], signs=[1] + [-1] * (n - k - 1))
        z[k] = alg.reduce_poly(pmul(pivots[k], rest))
    return z


def _expanded(alg: "ProtocolAlgebra", s: Spec, Phi: list, r: list, R: tuple) -> tuple[list, list, list]:
    """Fixed point and residuals (word polynomials) by the expanded elimination; TooLarge past ``alg.max_words``."""
    A = [[padd(dict(P_ONE) if a == b else {}, Phi[a][b], signs=(1, -1)) for b in R] for a in R]
    zR = _eliminate(alg, A, [r[a] for a in R])
    z = [None] * s.K
    for k, a in enumerate(R):
        z[a] = zR[k]
    for o in range(s.K):
        if z[o] is None:
            z[o] = alg.reduce_poly(padd(*[pmul(Phi[o][a], z[a]) for a in R], r[o]))
    res_self, res_gaps = [], []
    for i, n in enumerate(s.names):
        parts = _by_last(alg.reduce_poly(_gap_poly(z[i], s.names, i)))
        res_self.append(parts.pop(w_star(n), {}))
        res_gaps.append({s.names.index(m): parts[gap(m, n)] for m in s.names if m != n and parts.get(gap(m, n))})
    return z, res_self, res_gaps


def _sub_last(poly: dict, mapping: dict) -> dict:
    """Replace the last letter of each word by a polynomial (vectors only ever end a word)."""
    out: dict = {}
    for w, c in poly.items():
        if w and w[-1] in mapping:
            for rw, rc in mapping[w[-1]].items():
                key = w[:-1] + rw
                out[key] = out.get(key, 0) + c * rc
        else:
            out[w] = out.get(w, 0) + c
    return {w: c for w, c in ((w, _simplify_coeff(c)) for w, c in out.items()) if c != 0}


def _gap_poly(z: dict, names, i: int) -> dict:
    """``z - w_i*`` with ``w_j* = w_i* + (w_j* - w_i*)``."""
    n = names[i]
    sub = {w_star(m): padd(letter(w_star(n)), letter(gap(m, n))) for m in names if m != n}
    return padd(_sub_last(z, sub), letter(w_star(n)), signs=(1, -1))


def _by_last(poly: dict) -> dict:
    out: dict = {}
    for w, c in poly.items():
        out.setdefault(w[-1], {})[w[:-1]] = c
    return out


def _split_by_vector(expr: sp.Expr, vectors: dict) -> dict:
    """``expr = sum_v C_v v``: the coefficient of each trailing vector symbol."""
    out = {v: sp.Integer(0) for v in vectors}
    for term in sp.Add.make_args(sp.expand(expr)):
        coeff, word = term.args_cnc()
        if not word or word[-1] not in vectors:
            raise ValueError(f"term {term} does not end with one of {list(vectors)}")
        out[word[-1]] += sp.Mul(*coeff) * sp.Mul(*word[:-1])
    return out


def _block_triangular(B) -> bool:
    n = len(B)
    upper = all(B[i][j] == 0 for i in range(n) for j in range(i))
    lower = all(B[i][j] == 0 for i in range(n) for j in range(i + 1, n))
    return upper or lower


def _cyclic_key(expr):
    """Canonical form of a single word up to rotation (rho(XY) = rho(YX)); None for sums."""
    coeff, word = expr.args_cnc() if expr.is_Mul or expr.is_Symbol or expr.is_Pow else (None, None)
    if word is None or not word or not isinstance(expr, (sp.Mul, sp.Symbol, sp.Pow)):
        return None
    letters = []
    for f in word:
        letters.extend([f.base] * int(f.exp) if f.is_Pow else [f])
    names = [sp.sstr(x) for x in letters]
    return (sp.sstr(sp.Mul(*coeff)), min(tuple(names[k:] + names[:k]) for k in range(len(names))))


def _components(P) -> list[list[int]]:
    """Connected components of the nonzero block pattern of P (as an undirected graph)."""
    n, seen, comps = len(P), set(), []
    for start in range(n):
        if start in seen:
            continue
        stack, comp = [start], []
        seen.add(start)
        while stack:
            a = stack.pop()
            comp.append(a)
            for b in range(n):
                if b not in seen and (P[a][b] != 0 or P[b][a] != 0):
                    seen.add(b)
                    stack.append(b)
        comps.append(sorted(comp))
    return comps


def _cyclic(B, comps) -> bool:
    """B maps component g only into one other component, and these maps form one cycle over all of them."""
    label = {a: g for g, comp in enumerate(comps) for a in comp}
    succ = {}
    for i in range(len(B)):
        for j in range(len(B)):
            if B[i][j] != 0:
                gi, gj = label[i], label[j]
                if gi == gj or succ.setdefault(gj, gi) != gi:
                    return False
    if len(succ) != len(comps):
        return False
    g, seen = 0, set()
    while g not in seen:
        seen.add(g)
        g = succ[g]
    return len(seen) == len(comps)


# Powers of Phi_RR whose entries grow past this many words are not examined: the reductions
# exist for structured protocols, whose powers stay small; others keep rho(Phi_RR) itself.
MAX_RATE_WORDS = 400


def _reduce_rate(B) -> tuple[int, list]:
    """``(q, blocks)`` with ``rho(B) = max_k rho(blocks_k)^{1/q}``; blocks are square block matrices.

    - ``B^q`` block triangular: its diagonal blocks (distinct up to cyclic rotation of a word);
    - ``B`` cyclic over the q components of ``B^q``: those components share the nonzero
      spectrum (``rho(XY) = rho(YX)``), so the smallest one is kept and reduced again.
    """
    n = len(B)
    Bp = [[to_poly(x) for x in row] for row in B]
    Pp = Bp
    for q in range(1, n + 1):
        P = [[from_poly(x) for x in row] for row in Pp]
        if _block_triangular(P):
            blocks, keys = [], set()
            for k in range(n):
                key = _cyclic_key(P[k][k])
                if key is not None and key in keys:
                    continue
                keys.add(key)
                blocks.append([[P[k][k]]])
            return q, blocks
        comps = _components(P)
        if q > 1 and len(comps) == q and _cyclic(B, comps):
            small = min(comps, key=len)
            sub = [[P[a][b] for b in small] for a in small]
            q2, blocks = _reduce_rate(sub)
            return q * q2, blocks
        Pp = _pmatmul(Pp, Bp)
        if sum(len(x) for row in Pp for x in row) > MAX_RATE_WORDS:
            break
    return 1, [B]


def rate_reduction(Phi, R) -> tuple[int, list]:
    """``(q, blocks)``: ``rho(Phi) = rho(Phi_RR) = max_k rho(blocks_k)^{1/q}``."""
    return _reduce_rate([[Phi[i][j] for j in R] for i in R])


def noise_injection(s: Spec) -> list:
    """``Q`` (K x K blocks): covariance one round adds, from noise ``eta`` (cov ``S_i``) on every message emitted."""
    K, idx = s.K, {n: k for k, n in enumerate(s.names)}
    maps = [phase_map(s, ph)[0] for ph in s.phases]
    Q = [[sp.Integer(0)] * K for _ in range(K)]
    for p, phase in enumerate(s.phases):
        tail = [[ONE if i == j else sp.Integer(0) for j in range(K)] for i in range(K)]
        for Pq in maps[p + 1:]:
            tail = _matmul(Pq, tail)
        for listener, _ in phase:
            col = [tail[a][idx[listener]] for a in range(K)]
            S = noise_cov(listener)
            for a in range(K):
                for b in range(K):
                    if col[a] != 0 and col[b] != 0:
                        Q[a][b] = sp.expand(Q[a][b] + col[a] * S * transpose(col[b]))
    return Q


def compile_protocol(s: Spec, noise: bool = True) -> Compiled:
    """Derive the round map, fixed point, residuals, reduced rate and (optionally) the Lyapunov equation.

    The fixed point comes from the expanded elimination (:func:`_eliminate`) while it stays under
    EXPANDED_MAX_WORDS words and its identities reduce to 0; else from the elimination with named
    Schur blocks (:mod:`theory.protocol.schur`; ``cp.named`` is set and :func:`verify` proves its chain).
    """
    t0 = time.perf_counter()
    Phi, r = compose_poly(s)
    R = live(Phi)
    out = None
    try:
        alg = ProtocolAlgebra(max_words=EXPANDED_MAX_WORDS)
        parts = _expanded(alg, s, Phi, r, R)
        alg.max_words = MAX_POLY_WORDS
        out = _assemble(s, alg, Phi, r, R, *parts, None)
        if not all(c.holds for c in _expanded_checks(out)):
            out = None  # the rewriting did not settle an identity: derive with named blocks instead
    except TooLarge:
        pass
    if out is None:
        from theory.protocol import schur as protocol_schur
        alg = ProtocolAlgebra()
        out = _assemble(s, alg, Phi, r, R, *protocol_schur.derive(alg, s, Phi, r, R))
    named = out.named
    if noise and named is not None:
        _named_noise(out, Phi)
    elif noise:
        Q = noise_injection(s)
        out.noise = Q
        PhiT = {(b, l): ptranspose(Phi[b][l]) for b in R for l in R}
        for a in R:
            for b in R:
                lhs = padd(*[pmul(Phi[a][k], letter(cov_block(s.names[k], s.names[l])), PhiT[(b, l)])
                             for k in R for l in R if Phi[a][k] and Phi[b][l]], to_poly(Q[a][b]))
                out.lyapunov[(a, b)] = from_poly(lhs)
    if named is not None:
        out.definitions = [(L, from_poly(p)) for L, p in out.alg.named_letters().items()]
    out.seconds = time.perf_counter() - t0
    return out


def _assemble(s: Spec, alg, Phi, r, R, z, res_self_p, res_gaps_p, named) -> Compiled:
    """The Compiled result from word polynomials (each expression remembers its polynomial)."""
    cache = {}

    def expr(p):
        e = from_poly(p)
        cache[id(e)] = (e, p)
        return e
    res_self = [expr(p) for p in res_self_p]
    res_gaps = [{j: expr(p) for j, p in g.items()} for g in res_gaps_p]
    Phi_e = [[expr(x) for x in row] for row in Phi]
    q, blocks = rate_reduction(Phi_e, R)
    return Compiled(s, alg, Phi_e, [expr(x) for x in r], R, [expr(x) for x in z], res_self, res_gaps, q, blocks,
                    polys=cache, named=named)


def _phase_tails(s: Spec) -> list:
    """Per phase p, the word-polynomial product of the maps of the phases after p (how a message
    emitted in phase p reaches the end of the round)."""
    maps = [phase_poly(s, ph)[0] for ph in s.phases]
    tails = []
    for p in range(len(s.phases)):
        tail = _identity(s.K)
        for Pq in maps[p + 1:]:
            tail = _pmatmul(Pq, tail)
        tails.append(tail)
    return tails


def noise_poly(s: Spec) -> list:
    """:func:`noise_injection` as word polynomials (no SymPy expansion: for dense protocols)."""
    K, idx = s.K, {n: k for k, n in enumerate(s.names)}
    Q = [[{} for _ in range(K)] for _ in range(K)]
    for phase, tail in zip(s.phases, _phase_tails(s)):
        for listener, _ in phase:
            col = [tail[a][idx[listener]] for a in range(K)]
            S = letter(noise_cov(listener))
            for a in range(K):
                for b in range(K):
                    if col[a] and col[b]:
                        Q[a][b] = padd(Q[a][b], pmul(col[a], S, ptranspose(col[b])))
    return Q


def _named_noise(cp: Compiled, Phi: list) -> None:
    """Noise and Lyapunov equation of the named path, in the letters ``Phi_{a,b}`` and ``N_{a,b}``
    (block (a, b) of the covariance one round injects, defined as a polynomial)."""
    from theory.protocol.schur import phi_letter
    n, R = cp.names, cp.live
    Q = noise_poly(cp.spec)
    cp.noise = [[from_poly(x) for x in row] for row in Q]
    for a in R:
        for b in R:
            terms = [pmul(letter(phi_letter(n[a], n[k])), letter(cov_block(n[k], n[l])), letter(_t(phi_letter(n[b], n[l]))))
                     for k in R for l in R if Phi[a][k] and Phi[b][l]]
            if Q[a][b]:
                N = sp.Symbol(f"N_{{{n[a]},{n[b]}}}", commutative=False)
                cp.alg.define(N, Q[a][b])
                terms.append(letter(N))
            cp.lyapunov[(a, b)] = from_poly(padd(*terms))


# ---------------------------------------------------------------- V1 verification
@dataclass(frozen=True)
class Check:
    label: str
    holds: bool
    residual: str


def verify(cp: Compiled) -> list[Check]:
    """V1: every derived object substituted back reduces to 0 in the free algebra.

    - the fixed point: ``z_i* - (Phi z* + r)_i`` for every agent;
    - the residual: ``z_i* - w_i* - e_i(gaps)`` with ``w_j* = w_i* + (w_j* - w_i*)``;
    - the rate: ``Phi_RR^q`` recomputed and its off-triangle blocks 0 (when reduced);
    - the noise: one noisy round composed phase by phase equals ``Phi (z - z*) + noise``.

    For a fixed point derived with named Schur blocks (``cp.named``), the first two are
    replaced by the local identities of the elimination chain (:func:`theory.protocol.schur.checks`)
    and the conclusions they imply; the noisy round is then checked with ``z*`` opaque.
    """
    # compile_protocol ran the expanded checks already; they run again here on purpose: verify
    # checks the object as it is now (a changed or planted fixed point must fail)
    out = _expanded_checks(cp) if cp.named is None else _verify_named(cp)
    if cp.rate_power > 1 or len(cp.rate_blocks[0]) < len(cp.live):
        B = [[cp.Phi[a][b] for b in cp.live] for a in cp.live]
        P = B
        for _ in range(cp.rate_power - 1):
            P = _matmul(P, B)
        # every reduced block is a principal block of Phi_RR^q (up to rotation of a word), and
        # the blocks of Phi_RR^q outside the kept ones vanish or belong to components sharing its spectrum
        diag = {_cyclic_key(P[k][k]) for k in range(len(P))}
        ok = all(len(b) > 1 or _cyclic_key(b[0][0]) in diag for b in cp.rate_blocks)
        out.append(Check(f"rate blocks are diagonal blocks of Phi_RR^{cp.rate_power}", ok,
                         "0" if ok else "a rate block is not a diagonal block"))
    if cp.noise:
        out.append(_check_noisy_round(cp))
    return out


def _expanded_checks(cp: Compiled) -> list[Check]:
    """V1 of the expanded path: ``z* = Phi z* + r`` and each residual in the gaps, reduced to 0."""
    n, alg, out, K = cp.names, cp.alg, [], cp.spec.K
    z = [cp.poly(x) for x in cp.fixed_point]
    Phi = [[cp.poly(x) for x in row] for row in cp.Phi]
    for i in range(K):
        diff = padd(z[i], *[pmul(Phi[i][j], z[j]) for j in range(K)], cp.poly(cp.r[i]), signs=[1] + [-1] * (K + 1))
        res = from_poly(alg.reduce_poly(diff))
        out.append(Check(f"z*_{n[i]} is fixed by the round map", res == 0, sp.sstr(res)))
    for i in range(K):
        claimed = padd(*[pmul(cp.poly(G), letter(gap(n[j], n[i]))) for j, G in cp.residual_gaps[i].items()],
                       pmul(cp.poly(cp.residual_self[i]), letter(w_star(n[i]))))
        res = from_poly(alg.reduce_poly(padd(_gap_poly(z[i], n, i), claimed, signs=(1, -1))))
        out.append(Check(f"e_{n[i]} in the gaps", res == 0, sp.sstr(res)))
    return out


def _verify_named(cp: Compiled) -> list[Check]:
    """V1 for the named path: every local identity of the chain, then the conclusions they imply."""
    from theory.protocol import schur as protocol_schur
    n = cp.names
    z = [cp.poly(x) for x in cp.fixed_point]
    Phi = [[cp.poly(x) for x in row] for row in cp.Phi]
    chain = protocol_schur.checks(cp.alg, cp.named, n, Phi, [cp.poly(x) for x in cp.r], z,
                                  [cp.poly(x) for x in cp.residual_self],
                                  [{j: cp.poly(G) for j, G in g.items()} for g in cp.residual_gaps])
    out = [Check(label, not res, sp.sstr(from_poly(res))) for label, res in chain]
    ok = all(c.holds for c in out)
    why = "0" if ok else "a step of the chain does not reduce to 0"
    out += [Check(f"z*_{n[i]} is fixed by the round map (from the chain above; pivots invertible)", ok, why)
            for i in range(cp.spec.K)]
    out += [Check(f"e_{n[i]} in the gaps (from the chain above: I - Phi_RR is invertible)", ok, why)
            for i in range(cp.spec.K)]
    return out


def _check_noisy_round(cp: Compiled) -> Check:
    """Compose the noisy phases directly and compare the deviation with ``Phi dz + sum tail eta``."""
    s, K = cp.spec, cp.spec.K
    idx = {nm: k for k, nm in enumerate(s.names)}
    x = [letter(sp.Symbol(f"x_{nm}", commutative=False)) for nm in s.names]  # start-of-round deviation from z*
    z = [cp.poly(e) for e in cp.fixed_point]
    Phi = [[cp.poly(e) for e in row] for row in cp.Phi]
    if cp.named is not None:  # z* opaque, and Phi z* + r in place of z* (the fixed point is proved apart)
        zs = [letter(sp.Symbol(f"z^*_{nm}", commutative=False)) for nm in s.names]
        z = zs
        z_after = [padd(*[pmul(Phi[a][b], zs[b]) for b in range(K)], cp.poly(cp.r[a])) for a in range(K)]
    else:
        z_after = z
    state = [padd(z[k], x[k]) for k in range(K)]
    etas = []
    for p, phase in enumerate(s.phases):
        new = state[:]
        for listener, row in phase:
            eta = sp.Symbol(f"eta_{{{listener},{p}}}", commutative=False)
            etas.append((p, listener, eta))
            heard = padd(*[pscale(state[idx[src]], wt) for src, wt in row])
            new[idx[listener]] = padd(pmul(letter(M(listener)), heard), _c_poly(listener), letter(eta))
        state = new
    tails = _phase_tails(s)
    worst = sp.Integer(0)
    for a in range(K):
        predicted = padd(*[pmul(Phi[a][b], x[b]) for b in range(K)],
                         *[pmul(tails[p][a][idx[listener]], letter(eta)) for p, listener, eta in etas])
        res = cp.alg.reduce_poly(padd(state[a], z_after[a], predicted, signs=(1, -1, -1)))
        if res:
            worst = from_poly(res)
    return Check("noisy round: deviation = Phi (z - z*) + propagated noise", worst == 0, sp.sstr(worst))


# ---------------------------------------------------------------- evaluation and typesetting
def evaluate(cp: Compiled, expr: sp.Expr, agents: dict, extra: dict | None = None, scalars: dict | None = None):
    """Evaluate a derived expression with numpy (to tie numeric code to the derived object).

    ``agents`` maps each agent name to ``(M_i, w_i*)`` (d x d, d); ``extra`` maps other
    noncommutative symbol names (``S_A``, ``P_B``) to arrays; ``scalars`` maps weight
    symbols (``alpha``) to numbers. Formal inverses are inverted numerically.
    """
    import numpy as np
    table = {}
    for k, (Mk, wk) in agents.items():
        table[M(k)] = np.asarray(Mk, dtype=float)
        table[sp.Symbol(f"M_{k}^T", commutative=False)] = table[M(k)].T
        table[w_star(k)] = np.asarray(wk, dtype=float).reshape(-1, 1)
    for k, v in (extra or {}).items():
        table[sp.Symbol(k, commutative=False)] = np.asarray(v, dtype=float)
    d = next(iter(table.values())).shape[0]
    sc = {sp.Symbol(k): v for k, v in (scalars or {}).items()}
    for kind, a, b in cp.alg.events:  # named letters' definitions and the inverses, in order of creation
        if kind == "def":
            try:
                table[a] = _eval(from_poly(b), table, d, sc)
            except KeyError:  # needs a symbol not given (S_i of the noise): left out
                continue
        else:
            table[b] = np.linalg.inv(_eval(a, table, d, sc))
    return _eval(expr, table, d, sc)


def _eval(expr, table, d, scalars):
    import numpy as np
    total = np.zeros((d, d))
    for term in sp.Add.make_args(sp.expand(expr)):
        coeff, word = term.args_cnc()
        val = np.eye(d)
        for f in word:
            base, k = (f.base, int(f.exp)) if f.is_Pow else (f, 1)
            for _ in range(k):
                val = val @ table[base]
        cval = float(sp.Mul(*coeff).xreplace(scalars))
        total = total + cval * val if total.shape == val.shape else (cval * val if not total.any() else total + cval * val)
    return total


def inverse_names(cp: Compiled, tex: bool = True) -> dict:
    """Short names for the formal inverses, in order of creation: ``Q_1, Q_2, ...``."""
    return {Q: (rf"\mathcal{{Q}}_{{{k + 1}}}" if tex else f"Q{k + 1}") for k, (_, Q) in enumerate(cp.alg.inverted)}


def _symbol_names(cp: Compiled, expr, abbreviate: bool) -> dict:
    names = inverse_names(cp) if abbreviate else {}
    if not abbreviate:
        for F, Q in cp.alg.inverted:
            names[Q] = r"\left(" + sp.latex(F, symbol_names=names) + r"\right)^{-1}"
    for sym in expr.free_symbols:
        if sym.name.startswith("(w^*_"):
            j, i = sym.name[5:-1].split(" - w^*_")
            names[sym] = rf"(w^*_{{{j}}} - w^*_{{{i}}})"
        elif sym.name.startswith("K_"):
            names[sym] = rf"K_{{{sym.name[2:]}}}"
        elif sym.name.startswith("Phi_{"):  # a named block of the round map (theory.protocol.schur)
            names[sym] = "\\" + sym.name
    return names


def latex(cp: Compiled, expr, abbreviate: bool = True) -> str:
    r"""LaTeX of a derived expression; formal inverses print as ``\mathcal{Q}_k`` (see :func:`inverse_names`)
    or, with ``abbreviate=False``, in full as ``(F)^{-1}``."""
    return sp.latex(expr, symbol_names=_symbol_names(cp, expr, abbreviate))


def latex_terms(cp: Compiled, expr) -> list[str]:
    """The LaTeX of each term of a sum (for line breaking)."""
    terms = sp.Add.make_args(expr)
    out = []
    for k, t in enumerate(terms):
        tex = latex(cp, t)
        if k and not tex.startswith("-"):
            tex = "+ " + tex
        out.append(tex)
    return out


def text(cp: Compiled, expr) -> str:
    """Plain text of a derived expression (formal inverses as ``Q1, Q2, ...``)."""
    names = inverse_names(cp, tex=False)
    return sp.sstr(expr.xreplace({Q: sp.Symbol(n, commutative=False) for Q, n in names.items()}))


# ---------------------------------------------------------------- matrix expressions
VECTOR_PREFIXES = ("w^*_", "(w^*_", "x_", "eta_", "u_", "n_", "w_")


def to_matrix_expr(cp_or_alg, expr) -> sp.MatrixExpr:
    """The same object as a SymPy matrix expression (``MatrixSymbol`` of size d, ``Inverse``),
    for theory.core.algebra proofs, derivation chains and LaTeX."""
    from theory.core.model import I, d
    alg = cp_or_alg.alg if isinstance(cp_or_alg, Compiled) else cp_or_alg
    inverses = {Q: F for F, Q in alg.inverted}

    def sym(s: sp.Symbol):
        if s in inverses:
            return sp.Inverse(to_matrix_expr(alg, inverses[s]))
        cols = 1 if s.name.startswith(VECTOR_PREFIXES) else d
        return sp.MatrixSymbol(s.name, d, cols)

    terms = []
    for term in sp.Add.make_args(sp.expand(expr)):
        coeff, word = term.args_cnc()
        c_ = sp.Mul(*coeff)
        if not word:
            terms.append(c_ * I)
            continue
        factors = []
        for f in word:
            base, k = (f.base, int(f.exp)) if f.is_Pow else (f, 1)
            factors.extend([sym(base)] * k)
        m = sp.MatMul(*factors) if len(factors) > 1 else factors[0]
        terms.append(m if c_ == 1 else c_ * m)
    if not terms:
        return sp.ZeroMatrix(d, 1)
    return sp.MatAdd(*terms) if len(terms) > 1 else terms[0]


# ---------------------------------------------------------------- the helper (C12, C13)
@dataclass
class HelperDerivation:
    alg: "ProtocolAlgebra"
    relabel: sp.Expr  # w_H(t) that makes the helper emit n_t
    emitted: sp.Expr  # the helper's message with that target (reduces to n_t)
    error_next: sp.Expr  # u_{t+1} - w_main* in terms of n_t
    checks: list


def derive_helper(s: Spec, main: str, helper: str, message: sp.Expr | None = None) -> HelperDerivation:
    """A helper that relabels its prompt each turn (target ``w_H(t)``), in a two-agent protocol
    where each agent speaks once per round.

    The helper's turn is ``M_H x + (I - M_H) w_H(t)`` with ``x`` what it hears (the main
    agent's message ``u_t``); the compiler splits off the coefficient of ``w_H(t)`` and
    inverts it (``K_H``, a hypothesis) to get the relabelled target that emits ``n_t``; then
    composes the main agent's next turn with ``m_H = n_t``. ``message`` (in ``u_t`` and
    ``w_main*``) substitutes the chosen ``n_t`` (C12: damped Newton).
    """
    alg = ProtocolAlgebra()
    u, n, wH = (sp.Symbol(x, commutative=False) for x in ("u_t", "n_t", f"w_{helper}(t)"))
    rows = {listener: dict(row) for phase in s.phases for listener, row in phase}
    heard_by_helper = sp.Add(*[wt * (u if src == main else sp.Integer(0)) for src, wt in rows[helper].items()])
    emitted = sp.expand(M(helper) * heard_by_helper + (ONE - M(helper)) * wH)
    parts = _split_by_vector(emitted, {wH: None, u: None})
    C, rest = parts[wH], parts[u] * u
    relabel = alg.reduce(alg.inverse(C) * (n - rest))
    emitted_n = alg.reduce(emitted.subs(wH, relabel))
    main_heard = sp.Add(*[wt * (n if src == helper else u) for src, wt in rows[main].items()])
    error = sp.expand(M(main) * main_heard + c(main) - w_star(main))
    checks = [Check("the relabelled target makes the helper emit n_t", normal(emitted_n - n) == 0,
                    sp.sstr(normal(emitted_n - n)))]
    if message is not None:
        error = alg.reduce(error.subs(n, message))
    return HelperDerivation(alg, relabel, emitted_n, error, checks)
