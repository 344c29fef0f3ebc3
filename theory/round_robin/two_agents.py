"""Two agents with fixed objectives (docs/theory.rst): C1, C2, C3, C4, C7.

All objects are SymPy matrix expressions in the agents' ``M``, ``K`` and
``w_star``; ``Delta = w_B* - w_A*``. Agent A speaks first.

Examples
--------
>>> from theory.round_robin import two_agents
>>> two_agents.u_star
(I - M_A*M_B)**(-1)*(K_A*w^*_A + M_A*K_B*w^*_B)
>>> two_agents.e_A
(I - M_A*M_B)**(-1)*M_A*K_B*(-w^*_A + w^*_B)
"""
from __future__ import annotations

import sympy as sp

from theory.core.formulas import Formula
from theory.core.model import I, agent, vector

A = agent("A")
B = agent("B")
u = vector("u_t")  # A's message at round t
v = vector("v_t")  # B's message at round t
Delta = B.w_star - A.w_star

# C1: one round is the composition of the two turns.
round_map_u = A.T(B.T(u))  # u_{t+1} = T_A(T_B(u_t))
round_map_u_expanded = A.M * B.M * u + A.M * B.c + A.c
round_map_v = B.T(A.T(v))
round_map_v_expanded = B.M * A.M * v + B.M * A.c + B.c
J_A = A.M * B.M  # rho(J_A) = rho(J_B) is the contraction rate
J_B = B.M * A.M

# C2: fixed points.
u_star = sp.Inverse(I - J_A) * (A.M * B.c + A.c)
v_star = sp.Inverse(I - J_B) * (B.M * A.c + B.c)

# C3: residual (bias) maps and errors.
G_A = sp.Inverse(I - J_A) * A.M * B.K
G_B = sp.Inverse(I - J_B) * B.M * A.K
e_A = G_A * Delta
e_B = -G_B * Delta

DEFINITIONS = {**A.definitions, **B.definitions}
AGENTS = (A, B)

FORMULAS = [
    Formula("C1", "round_map_A", vector("u_{t+1}"), round_map_u_expanded,
            "A's message after one round (B then A)."),
    Formula("C1", "round_map_B", sp.MatrixSymbol("v_{t}", *v.shape),
            round_map_v_expanded.xreplace({v: vector("v_{t-1}")}),
            "B's message after one round (A then B)."),
    Formula("C2", "fixed_point_A", sp.MatrixSymbol("u^*", *u.shape), u_star, "A's fixed point."),
    Formula("C2", "fixed_point_B", sp.MatrixSymbol("v^*", *v.shape), v_star, "B's fixed point."),
    Formula("C3", "bias_map_A", sp.MatrixSymbol("G_A", *A.M.shape), G_A, "A's residual (bias) map."),
    Formula("C3", "bias_map_B", sp.MatrixSymbol("G_B", *B.M.shape), G_B, "B's residual (bias) map."),
    Formula("C3", "residual_A", sp.MatrixSymbol("e_A", *u.shape), e_A, r"A's plateau $u^* - w_A^*$."),
    Formula("C3", "residual_B", sp.MatrixSymbol("e_B", *u.shape), e_B, r"B's plateau $v^* - w_B^*$."),
]
