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
    statement: str  # text with $...$ math
    hypotheses: tuple[str, ...]  # each a short text with $...$ math


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
        r"Its read-out is $\hat{y}(x_q) = \frac{1}{N} \sum_j (p^{T} z_j)(z_j^{T} Q z_q)$, with $p$ the last "
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
    (r"$p$, $Q$", r"LSA weights: last row of $W_{PV}$ and $W_{KQ}$; $p = (p_x, p_y)$, "
                  r"$Q_{:,1:d} = [Q_{xx};\, q_{yx}^{T}]$"),
    (r"$\Gamma^*$", "risk-optimal LSA preconditioner (L2)"),
]

RHO = r"\rho(M_A M_B) < 1"
STATEMENTS: dict[str, Statement] = {
    "L1": Statement(
        r"With $p = (0, \dots, 0, 1)$ and "
        r"$Q = \bigl(\begin{smallmatrix} \Gamma^{T} & 0 \\ 0 & 0 \end{smallmatrix}\bigr)$, the LSA "
        r"read-out on the basis queries gives $w' = w - \Gamma (H w - b) = T(w)$ exactly.",
        (r"any prompt $(X, y)$, any message $w$, any $N$ and $d$",)),
    "L1b": Statement(
        r"For general weights $p = (p_x, p_y)$ and $Q_{:,1:d} = [Q_{xx};\, q_{yx}^{T}]$, "
        r"$w' = w + p_y Q_{xx}^{T} (b - H w) + Q_{xx}^{T} H p_x + q_{yx} \bigl((b - H w)^{T} p_x + "
        r"\tfrac{1}{N} p_y r^{T} r\bigr)$. It is affine exactly when $q_{yx} = 0$, with "
        r"$\Gamma_{\mathrm{eff}} = p_y Q_{xx}^{T}$ and drift $Q_{xx}^{T} H p_x$.",
        (r"tokens $(x_j, r_j)$ with $r = y - X w$, query $(x_q, 0)$",)),
    "L2": Statement(
        r"The risk $R(\Gamma) = \mathbb{E}\,(x_q^{T} \Gamma X^{T} y / N - \langle w, x_q \rangle)^2$ has the "
        r"unique minimiser $\Gamma^* = \bigl(\frac{N+1}{N} \Sigma + \frac{1}{N}(\operatorname{tr}\Sigma + "
        r"\sigma^2/\tau^2) I\bigr)^{-1}$; the Gaussian fourth moment is $\mathbb{E}[\hat{H} A \hat{H}] = "
        r"\frac{N+1}{N} \Sigma A \Sigma + \frac{1}{N} \operatorname{tr}(A \Sigma) \Sigma$.",
        (r"$x \sim \mathcal{N}(0, \Sigma)$ with $\Sigma$ SPD", r"$w \sim \mathcal{N}(0, \tau^2 I)$",
         r"$y = \langle w, x \rangle + \varepsilon$, $\varepsilon \sim \mathcal{N}(0, \sigma^2)$",
         r"$A$ symmetric")),
    "C1": Statement(
        r"One round maps $u_{t+1} = M_A M_B u_t + M_A c_B + c_A$. If $\rho = \rho(M_A M_B) < 1$, the fixed "
        r"point is unique and $\|u_t - u^*\| = O((\rho + \varepsilon)^t)$ for every $v_0$ and every "
        r"$\varepsilon > 0$; if $\rho > 1$, the messages diverge from every $v_0$ with a component on the "
        r"unstable invariant subspace.",
        (r"$" + RHO + r"$ for convergence", r"$\rho(M_A M_B) > 1$ for divergence")),
    "C2": Statement(
        r"$u^* = (I - M_A M_B)^{-1} (M_A c_B + c_A)$ and $v^* = (I - M_B M_A)^{-1} (M_B c_A + c_B)$; "
        r"moreover $v^* = T_B(u^*)$ and $u^* = T_A(v^*)$.",
        (r"$I - M_A M_B$ invertible (implied by $" + RHO + "$)",)),
    "C3": Statement(
        r"$e_A = u^* - w_A^* = G_A \aadDelta$ with $G_A = (I - M_A M_B)^{-1} M_A K_B$, and "
        r"$e_B = v^* - w_B^* = -G_B \aadDelta$ with $G_B = (I - M_B M_A)^{-1} M_B K_A$. The errors are coupled "
        r"by $e_A = M_A (e_B + \aadDelta)$ and $e_B = M_B (e_A - \aadDelta)$; A's messages plateau at "
        r"$\|u_t - w_A^*\| \to \|e_A\|$.",
        (r"$I - M_A M_B$ invertible (implied by $" + RHO + "$)",)),
    "C4": Statement(
        r"$\aadDelta = 0$ gives $e_A = e_B = 0$. The errors are linear in $\aadDelta$, so $\|e_A(s \aadDelta)\| "
        r"= |s| \, \|e_A(\aadDelta)\|$ grows strictly with $|s|$ whenever $G_A \aadDelta \ne 0$, and "
        r"$\sigma_{\min}(G_A) \|\aadDelta\| \le \|e_A\| \le \|G_A\|_2 \|\aadDelta\|$. For targets of equal norm "
        r"$r$ at angle $\theta$, $\|\aadDelta\| = 2 r \sin(\theta / 2)$, increasing on $[0, \pi]$.",
        (r"$" + RHO + "$",)),
    "C5": Statement(
        r"If $K_A$ and $K_B$ share an eigenbasis with eigenvalues $a_k$ and $b_k$, then in that basis "
        r"$e_{A,k} = \frac{(1 - a_k) b_k}{a_k + b_k - a_k b_k} \aadDelta_k$, "
        r"$e_{B,k} = -\frac{(1 - b_k) a_k}{a_k + b_k - a_k b_k} \aadDelta_k$, "
        r"$(u^* - v^*)_k = -\frac{a_k b_k}{a_k + b_k - a_k b_k} \aadDelta_k$ and "
        r"$\rho = \max_k |(1 - a_k)(1 - b_k)|$. Where a prompt is informative ($a_k$ near 1) the agent keeps "
        r"its target; where it is uninformative ($a_k$ near 0) it adopts the other's.",
        (r"$K_A$ and $K_B$ simultaneously diagonalisable", r"$a_k + b_k - a_k b_k \ne 0$")),
    "C6": Statement(
        r"$\rho(M_A) < 1$ and $\rho(M_B) < 1$ do not imply $\rho(M_A M_B) < 1$: $2 \times 2$ witnesses with "
        r"SPD $\Gamma_i$ and $H_i$ reach $\rho(M_A M_B) \approx 2.4$ from individual radii $0.99$ and $0.98$. "
        r"With one shared SPD preconditioner $\Gamma$, $\rho(M_A M_B) \le \rho(M_A) \rho(M_B)$, since each "
        r"$M_i$ is self-adjoint in the $\Gamma^{-1}$ inner product.",
        (r"witness: SPD $\Gamma_i$ and $H_i$", r"bound: $\Gamma_A = \Gamma_B = \Gamma$ SPD, $H_i$ symmetric")),
    "C7": Statement(
        r"With $s$ steps per turn, C2 to C5 hold with $M_i \to M_i^{s}$ and $K_i \to I - M_i^{s}$: "
        r"$T_i^{s}(w) = M_i^{s} w + (I - M_i^{s}) w_i^*$. As $s_A \to \infty$, $e_A \to 0$ and "
        r"$e_B \to -M_B \aadDelta$.",
        (r"$\rho(M_A^{s_A} M_B^{s_B}) < 1$", r"$\rho(M_A) < 1$ for the limit $s_A \to \infty$")),
    "C8": Statement(
        r"$e_A = 0$ exactly when $M_A K_B \aadDelta = 0$; both errors vanish exactly when also "
        r"$M_B K_A \aadDelta = 0$. When $e_A = 0$, $e_B = -M_B \aadDelta$: one agent wins, the other keeps "
        r"a persistent bias.",
        (r"$I - M_A M_B$ invertible",)),
    "C9": Statement(
        r"The prompt $X_A = \sqrt{N}\, U \Gamma_A^{-1/2}$, $y_A = X_A w_A^*$ gives $K_A = I$ and $M_A = 0$: A sits "
        r"on its target from its first turn, $e_B = -M_B \aadDelta$ and $\rho = 0$.",
        (r"$\Gamma_A$ SPD", r"$N \ge d$", r"$U \in \mathbb{R}^{N \times d}$ with $U^{T} U = I$")),
    "C10": Statement(
        r"With $g = K_B \aadDelta$, a prompt whose every row is $x = \Gamma_A^{-1} g / \sqrt{g^{T} \Gamma_A^{-1} g}$ "
        r"and $y_A = X_A w_A^*$ gives $K_A g = g$, hence $M_A K_B \aadDelta = 0$ and $e_A = 0$. One repeated "
        r"example suffices, given white-box knowledge of $K_B$ and $\aadDelta$.",
        (r"$\Gamma_A$ SPD", r"$g = K_B \aadDelta \ne 0$", r"$" + RHO + r"$ (the attacker checks it)")),
    "C11": Statement(
        r"If $M_A = 0$, then $v^* = M_B w_A^* + K_B w_B^*$, so the target $w_A^* = M_B^{-1}(p - K_B w_B^*)$ puts "
        r"B's equilibrium at any chosen $p$; without $M_B^{-1}$ the least-squares choice leaves a residual.",
        (r"$M_A = 0$", r"$M_B$ invertible (otherwise least squares)")),
    "C12": Statement(
        r"A helper that emits the damped Newton point $n_t = u_t - \alpha (u_t - w_A^*)$ (by relabelling its "
        r"prompt, $w_B(t) = K_B^{-1}(n_t - M_B u_t)$) gives $u_{t+1} - w_A^* = (1 - \alpha) M_A (u_t - w_A^*)$: "
        r"no plateau, rate $|1 - \alpha| \rho(M_A)$, and A is exact after one round when $\alpha = 1$.",
        (r"$K_B$ invertible", r"$H_A$ invertible", r"$\alpha \in (0, 2)$")),
    "C13": Statement(
        r"With a curvature estimate $\hat{H}$ in place of $H_A$, $u_{t+1} - w_A^* = M_A (I - \alpha \hat{H}^{-1} "
        r"H_A)(u_t - w_A^*)$: no plateau whenever the spectral radius of that map is below 1.",
        (r"$K_B$ invertible", r"$\hat{H}$ invertible", r"$\alpha \in (0, 2)$")),
    "C14": Statement(
        r"A helper that sees only messages sends $d + 1$ affinely independent probes, fits $[M_A \mid c_A]$ "
        r"by least squares and then sends $\hat{w}^* = K_A^{-1} c_A = w_A^*$; A is exact from round $d + 2$.",
        (r"$K_B$ and $K_A$ invertible", r"$d + 1$ affinely independent probes", "noise-free replies")),
    "C14b": Statement(
        r"Broyden's good method on $F(v) = T_A(v) - v = -K_A (v - w_A^*)$, using only observed replies, "
        r"terminates in at most $2d$ rounds.",
        (r"$K_A$ invertible", "exact arithmetic", "well-defined Broyden updates")),
    "C15": Statement(
        r"With independent zero-mean output noise of covariances $S_A$ and $S_B$, the mean follows C1 to C3 "
        r"and the stationary covariance of B's messages solves $V_B = J_B V_B J_B^{T} + M_B S_A M_B^{T} + S_B$ "
        r"with $J_B = M_B M_A$ (and symmetrically for A).",
        (r"noise independent across agents and turns, $\operatorname{Cov} \eta_i = S_i$", r"$" + RHO + "$")),
    "C16": Statement(
        r"Against an exact attacker, B's plateau obeys $\|e_B\| \le \|M_B^{s_B}\| \, \|\aadDelta\|$; more steps "
        r"per turn or a more informative prompt shrink it.",
        (r"exact attacker: $M_A = 0$", r"$\rho(M_B) < 1$")),
    "C17": Statement(
        r"With $K$ agents in round robin, $(I - J_i)\, u_i^* = \sum_j P_{i,j} c_j$ and "
        r"$e_i = (I - J_i)^{-1} \sum_{j \ne i} P_{i,j} K_j (w_j^* - w_i^*)$, by the telescoping identity "
        r"$\sum_j P_{i,j} K_j = I - J_i$. $K = 2$ gives C2 and C3.",
        (r"$I - J_i$ invertible (implied by $\rho(J_i) < 1$)",)),
    "C18": Statement(
        r"Least squares on a transcript's (incoming, outgoing) message pairs gives $[\hat{M}_i \mid \hat{c}_i] "
        r"= Y Z^{T} (Z Z^{T})^{-1}$, hence $\hat{K}_i = I - \hat{M}_i$, $\hat{w}_i^* = \hat{K}_i^{-1} \hat{c}_i$ "
        r"and the predicted plateau by C2 and C3, compared with the transcript's tail with bootstrap intervals.",
        (r"$d + 1$ affinely independent incoming messages per agent", r"$Z Z^{T}$ invertible")),
    "P1": Statement(
        r"Stacking every agent's latest message into $z = (m_1, \dots, m_K)$, a phase in which a set $S$ of "
        r"agents update at once is an affine map $z \mapsto \Phi_p z + r_p$; a round is "
        r"$\Phi = \Phi_P \cdots \Phi_1$ with rate $\rho(\Phi)$ and fixed point $(I - \Phi) z^* = r$.",
        (r"$\rho(\Phi) < 1$ for the fixed point",)),
    "P2": Statement(
        r"A simultaneous pair has $\Phi = \bigl(\begin{smallmatrix} 0 & M_A \\ M_B & 0 \end{smallmatrix}\bigr)$, so "
        r"$\Phi^2 = \operatorname{diag}(M_A M_B, M_B M_A)$: the fixed point is C2's and "
        r"$\rho(\Phi) = \rho(M_A M_B)^{1/2}$.",
        (r"$" + RHO + "$",)),
    "P3": Statement(r"The schedule A, A, B equals two steps per turn for A (C7).", ("none",)),
    "P4": Statement(
        r"If A reads $\alpha m_A + (1 - \alpha) m_B$, then $(I - \alpha M_A - (1 - \alpha) M_A M_B)\, e_A = "
        r"(1 - \alpha) M_A K_B \aadDelta$; $\alpha = 0$ gives C3.",
        (r"$\alpha \in [0, 1]$", r"$I - \alpha M_A - (1 - \alpha) M_A M_B$ invertible")),
    "P5": Statement(
        r"Three agents each read the mean of the other two, all in one simultaneous phase. Then "
        r"$\Phi = \frac{1}{2} \bigl(\begin{smallmatrix} 0 & M_1 & M_1 \\ M_2 & 0 & M_2 \\ M_3 & M_3 & 0 "
        r"\end{smallmatrix}\bigr)$.",
        (r"$\rho(\Phi) < 1$ for the fixed point",)),
}


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
    return s.replace("&", r"\&").replace("%", r"\%").replace("#", r"\#").replace("_", r"\_")


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
