"""Stationary covariance of noisy agents (C15): the discrete Lyapunov (Stein) equation.

Agent i emits ``T_i(w) + eta_i`` with ``Cov eta_i = S_i``, independent across agents
and turns. Over one round ending at agent i, the deviation of its messages from
``u_i*`` obeys ``delta <- J_i delta + sum_j P_{i,j} eta_j``, so the stationary
covariance solves ``P_i = J_i P_i J_i^T + Q_i`` with ``Q_i = sum_j P_{i,j} S_j P_{i,j}^T``.
For two agents (A first): ``P_B = J_B P_B J_B^T + M_B S_A M_B^T + S_B``. Hypothesis:
``rho < 1`` (checked).

Solvers of ``P = J P J^T + Q`` (n x n). In production, :func:`discrete_lyapunov`: a Schur-based
Bartels-Stewart solve (Kitagawa's column recursion on the complex Schur form), O(n^3) time, O(n^2)
memory. The reference :func:`kronecker_lyapunov`: ``vec P = (I - J (x) J)^{-1} vec Q``, O(n^6) time
and O(n^4) memory, refused above :data:`KRONECKER_MAX_DIM`. A second reference,
:func:`doubling_lyapunov`: Smith's doubling iteration on the series ``P = sum_k J^k Q (J^T)^k``,
O(n^3 log(1 / (1 - rho))).

The three share no step (no Schur form in the references, no vectorisation outside the
Kronecker one), so any two witness each other; the verification of C15 (V8) compares the
production solve with scipy's Kronecker solve and python-control, the tests with both
references.
"""
from __future__ import annotations

import numpy as np

from numerics.dynamics.closed_forms import require_contraction
from numerics.io import validate
from numerics.io.errors import InputError

# The dense reference needs an (n^2 x n^2) matrix: 8 n^4 bytes, 3 GiB at n = 140, 12 GiB at n = 200.
# Up to n = 40 (20 MiB, well under a second) it is a cheap witness; above, it is refused.
KRONECKER_MAX_DIM = 40
# Smith doubling stops when the added term is below this fraction of the sum (float64 resolution)
# or after DOUBLING_MAX_STEPS squarings: 2^60 terms reach rho^(2^60) < u for rho < 1 - 4e-17.
DOUBLING_RTOL = np.finfo(float).eps
DOUBLING_MAX_STEPS = 60
# Accuracy of discrete_lyapunov: a backward-stable solve has relative forward error <= c u kappa, with
# kappa = stein_condition(J) (~ 2 / (1 - rho^2) for a normal J, far larger for a non-normal one).
# Measured against the Kronecker reference over 561 instances (n <= 30; rho up to 1 - 1e-9; normal,
# non-normal, eigenvalues near -1, Jordan blocks): c <= 22 (scipy's bilinear transform, which
# inverts J + I: c <= 30; the Kronecker LU: c <= 1.4). The bar leaves ~10x for larger n.
FORWARD_ERROR_FACTOR = 200.0


def _checked(J, Q) -> tuple[np.ndarray, np.ndarray]:
    """``J``, ``Q`` as finite square float arrays of one size, with ``rho(J) < 1`` (else InputError naming rho)."""
    J = validate.square("round transfer J", J)
    Q = validate.square("noise input Q", Q, J.shape[0])
    require_contraction(J)
    return J, Q


def _symmetric(P: np.ndarray) -> np.ndarray:
    """The symmetric part: the solution is symmetric for symmetric ``Q``, rounding is not."""
    return (P + P.T) / 2


def discrete_lyapunov(J: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """The solution ``P`` of ``P = J P J^T + Q`` by a Schur-based Bartels-Stewart solve (C15).

    With ``J = U T U^H`` (complex Schur, ``T`` upper triangular) the equation becomes
    ``X = T X T^H + C`` for ``X = U^H P U``, ``C = U^H Q U``. Column j of ``T X T^H`` is
    ``T sum_{k >= j} conj(T_jk) X_:k``, so the columns follow from the last one back:
    ``(I - conj(T_jj) T) X_:j = C_:j + (T X)_{:, j+1:} conj(T_{j, j+1:})``, one triangular
    solve each, with pivots ``1 - conj(T_jj) T_ii`` of modulus ``>= 1 - rho^2 > 0``. Time
    O(n^3), memory O(n^2).

    Parameters
    ----------
    J : (n, n) array
        The round transfer; hypothesis ``rho(J) < 1`` (InputError naming rho otherwise).
    Q : (n, n) array
        The noise input of one round (symmetric).

    Returns
    -------
    (n, n) array
        The symmetric stationary covariance ``P``.
    """
    from scipy.linalg import schur  # here: scipy.linalg costs ~0.1 s of CLI start-up
    from scipy.linalg.lapack import ztrtrs  # the bare LAPACK solve: solve_triangular's checks cost more at small n

    J, Q = _checked(J, Q)
    T, U = schur(J.astype(complex), output="complex")
    C = U.conj().T @ Q @ U
    n = J.shape[0]
    # rows hold columns (X^T, (T X)^T): each step reads and writes contiguous memory
    Xt = np.zeros((n, n), dtype=complex)
    TXt = np.zeros((n, n), dtype=complex)
    T_fortran, T_conj, diag = np.asfortranarray(T), T.conj(), np.arange(n)
    for j in range(n - 1, -1, -1):
        rhs = C[:, j] + T_conj[j, j + 1:] @ TXt[j + 1:]
        shifted = T_fortran * -T_conj[j, j]  # I - conj(T_jj) T, in LAPACK's (Fortran) order: no copy
        shifted[diag, diag] += 1
        Xt[j], _ = ztrtrs(shifted, rhs, overwrite_b=1)  # pivots of modulus >= 1 - rho^2 > 0: never singular
        TXt[j] = T @ Xt[j]
    return _symmetric((U @ Xt.T @ U.conj().T).real)


def _stein_operator(J: np.ndarray) -> np.ndarray:
    """``I - J (x) J`` (acting on row-major ``vec P``); InputError above ``KRONECKER_MAX_DIM``."""
    n = J.shape[0]
    if n > KRONECKER_MAX_DIM:
        raise InputError("dense Stein operator dimension n", n,
                         f"must be at most {KRONECKER_MAX_DIM}: I - J (x) J is n^2 x n^2 "
                         f"({8 * n ** 4 / 2 ** 30:.1f} GiB here); use discrete_lyapunov")
    return np.eye(n * n) - np.kron(J, J)


def kronecker_lyapunov(J: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Reference solve of ``P = J P J^T + Q``: ``vec P = (I - J (x) J)^{-1} vec Q`` (C15).

    O(n^6) time and O(n^4) memory, so refused (InputError) for ``n > KRONECKER_MAX_DIM``;
    hypothesis ``rho(J) < 1`` (InputError naming rho otherwise).
    """
    J, Q = _checked(J, Q)
    vec_P = np.linalg.solve(_stein_operator(J), Q.reshape(-1))
    return _symmetric(vec_P.reshape(Q.shape))


def doubling_lyapunov(J: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Reference solve of ``P = J P J^T + Q`` by Smith's doubling iteration (C15).

    ``P_{k+1} = P_k + A_k P_k A_k^T``, ``A_{k+1} = A_k^2`` from ``P_0 = Q``, ``A_0 = J`` sums
    the series ``sum_{m < 2^k} J^m Q (J^T)^m``; it stops when the added term is below
    ``DOUBLING_RTOL`` of the sum. The powers of a strongly non-normal ``J`` can grow far before
    they decay (and overflow, giving a non-finite result): a reference for moderate cases.
    Hypothesis ``rho(J) < 1`` (InputError naming rho otherwise).
    """
    J, Q = _checked(J, Q)
    P, A = Q.copy(), J.copy()
    for _ in range(DOUBLING_MAX_STEPS):
        term = A @ P @ A.T
        P = P + term
        if np.linalg.norm(term) <= DOUBLING_RTOL * np.linalg.norm(P):
            break
        A = A @ A
    return _symmetric(P)


def stein_condition(J: np.ndarray) -> float:
    """``kappa(J) = (1 + ||J||_2^2) / sigma_min(I - J (x) J)``, the relative condition of ``P = J P J^T + Q``.

    ``1 / sigma_min`` bounds the solution's response to a change of ``Q``, and ``||J||^2`` scales
    a change of ``J`` (entering as ``J P J^T``). Dense, so for ``n <= KRONECKER_MAX_DIM`` only.
    """
    J = validate.square("round transfer J", J)
    sigma_min = np.linalg.svd(_stein_operator(J), compute_uv=False)[-1]
    return float((1 + np.linalg.norm(J, 2) ** 2) / sigma_min)


def round_noise(M: np.ndarray, S: np.ndarray, i: int) -> tuple[np.ndarray, np.ndarray]:
    """``J_i`` and ``Q_i = sum_j P_{i,j} S_j P_{i,j}^T`` for the round ending at agent i.

    ``M`` (K, d, d) per-turn transfers, ``S`` (K, d, d) noise covariances; composed
    agent by agent from i+1 to i (cyclically), as :func:`closed_forms.round_map` does.
    """
    K = M.shape[0]
    j = (i + 1) % K
    J, Q = M[j], S[j]
    for k in range(2, K + 1):
        j = (i + k) % K
        J = M[j] @ J
        Q = M[j] @ Q @ M[j].T + S[j]
    return J, Q


def stationary_covariances(M: np.ndarray, S: np.ndarray) -> np.ndarray:
    """Every agent's stationary message covariance ``P_i`` (K, d, d) (C15).

    One Stein solve, for the last agent (``P_{K-1}``, the round from agent 0 to K-1); the
    others follow turn by turn, ``P_i = M_i P_{i-1} M_i^T + S_i`` (agent i's reply to the
    stationary message before it plus its own noise; C15's V1 proves that this turns the
    last agent's equation into agent i's).
    """
    M = validate.finite_array("transfers M", M, ndim=3)
    S = validate.finite_array("noise covariances S", S, ndim=3)
    if S.shape != M.shape:
        raise InputError("noise covariances S", S.shape, f"must have the transfers' shape {M.shape}")
    for k in range(S.shape[0]):
        validate.psd(f"noise covariance S[{k}]", S[k])
    K = M.shape[0]
    P = [discrete_lyapunov(*round_noise(M, S, K - 1))]
    for i in range(K - 1):
        P.append(_symmetric(M[i] @ P[-1] @ M[i].T + S[i]))
    return np.stack(P[1:] + P[:1])
