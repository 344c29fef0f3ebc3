"""The LSA agent in SymPy (docs/theory.rst): L1, L1b, L2.

Block form (dimension-free): with tokens ``Z = [X, r]``, ``r = y - X w``, and
``C = Z^T Z / N``, the read-out on the d basis queries is ``Q[:, :d]^T C nu``, ``nu`` the last
row of W_PV (printed nu; the Python names ``p_x``, ``p_y`` hold the symbols ``nu_x``, ``nu_y``: the
letter p is C11's steering point). Writing ``nu = (nu_x, nu_y)`` and ``Q[:, :d] = [[Q_xx], [q_yx^T]]``
this is ``Q_xx^T H nu_x + Q_xx^T (b - H w) nu_y + q_yx [(b - H w)^T nu_x + r^T r nu_y / N]`` (L1b),
affine for every prompt iff ``nu_y q_yx = 0``, with ``Gamma_eff = nu_y Q_xx^T + q_yx nu_x^T``;
the GD weights ``nu = (0, 1)``, ``Q_xx = Gamma^T``, ``q_yx = 0`` give ``Gamma (b - H w)`` (L1).
"""
from __future__ import annotations

import itertools

import sympy as sp

from theory.core.formulas import Formula

d, N = sp.symbols("d N", integer=True, positive=True)
X = sp.MatrixSymbol("X", N, d)
y = sp.MatrixSymbol("y", N, 1)
w = sp.MatrixSymbol("w", d, 1)
H = sp.MatrixSymbol("H", d, d)
b = sp.MatrixSymbol("b", d, 1)
Gamma = sp.MatrixSymbol("Gamma", d, d)
Q_xx = sp.MatrixSymbol("Q_xx", d, d)
q_yx = sp.MatrixSymbol("q_yx", d, 1)
p_x = sp.MatrixSymbol("nu_x", d, 1)  # printed nu: p is C11's steering point
p_y = sp.MatrixSymbol("nu_y", 1, 1)  # a scalar, kept as 1 x 1 so that products keep their order
r = y - X * w
r_sym = sp.MatrixSymbol("r", N, 1)  # the residuals y - X w, as a symbol in printed formulas
DEFINITIONS = {"H": X.T * X / N, "b": X.T * y / N, "H^T": X.T * X / N, "b^T": y.T * X / N,
               "r": r, "r^T": y.T - w.T * X.T}


def block_readout(Q_cols_T: sp.BlockMatrix, p: sp.BlockMatrix) -> sp.MatrixExpr:
    """``Q[:, :d]^T C p`` with ``C = [[X^T X, X^T r], [r^T X, r^T r]] / N``, collapsed blockwise."""
    C = sp.BlockMatrix([[X.T * X, X.T * r], [r.T * X, r.T * r]])
    return sp.block_collapse(Q_cols_T * C * p) / N


def block_form(Q_cols_T: sp.BlockMatrix, p: sp.BlockMatrix) -> sp.MatrixExpr:
    """The same read-out, uncollapsed and with ``r`` as a symbol: how a derivation starts."""
    C = sp.BlockMatrix([[X.T * X, X.T * r_sym], [r_sym.T * X, r_sym.T * r_sym]])
    return sp.MatMul(sp.Rational(1) / N, Q_cols_T, C, p, evaluate=False)


# L1: GD weights.
gd_readout = block_readout(sp.BlockMatrix([[Gamma, sp.ZeroMatrix(d, 1)]]),
                           sp.BlockMatrix([[sp.ZeroMatrix(d, 1)], [sp.Identity(1)]]))
gd_step = Gamma * (b - H * w)  # T(w) - w

# L1b: general weights.
general_readout = block_readout(sp.BlockMatrix([[Q_xx.T, q_yx]]), sp.BlockMatrix([[p_x], [p_y]]))
general_expansion = (Q_xx.T * (b - H * w) * p_y + Q_xx.T * H * p_x
                     + q_yx * ((b - H * w).T * p_x + r_sym.T * r_sym * p_y / N))
GD_Q = sp.BlockMatrix([[Gamma, sp.ZeroMatrix(d, 1)]])
GD_P = sp.BlockMatrix([[sp.ZeroMatrix(d, 1)], [sp.Identity(1)]])
GENERAL_Q = sp.BlockMatrix([[Q_xx.T, q_yx]])
GENERAL_P = sp.BlockMatrix([[p_x], [p_y]])


def token_message(Xs: sp.Matrix, ys: sp.Matrix, ws: sp.Matrix, p: sp.Matrix, Q: sp.Matrix) -> sp.Matrix:
    """Explicit forward pass: ``w + (yhat(e_1), ..., yhat(e_d))`` summed token by token."""
    n, dim = Xs.shape
    out = sp.zeros(dim, 1)
    for k in range(dim):
        for j in range(n):  # token z_j = (x_j, r_j); the query e_k (with label 0) picks column k of Q
            z = Xs[j, :].T.col_join(sp.Matrix([ys[j] - Xs[j, :].dot(ws)]))
            out[k] += p.dot(z) * z.dot(Q[:, k]) / n
    return ws + out


def explicit_symbols(n: int, dim: int):
    """Fully symbolic prompt, message, weights and Gamma for the explicit (V2) checks."""
    Xs = sp.Matrix(n, dim, lambda i, j: sp.Symbol(f"x_{i}{j}"))
    ys = sp.Matrix(n, 1, lambda i, j: sp.Symbol(f"y_{i}"))
    ws = sp.Matrix(dim, 1, lambda i, j: sp.Symbol(f"w_{i}"))
    G = sp.Matrix(dim, dim, lambda i, j: sp.Symbol(f"gamma_{i}{j}"))
    width = dim + 1  # a token z = (x, r) has d + 1 entries; p is (d+1) x 1 and Q is (d+1) x (d+1)
    p = sp.Matrix(width, 1, lambda i, j: sp.Symbol(f"p_{i}"))
    Q = sp.Matrix(width, width, lambda i, j: sp.Symbol(f"q_{i}{j}"))
    return Xs, ys, ws, G, p, Q


def gd_weights(G: sp.Matrix) -> tuple[sp.Matrix, sp.Matrix]:
    dim = G.rows
    Q = sp.zeros(dim + 1)  # square (d+1) x (d+1)
    Q[:dim, :dim] = G.T
    return sp.Matrix([0] * dim + [1]), Q


# ---- L2 -------------------------------------------------------------------
Ns, tau, sigma = sp.symbols("N tau sigma", positive=True)


def gamma_star(S: sp.Matrix, n=Ns, t=tau, s=sigma) -> sp.Matrix:
    """``Gamma* = [((N+1)/N) Sigma + ((tr Sigma + sigma^2/tau^2)/N) I]^{-1}`` (L2).

    Parameters
    ----------
    S : sympy.Matrix
        The input covariance ``Sigma``.
    n, t, s : optional
        ``N`` (context examples), ``tau`` (task scale), ``sigma`` (label noise); symbols by default.

    Returns
    -------
    sympy.Matrix
        The optimal preconditioner of a trained LSA agent.

    Examples
    --------
    >>> import sympy as sp
    >>> gamma_star(sp.eye(1))
    Matrix([[N*tau**2/(N*tau**2 + sigma**2 + 2*tau**2)]])
    >>> gamma_star(sp.eye(1), sp.Integer(9), sp.Integer(1), sp.Integer(0))  # N = 9, noiseless: 9/11
    Matrix([[9/11]])
    """
    dim = S.rows
    return ((n + 1) / n * S + (S.trace() + s**2 / t**2) / n * sp.eye(dim)).inv()


def fourth_moment(S: sp.Matrix, A: sp.Matrix, n=Ns) -> sp.Matrix:
    """``E[Hhat A Hhat] = ((N+1)/N) Sigma A Sigma + (1/N) tr(A Sigma) Sigma`` (A symmetric)."""
    return (n + 1) / n * S * A * S + (A * S).trace() / n * S


def risk(G: sp.Matrix, S: sp.Matrix, n=Ns, t=tau, s=sigma) -> sp.Expr:
    """``R = tau^2 [tr S - 2 tr(S G S) + tr(G^T S G E[Hhat^2])] + (sigma^2/N) tr(S G S G^T)``."""
    E2 = fourth_moment(S, sp.eye(S.rows), n)
    return (t**2 * (S.trace() - 2 * (S * G * S).trace() + (G.T * S * G * E2).trace())
            + s**2 / n * (S * G * S * G.T).trace())


def wick_expectation(expr: sp.Expr, variables: list, cov) -> sp.Expr:
    """Exact ``E[expr]`` for a polynomial in zero-mean jointly Gaussian ``variables`` (Isserlis' theorem).

    ``cov(u, v)`` gives the covariance of two variables.
    """
    poly = sp.Poly(sp.expand(expr), *variables)
    total = sp.Integer(0)
    for powers, coeff in poly.terms():
        factors = [v for v, k in zip(variables, powers) for _ in range(k)]
        total += coeff * _pairings(tuple(factors), cov)
    return sp.expand(total)


def _pairings(factors: tuple, cov) -> sp.Expr:
    # an odd number of factors ends at one factor with nothing to pair it with: the empty sum, 0
    if not factors:
        return sp.Integer(1)
    first, rest = factors[0], factors[1:]
    return sp.Add(*[cov(first, rest[i]) * _pairings(rest[:i] + rest[i + 1:], cov) for i in range(len(rest))])


def empirical_geometry(n: int, dim: int) -> tuple[sp.Matrix, list]:
    """``Hhat = (1/n) sum_j x_j x_j^T`` with symbolic samples; returns Hhat and the sample variables."""
    xs = [[sp.Symbol(f"x_{j}_{k}") for k in range(dim)] for j in range(n)]
    Hhat = sp.zeros(dim, dim)
    for row in xs:
        v = sp.Matrix(row)
        Hhat += v * v.T / n
    return Hhat, list(itertools.chain(*xs))


Sigma = sp.MatrixSymbol("Sigma", d, d)
gamma_star_matrix = sp.Inverse((N + 1) / N * Sigma + (sp.Trace(Sigma) + sigma**2 / tau**2) / N * sp.Identity(d))

s_1 = sp.Symbol("s", positive=True)  # Sigma in d = 1
(gamma_star_1d,) = gamma_star(sp.Matrix([[s_1]]))  # the one entry of a 1 x 1 matrix

FORMULAS = [
    Formula("L2", "gamma_star_scalar", sp.Symbol("Gamma^*"), gamma_star_1d,
            r"$\Gamma^*$ in $d = 1$ with $\Sigma = s$."),
    Formula("L2", "gamma_star", sp.MatrixSymbol("Gamma^*", d, d), gamma_star_matrix,
            r"Risk-minimising LSA preconditioner for $x \sim \mathcal{N}(0, \Sigma)$, "
            r"$w \sim \mathcal{N}(0, \tau^2 I)$, label noise $\sigma$."),
    Formula("L1", "gd_readout", sp.MatrixSymbol("w' - w", d, 1), gd_step,
            r"LSA read-out with $\nu = (0, \dots, 0, 1)$ and $Q = \mathrm{diag}(\Gamma^{T}, 0)$: "
            r"one preconditioned GD step."),
    Formula("L1b", "general_map", sp.MatrixSymbol("w' - w", d, 1), general_expansion,
            r"LSA read-out with general weights; affine for every prompt exactly when $\nu_y q_{yx} = 0$, "
            r"with $\Gamma_{\mathrm{eff}} = \nu_y Q_{xx}^{T} + q_{yx} \nu_x^{T}$."),
]
