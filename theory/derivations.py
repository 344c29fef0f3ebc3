"""Step-by-step derivations: chains ``E_0 = E_1 = ... = E_n`` whose every step is a V1 identity.

:func:`check` proves each consecutive pair in the free algebra (THEORY.md section 6,
V1) with the chain's definitions; a chain is printed only if every step holds.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from . import adversarial as adv
from . import algebra
from . import lsa
from . import newton_helper as nh
from . import two_agents as ta
from .model import I

A, B = ta.A, ta.B


@dataclass(frozen=True)
class Chain:
    claim: str
    title: str
    steps: tuple  # ((expr, why), ...): why explains the step from the previous expression
    definitions: dict


@dataclass(frozen=True)
class StepCheck:
    index: int
    method: str
    holds: bool
    residual: str


def check(chain: Chain) -> list[StepCheck]:
    out = []
    for i in range(1, len(chain.steps)):
        proof = algebra.prove(chain.steps[i - 1][0], chain.steps[i][0], (), chain.definitions)
        out.append(StepCheck(i, "V1", proof.holds, sp.sstr(proof.residual)))
    return out


D = ta.DEFINITIONS
e_A_sym = sp.MatrixSymbol("e_A", *A.w_star.shape)
CHAINS = [
    Chain("C1", "One round of A's messages", (
        (A.T(B.T(ta.u)), "A answers B, who answered u_t"),
        (A.M * (B.M * ta.u + B.c) + A.c, "T_i(w) = M_i w + c_i"),
        (ta.round_map_u_expanded, "expand"),
    ), D),
    Chain("C2", "The fixed point is a fixed point of the round map", (
        (A.T(B.T(ta.u_star)), "one round from u*"),
        (ta.J_A * ta.u_star + A.M * B.c + A.c, "C1 round map"),
        (ta.u_star, "(I - M_A M_B) u* = M_A c_B + c_A"),
    ), D),
    Chain("C3", "A's plateau is linear in the gap", (
        (ta.u_star - A.w_star, "e_A = u* - w_A*"),
        (sp.Inverse(I - ta.J_A) * (A.M * B.K * B.w_star + A.K * A.w_star - (I - ta.J_A) * A.w_star),
         "c_i = K_i w_i*; w_A* = (I - M_A M_B)^{-1}(I - M_A M_B) w_A*"),
        (sp.Inverse(I - ta.J_A) * A.M * B.K * (B.w_star - A.w_star), "K_A - I + M_A M_B = -M_A K_B"),
        (ta.G_A * ta.Delta, "G_A = (I - M_A M_B)^{-1} M_A K_B"),
    ), D),
    Chain("C8", "A is exact iff M_A K_B Delta = 0", (
        ((I - ta.J_A) * ta.e_A, "(I - M_A M_B) e_A"),
        (A.M * B.K * ta.Delta, "C3: e_A = (I - M_A M_B)^{-1} M_A K_B Delta"),
    ), D),
    Chain("C9", "The full-rank prompt makes A exact", (
        (adv.K_A_full_rank, "K_A = Gamma_A H_A, Gamma_A = (Gamma^{-1/2} Gamma^{-1/2})^{-1}, H_A = Gamma^{-1/2} U^T U Gamma^{-1/2}"),
        (I, "U^T U = I"),
    ), D),
    Chain("C11", "Steering the victim to p with w_A* = M_B^{-1}(p - K_B w_B*)", (
        (adv.v_star_exact_attacker.xreplace({A.w_star: adv.w_A_steer}), "C2 with M_A = 0, K_A = I"),
        (B.M * adv.w_A_steer + B.K * B.w_star, "v* = M_B w_A* + K_B w_B*"),
        (adv.p, "M_B M_B^{-1} = I"),
    ), D),
    Chain("C12", "The oracle Newton helper removes the plateau", (
        (nh.newton_error_next, "u_{t+1} - w_A* = T_A(n_t) - w_A*"),
        (A.M * nh.newton_message + A.K * A.w_star - A.w_star, "T_A(n) = M_A n + K_A w_A*"),
        (A.M * (nh.newton_message - A.w_star), "K_A - I = -M_A"),
        (nh.newton_error_rate, "n_t - w_A* = (1 - alpha)(u_t - w_A*)"),
    ), D),
    Chain("C13", "The inexact Newton helper", (
        (nh.inexact_error_next, "u_{t+1} - w_A* = T_A(n_t) - w_A*"),
        (A.M * (nh.inexact_message - A.w_star), "K_A - I = -M_A"),
        (nh.inexact_error_rate, "n_t - w_A* = (I - alpha Hhat^{-1} H_A)(u_t - w_A*)"),
    ), D),
    Chain("L1", "The LSA read-out with GD weights", (
        (lsa.gd_readout, "Q[:, :d]^T C p / N, blocks collapsed"),
        (lsa.Gamma * lsa.X.T * (lsa.y - lsa.X * lsa.w) / lsa.N, "r = y - X w"),
        (lsa.gd_step, "H = X^T X / N, b = X^T y / N"),
    ), lsa.DEFINITIONS),
    Chain("L1b", "The LSA read-out with general weights", (
        (lsa.general_readout, "Q[:, :d]^T C p / N, blocks collapsed"),
        (lsa.general_expansion, "H = X^T X / N, b = X^T y / N, r = y - X w"),
    ), lsa.DEFINITIONS),
]


def chains_for(claim: str) -> list[Chain]:
    return [c for c in CHAINS if c.claim == claim]
