"""C7: s steps per turn replace ``M_i`` by ``M_i^s`` and ``K_i`` by ``I - M_i^s``.

``T_i^s(w) = M_i^s w + (I - M_i^s) w_i*``; the induction step is
``T_i(M_i^s w + (I - M_i^s) w_i*) = M_i^{s+1} w + (I - M_i^{s+1}) w_i*``.
As ``s_A -> infinity`` (``rho(M_A) < 1``): ``M_A^s -> 0``, so ``e_A -> 0`` and
``e_B -> -M_B Delta``.
"""
from __future__ import annotations

import sympy as sp

from theory.core.formulas import Formula
from theory.core.model import I, vector
from theory.round_robin import two_agents as ta

A = ta.A
w = vector("w")
S_A = sp.MatrixSymbol("M_A^s", *A.M.shape)  # stands for M_A^s in the free algebra

T_s = S_A * w + (I - S_A) * A.w_star  # s steps
T_s_plus_1 = (A.M * S_A) * w + (I - A.M * S_A) * A.w_star  # s + 1 steps

# The s_A -> infinity limit: substitute M_A -> 0 (hence K_A -> I) in the C3 maps.
e_A_limit = ta.e_A.xreplace({A.M: sp.ZeroMatrix(*A.M.shape), A.K: I})
e_B_limit = ta.e_B.xreplace({A.M: sp.ZeroMatrix(*A.M.shape), A.K: I})

FORMULAS = [
    Formula("C7", "s_steps", sp.MatrixSymbol("T_A^s(w)", *w.shape), A.M**sp.Symbol("s") * w
            + (I - A.M**sp.Symbol("s")) * A.w_star, r"$s$ preconditioned GD steps per turn."),
    Formula("C7", "limit_residual_B", sp.MatrixSymbol("e_B^(s_A -> oo)", *w.shape), -ta.B.M * ta.Delta,
            "B's plateau when A takes infinitely many steps per turn."),
]
