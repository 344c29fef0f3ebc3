"""C17: K agents speaking round robin (agent i hears agent i-1, indices cyclic).

``P_{i,j} = M_i M_{i-1} ... M_{j+1}`` (``P_{i,i} = I``), ``J_i = P_{i,i+1} M_{i+1}``
(all K transfers, ending at i). Then ``(I - J_i) u_i* = sum_j P_{i,j} c_j``,
``e_i = (I - J_i)^{-1} sum_{j != i} P_{i,j} K_j (w_j* - w_i*)``, by the telescoping
identity ``sum_j P_{i,j} K_j = I - J_i``. K = 2 gives C2 and C3.

Examples
--------
>>> from theory.round_robin import k_agents
>>> k_agents.J(3, 0)
M_1*M_3*M_2
>>> k_agents.fixed_point(3, 0)
(I - M_1*M_3*M_2)**(-1)*(K_1*w^*_1 + M_1*K_3*w^*_3 + M_1*M_3*K_2*w^*_2)
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from theory.core.formulas import Formula
from theory.core.model import AgentSymbols, I, agent, definitions


@lru_cache(maxsize=None)
def agents(K: int) -> tuple[AgentSymbols, ...]:
    return tuple(agent(str(k + 1)) for k in range(K))


def P(K: int, i: int, j: int) -> sp.MatrixExpr:
    """``P_{i,j} = M_i M_{i-1} ... M_{j+1}`` (cyclic; ``P_{i,i} = I``): ``(i - j) mod K`` factors."""
    ag = agents(K)
    out = I
    for step in range((i - j) % K):  # a bounded count: no loop condition that could fail to end
        out = out * ag[(i - step) % K].M
    return out


def J(K: int, i: int) -> sp.MatrixExpr:
    """``J_i = P_{i,i+1} M_{i+1}``: the round of all K turns ending at agent i."""
    return P(K, i, i + 1) * agents(K)[(i + 1) % K].M


def telescoping_sum(K: int, i: int) -> sp.MatrixExpr:
    """``sum_j P_{i,j} K_j`` (equals ``I - J_i``)."""
    return sp.MatAdd(*[P(K, i, j) * agents(K)[j].K for j in range(K)])


def fixed_point(K: int, i: int) -> sp.MatrixExpr:
    """``u_i* = (I - J_i)^{-1} sum_j P_{i,j} c_j``."""
    ag = agents(K)
    return sp.Inverse(I - J(K, i)) * sp.MatAdd(*[P(K, i, j) * ag[j].c for j in range(K)])


def residual(K: int, i: int) -> sp.MatrixExpr:
    """``e_i = (I - J_i)^{-1} sum_{j != i} P_{i,j} K_j (w_j* - w_i*)``."""
    ag = agents(K)
    terms = [P(K, i, j) * ag[j].K * (ag[j].w_star - ag[i].w_star) for j in range(K) if j != i]
    return sp.Inverse(I - J(K, i)) * sp.MatAdd(*terms)


def defs(K: int) -> dict:
    return definitions(*agents(K))


FORMULAS = [
    Formula("C17", "fixed_point_3_agents", sp.MatrixSymbol("u^*_1", *agents(3)[0].w_star.shape), fixed_point(3, 0),
            r"Agent 1's fixed point with three agents ($1 \to 2 \to 3 \to 1$)."),
    Formula("C17", "residual_3_agents", sp.MatrixSymbol("e_1", *agents(3)[0].w_star.shape), residual(3, 0),
            "Agent 1's plateau with three agents."),
]
