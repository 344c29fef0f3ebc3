r"""The theory in words and typeset mathematics: the model, the notation and every claim's statement.

One source for docs/theory.rst (via docs/generate.py) and for derivations.tex. Text uses ``$...$``
for inline math and a paragraph that starts with ``$$`` for a display; :func:`to_rst` and
:func:`to_latex` convert it. Symbol macros (``\aadDelta``) are those of :mod:`theory.core.notation`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Statement:
    """A claim's statement: the typeset text and hypotheses, generated from named pieces.

    ``statement`` is ``lead`` followed by the conclusions' texts; each hypothesis and conclusion has
    a name, under which :mod:`proofs_check.check` evaluates it on an instance (``a2ad check``).
    """

    statement: str  # text with $...$ math
    hypotheses: tuple[str, ...]  # each a short text with $...$ math
    hypothesis_names: tuple[str, ...] = ()
    conclusion_names: tuple[str, ...] = ()
    conclusions: tuple[str, ...] = ()
    # Hypotheses shown necessary: each has a necessity witness (proofs_check.verification.necessity,
    # method VN); every other condition is typeset "sufficient; not shown necessary" (NECESSARY below).
    necessary: tuple[str, ...] = ()

    def texts(self) -> dict[str, str]:
        """Name -> typeset text of every hypothesis and conclusion."""
        return {**dict(zip(self.hypothesis_names, self.hypotheses)),
                **dict(zip(self.conclusion_names, self.conclusions))}


def claim(conclusions: list[tuple[str, str]], hypotheses: list[tuple[str, str]], lead: str = "") -> Statement:
    """A :class:`Statement` from named conclusions and hypotheses (the statement is their text)."""
    text = " ".join(([lead] if lead else []) + [t for _, t in conclusions])
    return Statement(text, tuple(t for _, t in hypotheses), tuple(n for n, _ in hypotheses),
                     tuple(n for n, _ in conclusions), tuple(t for _, t in conclusions))


MODEL = [
    ("The agents", [
        r"Each agent $i$ solves an in-context linear regression in dimension $d$. Its prompt holds $N_i$ "
        r"examples, the rows of $X_i \in \mathbb{R}^{N_i \times d}$, with labels $y_i \in \mathbb{R}^{N_i}$. "
        r"Its objective is $L_i(w) = \|X_i w - y_i\|^2 / (2 N_i)$, with gradient $H_i w - b_i$, where",
        r"$$H_i = \frac{1}{N_i} X_i^{T} X_i \quad \text{(prompt geometry, PSD)}, \qquad "
        r"b_i = \frac{1}{N_i} X_i^{T} y_i, \qquad w_i^* = H_i^{+} b_i .",
        r"The target $w_i^*$ is the minimum-norm least-squares solution. Since $b_i$ lies in the range of "
        r"$H_i$, $H_i w_i^* = b_i$ holds exactly for every prompt, noisy labels included.",
    ]),
    ("One turn: a preconditioned gradient step", [
        r"An agent answers a message $w$ with one step preconditioned by its mechanism $\Gamma_i$ "
        r"($d \times d$, read off its attention weights):",
        r"$$T_i(w) = w - \Gamma_i (H_i w - b_i) = M_i w + c_i, \qquad K_i = \Gamma_i H_i, \quad "
        r"M_i = I - K_i, \quad c_i = \Gamma_i b_i = K_i w_i^* .",
        r"$K_i$ is the effective step and $M_i$ the transfer. With $s$ steps per turn, $M_i$ becomes "
        r"$M_i^s$ and $K_i$ becomes $I - M_i^s$; the target is unchanged.",
    ]),
    ("The LSA agent", [
        r"A single-layer linear self-attention (LSA) agent reads tokens $z_j = (x_j, r_j)$ with residuals "
        r"$r_j = y_j - \langle w, x_j \rangle$ against the incoming message $w$, and a query $z_q = (x_q, 0)$. "
        r"Its read-out is $\hat{y}(x_q) = \frac{1}{N} \sum_j (\nu^{T} z_j)(z_j^{T} Q z_q)$, with $\nu$ the last "
        r"row of $W_{PV}$ and $Q = W_{KQ}$. The outgoing message is "
        r"$w' = w + (\hat{y}(e_1), \dots, \hat{y}(e_d))$: the read-out on the $d$ basis queries. "
        r"Claims L1, L1b and L2 say when this is the step $T_i$ and which $\Gamma$ training finds.",
    ]),
    ("The protocol", [
        r"Two agents A and B alternate. A hears $v_0$ (default $0$); then for $t \ge 1$, "
        r"$u_t = T_A(v_{t-1})$ and $v_t = T_B(u_t)$. One round maps",
        r"$$u_{t+1} = M_A M_B u_t + M_A c_B + c_A, \qquad v_t = M_B M_A v_{t-1} + M_B c_A + c_B,",
        r"both with contraction rate $\rho = \rho(M_A M_B) = \rho(M_B M_A)$, the spectral radius. The "
        r"objective gap is $\aadDelta = w_B^* - w_A^*$; the plateaus are $e_A = u^* - w_A^*$ and "
        r"$e_B = v^* - w_B^*$ at the fixed points $u^*$, $v^*$. With $K$ agents speaking in turn (agent $i$ "
        r"hears agent $i-1$, indices cyclic), $P_{i,j} = M_i M_{i-1} \cdots M_{j+1}$ ($P_{i,i} = I$) is the "
        r"transfer from agent $j$'s output to agent $i$'s, and $J_i = P_{i,i+1} M_{i+1}$ is one full round "
        r"ending at $i$.",
    ]),
]

NOTATION = [
    (r"$A$, $B$, $C$; $i$, $j$", r"agents (also numbered $1, \dots, K$) and agent indices; $K$ agents (C17)"),
    (r"$t$", "round (time)"),
    (r"$I$", "identity matrix"),
    (r"$d$, $N_i$", "dimension; number of in-context examples of agent $i$"),
    (r"$X_i$, $y_i$", "agent $i$'s prompt: examples (rows) and labels"),
    (r"$H_i$, $b_i$", r"prompt geometry $X_i^{T} X_i / N_i$ and moment $X_i^{T} y_i / N_i$"),
    (r"$w_i^*$", r"agent $i$'s target $H_i^{+} b_i$"),
    (r"$\Gamma_i$", "agent $i$'s preconditioner (its mechanism)"),
    (r"$K_i$, $M_i$, $c_i$", r"effective step $\Gamma_i H_i$, transfer $I - K_i$, offset $K_i w_i^*$"),
    (r"$T_i$", r"agent $i$'s turn $w \mapsto M_i w + c_i$"),
    (r"$u_t$, $v_t$", "messages of A and B at round $t$; $u^*$, $v^*$ their fixed points"),
    (r"$\rho(\cdot)$", "spectral radius"),
    (r"$\aadDelta$", r"objective gap $w_B^* - w_A^*$"),
    (r"$G_A$, $G_B$", r"bias maps $(I - M_A M_B)^{-1} M_A K_B$ and $(I - M_B M_A)^{-1} M_B K_A$"),
    (r"$e_A$, $e_B$", r"plateaus $u^* - w_A^* = G_A \aadDelta$ and $v^* - w_B^* = -G_B \aadDelta$"),
    (r"$a_k$, $b_k$", r"eigenvalues of $K_A$, $K_B$ in a shared eigenbasis (C5)"),
    (r"$s$, $s_A$, $s_B$", "gradient steps per turn"),
    (r"$S_i$, $V_i$", "covariance of agent $i$'s output noise; stationary covariance of its messages (C15)"),
    (r"$P_{i,j}$, $J_i$", r"transfer product $M_i \cdots M_{j+1}$ and round map $P_{i,i+1} M_{i+1}$ (C17)"),
    (r"$\hat{M}_i$, $\hat{c}_i$", "least-squares estimates of an agent's map from a transcript (C18)"),
    (r"$\nu$, $Q$, $q_{yx}$", r"LSA weights: last row of $W_{PV}$ and $W_{KQ}$; $\nu = (\nu_x, \nu_y)$, "
                             r"$Q_{:,1:d} = [Q_{xx};\, q_{yx}^{T}]$"),
    (r"$\Gamma^*$", "risk-optimal LSA preconditioner (L2)"),
    (r"$L_i$", r"agent $i$'s objective $\|X_i w - y_i\|^2 / (2 N_i)$"),
    (r"$x_j$, $x_q$; $x$", r"an example (a row of $X$) and the LSA query; in C10 the repeated prompt row, in L2 a "
                            r"random example"),
    (r"$z_j$, $r_j$, $Z$; $r$", r"LSA tokens $(x_j, r_j)$ with residuals $r_j = y_j - \langle w, x_j \rangle$, "
                                r"stacked in $Z = [X \; r]$ (L1, L1b); in P1 the offset of a round, $r_p$ of "
                                r"a phase"),
    (r"$W_{PV}$, $W_{KQ}$, $\hat{y}$", "LSA attention weights and read-out"),
    (r"$k$, $\lambda_k$", r"eigen-direction and eigenvalue of $M_A M_B$ in it (C5)"),
    (r"$\theta$, $\ell$", r"angle between two targets and their common norm (C4)"),
    (r"$U$", r"orthonormal columns, $U^{T} U = I$ (C9)"),
    (r"$g$, $\kappa$", r"C10: $g = K_B \aadDelta$ and $\kappa = g^{T} \Gamma_A^{-1} g$"),
    (r"$n_t$, $\alpha$", r"a helper's message at round $t$ and its Newton damping $\alpha$ (C12, C13)"),
    (r"$\hat{H}$", r"an estimate of a prompt geometry: the helper's curvature estimate of $H_A$ (C13); in L2 the "
                    r"empirical $X^{T} X / N$"),
    (r"$\hat{w}^*$, $\hat{K}_i$", r"a target and an effective step identified from messages (C14, C18)"),
    (r"$p$", r"the point where an attacker puts B's equilibrium (C11)"),
    (r"$F$", r"Broyden's residual $F(v) = T_A(v) - v$ (C14b)"),
    (r"$\eta_i$", r"agent $i$'s output noise (C15)"),
    (r"$Y$; $Z$", r"C18: a transcript's replies and incoming messages (with a row of ones)"),
    (r"$u_i^*$", r"agent $i$'s fixed point with $K$ agents (C17)"),
    (r"$m_i$", r"agent $i$'s latest message (P1-P5)"),
    (r"$z$, $z^*$", r"all latest messages stacked, $z = (m_1, \dots, m_K)$, and the round's fixed point (P1)"),
    (r"$\Phi_p$, $\Phi$, $r_p$", r"a phase's affine map $z \mapsto \Phi_p z + r_p$; a round "
                                 r"$\Phi = \Phi_P \cdots \Phi_1$ (P1); $R$ the agents a round reads"),
    (r"$\omega$", "anchoring weight of an agent on its own last message (P4)"),
    (r"$\mathcal{Q}_k$, $\mathcal{S}_k$", r"in a protocol's derived theory (P1): the formal inverses (pivots of its "
                                          r"block elimination) and the named factors (sums left in a residual's "
                                          r"coefficient), each defined in the document that uses it"),
    (r"$\Phi_k$, $\psi_k$, $p_k$, $P_{jl}$; $\mu$, $C$", r"random protocols (R1-R4): alternative $k$'s round map "
                                                       r"$z \mapsto \Phi_k z + \psi_k$ and its probability, the "
                                                       r"chain's probability that $l$ follows $j$; the stationary mean "
                                                       r"and covariance of $z$ ($\otimes$: Kronecker product)"),
    (r"$R(\Gamma)$, $\Sigma$, $\tau$, $\sigma$, $\varepsilon$", r"L2: the risk, the examples' covariance, "
                                                                   r"the targets' scale, the label noise"),
]

RHO = r"\rho(M_A M_B) < 1"
SUFF = " (sufficient; not shown necessary)"
STATEMENTS: dict[str, Statement] = {
    "L1": claim([
        ("gd_step", r"With $\nu = (0, \dots, 0, 1)$ and "
                    r"$Q = \bigl(\begin{smallmatrix} \Gamma^{T} & 0 \\ 0 & 0 \end{smallmatrix}\bigr)$, the LSA "
                    r"read-out on the basis queries gives $w' = w - \Gamma (H w - b) = T(w)$ exactly.")],
        [("any_prompt", r"any prompt $(X, y)$, any message $w$, any $N$ and $d$")]),
    "L1b": claim([
        ("expansion", r"For general weights $\nu = (\nu_x, \nu_y)$ and $Q_{:,1:d} = [Q_{xx};\, q_{yx}^{T}]$, "
                      r"$w' = w + \nu_y Q_{xx}^{T} (b - H w) + Q_{xx}^{T} H \nu_x + q_{yx} \bigl((b - H w)^{T} \nu_x "
                      r"+ \tfrac{1}{N} \nu_y r^{T} r\bigr)$."),
        ("affine_iff", r"The map $w \mapsto w'$ is affine for every prompt if and only if $\nu_y q_{yx} = 0$ (the "
                       r"term $\nu_y q_{yx} r^{T} r / N$ is quadratic in $w$ unless $H = 0$; a prompt with $H = 0$ is "
                       r"affine whatever the weights)."),
        ("gamma_eff", r"When $\nu_y q_{yx} = 0$, $w' = w + \Gamma_{\mathrm{eff}} (b - H w) + Q_{xx}^{T} H \nu_x$ "
                      r"with $\Gamma_{\mathrm{eff}} = \nu_y Q_{xx}^{T} + q_{yx} \nu_x^{T}$ and drift "
                      r"$Q_{xx}^{T} H \nu_x$.")],
        [("tokens", r"tokens $(x_j, r_j)$ with $r = y - X w$, query $(x_q, 0)$"),
         ("decidable", r"on an instance: $\nu_y q_{yx}$ either $0$ or off its boundary")]),
    "L2": claim([
        ("minimiser", r"The risk $R(\Gamma) = \mathbb{E}\,(x_q^{T} \Gamma X^{T} y / N - \langle w, x_q \rangle)^2$ "
                      r"has the unique minimiser $\Gamma^* = \bigl(\frac{N+1}{N} \Sigma + \frac{1}{N}"
                      r"(\operatorname{tr}\Sigma + \sigma^2/\tau^2) I\bigr)^{-1}$;"),
        ("fourth_moment", r"the Gaussian fourth moment is $\mathbb{E}[\hat{H} A \hat{H}] = "
                          r"\frac{N+1}{N} \Sigma A \Sigma + \frac{1}{N} \operatorname{tr}(A \Sigma) \Sigma$ for "
                          r"$A$ symmetric.")],
        [("Sigma_spd", r"$x \sim \mathcal{N}(0, \Sigma)$ with $\Sigma$ SPD"),
         ("tau_positive", r"$w \sim \mathcal{N}(0, \tau^2 I)$, $\tau > 0$"),
         ("gaussian", r"$y = \langle w, x \rangle + \varepsilon$, $\varepsilon \sim \mathcal{N}(0, \sigma^2)$, "
                      r"all independent")]),
    "C1": claim([
        ("converges", r"If $\rho = \rho(M_A M_B) < 1$, the fixed point is unique and $\|u_t - u^*\| = "
                      r"O((\rho + \varepsilon)^t)$ for every $v_0$ and every $\varepsilon > 0$."),
        ("diverges", r"If $\rho > 1$ and $v^*$ exists, $u_t$ and $v_t$ diverge from every $v_0$ whose deviation "
                     r"$v_0 - v^*$ has a component on the unstable invariant subspace of $M_B M_A$ (eigenvalues "
                     r"of modulus $> 1$), since $u_t - u^* = M_A (M_B M_A)^{t-1} (v_0 - v^*)$ and $M_A$ is "
                     r"injective on that subspace.")],
        [("rate", r"$" + RHO + r"$ for convergence"),
         ("unstable", r"$\rho(M_B M_A) > 1$ for divergence"),
         ("fixed_point", r"$I - M_B M_A$ invertible for divergence"),
         ("component", r"$v_0 - v^*$ has a component on the unstable invariant subspace of $M_B M_A$, for "
                       r"divergence")]),
    "C2": claim([
        ("fixed_points", r"$u^* = (I - M_A M_B)^{-1} (M_A c_B + c_A)$ and $v^* = (I - M_B M_A)^{-1} (M_B c_A + "
                         r"c_B)$ are fixed points of the round;"),
        ("v_star", r"moreover $v^* = T_B(u^*)$"),
        ("u_star", r"and $u^* = T_A(v^*)$.")],
        [("invertible", r"$I - M_A M_B$ invertible (implied by $" + RHO + "$)")]),
    "C3": claim([
        ("errors", r"$e_A = u^* - w_A^* = G_A \aadDelta$ with $G_A = (I - M_A M_B)^{-1} M_A K_B$, and "
                   r"$e_B = v^* - w_B^* = -G_B \aadDelta$ with $G_B = (I - M_B M_A)^{-1} M_B K_A$."),
        ("coupling", r"The errors are coupled by $e_A = M_A (e_B + \aadDelta)$ and $e_B = M_B (e_A - \aadDelta)$;"),
        ("plateau", r"A's messages plateau at $\|u_t - w_A^*\| \to \|e_A\|$.")],
        [("rate", r"$" + RHO + r"$ (invertibility of $I - M_A M_B$ alone gives the fixed point, not the "
                  r"plateau: the messages diverge when $\rho > 1$)")]),
    "C4": claim([
        ("zero_gap", r"$\aadDelta = 0$ gives $e_A = e_B = 0$."),
        ("linear", r"The errors are linear in $\aadDelta$: $\|e_A(s \aadDelta)\| = |s| \, \|e_A(\aadDelta)\|$ "
                   r"for every real $s$."),
        ("bounds", r"$\sigma_{\min}(G_A) \|\aadDelta\| \le \|e_A\| \le \|G_A\|_2 \|\aadDelta\|$."),
        ("angle", r"For targets of equal norm $\ell$ at angle $\theta$, $\|\aadDelta\| = 2 \ell \sin(\theta / 2)$, "
                  r"increasing on $[0, \pi]$; $\|e_A\|$ itself need not be monotone in $\theta$.")],
        [("rate", r"$" + RHO + "$" + SUFF + r": the statements need only $I - M_A M_B$ invertible")]),
    "C5": claim([
        ("per_direction", r"If $K_A$ and $K_B$ share an eigenbasis with eigenvalues $a_k$ and $b_k$, then in that "
                          r"basis $e_{A,k} = \frac{(1 - a_k) b_k}{a_k + b_k - a_k b_k} \aadDelta_k$, "
                          r"$e_{B,k} = -\frac{(1 - b_k) a_k}{a_k + b_k - a_k b_k} \aadDelta_k$ and "
                          r"$(u^* - v^*)_k = -\frac{a_k b_k}{a_k + b_k - a_k b_k} \aadDelta_k$;"),
        ("rate", r"$\rho = \max_k |(1 - a_k)(1 - b_k)|$."),
        ("extremes", r"Where A's prompt is fully informative ($a_k = 1$) A keeps its target ($e_{A,k} = 0$); "
                     r"where it is uninformative ($a_k = 0$, $b_k \ne 0$) A adopts B's ($e_{A,k} = "
                     r"\aadDelta_k$).")],
        [("shared_eigenbasis", r"$K_A$ and $K_B$ simultaneously diagonalisable" + SUFF),
         ("denominators", r"$a_k + b_k - a_k b_k \ne 0$")]),
    "C6": claim([
        ("unbounded", r"$\rho(M_A) < 1$ and $\rho(M_B) < 1$ do not imply $\rho(M_A M_B) < 1$, and the pair rate "
                      r"is not bounded by any function of the individual radii: $2 \times 2$ witnesses with SPD "
                      r"$\Gamma_i$ and $H_i$ reach $\rho(M_A M_B) = 119$ from individual radii $0.99$ and $0.98$."),
        ("bound", r"With one shared SPD preconditioner $\Gamma$, $\rho(M_A M_B) \le \rho(M_A) \rho(M_B)$, since "
                  r"each $M_i$ is self-adjoint in the $\Gamma^{-1}$ inner product.")],
        [("shared_gamma", r"for the bound: $\Gamma_A = \Gamma_B = \Gamma$ SPD, $H_i$ symmetric" + SUFF)]),
    "C7": claim([
        ("affine", r"With $s$ steps per turn, $T_i^{s}(w) = M_i^{s} w + (I - M_i^{s}) w_i^*$, so"),
        ("plateau", r"C2 to C5 hold with $M_i \to M_i^{s}$ and $K_i \to I - M_i^{s}$."),
        ("limit", r"As $s_A \to \infty$, $e_A \to 0$ and $e_B \to -M_B \aadDelta$.")],
        [("rate", r"$\rho(M_A^{s_A} M_B^{s_B}) < 1$ for the plateau"),
         ("rate_one_step", r"$\rho(M_A) < 1$ for the limit $s_A \to \infty$")]),
    "C8": claim([
        ("iff_A", r"$e_A = 0$ exactly when $M_A K_B \aadDelta = 0$;"),
        ("iff_both", r"both errors vanish exactly when also $M_B K_A \aadDelta = 0$."),
        ("loser", r"When $e_A = 0$, $e_B = -M_B \aadDelta$: A wins, and B keeps the bias $-M_B \aadDelta$, "
                  r"nonzero unless $M_B \aadDelta = 0$.")],
        [("invertible", r"$I - M_A M_B$ invertible")]),
    "C9": claim([
        ("exact", r"The prompt $X_A = \sqrt{N}\, U \Gamma_A^{-1/2}$, $y_A = X_A w_A^*$ gives $K_A = I$ and "
                  r"$M_A = 0$: A sits on its target from its first turn,"),
        ("loser", r"$e_B = -M_B \aadDelta$"),
        ("rate", r"and $\rho = 0$.")],
        [("gamma_spd", r"$\Gamma_A$ SPD" + SUFF), ("N_ge_d", r"$N \ge d$, $U \in \mathbb{R}^{N \times d}$ with "
                                                      r"$U^{T} U = I$")]),
    "C10": claim([
        ("K_A_g", r"With $g = K_B \aadDelta$, a prompt whose every row is $x = \Gamma_A^{-1} g / "
                  r"\sqrt{g^{T} \Gamma_A^{-1} g}$ and $y_A = X_A w_A^*$ gives $K_A g = g$,"),
        ("e_A_zero", r"hence $M_A K_B \aadDelta = 0$ and $e_A = 0$. One repeated example suffices, given "
                     r"white-box knowledge of $K_B$ and $\aadDelta$.")],
        [("gamma_spd", r"$\Gamma_A$ SPD" + SUFF), ("g_nonzero", r"$g = K_B \aadDelta \ne 0$"),
         ("rate", r"$" + RHO + r"$ for the attacked pair (the attacker checks it)")]),
    "C11": claim([
        ("v_star", r"If $M_A = 0$, then $v^* = M_B w_A^* + K_B w_B^*$,"),
        ("steer", r"so the target $w_A^* = M_B^{-1}(p - K_B w_B^*)$ puts B's equilibrium at any chosen $p$; "
                  r"without $M_B^{-1}$ the least-squares choice leaves a residual.")],
        [("M_A_zero", r"$M_A = 0$"), ("M_B_invertible", r"$M_B$ invertible (otherwise least squares)")]),
    "C12": claim([
        ("recursion", r"A helper that emits the damped Newton point $n_t = u_t - \alpha (u_t - w_A^*)$ (by "
                      r"relabelling its prompt, $w_B(t) = K_B^{-1}(n_t - M_B u_t)$) gives $u_{t+1} - w_A^* = "
                      r"(1 - \alpha) M_A (u_t - w_A^*)$:"),
        ("no_plateau", r"no plateau, $u_t \to w_A^*$ at rate $|1 - \alpha| \rho(M_A)$,"),
        ("exact_one_round", r"and A is exact after one round when $\alpha = 1$.")],
        [("K_B_invertible", r"$K_B$ invertible (the helper can emit any message)" + SUFF),
         ("H_A_invertible", r"$H_A$ invertible"),
         ("alpha_range", r"$\alpha \in (0, 2)$ (the helper's range)" + SUFF),
         ("rate", r"$|1 - \alpha| \rho(M_A) < 1$ for no plateau (with $\rho(M_A) > 1$ a small $\alpha$ "
                  r"diverges)")]),
    "C13": claim([
        ("recursion", r"With a curvature estimate $\hat{H}$ in place of $H_A$, $u_{t+1} - w_A^* = M_A (I - "
                      r"\alpha \hat{H}^{-1} H_A)(u_t - w_A^*)$:"),
        ("no_plateau", r"no plateau whenever the spectral radius of that map is below 1.")],
        [("K_B_invertible", r"$K_B$ invertible (the helper can emit any message)" + SUFF),
         ("Hhat_invertible", r"$\hat{H}$ invertible"),
         ("alpha_range", r"$\alpha \in (0, 2)$ (the helper's range)" + SUFF),
         ("rate", r"$\rho(M_A (I - \alpha \hat{H}^{-1} H_A)) < 1$")]),
    "C14": claim([
        ("exact", r"A helper that sees only messages sends $d + 1$ affinely independent probes, fits "
                  r"$[M_A \mid c_A]$ by least squares and then sends $\hat{w}^* = K_A^{-1} c_A = w_A^*$; A is "
                  r"exact from round $d + 2$.")],
        [("K_A_invertible", r"$K_A$ invertible"), ("K_B_invertible", r"$K_B$ invertible" + SUFF),
         ("probes", r"$d + 1$ affinely independent probes"), ("noise_free", "noise-free replies")]),
    "C14b": claim([
        ("terminates", r"Broyden's good method on $F(v) = T_A(v) - v = -K_A (v - w_A^*)$, using only observed "
                       r"replies, reaches $w_A^*$ in at most $2d$ Broyden steps (each uses one reply of A; the "
                       r"count is of steps, not of rounds of the exchange).")],
        [("K_A_invertible", r"$K_A$ invertible"), ("exact_arithmetic", "exact arithmetic"),
         ("well_defined", "well-defined Broyden updates")]),
    "C15": claim([
        ("mean", r"With independent zero-mean output noise of covariances $S_A$ and $S_B$, the mean follows C1 "
                 r"to C3"),
        ("covariance", r"and the stationary covariance of B's messages solves $V_B = J_B V_B J_B^{T} + "
                       r"M_B S_A M_B^{T} + S_B$ with $J_B = M_B M_A$ (and symmetrically for A).")],
        [("independent_noise", r"noise independent across agents and turns, $\operatorname{Cov} \eta_i = S_i$"),
         ("rate", r"$" + RHO + "$")]),
    "C16": claim([
        ("bound", r"Against an exact attacker, B's plateau with $s$ steps per turn obeys $\|e_B\| = "
                  r"\|M_B^{s} \aadDelta\| \le \|M_B^{s}\| \, \|\aadDelta\|$."),
        ("bound_decay", r"Since $\|M_B^{s}\| \le \|M_B\|^{s}$, the bound $\|M_B\|^{s} \|\aadDelta\|$ decreases "
                        r"in $s$ when $\|M_B\|_2 < 1$; neither $\|e_B\|$ nor $\|M_B^{s}\|$ need decrease in $s$."),
        ("limit", r"As $s \to \infty$, $\|M_B^{s}\| \to 0$ at rate $\rho(M_B)^{s}$, so $e_B \to 0$.")],
        [("exact_attacker", r"exact attacker: $M_A = 0$"), ("rate", r"$\rho(M_B) < 1$ for the limit")]),
    "C17": claim([
        ("telescoping", r"With $K$ agents in round robin, $\sum_j P_{i,j} K_j = I - J_i$ (telescoping), hence"),
        ("fixed_point", r"$(I - J_i)\, u_i^* = \sum_j P_{i,j} c_j$ and"),
        ("errors", r"$e_i = (I - J_i)^{-1} \sum_{j \ne i} P_{i,j} K_j (w_j^* - w_i^*)$. $K = 2$ gives C2 and "
                   r"C3.")],
        [("invertible", r"$I - J_i$ invertible (implied by $\rho(J_i) < 1$)")]),
    "C18": claim([
        ("exact_fit", r"Least squares on a transcript's (incoming, outgoing) message pairs gives $[\hat{M}_i \mid "
                      r"\hat{c}_i] = Y Z^{T} (Z Z^{T})^{-1}$, exact on a noise-free transcript; hence "
                      r"$\hat{K}_i = I - \hat{M}_i$, $\hat{w}_i^* = \hat{K}_i^{-1} \hat{c}_i$"),
        ("plateau", r"and the predicted plateau by C2 and C3, compared with the transcript's tail with bootstrap "
                    r"intervals.")],
        [("identifiable", r"$d + 1$ affinely independent incoming messages per agent ($Z Z^{T}$ invertible)")]),
    "P1": claim([
        ("round_map", r"Stacking every agent's latest message into $z = (m_1, \dots, m_K)$, each phase, in "
                      r"which some agents update at once, is an affine map $z \mapsto \Phi_p z + r_p$; a round is "
                      r"$\Phi = \Phi_P \cdots \Phi_1$ with rate $\rho(\Phi)$"),
        ("fixed_point", r"and fixed point $(I - \Phi) z^* = r$.")],
        [("rate", r"$\rho(\Phi) < 1$ for the fixed point")]),
    "P2": claim([
        ("phi_squared", r"A simultaneous pair has $\Phi = \bigl(\begin{smallmatrix} 0 & M_A \\ M_B & 0 "
                        r"\end{smallmatrix}\bigr)$, so $\Phi^2 = \operatorname{diag}(M_A M_B, M_B M_A)$:"),
        ("rate_root", r"$\rho(\Phi) = \rho(M_A M_B)^{1/2}$"),
        ("fixed_point", r"and the fixed point is C2's.")],
        [("rate", r"$" + RHO + "$ for the fixed point")]),
    "P3": claim([
        ("same_rate", r"The schedule A, A, B equals two steps per turn for A (C7): the same rate"),
        ("same_fixed_point", r"and the same fixed points.")],
        [("schedule", "the protocol is A (hearing B), A, B"), ("rate", r"$\rho(\Phi) < 1$ for the fixed points")]),
    "P4": claim([
        ("plateau", r"If A reads $\omega m_A + (1 - \omega) m_B$, then $(I - \omega M_A - (1 - \omega) M_A M_B)"
                    r"\, e_A = (1 - \omega) M_A K_B \aadDelta$; $\omega = 0$ gives C3.")],
        [("omega_range", r"$\omega \in [0, 1]$" + SUFF), ("invertible", r"$I - \omega M_A - (1 - \omega) M_A "
                                                                         r"M_B$ invertible"),
         ("rate", r"$\rho(\Phi) < 1$ for the fixed point")]),
    "P5": claim([
        ("phi", r"Three agents A, B and C each read the mean of the other two, all in one simultaneous phase. Then "
                r"$\Phi = \frac{1}{2} \bigl(\begin{smallmatrix} 0 & M_A & M_A \\ M_B & 0 & M_B \\ M_C & M_C & 0 "
                r"\end{smallmatrix}\bigr)$ on $z = (m_A, m_B, m_C)$; A answers $T_A(\frac{1}{2}(m_B + m_C))$"),
        ("fixed_point", r"and the round's fixed point satisfies $(I - \Phi) z^* = r$.")],
        [("rate", r"$\rho(\Phi) < 1$ for the fixed point")]),
}

# Random protocols (R1-R4, package extensions): each round alternative k, z -> Phi_k z + psi_k, is drawn
# independently with probability p_k or by a Markov chain P. Appended here, after the dict, so that
# other additions to STATEMENTS do not collide.
STATEMENTS.update({
    "R1": claim([
        ("mean_square", r"From every initial state and alternative, $\mathbb{E}\|z_t - \mu\|^2 \to 0$ iff "
                        r"$\rho\big(\sum_k p_k \Phi_k \otimes \Phi_k\big) < 1$ (Markov: the block operator "
                        r"$P_{jl} \Phi_j \otimes \Phi_j$); the stationary covariance solves "
                        r"$C = \sum_k p_k (\Phi_k C \Phi_k^{T} + d_k d_k^{T} + N_k)$, "
                        r"$d_k = \Phi_k \mu + \psi_k - \mu$."),
        ("mean", r"The mean converges under the weaker $\rho\big(\sum_k p_k \Phi_k\big) < 1$, to "
                 r"$(I - \sum_k p_k \Phi_k)\, \mu = \sum_k p_k \psi_k$: an agent with $M_A = -13/10$ waking with "
                 r"probability $1/2$ has mean rate $3/20$ and second-moment rate $269/200 > 1$.")],
        [("law", "independent draws, or an irreducible aperiodic chain started anywhere"),
         ("invertible", r"$I - \sum_k p_k \Phi_k$ invertible for the mean")]),
    "R2": claim([
        ("invariance", r"The stationary covariance of noiseless agents is zero iff every alternative that can occur "
                       r"keeps the mean in place, $\Phi_k \mu + \psi_k = \mu$ (since $C \succeq \sum_k p_k d_k "
                       r"d_k^{T}$)."),
        ("same_average", r"A random speaker who always hears the same weighted average has the simultaneous "
                         r"protocol's fixed point as its mean, whatever the probabilities; only the rate changes.")],
        [("rate", r"mean-square rate $< 1$"), ("noiseless", "no agent adds noise")]),
    "R3": claim([
        ("spread", r"With independent draws, $C \succeq \sum_k p_k d_k d_k^{T}$ with $d_k = \Phi_k \mu + \psi_k - "
                   r"\mu$ written in the gaps $w_j^* - w_i^*$ only, so the schedule alone creates a nonzero stationary "
                   r"covariance whenever some alternative that can occur moves the mean ($d_k \neq 0$), as random "
                   r"gossip pairs do. A change of who hears whom with distinct targets is not enough: when the agents "
                   r"a listener may hear have equal means, every $d_k$ vanishes (three agents, $d = 1$, $H = 1$, "
                   r"$\Gamma = 1/2$, targets $0, 1, 1$; A hears B or C, B or C hears A: $C = 0$). For a Markov "
                   r"chain (a speaker who hears the last speaker) $C$ is derived from the conditional second moments "
                   r"(the group chat's is nonzero, checked against Monte Carlo), with no bound stated.")],
        [("rate", r"mean-square rate $< 1$"), ("independent", "independent draws"),
         ("moved", r"some alternative that can occur moves the mean, $d_k \neq 0$")]),
    "R4": claim([
        ("proved", r"Two agents, each speaker hearing the other, speaker drawn with probabilities $p, 1 - p$: "
                   r"repeating an alternative changes nothing, so the random schedule is the round robin slowed by "
                   r"a random time change, and its mean-square rate per turn is at least "
                   r"$\rho(M_B M_A)^{1/2}$ when $\rho(M_B M_A) \le 1$."),
        ("refuted", r"Neither ordering holds in general: in the mean the random schedule can be faster "
                    r"($M_A = 9/10$, $M_B = -9/10$, $p = 1/2$: mean rate $\sqrt{181}/20 \approx 0.673 < 0.9$), and "
                    r"for $K = 3$ a group chat (the speaker hears the last speaker, uniform frequencies) can be faster "
                    r"in mean square than the round robin A, B, C (an instance with rates 0.744 and 0.854 per turn)."),
        ("conjecture", r"Conjecture, not proved: a random speaker who always hears its predecessor, at uniform "
                       r"frequencies, is never faster in mean square per turn than the round robin (no "
                       r"counterexample in a random search over $K = 3$).")],
        [("two_agents", r"$K = 2$, each speaker hears the other"), ("stable", r"$\rho(M_B M_A) \le 1$")]),
})


# --- necessity (issue 22 item 3) ---------------------------------------------------------------------
# Hypotheses with a necessity witness: an instance breaking only that hypothesis on which a conclusion
# fails (proofs_check.verification.necessity.WITNESSES, checked by verify's method VN).
NECESSARY: dict[str, tuple[str, ...]] = {
    "C1": ("rate", "component"), "C2": ("invertible",), "C3": ("rate",), "C7": ("rate",), "C8": ("invertible",),
    "C12": ("rate",), "C13": ("rate",), "C17": ("invertible",), "R2": ("noiseless",), "R4": ("stable",),
}
# Hypotheses that set the scene (the model, the protocol's shape, a construction's definition) rather
# than restrict an instance: neither necessary nor sufficient, left unmarked.
SETTING: dict[str, tuple[str, ...]] = {
    "L1": ("any_prompt",), "L1b": ("tokens", "decidable"), "L2": ("gaussian",), "C14": ("probes", "noise_free"),
    "C14b": ("exact_arithmetic",), "C15": ("independent_noise",), "C16": ("exact_attacker",), "P3": ("schedule",),
}


def _marked(claim_id: str, s: Statement) -> Statement:
    """``s`` with its necessary names, and every other condition's text marked sufficient."""
    necessary = NECESSARY.get(claim_id, ())
    unknown = set(necessary) - set(s.hypothesis_names)
    if unknown:
        raise ValueError(f"claim {claim_id}: NECESSARY names no hypothesis of the statement: {sorted(unknown)}")
    setting = SETTING.get(claim_id, ())
    texts = tuple(t if n in necessary or n in setting or "sufficient" in t else t + SUFF
                  for n, t in zip(s.hypothesis_names, s.hypotheses))
    return Statement(s.statement, texts, s.hypothesis_names, s.conclusion_names, s.conclusions, necessary)


STATEMENTS = {k: _marked(k, v) for k, v in STATEMENTS.items()}


# Claim titles that contain mathematics, typeset (the registry's titles are plain text).
TITLES = {
    "L2": r"Optimal trained preconditioner $\Gamma^*$",
    "C1": r"Convergence at rate $\rho(M_A M_B)$",
    "C3": r"Biased equilibrium: plateau $G_A \aadDelta$",
    "C17": r"$K$ agents in round robin",
}


def title(claim) -> str:
    return TITLES.get(claim.id, claim.title)


def of(claim_id: str) -> Statement:
    if claim_id not in STATEMENTS:
        raise KeyError(f"claim {claim_id} has no typeset statement in proofs_check/statements/statements.py")
    return STATEMENTS[claim_id]


_MATH = re.compile(r"\$([^$]+)\$")


def _escape_text(s: str) -> str:
    s = s.replace("&", r"\&").replace("%", r"\%").replace("#", r"\#").replace("_", r"\_")
    # quotes as LaTeX typesets them: an opening quote (at the start, after a space or a bracket) is ` or ``,
    # a closing double quote ''; an apostrophe stays '
    s = re.sub(r'(^|(?<=[\s(\[]))"', "``", s)
    s = re.sub(r"(^|(?<=[\s(\[]))'", "`", s)
    return s.replace('"', "''")


def to_latex(text: str) -> str:
    """The mini-format as LaTeX: math kept, text escaped, ``$$`` paragraphs as displays."""
    if text.startswith("$$"):
        return "\\[\n" + text[2:].strip() + "\n\\]"
    parts = _MATH.split(text)
    return "".join(f"${p}$" if k % 2 else _escape_text(p) for k, p in enumerate(parts))


def to_rst(text: str) -> str:
    """The mini-format as reStructuredText: ``:math:`` roles and ``.. math::`` blocks."""
    if text.startswith("$$"):
        return ".. math::\n\n   " + text[2:].strip() + "\n"
    parts = _MATH.split(text)
    out: list[str] = []
    for k, p in enumerate(parts):
        if k % 2:
            if out and re.search(r"[A-Za-z0-9)'(]$", out[-1]):
                out.append("\\ ")  # a role must not touch the word before it
            out.append(f":math:`{p}`")
        else:
            p = p.replace("*", r"\*").replace("|", r"\|")
            if k and re.match(r"[A-Za-z0-9(]", p):
                p = "\\ " + p
            out.append(p)
    return "".join(out)


def to_text(text: str) -> str:
    """Plain text: the math with its dollar signs removed."""
    return _MATH.sub(lambda m: m.group(1), text).lstrip("$")
