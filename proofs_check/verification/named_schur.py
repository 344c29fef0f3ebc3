"""V2 for the named Schur path of a dense protocol (:mod:`theory.protocol.schur`): every letter of the
derivation, evaluated at explicit exact matrices, against an exact elimination done here.

The dense protocol of :data:`proofs_check.verification.shipped_derive.DENSE` (4 agents, 3 live) is
compiled; the compiler must take the named path (``cp.named``). Explicit 2 x 2 rational matrices
``M_i`` and rational targets ``w_i*`` are drawn; the reference composes the phases exactly
(``m_i <- M_i sum_j W_ij m_j + (I - M_i) w_i*``, the README's semantics, written here with
:class:`fractions.Fraction`), probes the round map ``(Phi, r)``, eliminates ``I - Phi_RR`` block by
block (its Schur complements ``S^(k)``, no pivoting: the pivots are invertible at these matrices)
and solves ``(I - Phi) z = r``. The derivation's objects, evaluated at the same matrices from their
word polynomials, must equal these exactly (rational arithmetic, no tolerance):

- ``Phi_{a,b}`` is block (a, b) of the round map, ``r_{a,j}`` the coefficient of ``w_j*`` in ``r_a``;
- ``U^{(k)}_{a,b}`` is block (a, b) of the k-th Schur complement, and the k-th inverted pivot is its
  first diagonal block (so the printed letters' names, ``Q_k`` and ``U^{(k)}``, are the right ones);
- each ``z_i*`` is the fixed point (its expression as printed: a letter SymPy would print among the
  commutative factors fails), each residual ``e_i = sum_j G_ij (w_j* - w_i*) + D_i w_i*``
  has ``G_ij = Z_ij`` and ``D_i = sum_j Z_ij - I`` (``z* = Z w*``);
- every V1 check of the chain holds, and each names its step (``elimination step k``, ``back
  substitution k: X_k = Q_k``, ``row i``) as the elimination numbers them; the printed proof states
  (and holds) each block ``Phi_{a,b}`` the reference map has, each ``r_a``, each row whose weights sum
  to 1, each ``z_i*`` and each residual row.

- the noisy round (the compiler's default): each equation ``V_ab = sum_kl Phi_{a,k} V_{k,l} Phi_{b,l}^T +
  N_{a,b}``, with its named noise blocks ``N_{a,b}``, at exact noise covariances and an exact symmetric test
  matrix ``V``, equals the reference built from the noise injection probed phase by phase.

No package code computes the reference. Package extension: the paper states P1, not this path.
"""
from __future__ import annotations

import re
from fractions import Fraction

import numpy as np

from proofs_check.verification.registry import Outcome, Profile

__all__ = ["named_schur_method"]

D = 2  # explicit 2 x 2 matrices: the smallest size where the words' order matters
DRAWS = 2  # explicit instances (each a different set of matrices)


# ---------------------------------------------------------------- exact matrices (lists of Fraction rows)
def _zeros(r: int, c: int) -> list:
    return [[Fraction(0)] * c for _ in range(r)]


def _eye(n: int) -> list:
    return [[Fraction(int(i == j)) for j in range(n)] for i in range(n)]


def _mul(A: list, B: list) -> list:
    return [[sum((A[i][k] * B[k][j] for k in range(len(B))), Fraction(0)) for j in range(len(B[0]))]
            for i in range(len(A))]


def _add(A: list, B: list, s: int = 1) -> list:
    return [[a + s * b for a, b in zip(ra, rb)] for ra, rb in zip(A, B)]


def _scale(c, A: list) -> list:
    return [[c * a for a in row] for row in A]


def _inv(A: list) -> list:
    """Gauss-Jordan in exact arithmetic (ValueError when singular)."""
    n = len(A)
    T = [list(A[i]) + _eye(n)[i] for i in range(n)]
    for c in range(n):
        p = next((r for r in range(c, n) if T[r][c] != 0), None)
        if p is None:
            raise ValueError("singular")
        T[c], T[p] = T[p], T[c]
        piv = T[c][c]
        T[c] = [x / piv for x in T[c]]
        for r in range(n):
            if r != c and T[r][c] != 0:
                f = T[r][c]
                T[r] = [x - f * y for x, y in zip(T[r], T[c])]
    return [row[n:] for row in T]


def _block(A: list, i: int, j: int, bi: int = D, bj: int = D) -> list:
    return [row[j * bj:(j + 1) * bj] for row in A[i * bi:(i + 1) * bi]]


def _stack_blocks(blocks: list) -> list:
    """A block matrix (list of rows of D x D blocks) as one matrix."""
    return [sum((blk[r] for blk in brow), []) for brow in blocks for r in range(D)]


# ---------------------------------------------------------------- the reference: phases composed exactly
def _round(Ms, ws, phases, z):
    """One round of ``m_i <- M_i h + (I - M_i) w_i*`` (``z``: list of d x 1 columns)."""
    z = list(z)
    for phase in phases:
        new = []
        for i, row in phase:
            h = _zeros(D, 1)
            for j, w in row:
                h = _add(h, _scale(w, z[j]))
            new.append((i, _add(_mul(Ms[i], h), _mul(_add(_eye(D), Ms[i], -1), ws[i]))))
        for i, m in new:
            z[i] = m
    return z


def _probe(Ms, ws, phases, K):
    """``Phi`` (K D x K D), ``Rw[j]`` (K D x D: the coefficient of ``w_j*`` in ``r``)."""
    n = K * D
    zero_w = [_zeros(D, 1)] * K
    basis = [[[Fraction(int(a == k))] for a in range(n)] for k in range(n)]

    def split(col):
        return [col[k * D:(k + 1) * D] for k in range(K)]

    flat = lambda z: [row for m in z for row in m]  # noqa: E731
    Phi = _zeros(n, n)
    for k in range(n):  # Phi is linear in z (w* = 0 here)
        col = flat(_round(Ms, zero_w, phases, split(basis[k])))
        for a in range(n):
            Phi[a][k] = col[a][0]
    Rw = []
    for j in range(K):
        Rj = _zeros(n, D)
        for a in range(D):
            w = list(zero_w)
            w[j] = [[Fraction(int(b == a))] for b in range(D)]
            col = flat(_round(Ms, w, phases, [_zeros(D, 1)] * K))
            for r_ in range(n):
                Rj[r_][a] = col[r_][0]
        Rw.append(Rj)
    return Phi, Rw


def _schur_complements(A: list, m: int) -> list:
    """``S[k]``: the Schur complement after eliminating unknowns 0..k-1 of the m x m block system ``A``
    (as a dict (i, j) -> block over the remaining positions i, j >= k)."""
    S = [{(i, j): _block(A, i, j) for i in range(m) for j in range(m)}]
    for k in range(m - 1):
        prev, Qk = S[-1], _inv(S[-1][(k, k)])
        S.append({(i, j): _add(prev[(i, j)], _mul(_mul(prev[(i, k)], Qk), prev[(k, j)]), -1)
                  for i in range(k + 1, m) for j in range(k + 1, m)})
    return S


# ---------------------------------------------------------------- the derivation evaluated
def _value(poly: dict, table: dict):
    total = None
    for word, c in poly.items():
        val: list = _eye(D)
        for letter in word:
            val = _mul(val, table[letter])
        term = _scale(Fraction(str(c)) if not isinstance(c, Fraction) else c, val)
        total = term if total is None else _add(total, term)
    return total


def _expr_value(expr, table: dict):
    """A printed expression (SymPy, as the document prints it) at explicit matrices: each term a rational
    number times a product of letters in order. A letter printed among the commutative factors (where
    SymPy moves it to the front) is an error: ValueError."""
    import sympy as sp

    total = _zeros(D, D) if expr == 0 else None
    for term in sp.Add.make_args(sp.expand(expr)):
        c, nc = term.args_cnc()
        coeff = sp.Mul(*c)
        if not coeff.is_Rational:
            raise ValueError(f"a letter among the commutative factors of a term: {sp.sstr(coeff)}")
        val: list = _eye(D)
        for f in nc:
            base, k = (f.base, int(f.exp)) if f.is_Pow else (f, 1)
            for _ in range(k):
                val = _mul(val, table[base])
        term_v = _scale(Fraction(int(coeff.p), int(coeff.q)), val)
        total = term_v if total is None else _add(total, term_v)
    return total


def _transpose(A: list) -> list:
    return [list(col) for col in zip(*A)]


def _noise_checks(cp, names: list, R: tuple, Ms: list, phases: list, Phi: list, table: dict,
                  rng: np.random.Generator, problems: list[str]) -> int:
    """The noisy round's named equations (``N_{a,b}`` and ``V_ab = sum_kl Phi_{a,k} V_{k,l} Phi_{b,l}^T + N_{a,b}``)
    at exact symmetric PSD noise covariances ``S_i = B_i B_i^T`` and an exact symmetric test matrix ``V`` (the
    equation's right-hand side is affine in V, so a V that is not the stationary one still tells a wrong side),
    against the reference ``Q = sum_p sum_(i speaks in p) T_(p,i) S_i T_(p,i)^T``, each ``T_(p,i)`` probed by a
    unit kick on ``m_i`` after phase p carried through the rest of the round (``w* = 0``). Returns the count."""
    from theory.protocol.symbols import cov_block, noise_cov, transpose_letter

    K, n = len(names), len(names) * D
    S = []
    for _ in range(K):
        B = [[Fraction(int(x), 10) for x in row] for row in rng.integers(-5, 6, (D, D))]
        S.append(_mul(B, _transpose(B)))
    V: dict = {}
    for i in R:
        for j in R:
            if (j, i) in V:
                V[(i, j)] = _transpose(V[(j, i)])
            else:
                blk = [[Fraction(int(x), 10) for x in row] for row in rng.integers(-5, 6, (D, D))]
                V[(i, j)] = _add(blk, _transpose(blk)) if i == j else blk
    Q = _zeros(n, n)
    zero_w = [_zeros(D, 1)] * K
    for p, phase in enumerate(phases):
        for i, _ in phase:
            T = _zeros(n, D)
            for a in range(D):
                z = [_zeros(D, 1) for _ in range(K)]
                z[i] = [[Fraction(int(b == a))] for b in range(D)]
                col = [row for m in _round(Ms, zero_w, phases[p + 1:], z) for row in m]
                for r_ in range(n):
                    T[r_][a] = col[r_][0]
            Q = _add(Q, _mul(_mul(T, S[i]), _transpose(T)))
    table = dict(table)
    table.update({noise_cov(nm): S[k] for k, nm in enumerate(names)})
    table.update({cov_block(names[i], names[j]): V[(i, j)] for (i, j) in V})
    for sym, val in list(table.items()):
        table.setdefault(transpose_letter(sym), _transpose(val))
    for kind, a, b in cp.alg.events:  # the noise blocks' letters, after the round map's
        if kind == "def" and a.name.startswith("N_"):
            table[a] = _value(b, table)
            table.setdefault(transpose_letter(a), _transpose(table[a]))
    if sorted(cp.lyapunov) != sorted((a, b) for a in R for b in R):
        problems.append(f"noisy round: equations for {sorted(cp.lyapunov)}, live agents {list(R)}")
    compared = 0
    for (a, b), expr in sorted(cp.lyapunov.items()):
        want = _block(Q, a, b)
        for k in R:
            for m_ in R:
                want = _add(want, _mul(_mul(_block(Phi, a, k), V[(k, m_)]), _transpose(_block(Phi, b, m_))))
        try:
            got = _expr_value(expr, table)
        except (KeyError, ValueError) as exc:
            problems.append(f"noisy round equation ({names[a]}, {names[b]}): {exc}")
            continue
        if got != want:
            problems.append(f"noisy round equation ({names[a]}, {names[b]}) differs from the reference")
        compared += 1
    return compared


def _draw(rng: np.random.Generator, K: int):
    Ms = [[[Fraction(int(x), 10) for x in row] for row in rng.integers(-6, 7, (D, D))] for _ in range(K)]
    ws = [[[Fraction(int(x), 10)] for x in rng.integers(-9, 10, D)] for _ in range(K)]
    return Ms, ws


def _label_numbers(labels: list[str], n: int) -> list[str]:
    """Problems with the chain's step numbers: step k of n (1-based), rows below the pivot, X_k = Q_k."""
    bad = []
    steps = [int(m.group(1)) for lb in labels for m in [re.match(r"elimination step (\d+): the pivot row", lb)] if m]
    if steps != list(range(1, n + 1)):
        bad.append(f"pivot rows numbered {steps}, want 1..{n}")
    back = [(int(m.group(1)), int(m.group(2)), int(m.group(3))) for lb in labels
            for m in [re.match(r"back substitution (\d+): X_(\d+) = Q_(\d+) ", lb)] if m]
    if back != [(k, k, k) for k in range(1, n + 1)]:
        bad.append(f"back substitutions numbered {back}")
    rows = [(int(m.group(1)), int(m.group(2))) for lb in labels
            for m in [re.match(r"elimination step (\d+): row (\d+) = ", lb)] if m]
    if rows != [(k, i) for k in range(1, n) for i in range(k + 1, n + 1)]:
        bad.append(f"row updates numbered {rows}")
    return bad


def _coverage(labels: list[str], names: list[str], R: tuple, Phi: list, Rw: list) -> list[str]:
    """Identities the printed proof must state (and hold) for this protocol, from the reference round map:
    each nonzero block ``Phi_{a,b}`` (b live) is that block, each ``r_a`` is its sum, each row whose weights
    sum to 1 (``sum_j r_{a,j} + sum_b Phi_{a,b} = I``) says so, each ``z*_i`` and each residual row."""
    K = len(names)
    have = set(labels)
    want = []
    for a in range(K):
        for b in R:
            if any(x != 0 for row in _block(Phi, a, b) for x in row):
                want.append(f"Phi_{{{names[a]},{names[b]}}} is block ({names[a]}, {names[b]}) of the round map")
        want.append(f"r_{names[a]} = sum_j r_{{{names[a]},j}} w*_j")
        total = _add(_zeros(D, D), _eye(D), -1)
        for j in range(K):
            total = _add(total, _block(Rw[j], a, 0, D, D))
        for b in range(K):
            total = _add(total, _block(Phi, a, b))
        if all(x == 0 for row in total for x in row):
            want.append(f"row {names[a]}: the weights sum to 1, so w_i* drops out of the gap right side")
        want.append(f"z*_{names[a]} is the back-substituted solution" if a in R else
                    f"z*_{names[a]} (not read by the round map) = Phi_{names[a]}R z_R* + r_{names[a]}")
        want.append(f"e_{names[a]} in the gaps is X times the gap right side")
        want += [f"e_{names[a]}: row {names[b]} of the right side in the gaps" for b in R]
    missing = [w for w in want if w not in have]
    return [f"{len(missing)} identities missing from the printed proof, e.g. {missing[0]!r}"] if missing else []


def _one_protocol(rounds: list, rng: np.random.Generator, problems: list[str]) -> tuple[int, int]:
    """One protocol's checks (problems appended); returns (objects compared, V1 checks)."""
    from theory.protocol import compiler as P, description
    from theory.protocol.symbols import M, w_star

    names = sorted({n for ph in rounds for lst, row in ph.items() for n in (lst, *row)})
    cp = P.compile_protocol(description.spec(names, rounds))
    if cp.named is None:
        problems.append("not derived on the named Schur path")
        return 0, 0
    K, idx = len(names), {n: k for k, n in enumerate(names)}
    phases = [[(idx[lst], [(idx[s], Fraction(str(w))) for s, w in row.items()]) for lst, row in ph.items()]
              for ph in rounds]
    checks = P.verify(cp)
    problems += [f"V1 check fails: {c.label}" for c in checks if not c.holds][:3]
    # a check holds exactly when what was left is 0 (theory.protocol.result.Check): the text agrees with the verdict
    problems += [f"V1 check {c.label!r} holds={c.holds} but left {c.residual[:60]!r}" for c in checks
                 if c.holds != (c.residual == "0")][:3]
    R = tuple(cp.named.R)
    m = len(R)
    problems += _label_numbers([c.label for c in checks], m)
    compared = 0
    for _ in range(DRAWS):
        Ms, ws = _draw(rng, K)
        Phi, Rw = _probe(Ms, ws, phases, K)
        live = tuple(b for b in range(K) if any(Phi[r_][b * D + a] for r_ in range(K * D) for a in range(D)))
        if live != R:
            problems.append(f"live agents {[names[b] for b in R]}, the round map reads {[names[b] for b in live]}")
            break
        A = _stack_blocks([[_add(_eye(D) if a == b else _zeros(D, D), _block(Phi, a, b), -1) for b in R] for a in R])
        S = _schur_complements(A, m)
        ref_blocks: dict = {}
        for k in range(1, m):
            for i in range(k, m):
                for j in range(k, m):
                    ref_blocks[f"U^{{({k})}}_{{{names[R[i]]},{names[R[j]]}}}"] = S[k][(i, j)]
        # the derivation's letters, in order of definition, each compared with the reference
        table = {M(n): Ms[k] for k, n in enumerate(names)}
        table.update({w_star(n): ws[k] for k, n in enumerate(names)})
        pivots = 0
        shown = dict(cp.definitions)  # the definitions as the document prints them
        for kind, a, b in cp.alg.events:
            if kind == "def":
                name = a.name
                if not re.match(r"(Phi_|r_|U\^)", name):
                    continue  # the noisy round's letters (N_{a,b}, in the noise covariances S_i): not this path's
                try:
                    val = _expr_value(shown[a], table) if a in shown else _value(b, table)
                except (KeyError, ValueError) as exc:
                    problems.append(f"letter {name} uses {exc} before its definition")
                    continue
                table[a] = val
                want: list | None
                mm = re.fullmatch(r"Phi_\{(\w+),(\w+)\}", name)
                mr = re.fullmatch(r"r_\{(\w+),(\w+)\}", name)
                if mm:
                    want = _block(Phi, idx[mm.group(1)], idx[mm.group(2)])
                elif mr:
                    want = _block(Rw[idx[mr.group(2)]], idx[mr.group(1)], 0, D, D)
                else:
                    want = ref_blocks.get(name)
                if want is None:
                    problems.append(f"letter {name} is no block of a Schur complement")
                elif val != want:
                    problems.append(f"letter {name} differs from its reference block")
                compared += 1
            else:
                from theory.core.algebra import to_poly

                F = _value(to_poly(a), table)
                if pivots < m and F != S[pivots][(pivots, pivots)]:
                    problems.append(f"inverse {pivots + 1} ({b}) is not the pivot of step {pivots + 1}")
                pivots += 1
                table[b] = _inv(F)
                compared += 1
        if pivots != m:
            problems.append(f"{pivots} inverted pivots for {m} live agents")
        # the fixed point and the residuals
        n = K * D
        r = _zeros(n, 1)
        for j in range(K):
            r = _add(r, _mul(Rw[j], ws[j]))
        Binv = _inv(_add(_eye(n), Phi, -1))
        z = _mul(Binv, r)
        def printed(expr, what: str):
            try:
                return _expr_value(expr, table)
            except (ValueError, KeyError) as exc:
                problems.append(f"{what}: {exc}")
                return None

        for i, nm in enumerate(names):
            got = printed(cp.fixed_point[i], f"z*_{nm}")
            if got != z[i * D:(i + 1) * D]:
                problems.append(f"z*_{nm} is not the fixed point")
            Z = [_mul(Binv, Rw[j])[i * D:(i + 1) * D] for j in range(K)]  # z_i* = sum_j Z_ij w_j*
            for j in range(K):
                if j == i:
                    continue
                G = cp.residual_gaps[i].get(j)
                gv = _zeros(D, D) if G is None else printed(G, f"e_{nm} coefficient of w*_{names[j]}")
                if gv != Z[j]:
                    problems.append(f"e_{nm}: coefficient of w*_{names[j]} - w*_{nm} is wrong")
            Dv = printed(cp.residual_self[i], f"e_{nm} coefficient of w*_{nm}")
            want_D = _add(_zeros(D, D), _eye(D), -1)
            for j in range(K):
                want_D = _add(want_D, Z[j])
            if Dv != want_D:
                problems.append(f"e_{nm}: coefficient of w*_{nm} is wrong")
            compared += K + 1
        compared += _noise_checks(cp, names, R, Ms, phases, Phi, table, rng, problems)
    problems += _coverage([c.label for c in checks if c.holds], names, R, Phi, Rw)
    return compared, len(checks)


# DENSE with three listening weights removed (A hears no B in phases 2 and 3, C none in phase 4): still on the
# named path, and the block of C below the first pivot vanishes while D's does not (a row the elimination skips)
SPARSE_COLUMN = [{"A": {"C": 1.0}}, {"A": {"D": 0.59, "C": 0.26}},
                 {"B": {"C": 0.62, "B": 0.38}, "C": {"A": -0.06}, "D": {"A": 1.01}, "A": {"C": 0.01, "A": 0.39}},
                 {"A": {"B": 0.59}, "C": {"A": 0.03, "D": 0.28, "C": 0.21}, "D": {"C": 0.42, "B": 0.09, "A": 0.49}}]


def named_schur_method(profile: Profile) -> Outcome:
    """V2: dense protocols' named Schur derivations at explicit exact matrices vs an exact elimination."""
    from proofs_check.verification.shipped_derive import DENSE

    problems: list[str] = []
    rng = np.random.default_rng(profile.seed + 4242)
    compared = nchecks = 0
    for label, rounds in (("dense", DENSE), ("sparse column", SPARSE_COLUMN)):
        mine: list[str] = []
        c, n = _one_protocol(rounds, rng, mine)
        compared, nchecks = compared + c, nchecks + n
        problems += [f"{label}: {x}" for x in mine]
    detail = (f"two dense protocols of 4 agents on the named Schur path: {compared} letters, inverses, fixed points "
              f"and residual coefficients and the noisy round's equations at {DRAWS} explicit exact 2 x 2 instances "
              f"each equal the exact block elimination; {nchecks} V1 checks hold, numbered as the elimination, "
              "none missing")
    if problems:
        detail = "MISMATCH: " + "; ".join(problems[:6]) + "; " + detail
    return Outcome(1.0 if problems else 0.0, 0.0, 2 * DRAWS, detail,
                   power="exact rational arithmetic: any wrong letter, inverse, fixed point or coefficient "
                         "differs from the reference (error 1 against tolerance 0)")
