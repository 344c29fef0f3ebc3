"""Stationary covariance of noisy round-robin agents (C15), solved directly.

Agent i emits ``T_i(w) + eta_i`` with ``Cov eta_i = S_i``, independent across agents
and turns. Over one round ending at agent i, the deviation of its messages from
``u_i*`` obeys ``delta <- J_i delta + sum_j P_{i,j} eta_j``, so the stationary
covariance solves ``P_i = J_i P_i J_i^T + Q_i`` with ``Q_i = sum_j P_{i,j} S_j P_{i,j}^T``.
For two agents (A first): ``P_B = J_B P_B J_B^T + M_B S_A M_B^T + S_B``. Hypothesis:
``rho < 1`` (checked). The solve is the Kronecker form
``vec P = (I - J (x) J)^{-1} vec Q``, independent of scipy and python-control
(which the registry uses as external witnesses, V8).
"""
from __future__ import annotations

import numpy as np

from numerics.dynamics.closed_forms import require_contraction
from numerics.io import validate
from numerics.io.errors import InputError


def discrete_lyapunov(J: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """The solution ``P`` of ``P = J P J^T + Q`` (``rho(J) < 1``, else InputError)."""
    J = validate.square("round transfer J", J)
    Q = validate.square("noise input Q", Q, J.shape[0])
    require_contraction(J)
    d = J.shape[0]
    vec_P = np.linalg.solve(np.eye(d * d) - np.kron(J, J), Q.reshape(-1))
    P = vec_P.reshape(d, d)
    return (P + P.T) / 2


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
    """Every agent's stationary message covariance ``P_i`` (K, d, d) (C15)."""
    M = validate.finite_array("transfers M", M, ndim=3)
    S = validate.finite_array("noise covariances S", S, ndim=3)
    if S.shape != M.shape:
        raise InputError("noise covariances S", S.shape, f"must have the transfers' shape {M.shape}")
    for k in range(S.shape[0]):
        validate.psd(f"noise covariance S[{k}]", S[k])
    return np.stack([discrete_lyapunov(*round_noise(M, S, i)) for i in range(M.shape[0])])
