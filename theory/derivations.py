"""Step-by-step derivations: chains ``E_0 = E_1 = ... = E_n`` whose every step is a checked identity.

:func:`check` proves each consecutive pair by the chain's method (docs/theory.rst):
V1 in the free algebra with the chain's definitions; V2 with explicit fully symbolic
matrices (``explicit(dim)`` gives them) for each dimension in ``dims``; V3 as a
commutative (scalar) identity. A chain is printed only if every step holds.

:data:`FORMULAS` registers the formulas read off chains (a chain's first and last expression:
C4, C6, C10, C14, P1-P3, P5), C1's rate and P4's plateau equation with a symbolic anchoring weight
:data:`ANCHOR` (omega); :func:`chain_of` names the chain each was read off. The protocol chains P2 and
P3 are shown from a left-hand side (:func:`_from_left_side`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import sympy as sp

from theory.core import algebra
from theory.core.model import I, evaluate, matrix, vector
from theory.interventions import adversarial as adv, newton_helper as nh
from theory.lsa import agent as lsa
from theory.round_robin import k_agents as ka, per_direction as pd, steps, two_agents as ta
from theory.stochastic import fitting, noisy

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
    justified: tuple = ()  # V1: (inverted factor, the hypothesis of HYPOTHESES that makes it invertible)


def _v2_residual(chain: Chain, lhs, rhs) -> sp.Expr:
    """The first nonzero entry of ``lhs - rhs`` over the explicit dimensions (0 if none)."""
    if chain.explicit is None:
        raise ValueError(f"{chain.claim} ({chain.title}): a V2 chain needs explicit(dim)")
    for dim in chain.dims:
        matrices, scalars = chain.explicit(dim)
        diff = sp.Matrix(evaluate(lhs, matrices)) - sp.Matrix(evaluate(rhs, matrices))
        for entry in diff.xreplace(scalars):
            entry = sp.simplify(entry)
            if entry != 0:
                return entry
    return sp.Integer(0)


def check(chain: Chain) -> list[StepCheck]:
    """Each step's check. V1 steps: every inverse in the step must be a factor that one of the
    claim's hypotheses (:data:`HYPOTHESES`) makes invertible, else the step does not hold."""
    out = []
    for i in range(1, len(chain.steps)):
        lhs, rhs = chain.steps[i - 1][0], chain.steps[i][0]
        justified: tuple[tuple[str, str], ...] = ()
        if chain.method == "V1":
            try:
                proof = algebra.prove(_block_free(lhs), _block_free(rhs), (), chain.definitions,
                                      hypotheses(chain.claim))
            except algebra.NotJustified as exc:
                out.append(StepCheck(i, chain.method, False, f"not justified: {exc}"))
                continue
            residual, justified = proof.residual, proof.justified
        elif chain.method == "V2":
            residual = _v2_residual(chain, lhs, rhs)
        elif chain.method == "V3":
            residual = sp.simplify(sp.cancel(lhs - rhs))
        else:
            raise ValueError(f"unknown derivation method {chain.method!r} (expected V1, V2 or V3)")
        method = f"V2, d = {', '.join(map(str, chain.dims))}" if chain.method == "V2" else chain.method
        out.append(StepCheck(i, method, residual == 0, sp.sstr(residual), justified))
    return out


def hypotheses(claim: str) -> dict:
    """``{hypothesis: factors}``: the factors the claim's hypotheses make invertible (see HYPOTHESES)."""
    return HYPOTHESES.get(claim, {})


D = ta.DEFINITIONS
Zero = sp.ZeroMatrix(*A.M.shape)
v_msg = vector("v_t")  # B's message that A answers
u_star, v_star = sp.MatrixSymbol("u^*", *A.w_star.shape), sp.MatrixSymbol("v^*", *A.w_star.shape)
e_A, e_B = sp.MatrixSymbol("e_A", *A.w_star.shape), sp.MatrixSymbol("e_B", *A.w_star.shape)
G_A = matrix("G_A")
J_B = matrix("J_B")
n_t = vector("n_t")  # the helper's message
w_hat = vector("what^*")  # the helper's identified target
v = vector("v")
v_prev = vector("v_{t-1}")


def unevaluated(*factors) -> sp.MatMul:
    """A product kept as written (SymPy would cancel ``X X^{-1}`` on construction)."""
    return sp.MatMul(*factors, evaluate=False)


CHAINS = [
    Chain("C1", "One round of A's messages", (
        (A.M * v_msg + A.c, r"$u_{t+1} = T_A(v_t) = M_A v_t + c_A$ with $c_A = K_A w_A^*$"),
        (A.M * (B.M * ta.u + B.c) + A.c, r"B answered $u_t$: $v_t = T_B(u_t) = M_B u_t + K_B w_B^*$"),
        (ta.round_map_u_expanded, "expand"),
    ), {**D, "v_t": B.T(ta.u)}),
    Chain("C2", "The fixed point is a fixed point of the round map", (
        (A.M * (B.M * u_star + B.c) + A.c, r"one round from $u^*$: $T_A(T_B(u^*))$"),
        (ta.J_A * u_star + A.M * B.c + A.c, "expand (the round map of C1)"),
        (u_star - (I - ta.J_A) * u_star + A.M * B.c + A.c, r"$M_A M_B u^* = u^* - (I - M_A M_B) u^*$"),
        (u_star, r"$(I - M_A M_B)\, u^* = M_A K_B w_B^* + K_A w_A^*$, the definition of $u^*$"),
    ), {**D, "u^*": ta.u_star}),
    Chain("C3", "A's plateau is linear in the gap", (
        (u_star - A.w_star, r"the definition $e_A = u^* - w_A^*$"),
        (ta.u_star - A.w_star, r"$u^*$ from C2"),
        (sp.Inverse(I - ta.J_A) * (A.M * B.K * B.w_star + A.K * A.w_star - (I - ta.J_A) * A.w_star),
         r"$w_A^* = (I - M_A M_B)^{-1} (I - M_A M_B)\, w_A^*$"),
        (sp.Inverse(I - ta.J_A) * A.M * B.K * ta.Delta, r"$K_A - (I - M_A M_B) = -M_A K_B$"),
        (G_A * ta.Delta, r"$G_A = (I - M_A M_B)^{-1} M_A K_B$"),
    ), {**D, "u^*": ta.u_star, "G_A": ta.G_A}),
    Chain("C8", r"A is exact iff $M_A K_B \aadDelta = 0$", (
        ((I - ta.J_A) * e_A, r"multiply $e_A$ by the invertible $I - M_A M_B$"),
        (unevaluated(I - ta.J_A, sp.Inverse(I - ta.J_A), A.M, B.K, ta.Delta), r"C3: $e_A = G_A \aadDelta$"),
        (A.M * B.K * ta.Delta, r"so $e_A = 0$ exactly when $M_A K_B \aadDelta = 0$"),
    ), {**D, "e_A": ta.e_A}),
    Chain("C11", r"Steering the victim to $p$", (
        (ta.v_star, r"C2: B's fixed point $v^*$"),
        (B.M * A.w_star + B.K * B.w_star, r"exact attacker: $M_A = 0$, $K_A = I$"),
        (sp.MatAdd(unevaluated(B.M, sp.Inverse(B.M), adv.p - B.K * B.w_star), B.K * B.w_star),
         r"the attacker's target $w_A^* = M_B^{-1} (p - K_B w_B^*)$"),
        (adv.p, r"$M_B M_B^{-1} = I$: B settles at $p$"),
    ), {**D, "M_A": Zero, "K_A": I, "w^*_A": adv.w_A_steer}),
    Chain("C12", "The oracle Newton helper removes the plateau", (
        (A.M * n_t + A.c - A.w_star, r"$u_{t+1} - w_A^*$ with $u_{t+1} = T_A(n_t)$"),
        (A.M * (n_t - A.w_star), r"$K_A - I = -M_A$"),
        (A.M * (nh.newton_message - A.w_star), r"the Newton message $n_t = u_t - \alpha (u_t - w_A^*)$"),
        (nh.newton_error_rate, r"collect $u_t - w_A^*$"),
    ), {**D, "n_t": nh.newton_message}),
    Chain("C13", "The inexact Newton helper", (
        (A.M * n_t + A.c - A.w_star, r"$u_{t+1} - w_A^*$ with $u_{t+1} = T_A(n_t)$"),
        (A.M * (n_t - A.w_star), r"$K_A - I = -M_A$"),
        (A.M * (nh.inexact_message - A.w_star),
         r"the inexact Newton message $n_t = u_t - \alpha \hat{H}^{-1} H_A (u_t - w_A^*)$"),
        (nh.inexact_error_rate, r"collect $u_t - w_A^*$"),
    ), {**D, "n_t": nh.inexact_message}),
    Chain("L1", "The LSA read-out with GD weights", (
        (lsa.block_form(lsa.GD_Q, lsa.GD_P),
         r"read-out on the $d$ basis queries: $\frac{1}{N} Q_{:,1:d}^{T} Z^{T} Z\, \nu$ with "
         r"$Z = [X \; r]$, $\nu = (0, \dots, 0, 1)$, $Q = \mathrm{diag}(\Gamma^{T}, 0)$"),
        (sp.MatMul(1 / lsa.N, lsa.Gamma, lsa.X.T, lsa.r_sym), "block multiplication"),
        (lsa.Gamma * lsa.X.T * (lsa.y - lsa.X * lsa.w) / lsa.N, r"$r = y - X w$"),
        (lsa.gd_step, r"$H = X^{T} X / N$, $b = X^{T} y / N$"),
    ), lsa.DEFINITIONS),
    Chain("L1b", "The LSA read-out with general weights", (
        (lsa.block_form(lsa.GENERAL_Q, lsa.GENERAL_P),
         r"read-out with $\nu = (\nu_x, \nu_y)$ and $Q_{:,1:d} = [Q_{xx};\, q_{yx}^{T}]$"),
        (sp.block_collapse(lsa.block_form(lsa.GENERAL_Q, lsa.GENERAL_P)), "block multiplication"),
        (lsa.general_expansion, r"$X^{T} X = N H$ and $X^{T} r = N (b - H w)$"),
    ), lsa.DEFINITIONS),
]

# Symbols local to single chains.
s_scale, r, theta = sp.symbols("s ell theta", real=True)  # C4: r is printed ell (r means residuals)
Gamma = matrix("Gamma")  # C6: one SPD preconditioner shared by both agents
g = vector("g")  # C10: g = K_B Delta
x = vector("x")  # C10: the repeated prompt row
q = sp.Symbol("kappa", positive=True)  # C10: kappa = g^T Gamma_A^{-1} g (q is the LSA weight q_yx)
S_B_steps = matrix("M_B^{s_B}")  # C16: stands for M_B^{s_B} in the free algebra
gamma = sp.Symbol("gamma", positive=True)  # L2: a scalar preconditioner in d = 1
R_1d = lsa.risk(sp.Matrix([[gamma]]), sp.Matrix([[lsa.s_1]]))
EHH_1d = (lsa.Ns + 2) / lsa.Ns * lsa.s_1**2  # E[Hhat^2] in d = 1 from the fourth moment
N_prompt = sp.Symbol("N", positive=True)  # C9: prompt length (N = d here)
U, X_A = matrix("U"), matrix("X_A")  # C9


def _rank_one_explicit(dim: int) -> tuple[dict, dict]:
    """C10 at dimension ``dim``: symmetric Gamma_A, generic g, x = Gamma_A^{-1} g / sqrt(q)."""
    G = sp.Matrix(dim, dim, lambda i, j: sp.Symbol(f"gamma_{min(i, j)}{max(i, j)}"))
    gv = sp.Matrix(dim, 1, lambda i, j: sp.Symbol(f"g_{i}"))
    Ginv = G.adjugate() / G.det()
    q_value = (gv.T * Ginv * gv)[0, 0]
    return {A.Gamma.name: G, g.name: gv, x.name: Ginv * gv / sp.sqrt(q)}, {q: q_value}


def _full_rank_explicit(dim: int) -> tuple[dict, dict]:
    """C9 at d = N = 2: symmetric R = Gamma_A^{-1/2}, Gamma_A = (R R)^{-1}, U a rotation (Cayley form)."""
    if dim != 2:
        raise ValueError("the C9 chain is checked at d = 2")
    Rm = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"r_{min(i, j)}{max(i, j)}"))
    t = sp.Symbol("t", real=True)
    Um = sp.Matrix([[1 - t**2, -2 * t], [2 * t, 1 - t**2]]) / (1 + t**2)  # U^T U = I
    Xm = sp.sqrt(N_prompt) * Um * Rm
    return {A.Gamma.name: (Rm * Rm).inv(), adv.R.name: Rm, U.name: Um, X_A.name: Xm,
            A.H.name: Xm.T * Xm / N_prompt}, {}


def _block_free(expr):
    """Block products are multiplied out (SymPy's block_collapse) before a V1 proof."""
    return sp.block_collapse(expr) if expr.has(sp.BlockMatrix) else expr


CHAINS += [
    Chain("C9", "The full-rank prompt makes A exact", (
        (A.Gamma * A.H, r"the definition $K_A = \Gamma_A H_A$"),
        (A.Gamma * X_A.T * X_A / N_prompt, r"$H_A = X_A^{T} X_A / N$"),
        (A.Gamma * adv.R * U.T * U * adv.R, r"$X_A = \sqrt{N}\, U \Gamma_A^{-1/2}$"),
        (unevaluated(A.Gamma, adv.R, adv.R), r"$U^{T} U = I$ (orthonormal columns)"),
        (I, r"$\Gamma_A^{-1/2} \Gamma_A^{-1/2} = \Gamma_A^{-1}$; so $M_A = 0$ and $\rho(M_A M_B) = 0$"),
    ), {}, method="V2", explicit=_full_rank_explicit, dims=(2,)),
    Chain("C4", "The plateau is linear in the gap", (
        (s_scale * G_A * ta.Delta, r"C3 for the gap $s \aadDelta$: $e_A(s \aadDelta) = G_A (s \aadDelta)$"),
        (s_scale * e_A, r"$e_A = G_A \aadDelta$; so $\|e_A(s\aadDelta)\| = |s| \, \|e_A\|$ and "
                        r"$\aadDelta = 0$ gives $e_A = 0$"),
    ), {**D, "G_A": ta.G_A, "e_A": ta.e_A}),
    Chain("C4", r"The gap for targets of equal norm $\ell$ at angle $\theta$", (
        (2 * r**2 - 2 * r**2 * sp.cos(theta), r"$\|w_B^* - w_A^*\|^2 = \ell^2 + \ell^2 - 2 \ell^2 \cos\theta$"),
        (4 * r**2 * sp.sin(theta / 2)**2,
         r"$1 - \cos\theta = 2 \sin^2(\theta/2)$, increasing in $\theta$ on $[0, \pi]$"),
    ), {}, method="V3"),
    Chain("C5", "A's plateau in a shared eigen-direction", (
        ((1 - (1 - pd.a) * (1 - pd.b))**-1 * (1 - pd.a) * pd.b * pd.Delta_k,
         r"C3 in direction $k$: $M_A \to 1 - a_k$, $K_B \to b_k$"),
        (pd.gain_A * pd.Delta_k, r"$1 - (1 - a_k)(1 - b_k) = a_k + b_k - a_k b_k$"),
    ), {}, method="V3"),
    Chain("C5", "The disagreement in a shared eigen-direction", (
        (pd.gain_A * pd.Delta_k - pd.gain_B * pd.Delta_k - pd.Delta_k,
         r"$u^* - v^* = (w_A^* + e_A) - (w_B^* + e_B) = e_A - e_B - \aadDelta$, in direction $k$"),
        (pd.gain_gap * pd.Delta_k, r"$(1 - a_k) b_k + (1 - b_k) a_k - (a_k + b_k - a_k b_k) = -a_k b_k$"),
    ), {}, method="V3"),
    Chain("C6", r"With one shared preconditioner, $M_i$ is self-adjoint in the $\Gamma^{-1}$ inner product", (
        (sp.Inverse(Gamma) * (I - Gamma * A.H), r"$\Gamma^{-1} M_A$ with $M_A = I - \Gamma H_A$"),
        (sp.Inverse(Gamma) - A.H, "expand"),
        ((I - Gamma * A.H).T * sp.Inverse(Gamma),
         r"$= M_A^{T} \Gamma^{-1}$, as $\Gamma^{T} = \Gamma$ and $H_A^{T} = H_A$"),
    ), {"Gamma^T": Gamma, "H_A^T": A.H}),
    Chain("C7", "Induction on the steps per turn", (
        (A.T(steps.T_s), r"one more step after $s$ steps: $T_A(M_A^s w + (I - M_A^s) w_A^*)$"),
        (A.M * steps.S_A * steps.w + (A.M - A.M * steps.S_A + A.K) * A.w_star, r"$T_A(w) = M_A w + K_A w_A^*$"),
        (steps.T_s_plus_1, r"$K_A = I - M_A$: the form for $s + 1$ steps"),
    ), D),
    Chain("C10", r"The rank-one prompt fixes $g = K_B \aadDelta$", (
        (A.Gamma * x * x.T * g, r"$K_A g = \Gamma_A H_A g$ with $H_A = x x^{T}$ (every row of $X_A$ is $x$)"),
        (A.Gamma * sp.Inverse(A.Gamma) * g * g.T * sp.Inverse(A.Gamma) * g / q,
         r"$x = \Gamma_A^{-1} g / \sqrt{\kappa}$, $\kappa = g^{T} \Gamma_A^{-1} g$, $\Gamma_A$ symmetric"),
        (g, r"$g^{T} \Gamma_A^{-1} g = \kappa$; so $M_A K_B \aadDelta = (I - K_A) g = 0$"),
    ), {}, method="V2", explicit=_rank_one_explicit, dims=(2, 3)),
    Chain("C14", "The identified target makes A exact", (
        (A.M * w_hat + A.c, r"A answers the helper's message $\hat{w}^* = K_A^{-1} c_A$, "
                            r"$[M_A \mid c_A]$ fitted from $d + 1$ probes"),
        (sp.MatAdd(unevaluated(A.M, sp.Inverse(A.K), A.K, A.w_star), A.c), r"$c_A = K_A w_A^*$"),
        (A.M * A.w_star + A.K * A.w_star, r"$K_A^{-1} K_A = I$"),
        (A.w_star, r"$M_A + K_A = I$: A's message is its target"),
    ), {**D, "what^*": unevaluated(sp.Inverse(A.K), A.K, A.w_star)}),
    Chain("C14b", r"The residual that Broyden's method drives to zero is linear", (
        (A.T(v) - v, r"$F(v) = T_A(v) - v$"),
        (-A.K * (v - A.w_star), r"$M_A - I = -K_A$ and $c_A = K_A w_A^*$"),
    ), D),
    Chain("C15", "Deviation of B's noisy messages", (
        (v_msg - v_star, r"B's deviation, $v_t = T_B(T_A(v_{t-1}) + \eta_A) + \eta_B$"),
        (B.M * (A.M * v_prev + A.c + noisy.eta_A) + B.c + noisy.eta_B - v_star,
         r"$T_i(w) = M_i w + K_i w_i^*$"),
        (B.M * A.M * v_prev + B.M * A.c + B.c + B.M * noisy.eta_A + noisy.eta_B - v_star, "expand"),
        (B.M * A.M * (v_prev - v_star) + B.M * noisy.eta_A + noisy.eta_B,
         r"C2: $(I - M_B M_A)\, v^* = M_B K_A w_A^* + K_B w_B^*$"),
        (J_B * (v_prev - v_star) + B.M * noisy.eta_A + noisy.eta_B,
         r"$J_B = M_B M_A$; with independent noise of covariances $S_A, S_B$ the stationary covariance solves "
         r"$V_B = J_B V_B J_B^{T} + M_B S_A M_B^{T} + S_B$"),
    ), {**D, "v_t": noisy.v_next, "v^*": ta.v_star, "J_B": ta.J_B}),
    Chain("C16", r"B's plateau against an exact attacker, $s_B$ steps per turn", (
        (-sp.Inverse(I - S_B_steps * A.M) * S_B_steps * A.K * ta.Delta,
         r"C3 and C7: $e_B = -(I - M_B^{s_B} M_A)^{-1} M_B^{s_B} K_A \aadDelta$"),
        (-S_B_steps * ta.Delta, r"exact attacker $M_A = 0$, $K_A = I$; so "
                                r"$\|e_B\| \le \|M_B^{s_B}\| \, \|\aadDelta\|$"),
    ), {**D, "M_A": Zero, "K_A": I}),
    Chain("C17", "The telescoping identity, three agents, ending at agent 1", (
        (ka.telescoping_sum(3, 0), r"$\sum_j P_{1,j} K_j$ with $P_{1,1} = I$, $P_{1,3} = M_1$, "
                                   r"$P_{1,2} = M_1 M_3$"),
        (I - ka.J(3, 0), r"$K_j = I - M_j$: consecutive terms cancel, leaving $I - J_1$"),
    ), ka.defs(3)),
    Chain("C18", "Least squares recovers an exact affine agent", (
        (fitting.Y * fitting.Z.T * sp.Inverse(fitting.Z * fitting.Z.T),
         r"the least-squares fit $[\hat{M} \mid \hat{c}] = Y Z^{T} (Z Z^{T})^{-1}$"),
        (unevaluated(fitting.Theta, fitting.Z, fitting.Z.T, sp.Inverse(fitting.Z * fitting.Z.T)),
         r"an exact affine agent replies $Y = [M \mid c]\, Z$"),
        (fitting.Theta, r"$Z Z^{T}$ invertible: $d + 1$ affinely independent messages"),
    ), {"Y": fitting.Theta * fitting.Z}),
    Chain("L2", r"Stationarity of the risk in $d = 1$", (
        (sp.diff(R_1d, gamma), r"$\partial R / \partial \Gamma$ in $d = 1$ with $\Sigma = s$"),
        (2 * lsa.tau**2 * lsa.s_1 * (gamma * EHH_1d - lsa.s_1) + 2 * lsa.sigma**2 / lsa.Ns * gamma * lsa.s_1**2,
         r"$\mathbb{E}[\hat{H}^2] = \frac{N+1}{N} s^2 + \frac{s^2}{N}$"),
        (2 * lsa.s_1**2 * ((lsa.Ns + 2) * lsa.tau**2 * lsa.s_1 + lsa.sigma**2) / lsa.Ns
         * (gamma - lsa.gamma_star_1d), r"zero only at $\Gamma^*$, and $R$ is convex in $\Gamma$"),
    ), {}, method="V3"),
]


# P1-P5 chains start from the protocol compiler's output
from theory.protocol import chains as protocol_chains, gallery as protocol_gallery  # noqa: E402

# The protocol chains (theory.protocol.chains builds them from the compiler, in the document's notation):
# P2 and P3 start from a left-hand side, B's entry z_B^* of the compiler's fixed point, as P1 does.
ANCHOR = protocol_gallery.omega  # P4's anchoring weight (alpha is C12's damping), the gallery's symbol
z_B = sp.MatrixSymbol("z^*_B", *A.w_star.shape)


def _from_left_side(chain: Chain) -> Chain:
    if chain.claim in ("P2", "P3"):
        steps = ((z_B, r"$z_B^*$, B's entry of the compiler's fixed point $z^*$"),) + chain.steps
        return replace(chain, steps=steps, definitions={**chain.definitions, z_B.name: chain.steps[0][0]})
    return chain


CHAINS += [_from_left_side(c) for c in protocol_chains.chains(Chain)]

# The inverses a V1 chain may use, per claim: each factor with the hypothesis (as the claim states it)
# that makes it invertible. A step that inverts anything else does not hold (:func:`check`).
_PAIR = "I - M_A M_B invertible (implied by rho(M_A M_B) < 1)"
_HALF_A = I - sp.Rational(1, 2) * A.M  # P4 at omega = 1/2: the pivot of the block elimination
# R1-R4 (random protocols, two alternatives drawn independently with probabilities p_1 and 1 - p_1):
# the joint state z, each alternative's round map z -> Phi_k z + psi_k, the stationary mean mu.
p_1 = sp.Symbol("p_1", positive=True)
Phi_1, Phi_2 = matrix("Phi_1"), matrix("Phi_2")
psi_1, psi_2, mu, z_t = vector("psi_1"), vector("psi_2"), vector("mu"), vector("z")
d_1 = vector("d_1")
E_Phi = p_1 * Phi_1 + (1 - p_1) * Phi_2
E_psi = p_1 * psi_1 + (1 - p_1) * psi_2
MEAN_DEFINITIONS = {"mu": sp.Inverse(I - E_Phi) * E_psi}
m_A, m_B = vector("m_A"), vector("m_B")

CHAINS += [
    Chain("R1", "The stationary mean is a fixed point of the mean round map", (
        (p_1 * (Phi_1 * mu + psi_1) + (1 - p_1) * (Phi_2 * mu + psi_2),
         r"one round from $\mu$: alternative $k$ with probability $p_k$"),
        (E_Phi * mu + E_psi, r"collect: $\sum_k p_k \Phi_k \mu + \sum_k p_k \psi_k$"),
        (mu - (I - E_Phi) * mu + E_psi, r"$\sum_k p_k \Phi_k \mu = \mu - (I - \sum_k p_k \Phi_k) \mu$"),
        (mu, r"$(I - \sum_k p_k \Phi_k)\, \mu = \sum_k p_k \psi_k$, the definition of $\mu$"),
    ), MEAN_DEFINITIONS),
    Chain("R2", "An alternative that leaves the mean in place", (
        (Phi_1 * mu + psi_1, r"alternative 1 applied to the stationary mean $\mu$"),
        (mu + d_1, r"$d_1 = \Phi_1 \mu + \psi_1 - \mu$: the round ends at $\mu$ exactly when $d_1 = 0$, and the "
                   r"spread's source $\sum_k p_k d_k d_k^{T}$ vanishes only when every $d_k = 0$"),
    ), {"d_1": Phi_1 * mu + psi_1 - mu}),
    Chain("R3", "The deviation from the mean after one round", (
        (Phi_1 * z_t + psi_1 - mu, r"alternative 1 drawn: $z_{t+1} - \mu$"),
        (Phi_1 * (z_t - mu) + Phi_1 * mu + psi_1 - mu, r"add and subtract $\Phi_1 \mu$"),
        (Phi_1 * (z_t - mu) + d_1, r"$d_1 = \Phi_1 \mu + \psi_1 - \mu$: the schedule adds $d_k$, the spread's "
                                   r"source, even from $z_t = \mu$"),
    ), {"d_1": Phi_1 * mu + psi_1 - mu}),
    Chain("R4", "A repeated turn changes nothing (two agents hearing each other)", (
        (B.M * (A.M * m_B + A.c) + B.c, r"schedule A, A, B: A's second turn reads $m_B$ again (not its own "
                                         r"message), so it repeats $T_A(m_B)$, and B answers it"),
        (B.M * A.M * m_B + B.M * A.c + B.c, r"expand: the round robin's round map for B (C1); a run of one speaker "
                                            r"is one turn"),
    ), D),
]

HYPOTHESES = {
    "C2": {_PAIR: (I - ta.J_A, I - ta.J_B)},
    "C3": {_PAIR: (I - ta.J_A, I - ta.J_B)},
    "C4": {_PAIR: (I - ta.J_A, I - ta.J_B)},
    "C8": {_PAIR: (I - ta.J_A, I - ta.J_B)},
    "C11": {"M_B invertible (else least squares)": B.M},
    "C6": {"Gamma SPD": Gamma},
    "C13": {"Hhat invertible": nh.Hhat},
    "C14": {"K_A invertible": A.K},
    "C15": {_PAIR: (I - ta.J_A, I - ta.J_B)},
    "C18": {"Z Z^T invertible (d + 1 affinely independent messages)": fitting.Z * fitting.Z.T},
    "P1": {"I - J_3 invertible (implied by rho(J_3) < 1)": I - ka.J(3, 2)},
    "P2": {_PAIR: (I - ta.J_A, I - ta.J_B)},
    "P3": {"I - M_A^2 M_B invertible": (I - A.M * A.M * B.M, I - B.M * A.M * A.M)},
    # block elimination of I - Phi_RR (invertible, P1's hypothesis): the pivot I - M_A / 2 (rho(M_A) < 1)
    # and its Schur complement, invertible because I - Phi_RR and the pivot are
    "R1": {"I - sum_k p_k Phi_k invertible (implied by rho(sum_k p_k Phi_k) < 1)": I - E_Phi},
    "P4": {"I - Phi_RR invertible (implied by rho(Phi) < 1), eliminated with the pivot I - M_A / 2":
           (_HALF_A, I + B.M - B.M * sp.Inverse(_HALF_A))},
}


def chains_for(claim: str) -> list[Chain]:
    return [c for c in CHAINS if c.claim == claim]


def failed_steps(claim: str) -> list[str]:
    """One line per step of the claim's printed derivations that does not hold (empty: all hold)."""
    return [f"derivation '{chain.title}' step {c.index}: {c.residual}"
            for chain in chains_for(claim) for c in check(chain) if not c.holds]


# ---------------------------------------------------------------- formulas read off the chains
from theory.core.formulas import Formula  # noqa: E402
from theory.core.notation import spectral_radius  # noqa: E402

omega = ANCHOR
e_A_vec = sp.MatrixSymbol("e_A", *A.w_star.shape)
gap_norm_sq = sp.Symbol("||Delta||^2")  # C4: printed \|\aadDelta\|^2
# formula ID -> (claim, index of the chain among the claim's chains, left-hand side (None: the chain's start),
# description): each formula is the first and last expression of a chain that check() proves step by step
_FROM_CHAINS = {
    "C4.linear_in_gap": ("C4", 0, None, r"The plateau of the scaled gap $s \aadDelta$ is $s$ times the plateau."),
    "C4.gap_norm": ("C4", 1, gap_norm_sq,
                    r"The gap of targets of equal norm $\ell$ at angle $\theta$ "
                    r"($\|\aadDelta\| = 2 \ell \sin(\theta/2)$)."),
    "C6.self_adjoint": ("C6", 0, None, r"$\Gamma^{-1} M_A = M_A^{T} \Gamma^{-1}$: with one shared SPD "
                                       r"preconditioner $\Gamma$, $M_A$ is self-adjoint in the $\Gamma^{-1}$ "
                                       r"inner product."),
    "C10.rank_one_fixes_gap": ("C10", 0, None, r"The rank-one prompt ($H_A = x x^{T}$) gives $K_A g = g$ for "
                                               r"$g = K_B \aadDelta$."),
    "C14.identified_target": ("C14", 0, None, r"A answers the identified target $\hat{w}^* = K_A^{-1} c_A$ "
                                              r"with its own target."),
    "P1.compiled_fixed_point_3_agents": ("P1", 0, None, r"The compiler's fixed point of agent 3 in a round robin of "
                                               r"three is C17's."),
    "P2.simultaneous_fixed_point_B": ("P2", 0, None, r"The simultaneous pair's fixed point of B is C2's $v^*$."),
    "P3.repeated_fixed_point_B": ("P3", 0, None, r"Schedule A, A, B: B's fixed point is C2's with $M_A \to M_A^2$."),
    "P5.debate_row_A": ("P5", 0, None, r"The debate's round map, row of A: A answers the mean of $m_B$ and $m_C$."),
}


def chain_of(formula_id: str) -> Chain | None:
    """The derivation chain a formula of :data:`FORMULAS` is read off (``None`` for any other formula)."""
    if formula_id not in _FROM_CHAINS:
        return None
    claim, k = _FROM_CHAINS[formula_id][:2]
    return chains_for(claim)[k]


def _from_chain(fid: str) -> Formula:
    claim, _, lhs, description = _FROM_CHAINS[fid]
    chain = chain_of(fid)
    assert chain is not None
    return Formula(claim, fid.split(".", 1)[1], chain.steps[0][0] if lhs is None else lhs, chain.steps[-1][0],
                   description)


def anchored_plateau(weight=omega) -> tuple[sp.MatrixExpr, sp.MatrixExpr]:
    """P4 for a symbolic anchoring weight: ``(I - w M_A - (1 - w) M_A M_B) e_A`` and ``(1 - w) M_A K_B Delta``.

    The identity P4's V1 method proves with the compiler's residual for ``e_A``
    (:func:`theory.protocol.chains.anchored_identity`); tests/test_text_format.py checks that the two agree.
    """
    return ((I - weight * A.M - (1 - weight) * A.M * B.M) * e_A_vec, (1 - weight) * A.M * B.K * ta.Delta)


FORMULAS = [
    Formula("C1", "contraction_rate", sp.Symbol("rho"), spectral_radius(ta.J_A),
            r"The contraction rate: the spectral radius of $M_A M_B$, the linear part of C1's round map."),
    *[_from_chain(fid) for fid in ("C4.linear_in_gap", "C4.gap_norm", "C6.self_adjoint", "C10.rank_one_fixes_gap",
                                   "C14.identified_target", "P1.compiled_fixed_point_3_agents",
                                   "P2.simultaneous_fixed_point_B", "P3.repeated_fixed_point_B")],
    Formula("P4", "anchored_plateau_A", *anchored_plateau(),
            r"A reads $\omega m_A + (1 - \omega) m_B$: its plateau equation; $\omega = 0$ gives C3."),
    _from_chain("P5.debate_row_A"),
]
if {f.id for f in FORMULAS} - {"C1.contraction_rate", "P4.anchored_plateau_A"} != set(_FROM_CHAINS):
    raise ValueError("every formula of _FROM_CHAINS is registered once")
