"""mpmath versions of the closed forms, for ``--precision`` and V5 checks.

Same formulas as :mod:`numerics.dynamics.closed_forms` (C2, C17), evaluated at a given
number of decimal digits. Inputs are nested lists or arrays of numbers (or
mpf); conversion happens inside ``mp.workdps`` so no digits are lost.
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Sequence

import mpmath as mp

from numerics.io.errors import InputError


def to_mpf(x) -> mp.mpf:
    """A number as mpf; a JSON decimal (``ExactFloat``) from its text, so 1e-300 stays 10^-300."""
    text = getattr(x, "text", None)
    if text is not None:
        return mp.mpf(text)
    if isinstance(x, Fraction):
        return mp.mpf(x.numerator) / x.denominator
    return mp.mpf(x)


def to_matrix(A) -> mp.matrix:
    return mp.matrix([[to_mpf(x) for x in row] for row in A])


def to_vector(v) -> mp.matrix:
    return mp.matrix([to_mpf(x) for x in v])


def affine_power(M: mp.matrix, g: mp.matrix, s: int) -> tuple[mp.matrix, mp.matrix]:
    """``(M^s, sum_{k<s} M^k g)``: the map ``w -> M w + g`` applied s times, by repeated squaring."""
    out_M, out_c = mp.eye(M.rows), mp.matrix(M.rows, 1)
    base_M, base_c = M, g
    while s:
        if s & 1:  # (base) o (out): powers of one map commute
            out_M, out_c = base_M * out_M, base_M * out_c + base_c
        base_M, base_c = base_M * base_M, base_M * base_c + base_c
        s >>= 1
    return out_M, out_c


# --- exact rational arithmetic on the input data ---------------------------------------------

def fraction(x) -> Fraction:
    """The exact rational value of an input number (decimal text when the JSON gave one)."""
    if isinstance(x, Fraction):
        return x
    text = getattr(x, "text", None)
    return Fraction(text) if text is not None else Fraction(x)


def _fmatrix(A) -> list[list[Fraction]]:
    return [[fraction(x) for x in row] for row in A]


def _scaled(A) -> tuple[list[list[int]], int]:
    """``(A * D, D)`` with integer entries and ``D`` the lcm of A's denominators."""
    D = math.lcm(*(x.denominator for row in A for x in row)) if A and A[0] else 1
    return [[x.numerator * (D // x.denominator) for x in row] for row in A], D


def _fmatmul(A, B):
    """Exact ``A B``, on integers (one common denominator per factor, one reduction per entry)."""
    Ai, Da = _scaled(A)
    Bi, Db = _scaled(B)
    Bt = list(zip(*Bi))
    return [[Fraction(sum(a * b for a, b in zip(row, col)), Da * Db) for col in Bt] for row in Ai]


def _rref(A, B) -> tuple[list[list[Fraction]], list[int]]:
    """Gauss-Jordan over the rationals on ``[A | B]`` (pivots in A's columns only): the reduced
    rows and the pivot columns. Exact, so the rank is exact."""
    n, m = len(A), len(A[0])
    aug = [list(A[i]) + list(B[i]) for i in range(n)]
    pivots, row = [], 0
    for col in range(m):
        piv = next((r for r in range(row, n) if aug[r][col] != 0), None)
        if piv is None:
            continue
        aug[row], aug[piv] = aug[piv], aug[row]
        p = aug[row][col]
        aug[row] = [x / p for x in aug[row]]
        for r in range(n):
            if r != row and aug[r][col] != 0:
                f = aug[r][col]
                aug[r] = [x - f * y for x, y in zip(aug[r], aug[row])]
        pivots.append(col)
        row += 1
    return aug, pivots


def exact_min_norm(H, b) -> list[Fraction]:
    """``H^+ b`` exactly, for symmetric PSD rational ``H`` and ``b`` in ``range(H)``.

    The rank is exact (no cutoff), so widely scaled data (1e300 next to 1) keep every
    direction. ``w = C (C^T C)^{-1} C^T w_0`` projects any solution ``w_0`` of ``H w = b``
    onto ``range(H)``, spanned by the pivot columns ``C`` of ``H``.
    """
    d = len(H)
    aug, pivots = _rref(H, [[x] for x in b])
    if not pivots:
        return [Fraction(0)] * d
    w0 = [Fraction(0)] * d
    for r, col in enumerate(pivots):
        w0[col] = aug[r][d]
    C = [[H[i][j] for j in pivots] for i in range(d)]
    Ct = [list(r) for r in zip(*C)]
    r = len(pivots)
    z, _ = _rref(_fmatmul(Ct, C), _fmatmul(Ct, [[x] for x in w0]))  # C^T C is invertible (r x r)
    return [row[0] for row in _fmatmul(C, [[row[r]] for row in z])]


# mpmath's QR iteration gives up after 4 x dps steps, and on some matrices fails at one precision and not at
# another (a 12 x 12 second-moment operator at 30 digits, not at 25 or 35): the eigenvalues are then computed
# again with EIG_RETRY_DIGITS more digits, and the radius rounded back to the working precision.
EIG_RETRY_DIGITS = 10


def spectral_radius(A: mp.matrix) -> mp.mpf:
    """``max |lambda_i(A)|`` at the working precision (mpmath's eigenvalues; once more with
    ``EIG_RETRY_DIGITS`` more digits when its QR iteration does not converge). Raises InputError when it
    does not converge either way."""
    if A.rows == 1:  # mp.eig returns vectors too for 1 x 1 input
        return abs(A[0, 0])
    try:
        return max(abs(e) for e in mp.eig(A, left=False, right=False))
    except RuntimeError:
        pass
    try:
        with mp.extradps(EIG_RETRY_DIGITS):
            r = max(abs(e) for e in mp.eig(A, left=False, right=False))
    except RuntimeError as err:
        raise InputError("--precision", mp.mp.dps, f"mpmath's eigenvalue iteration did not converge on a {A.rows} x "
                                                   f"{A.rows} matrix ({err}); another number of digits may") from None
    return +r  # rounded to the working precision


def round_map(Ms: Sequence[mp.matrix], cs: Sequence[mp.matrix]):
    """``J_0`` and ``r_0`` of the round ending at agent 0 (C17)."""
    K, d = len(Ms), Ms[0].rows
    J, r = mp.eye(d), mp.matrix(d, 1)
    for k in range(1, K + 1):
        j = k % K
        J = Ms[j] * J
        r = Ms[j] * r + cs[j]
    return J, r


def fixed_points(Ms: Sequence[mp.matrix], cs: Sequence[mp.matrix]) -> tuple[list[mp.matrix], mp.mpf]:
    """All fixed points and rho, at the current mp precision (C2, C17).

    Raises InputError when rho >= 1.
    """
    J, r = round_map(Ms, cs)
    rho = spectral_radius(J)
    if rho >= 1:
        raise InputError("contraction rate rho", float(rho), "must be < 1 for a fixed point to exist and attract (C1)")
    u = [mp.lu_solve(mp.eye(J.rows) - J, r)]
    for i in range(1, len(Ms)):
        u.append(Ms[i] * u[-1] + cs[i])
    return u, rho


def agent_transfer(Gamma, geometry, steps: int):
    """``(M^s, c_s, w*)`` of a GD agent at the current precision, from its exact input data.

    The input numbers are taken as exact rationals (a JSON decimal by its text). A prompt's
    ``H = X^T X / N``, ``b = X^T y / N`` and the minimum-norm target ``w* = H^+ b`` are
    computed exactly (exact rank), then ``M = I - Gamma H`` and ``Gamma b`` are rounded once
    to the working precision; ``M^s`` and ``c_s = sum_{k<s} M^k Gamma b`` come by repeated
    squaring (``b`` lies in ``range(H)``, so no pseudo-inverse of ``H`` is needed for ``c_s``).
    """
    G = _fmatrix(Gamma)
    if geometry.X is not None:
        X, y = _fmatrix(geometry.X), [fraction(v) for v in geometry.y]
        N = len(X)
        Xt = [list(c) for c in zip(*X)]
        H = [[v / N for v in row] for row in _fmatmul(Xt, X)]
        b = [r[0] / N for r in _fmatmul(Xt, [[v] for v in y])]
        w = exact_min_norm(H, b)
    else:
        H = _fmatrix(geometry.H)
        w = [fraction(v) for v in geometry.w_star]
        b = [r[0] for r in _fmatmul(H, [[v] for v in w])]
    d = len(H)
    GH = _fmatmul(G, H)
    M1 = to_matrix([[(1 if i == j else 0) - GH[i][j] for j in range(d)] for i in range(d)])
    g = to_vector([r[0] for r in _fmatmul(G, [[v] for v in b])])
    M, c = affine_power(M1, g, steps)
    return M, c, to_vector(w)


# --- a-priori cost of a --precision evaluation -------------------------------------------------

# Measured (`predict --precision`, dense protocols, random weights, 2 shared cores; K agents, P phases):
#   K, P, d, digits:  8,1,4,50  4,1,4,50  8,1,8,50  16,1,4,50  8,1,4,200  8,1,4,1000  16,1,2,50  12,64,2,50
#   seconds:          4.0       0.74      33.8      40.4       6.1        27.6        7.8        21.1
# The eigenvalues and solve of the (n d) x (n d) round map over the n live agents take ~25 (n d)^3
# mpmath operations (N = n d = 64 is ~8.5x N = 32: cubic); composing many phases of small blocks costs
# ~15 operations of Python overhead per block operation (the 12-agent, 64-phase row). One operation
# takes ~6 us at <= 50 digits and grows as digits^1.6 (x6.9 from 50 to 1000 digits). The estimate is
# within -21% .. +42% of every row above.
MP_OP_SECONDS = 6e-6
EIG_OPS_PER_N3 = 25
DIGITS_COST = 1e-4  # per-operation factor 1 + DIGITS_COST digits^1.6
DIGITS_EXPONENT = 1.6
MATRIX_OP_OVERHEAD = 15  # operations: the Python cost of one mpmath block operation, whatever its size
EXACT_OP_WEIGHT = 0.1  # one exact (integer) product of the prompt's H = X^T X / N, in mpmath operations
# The limit: half of 60 s by the fit above (which it matches within ~20%), for slower machines and loads.
MAX_PRECISE_SECONDS = 30.0


def evaluation_seconds(d: int, live: int, phase_ops: int, steps: Sequence[int], rows: Sequence[int],
                       digits: int) -> float:
    """A-priori seconds of a ``--precision`` evaluation (the fit in the comment above).

    ``live``: agents of the round map's fixed-point system (1 for a cycle); ``phase_ops``: the
    mpmath operations composing the round map (:func:`phase_operations`); ``steps``, ``rows``: each
    agent's steps per turn and prompt rows (0 without a prompt).
    """
    transfers = sum(4 * d ** 3 * max(1, s.bit_length()) + EXACT_OP_WEIGHT * r * d * d for s, r in zip(steps, rows))
    ops = EIG_OPS_PER_N3 * (live * d) ** 3 + phase_ops + transfers
    return ops * MP_OP_SECONDS * (1 + DIGITS_COST * digits ** DIGITS_EXPONENT)


def phase_operations(K: int, d: int, rows_heard: Sequence[int]) -> int:
    """mpmath operations of composing the round map: a listener hearing ``h`` sources scales and adds
    ``h`` block rows (``2 h K`` block operations of ``d^2``) and multiplies its row by its transfer
    (``K`` products of ``d^3``), each block operation with ``MATRIX_OP_OVERHEAD``."""
    return sum(2 * h * K * (d * d + MATRIX_OP_OVERHEAD) + K * (d ** 3 + MATRIX_OP_OVERHEAD) for h in rows_heard)


def check_cost(d: int, live: int, phase_ops: int, steps: Sequence[int], rows: Sequence[int], digits: int) -> float:
    """Refuse (InputError on ``--precision``) an evaluation estimated above ``MAX_PRECISE_SECONDS``."""
    seconds = evaluation_seconds(d, live, phase_ops, steps, rows, digits)
    if seconds > MAX_PRECISE_SECONDS:
        raise InputError("--precision", digits,
                         f"would take an estimated {seconds:.3g} s of mpmath work ({live} live agents x d = {d}: a "
                         f"{live * d} x {live * d} round map, cost ~ (n d)^3 x digits^{DIGITS_EXPONENT}); the limit "
                         f"is {MAX_PRECISE_SECONDS:g} s: use fewer digits, or predict without --precision")
    return seconds
