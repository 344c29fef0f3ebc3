"""Step-by-step derivations: chains ``E_0 = E_1 = ... = E_n`` whose every step is a checked identity.

:func:`check` proves each consecutive pair by the chain's method (docs/theory.rst):
V1 in the free algebra with the chain's definitions; V2 with explicit fully symbolic
matrices (``explicit(dim)`` gives them) for each dimension in ``dims``; V3 as a
commutative (scalar) identity. A chain is printed only if every step holds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy as sp

from . import adversarial as adv
from . import algebra
from . import fitting
from . import k_agents as ka
from . import lsa
from . import newton_helper as nh
from . import noisy
from . import per_direction as pd
from . import steps
from . import two_agents as ta
from .model import I, evaluate, matrix, vector

A, B = ta.A, ta.B


@dataclass(frozen=True)
class Chain:
    claim: str
    title: str
    steps: tuple  # ((expr, why), ...): why explains the step from the previous expression
    definitions: dict
    method: str = "V1"
    # V2 only: dim -> ({MatrixSymbol name: explicit Matrix}, {scalar Symbol: value}).
    explicit: Callable[[int], tuple[dict, dict]] | None = None
    dims: tuple[int, ...] = (2,)


@dataclass(frozen=True)
class StepCheck:
    index: int
    method: str
    holds: bool
    residual: str


def _v2_residual(chain: Chain, lhs, rhs) -> sp.Expr:
    """The first nonzero entry of ``lhs - rhs`` over the explicit dimensions (0 if none)."""
    for dim in chain.dims:
        matrices, scalars = chain.explicit(dim)
        diff = sp.Matrix(evaluate(lhs, matrices)) - sp.Matrix(evaluate(rhs, matrices))
        for entry in diff.xreplace(scalars):
            entry = sp.simplify(entry)
            if entry != 0:
                return entry
    return sp.Integer(0)


def check(chain: Chain) -> list[StepCheck]:
    out = []
    for i in range(1, len(chain.steps)):
        lhs, rhs = chain.steps[i - 1][0], chain.steps[i][0]
        if chain.method == "V1":
            residual = algebra.prove(lhs, rhs, (), chain.definitions).residual
        elif chain.method == "V2":
            residual = _v2_residual(chain, lhs, rhs)
        elif chain.method == "V3":
            residual = sp.simplify(sp.cancel(lhs - rhs))
        else:
            raise ValueError(f"unknown derivation method {chain.method!r} (expected V1, V2 or V3)")
        method = f"V2, d = {', '.join(map(str, chain.dims))}" if chain.method == "V2" else chain.method
        out.append(StepCheck(i, method, residual == 0, sp.sstr(residual)))
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
        (adv.K_A_full_rank, "K_A = Gamma_A H_A, H_A = R U^T U R, R = Gamma_A^{-1/2}"),
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

# Symbols local to single chains.
s_scale, r, theta = sp.symbols("s r theta", real=True)
Gamma = matrix("Gamma")  # C6: one SPD preconditioner shared by both agents
g = vector("g")  # C10: g = K_B Delta
x = vector("x")  # C10: the repeated prompt row
q = sp.Symbol("q", positive=True)  # C10: q = g^T Gamma_A^{-1} g
S_B_steps = matrix("M_B^{s_B}")  # C16: stands for M_B^{s_B} in the free algebra
gamma = sp.Symbol("gamma", positive=True)  # L2: a scalar preconditioner in d = 1
R_1d = lsa.risk(sp.Matrix([[gamma]]), sp.Matrix([[lsa.s_1]]))
EHH_1d = (lsa.Ns + 2) / lsa.Ns * lsa.s_1**2  # E[Hhat^2] in d = 1 from the fourth moment


def _rank_one_explicit(dim: int) -> tuple[dict, dict]:
    """C10 at dimension ``dim``: symmetric Gamma_A, generic g, x = Gamma_A^{-1} g / sqrt(q)."""
    G = sp.Matrix(dim, dim, lambda i, j: sp.Symbol(f"gamma_{min(i, j)}{max(i, j)}"))
    gv = sp.Matrix(dim, 1, lambda i, j: sp.Symbol(f"g_{i}"))
    Ginv = G.adjugate() / G.det()
    q_value = (gv.T * Ginv * gv)[0, 0]
    return {A.Gamma.name: G, g.name: gv, x.name: Ginv * gv / sp.sqrt(q)}, {q: q_value}


CHAINS += [
    Chain("C4", "The plateau is linear in the gap", (
        (ta.G_A * (s_scale * ta.Delta), "e_A(s Delta) = G_A (s Delta)"),
        (s_scale * ta.e_A, "so ||e_A(s Delta)|| = |s| ||e_A(Delta)||, and Delta = 0 gives e_A = 0"),
    ), D),
    Chain("C4", "The gap for targets of equal norm r at angle theta", (
        (2 * r**2 - 2 * r**2 * sp.cos(theta), "||w_B* - w_A*||^2 = r^2 + r^2 - 2 r^2 cos theta"),
        (4 * r**2 * sp.sin(theta / 2)**2, "1 - cos theta = 2 sin^2(theta/2), increasing on [0, pi]"),
    ), {}, method="V3"),
    Chain("C5", "A's plateau in a shared eigen-direction", (
        ((1 - (1 - pd.a) * (1 - pd.b))**-1 * (1 - pd.a) * pd.b * pd.Delta_k,
         "C3 per direction: M_A -> 1 - a_k, K_B -> b_k"),
        (pd.gain_A * pd.Delta_k, "1 - (1 - a)(1 - b) = a + b - a b"),
    ), {}, method="V3"),
    Chain("C5", "The disagreement in a shared eigen-direction", (
        (pd.gain_A * pd.Delta_k - pd.gain_B * pd.Delta_k - pd.Delta_k,
         "u* - v* = (w_A* + e_A) - (w_B* + e_B) = e_A - e_B - Delta"),
        (pd.gain_gap * pd.Delta_k, "(1 - a) b + (1 - b) a - (a + b - a b) = -a b"),
    ), {}, method="V3"),
    Chain("C6", "With one shared preconditioner, M_i is self-adjoint in the Gamma^{-1} inner product", (
        (sp.Inverse(Gamma) * (I - Gamma * A.H), "Gamma^{-1} M_A with M_A = I - Gamma H_A"),
        (sp.Inverse(Gamma) - A.H, "expand"),
        ((I - Gamma * A.H).T * sp.Inverse(Gamma), "= M_A^T Gamma^{-1}, as Gamma^T = Gamma and H_A^T = H_A"),
    ), {"Gamma^T": Gamma, "H_A^T": A.H}),
    Chain("C7", "Induction on the steps per turn", (
        (A.T(steps.T_s), "one more step after s steps: T_A(M_A^s w + (I - M_A^s) w_A*)"),
        (A.M * steps.S_A * steps.w + (A.M - A.M * steps.S_A + A.K) * A.w_star, "T_A(w) = M_A w + K_A w_A*"),
        (steps.T_s_plus_1, "K_A = I - M_A: s + 1 steps"),
    ), D),
    Chain("C10", "The rank-one prompt fixes g = K_B Delta", (
        (A.Gamma * x * x.T * g, "K_A g = Gamma_A H_A g with H_A = x x^T (every row of X_A is x)"),
        (A.Gamma * sp.Inverse(A.Gamma) * g * g.T * sp.Inverse(A.Gamma) * g / q,
         "x = Gamma_A^{-1} g / sqrt(q), q = g^T Gamma_A^{-1} g, Gamma_A symmetric"),
        (g, "g^T Gamma_A^{-1} g = q; so M_A K_B Delta = (I - K_A) g = 0"),
    ), {}, method="V2", explicit=_rank_one_explicit, dims=(2, 3)),
    Chain("C14", "The identified target makes A exact", (
        (A.T(sp.Inverse(A.K) * A.c), "A answers the helper's message K_A^{-1} c_A (fitted from d + 1 probes)"),
        (A.M * A.w_star + A.K * A.w_star, "K_A^{-1} c_A = K_A^{-1} K_A w_A* = w_A*"),
        (A.w_star, "M_A + K_A = I: A's message is its target"),
    ), D),
    Chain("C14b", "The residual Broyden's method drives to zero is linear", (
        (A.T(ta.u) - ta.u, "F(v) = T_A(v) - v"),
        (-A.K * (ta.u - A.w_star), "M_A - I = -K_A, c_A = K_A w_A*"),
    ), D),
    Chain("C15", "Deviation of B's noisy messages", (
        (noisy.v_next - ta.v_star, "v_t - v* with v_t = T_B(T_A(v_{t-1}) + eta_A) + eta_B"),
        (ta.J_B * noisy.v_prev + B.M * A.c + B.c + B.M * noisy.eta_A + noisy.eta_B - ta.v_star, "expand"),
        (noisy.deviation_B, "(I - M_B M_A) v* = M_B c_A + c_B; then P_B = J_B P_B J_B^T + M_B S_A M_B^T + S_B"),
    ), D),
    Chain("C16", "B's plateau against an exact attacker, s_B steps per turn", (
        (-sp.Inverse(I - S_B_steps * adv.Zero) * S_B_steps * I * ta.Delta,
         "C3 with M_A = 0, K_A = I and M_B -> M_B^{s_B} (C7)"),
        (-S_B_steps * ta.Delta, "so ||e_B|| <= ||M_B^{s_B}|| ||Delta||"),
    ), D),
    Chain("C17", "The telescoping identity, three agents, ending at agent 1", (
        (ka.telescoping_sum(3, 0), "sum_j P_{1,j} K_j"),
        (I - ka.J(3, 0), "K_j = I - M_j: consecutive terms cancel"),
    ), ka.defs(3)),
    Chain("C18", "Least squares recovers an exact affine agent", (
        (fitting.Theta * fitting.Z * fitting.Z.T * sp.Inverse(fitting.Z * fitting.Z.T),
         "[Mhat | chat] = Y Z^T (Z Z^T)^{-1} with Y = [M | c] Z"),
        (fitting.Theta, "Z Z^T invertible: d + 1 affinely independent messages"),
    ), {}),
    Chain("L2", "Stationarity of the risk in d = 1", (
        (sp.diff(R_1d, gamma), "dR/dGamma with Sigma = s, from the risk of section 1"),
        (2 * lsa.tau**2 * lsa.s_1 * (gamma * EHH_1d - lsa.s_1) + 2 * lsa.sigma**2 / lsa.Ns * gamma * lsa.s_1**2,
         "E[Hhat^2] = ((N+1)/N) s^2 + s^2/N"),
        (2 * lsa.s_1**2 * ((lsa.Ns + 2) * lsa.tau**2 * lsa.s_1 + lsa.sigma**2) / lsa.Ns
         * (gamma - lsa.gamma_star_1d), "zero only at Gamma*, and R is convex in Gamma"),
    ), {}, method="V3"),
]


def chains_for(claim: str) -> list[Chain]:
    return [c for c in CHAINS if c.claim == claim]
