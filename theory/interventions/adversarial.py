"""Adversarial regime (docs/theory.rst): C8, C9, C10, C11, C16.

C8: with ``I - M_A M_B`` invertible, ``e_A = 0`` iff ``M_A K_B Delta = 0``; then
``e_B = -M_B Delta``. C9: a full-rank prompt ``X_A = sqrt(N) U Gamma_A^{-1/2}``
makes ``K_A = I``. C10: a rank-one prompt with rows ``x = Gamma_A^{-1} g /
sqrt(g^T Gamma_A^{-1} g)``, ``g = K_B Delta``, makes ``K_A g = g``. C11: with
``M_A = 0``, ``v* = M_B w_A* + K_B w_B*``, and ``w_A* = M_B^{-1}(p - K_B w_B*)``
puts B's equilibrium at ``p``.
"""
from __future__ import annotations

import sympy as sp

from theory.core.formulas import Formula
from theory.core.model import I, matrix, vector
from theory.round_robin import two_agents as ta

A, B = ta.A, ta.B
Zero = sp.ZeroMatrix(*A.M.shape)

# C8: the cleared plateau equation and the e_B consequence.
attack_condition = A.M * B.K * ta.Delta  # e_A = 0 iff this is 0
e_B_when_A_exact = -B.M * ta.Delta

# C9: Gamma_A^{-1/2} as a symbol R with Gamma_A = (R R)^{-1}; U^T U = I.
R = matrix("\\Gamma_{A}^{-1/2}")
# The prompt itself, for V1: X_A = sqrt(N) U R with U (N x d) of orthonormal columns; then
# H_A = X_A^T X_A / N and b_A = X_A^T y_A / N with y_A = X_A w_A*.
N_prompt = sp.Symbol("N", integer=True, positive=True)
U = sp.MatrixSymbol("U", N_prompt, A.M.shape[0])
X_full_rank = sp.sqrt(N_prompt) * U * R
H_from_prompt = X_full_rank.T * X_full_rank / N_prompt
b_from_prompt = X_full_rank.T * (X_full_rank * A.w_star) / N_prompt

# C11: steering with an exact attacker (M_A = 0, K_A = I).
p = vector("p")
v_star_exact_attacker = ta.v_star.xreplace({A.M: Zero, A.K: I})
w_A_steer = sp.Inverse(B.M) * (p - B.K * B.w_star)

FORMULAS = [
    Formula("C8", "attack_condition", (I - ta.J_A) * sp.MatrixSymbol("e_A", *A.w_star.shape), attack_condition,
            r"A is exact ($e_A = 0$) iff $M_A K_B \aadDelta = 0$ ($I - M_A M_B$ invertible)."),
    Formula("C8", "victim_residual", sp.MatrixSymbol("e_B", *A.w_star.shape), e_B_when_A_exact,
            "B's plateau against an exact attacker."),
    Formula("C9", "full_rank_prompt", matrix("X_A"), sp.sqrt(sp.Symbol("N")) * matrix("U") * R,
            r"Full-rank attack prompt ($U$ has orthonormal columns); gives $K_A = I$."),
    Formula("C11", "steering_target", sp.MatrixSymbol("w^*_A", *A.w_star.shape), w_A_steer,
            r"Attacker's target that puts B's equilibrium at $p$."),
    Formula("C16", "victim_residual_s_steps", sp.MatrixSymbol("e_B", *A.w_star.shape),
            -B.M ** sp.Symbol("s_B") * ta.Delta,
            r"B's plateau against an exact attacker with $s_B$ steps per turn: "
            r"$\|e_B\| \le \|M_B^{s_B}\| \, \|\aadDelta\|$."),
]
