"""C5: per-direction formulas when ``K_A`` and ``K_B`` share an eigenbasis.

In that basis ``K_A = diag(a_k)``, ``K_B = diag(b_k)`` and every C2/C3 object
is diagonal; per direction k (``D = a + b - a b = 1 - (1-a)(1-b)``):

    e_A,k = (1 - a) b / D * Delta_k,   e_B,k = -(1 - b) a / D * Delta_k,
    (u* - v*)_k = -a b / D * Delta_k,  rate_k = (1 - a)(1 - b).
"""
from __future__ import annotations

import sympy as sp

from theory.core.formulas import Formula

a, b = sp.symbols("a_k b_k")
Delta_k = sp.Symbol("Delta_k")
D = a + b - a * b

gain_A = (1 - a) * b / D  # e_A,k / Delta_k
gain_B = -(1 - b) * a / D  # e_B,k / Delta_k
gain_gap = -a * b / D  # (u* - v*)_k / Delta_k
rate = (1 - a) * (1 - b)  # eigenvalue of M_A M_B in direction k

FORMULAS = [
    Formula("C5", "residual_A_k", sp.Symbol("e_{A,k}"), gain_A * Delta_k, r"A's plateau in eigen-direction $k$."),
    Formula("C5", "residual_B_k", sp.Symbol("e_{B,k}"), gain_B * Delta_k, r"B's plateau in eigen-direction $k$."),
    Formula("C5", "disagreement_k", sp.Symbol("(u^* - v^*)_k"), gain_gap * Delta_k,
            r"Gap between the two fixed points in direction $k$."),
    Formula("C5", "rate_k", sp.Symbol("lambda_k(M_A M_B)"), rate, r"Contraction factor in direction $k$."),
]
