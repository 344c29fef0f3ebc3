"""C15: agents with independent zero-mean output noise.

Agent i emits ``T_i(w) + eta_i`` with ``E eta_i = 0``, ``Cov eta_i = S_i``, independent
across agents and turns. The mean follows the noiseless fixed point (C2). The deviation of B's
messages from ``v*`` obeys ``v_t - v* = J_B (v_{t-1} - v*) + M_B eta_A + eta_B`` with
``J_B = M_B M_A``, so its stationary covariance (``rho(J_B) < 1``) solves the discrete
Lyapunov equation ``V_B = J_B V_B J_B^T + M_B S_A M_B^T + S_B``; symmetrically
``V_A = J_A V_A J_A^T + M_A S_B M_A^T + S_A``. With K agents in round robin
(C17 notation), one round ending at i gives
``V_i = J_i V_i J_i^T + sum_j P_{i,j} S_j P_{i,j}^T``.
"""
from __future__ import annotations

import sympy as sp

from theory.core.formulas import Formula
from theory.core.model import matrix, vector
from theory.round_robin import k_agents as ka, two_agents as ta

A, B = ta.A, ta.B
eta_A, eta_B = vector("eta_A"), vector("eta_B")
S_A, S_B = matrix("S_A"), matrix("S_B")
V_A, V_B = matrix("V_A"), matrix("V_B")  # stationary covariances (P_{i,j} is C17's transfer product)
P_A, P_B = V_A, V_B  # earlier names, kept for callers
v_prev = vector("v_{t-1}")

# One noisy round for B's messages and its deviation form (proved V1 in derivations).
v_next = B.T(A.T(v_prev) + eta_A) + eta_B
deviation_B = ta.J_B * (v_prev - ta.v_star) + B.M * eta_A + eta_B

lyapunov_rhs_B = ta.J_B * V_B * ta.J_B.T + B.M * S_A * B.M.T + S_B
lyapunov_rhs_A = ta.J_A * V_A * ta.J_A.T + A.M * S_B * A.M.T + S_A


def noise_gain(K: int, i: int, j: int) -> sp.MatrixExpr:
    """How agent j's noise reaches agent i within one round ending at i: ``P_{i,j}``."""
    return ka.P(K, i, j)


def lyapunov_rhs(K: int, i: int, P: sp.MatrixExpr, S: list) -> sp.MatrixExpr:
    """``J_i V J_i^T + sum_j P_{i,j} S_j P_{i,j}^T`` (K agents, round robin)."""
    J = ka.J(K, i)
    return sp.MatAdd(J * P * J.T, *[noise_gain(K, i, j) * S[j] * noise_gain(K, i, j).T for j in range(K)])


FORMULAS = [
    Formula("C15", "stationary_covariance_B", V_B, lyapunov_rhs_B,
            r"Stationary covariance of B's messages (discrete Lyapunov equation, $\rho(M_B M_A) < 1$)."),
    Formula("C15", "stationary_covariance_A", V_A, lyapunov_rhs_A,
            "Stationary covariance of A's messages."),
]
