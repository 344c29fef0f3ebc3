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
   becoming a formal inverse with its defining rewrite rules (theory.algebra), then
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

from .algebra import MAX_REWRITE_PASSES, FreeAlgebra

ONE = sp.Integer(1)


def normal(expr) -> sp.Expr:
    """Expand and collect terms by word, cancelling each (commutative) coefficient.

    ``expand`` alone keeps ``M Q`` and ``M Q / alpha`` apart; rewriting needs one term per word.
    """
    groups: dict = {}
    for term in sp.Add.make_args(sp.expand(expr)):
        coeff, word = term.args_cnc()
        key = tuple(word)
        groups[key] = groups.get(key, sp.Integer(0)) + sp.Mul(*coeff)
    out = []
    for key, coeff in groups.items():
        coeff = sp.factor(sp.cancel(coeff)) if coeff.free_symbols else coeff
        if coeff != 0:
            out.append(sp.Mul(coeff, *key) if key else coeff)
    return sp.Add(*out)


class ProtocolAlgebra(FreeAlgebra):
    """:class:`theory.algebra.FreeAlgebra` with terms collected by word, so symbolic
    weights (``alpha``) keep one term per word and the inverse rules terminate."""

    def inverse(self, F: sp.Expr) -> sp.Expr:
        F = normal(F)
        if F.is_commutative:
            if F == 0:
                raise ValueError("cannot invert 0")
            return 1 / F
        for G, Q in self.inverted:
            if normal(G - F) == 0:
                return Q
        Q = self.symbol(f"({sp.sstr(F)})^{{-1}}")
        terms = sp.Add.make_args(F)
        lead = max(terms, key=lambda t: (_length(t), sp.sstr(t)))
        coeff, word = lead.args_cnc()
        coeff = sp.Mul(*coeff)
        rest = F - lead
        m = sp.Mul(*word)
        self.rules.append((m * Q, normal((1 - rest * Q) / coeff)))
        self.rules.append((Q * m, normal((1 - Q * rest) / coeff)))
        self.inverted.append((F, Q))
        return Q

    def reduce(self, expr: sp.Expr) -> sp.Expr:
        expr = normal(expr)
        for _ in range(MAX_REWRITE_PASSES):
            new = expr
            for lhs, rhs in self.rules:
                if new.has(lhs.args[-1]):
                    new = normal(new.subs(lhs, rhs))
            if new == expr:
                return expr
            expr = new
        raise RuntimeError("free-algebra rewriting did not reach a normal form")


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


def weight(w) -> sp.Expr:
    """A listening weight as an exact SymPy number (a float's shortest decimal), or a SymPy expression."""
    if isinstance(w, sp.Basic):
        return w
    if isinstance(w, bool):
        raise TypeError(f"weight {w!r} is not a number")
    if isinstance(w, int):
        return sp.Integer(w)
    f = Fraction(repr(float(w)))  # exact decimal the user wrote, never sympify of text
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
    """The Spec of a validated ``numerics.protocol.Protocol`` (duck-typed: names and index phases)."""
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
    if name.startswith("S_") or (name.startswith("P_") and _symmetric_block(name)):
        return sym
    if name.endswith("^T"):
        return sp.Symbol(name[:-2], commutative=False)
    if name.startswith("P_"):  # P_{ij}^T = P_{ji}
        i, j = name[3:-1].split(",")
        return sp.Symbol(f"P_{{{j},{i}}}", commutative=False)
    return sp.Symbol(f"{name}^T", commutative=False)


def _symmetric_block(name: str) -> bool:
    inner = name[3:-1] if name.startswith("P_{") else ""
    if "," not in inner:
        return True  # P_A: one agent's covariance
    i, j = inner.split(",")
    return i == j


def cov_block(i: str, j: str) -> sp.Symbol:
    """Block (i, j) of the stationary covariance: ``P_i`` on the diagonal, ``P_{i,j}`` off it."""
    return sp.Symbol(f"P_{i}" if i == j else f"P_{{{i},{j}}}", commutative=False)


# ---------------------------------------------------------------- block algebra
def _matmul(A, B):
    n, m, k = len(A), len(B[0]), len(B)
    return [[sp.expand(sp.Add(*[A[i][l] * B[l][j] for l in range(k)])) for j in range(m)] for i in range(n)]


def _matvec(A, v):
    return [sp.expand(sp.Add(*[A[i][l] * v[l] for l in range(len(v))])) for i in range(len(A))]


def phase_map(s: Spec, phase) -> tuple[list, list]:
    """``Phi_p`` (K x K blocks) and ``r_p`` of one phase (P1)."""
    K, idx = s.K, {n: k for k, n in enumerate(s.names)}
    Phi = [[ONE if i == j else sp.Integer(0) for j in range(K)] for i in range(K)]
    r = [sp.Integer(0)] * K
    for listener, row in phase:
        i = idx[listener]
        Phi[i] = [sp.Integer(0)] * K
        for src, wt in row:
            Phi[i][idx[src]] += wt * M(listener)
        Phi[i] = [sp.expand(x) for x in Phi[i]]
        r[i] = sp.expand(c(listener))
    return Phi, r


def compose(s: Spec) -> tuple[list, list]:
    """``Phi = Phi_P ... Phi_1`` and ``r`` of one round, composing the phase maps."""
    K = s.K
    Phi = [[ONE if i == j else sp.Integer(0) for j in range(K)] for i in range(K)]
    r = [sp.Integer(0)] * K
    for phase in s.phases:
        Pp, rp = phase_map(s, phase)
        Phi = _matmul(Pp, Phi)
        r = [sp.expand(a + b) for a, b in zip(_matvec(Pp, r), rp)]
    return Phi, r


def live(Phi) -> tuple[int, ...]:
    """Indices of the nonzero block columns of Phi."""
    K = len(Phi)
    return tuple(j for j in range(K) if any(Phi[i][j] != 0 for i in range(K)))


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
    rate_power: int  # q: Phi_RR^q block triangular
    rate_blocks: list  # its diagonal blocks D_k (distinct up to cyclic rotation)
    lyapunov: dict = field(default_factory=dict)  # (i, j) in R x R -> rhs of P_RR = Phi_RR P_RR Phi_RR^T + Q_RR
    noise: list = field(default_factory=list)  # Q (K x K blocks) injected per round
    seconds: float = 0.0

    @property
    def names(self) -> tuple[str, ...]:
        return self.spec.names

    def reduce(self, expr):
        return self.alg.reduce(expr)

    def residual(self, i: int) -> sp.Expr:
        """``e_i`` written in the gaps (plus ``w_i*`` times its coefficient)."""
        n = self.names
        return sp.Add(*[G * gap(n[j], n[i]) for j, G in self.residual_gaps[i].items()]) + self.residual_self[i] * w_star(n[i])


def _eliminate(alg: FreeAlgebra, A: list, b: list) -> list:
    """Solve ``A z = b`` (blocks in the free algebra) by Gaussian elimination; pivots become formal inverses."""
    n = len(A)
    A = [row[:] for row in A]
    b = b[:]
    order = list(range(n))
    pivots = []
    for k in range(n):
        p = next((i for i in range(k, n) if A[i][k] != 0), None)
        if p is None:
            raise ValueError("the protocol's I - Phi is singular in the free algebra (a block column vanishes)")
        A[k], A[p], b[k], b[p], order[k], order[p] = A[p], A[k], b[p], b[k], order[p], order[k]
        Q = alg.inverse(A[k][k])
        pivots.append(Q)
        for i in range(k + 1, n):
            if A[i][k] == 0:
                continue
            L = alg.reduce(A[i][k] * Q)
            A[i] = [alg.reduce(A[i][j] - L * A[k][j]) for j in range(n)]
            b[i] = alg.reduce(b[i] - L * b[k])
    z = [None] * n
    for k in range(n - 1, -1, -1):
        rest = b[k] - sp.Add(*[A[k][j] * z[j] for j in range(k + 1, n)])
        z[k] = alg.reduce(pivots[k] * rest)
    return z


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


def _reduce_rate(B) -> tuple[int, list]:
    """``(q, blocks)`` with ``rho(B) = max_k rho(blocks_k)^{1/q}``; blocks are square block matrices.

    - ``B^q`` block triangular: its diagonal blocks (distinct up to cyclic rotation of a word);
    - ``B`` cyclic over the q components of ``B^q``: those components share the nonzero
      spectrum (``rho(XY) = rho(YX)``), so the smallest one is kept and reduced again.
    """
    n = len(B)
    P = B
    for q in range(1, n + 1):
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
        P = _matmul(P, B)
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
    """Derive the round map, fixed point, residuals, reduced rate and (optionally) the Lyapunov equation."""
    t0 = time.perf_counter()
    alg = ProtocolAlgebra()
    Phi, r = compose(s)
    R = live(Phi)
    A = [[(ONE if a == b else sp.Integer(0)) - Phi[a][b] for b in R] for a in R]
    zR = _eliminate(alg, A, [r[a] for a in R])
    z = [None] * s.K
    for k, a in enumerate(R):
        z[a] = zR[k]
    for o in range(s.K):
        if z[o] is None:
            z[o] = alg.reduce(sp.Add(*[Phi[o][a] * z[a] for a in R]) + r[o])
    res_self, res_gaps = [], []
    for i, n in enumerate(s.names):
        subs = {w_star(m): w_star(n) + gap(m, n) for m in s.names if m != n}
        e = alg.reduce(z[i].subs(subs, simultaneous=True) - w_star(n))
        vecs = {w_star(n): None, **{gap(m, n): m for m in s.names if m != n}}
        parts = _split_by_vector(e, vecs)
        res_self.append(alg.reduce(parts.pop(w_star(n))))
        res_gaps.append({s.names.index(m): parts[gap(m, n)] for m in s.names if m != n and parts[gap(m, n)] != 0})
    q, blocks = rate_reduction(Phi, R)
    out = Compiled(s, alg, Phi, r, R, z, res_self, res_gaps, q, blocks)
    if noise:
        Q = noise_injection(s)
        out.noise = Q
        for a in R:
            for b in R:
                lhs = sp.Add(*[Phi[a][k] * cov_block(s.names[k], s.names[l]) * transpose(Phi[b][l])
                               for k in R for l in R])
                out.lyapunov[(a, b)] = sp.expand(lhs + Q[a][b])
    out.seconds = time.perf_counter() - t0
    return out


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
    """
    n, alg, out = cp.names, cp.alg, []
    z = cp.fixed_point
    for i in range(cp.spec.K):
        diff = z[i] - sp.Add(*[cp.Phi[i][j] * z[j] for j in range(cp.spec.K)]) - cp.r[i]
        res = alg.reduce(diff)
        out.append(Check(f"z*_{n[i]} is fixed by the round map", res == 0, sp.sstr(res)))
    for i in range(cp.spec.K):
        subs = {w_star(m): w_star(n[i]) + gap(m, n[i]) for m in n if m != n[i]}
        res = alg.reduce(z[i].subs(subs, simultaneous=True) - w_star(n[i]) - cp.residual(i))
        out.append(Check(f"e_{n[i]} in the gaps", res == 0, sp.sstr(res)))
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


def _check_noisy_round(cp: Compiled) -> Check:
    """Compose the noisy phases directly and compare the deviation with ``Phi dz + sum tail eta``."""
    s, K = cp.spec, cp.spec.K
    idx = {nm: k for k, nm in enumerate(s.names)}
    x = [sp.Symbol(f"x_{nm}", commutative=False) for nm in s.names]  # start-of-round deviation from z*
    state = [cp.fixed_point[k] + x[k] for k in range(K)]
    etas = []
    for p, phase in enumerate(s.phases):
        new = state[:]
        for listener, row in phase:
            eta = sp.Symbol(f"eta_{{{listener},{p}}}", commutative=False)
            etas.append((p, listener, eta))
            heard = sp.Add(*[wt * state[idx[src]] for src, wt in row])
            new[idx[listener]] = sp.expand(M(listener) * heard + c(listener) + eta)
        state = new
    maps = [phase_map(s, ph)[0] for ph in s.phases]
    worst = sp.Integer(0)
    for a in range(K):
        predicted = sp.Add(*[cp.Phi[a][b] * x[b] for b in range(K)])
        for p, listener, eta in etas:
            tail = [[ONE if i == j else sp.Integer(0) for j in range(K)] for i in range(K)]
            for Pq in maps[p + 1:]:
                tail = _matmul(Pq, tail)
            predicted += tail[a][idx[listener]] * eta
        res = cp.alg.reduce(state[a] - cp.fixed_point[a] - predicted)
        if res != 0:
            worst = res
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
    for F, Q in cp.alg.inverted:
        table[Q] = np.linalg.inv(_eval(F, table, d, sc))
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
    for theory.algebra proofs, derivation chains and LaTeX."""
    from .model import I, d
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
