"""L1, L1b, L2 (the config's first agent), C15, C17, C18 (all agents) and P1-P5 (protocols)."""
from __future__ import annotations

import numpy as np

from proofs_check.check import params as pp
from proofs_check.check.core import (
    REL_TOL,
    Instance,
    NotApplicable,
    Outcome,
    Param,
    Piece,
    Proposition,
    always,
    close,
    invertible,
    less_than_one,
    norm,
    not_checkable,
    rho,
    spd,
)
from proofs_check.check.pair import fixed_points, pair, prompt_of, rounds_to_settle

# --- L1, L1b, L2 ------------------------------------------------------------------------------------

# A second difference of the read-out counts as nonzero above this share of the read-out's scale.
AFFINE_TOL = 1e-8


def _lsa(inst: Instance):
    """The first agent's prompt ``(X, y)``, ``H``, ``b`` and the message ``w``."""
    from numerics.agents.prompts import from_prompt

    def make():
        A = inst.system.agents[0]
        X, y = prompt_of(A)
        g = from_prompt(X, y)
        w = inst.params.get("w")
        w = inst.system.initial_message if w is None else w
        return X, y, g.H, g.b, w
    return inst.get("lsa", make)


def _weights(inst: Instance):
    from numerics.lsa import agent as nlsa

    d = inst.system.d
    gd = nlsa.gd_weights(inst.system.agents[0].Gamma)
    p = inst.params.get("nu")  # the statement's nu = (nu_x, nu_y): W_PV's last row
    Q = inst.params.get("Q")
    return nlsa.LSAWeights.from_pQ(gd.p if p is None else p, gd.W_KQ if Q is None else Q), d


def _l1_step(inst):
    from numerics.lsa import agent as nlsa

    X, y, H, b, w = _lsa(inst)
    G = inst.system.agents[0].Gamma
    return close("LSA with GD weights vs w - Gamma (H w - b)", nlsa.forward(nlsa.gd_weights(G), X, y, w),
                 w - G @ (H @ w - b))


L1 = Proposition("L1", "lsa", {"any_prompt": Piece(lambda i: always("the first agent's prompt, Gamma and w"))}, {
    "gd_step": Piece(_l1_step)},
    {"w": Param("the incoming message (default: initial_message)", None, pp.vector, "d")})


def _l1b_expansion(inst):
    from numerics.lsa import agent as nlsa

    X, y, H, b, w = _lsa(inst)
    W, d = _weights(inst)
    ro = nlsa.read_weights(W)
    g = b - H @ w
    r = y - X @ w
    pred = (w + ro.p_y * ro.Q_xx.T @ g + ro.Q_xx.T @ H @ ro.p_x
            + ro.q_yx * (g @ ro.p_x + ro.p_y * (r @ r) / X.shape[0]))
    return close("forward pass vs the L1b expansion", nlsa.forward(W, X, y, w), pred)


def _second_difference(W, X, y, w) -> float:
    """``||f(w + h) + f(w - h) - 2 f(w)|| / scale``: zero for an affine read-out ``f``."""
    from numerics.lsa import agent as nlsa

    h = np.random.default_rng(7).standard_normal(w.shape[0])
    h /= norm(h)  # a unit step: in d = 1 the seeded draw is 0.0012, whose second difference hid p_y q_yx = 0.018 (VF)
    f0, fp, fm = (nlsa.forward(W, X, y, w + t * h) for t in (0.0, 1.0, -1.0))
    return norm(fp + fm - 2 * f0) / max(1.0, norm(fp), norm(fm), norm(f0))


def _l1b_product(inst):
    from numerics.lsa import agent as nlsa

    W, _ = _weights(inst)
    ro = nlsa.read_weights(W)
    n = norm(ro.p_y * ro.q_yx)
    scale = max(1.0, abs(ro.p_y), norm(ro.q_yx))
    return Outcome(True, f"||nu_y q_yx|| = {n:.3g}", boundary=0 < n <= 1e-6 * scale)


def _l1b_iff(inst):
    """Both ways: ``nu_y q_yx = 0`` => affine on this prompt (and every prompt: the map is the L1b
    expansion, whose only non-affine term is ``nu_y q_yx r^T r / N``); ``nu_y q_yx != 0`` => a prompt
    where it is not affine (this one if ``H != 0``, else ``X = I``)."""
    from numerics.lsa import agent as nlsa

    X, y, H, b, w = _lsa(inst)
    W, d = _weights(inst)
    ro = nlsa.read_weights(W)
    product_zero = not np.any(ro.p_y * ro.q_yx)
    curv = _second_difference(W, X, y, w)
    if product_zero:
        return Outcome(bool(curv <= AFFINE_TOL), f"nu_y q_yx = 0; second difference {curv:.3g} (affine)")
    # the witness prompt: this one, or X = I (H = I / d), where the quadratic term is the largest
    # whatever this prompt's H (zero, or too small for the second difference to show the term)
    curv = max(curv, _second_difference(W, np.eye(d), np.zeros(d), w))
    return Outcome(bool(curv > AFFINE_TOL), f"nu_y q_yx != 0; second difference {curv:.3g} on the witness prompt")


def _l1b_gamma_eff(inst):
    from numerics.lsa import agent as nlsa

    X, y, H, b, w = _lsa(inst)
    W, d = _weights(inst)
    ro = nlsa.read_weights(W)
    if np.any(ro.p_y * ro.q_yx):
        return Outcome(None, "nu_y q_yx != 0: the map is not affine, Gamma_eff is not claimed")
    G = ro.p_y * ro.Q_xx.T + np.outer(ro.q_yx, ro.p_x)
    pts = [w, w + 1.0, w - np.arange(d)]
    return close("forward pass vs w + (nu_y Q_xx^T + q_yx nu_x^T)(b - H w) + Q_xx^T H nu_x",
                 np.concatenate([nlsa.forward(W, X, y, v) for v in pts]),
                 np.concatenate([v + G @ (b - H @ v) + ro.Q_xx.T @ H @ ro.p_x for v in pts]))


L1b = Proposition("L1b", "lsa", {
    "tokens": Piece(lambda i: always("tokens (x_j, r_j), r = y - X w, query (x_q, 0)")),
    "decidable": Piece(_l1b_product)}, {
    "expansion": Piece(_l1b_expansion), "affine_iff": Piece(_l1b_iff), "gamma_eff": Piece(_l1b_gamma_eff)},
    {"nu": Param("nu = (nu_x, nu_y), the last row of W_PV, length d + 1 (default: the GD weights of Gamma_A)",
                 None, pp.vector, "d+1"),
     "Q": Param("W_KQ, (d + 1) x (d + 1) (default: the GD weights of Gamma_A)", None, pp.matrix, "d+1"),
     "w": Param("the incoming message (default: initial_message)", None, pp.vector, "d")})


def _l2_data(inst):
    A = inst.system.agents[0]
    N = inst.params.get("N") or (A.geometry.X.shape[0] if A.geometry.X is not None else 10)
    return A.geometry.H, int(N), inst.params["tau"], inst.params["sigma"]


def _l2_sigma(inst):
    return spd("Sigma = H_A", _l2_data(inst)[0])


def _l2_tau(inst):
    tau = _l2_data(inst)[2]
    return Outcome(tau > 0, f"tau = {tau:g}")


def _risk(G, S, N, tau, sigma) -> float:
    """``R(Gamma)`` with the stated fourth moment: ``tau^2 [tr(G^T S G S2) - 2 tr(S G S) + tr S]
    + sigma^2 / N tr(G^T S G S)``, ``S2 = E[Hhat^2] = (N+1)/N S^2 + tr(S) S / N``."""
    S2 = (N + 1) / N * S @ S + np.trace(S) * S / N
    A = G.T @ S @ G
    return float(tau**2 * (np.trace(A @ S2) - 2 * np.trace(S @ G @ S) + np.trace(S)) + sigma**2 / N * np.trace(A @ S))


def _l2_minimiser(inst):
    from numerics.lsa.training import gamma_star

    S, N, tau, sigma = _l2_data(inst)
    G = gamma_star(S, N, tau, sigma)
    R0 = _risk(G, S, N, tau, sigma)
    rng = np.random.default_rng(3)
    worst_grad, min_rise = 0.0, np.inf
    for _ in range(8):
        E = rng.standard_normal(S.shape)
        h = 1e-4 * max(1.0, norm(G))
        up, down = _risk(G + h * E, S, N, tau, sigma), _risk(G - h * E, S, N, tau, sigma)
        worst_grad = max(worst_grad, abs(up - down) / (2 * h) / max(1.0, abs(R0)))
        min_rise = min(min_rise, (up + down - 2 * R0) / max(1.0, abs(R0)))
    return Outcome(bool(worst_grad <= 1e-6 and min_rise > 0),
                   f"directional derivative at Gamma* {worst_grad:.3g}, least second difference {min_rise:.3g}")


def _l2_fourth(inst):
    """Monte Carlo over ``samples`` Gaussian prompts (seeded); tolerance 6 standard errors per entry."""
    S, N, _, _ = _l2_data(inst)
    d = S.shape[0]
    rng = np.random.default_rng(inst.params["seed"])
    A = rng.standard_normal((d, d))
    A = A + A.T
    L = np.linalg.cholesky(S)
    R = inst.params["samples"]
    X = rng.standard_normal((R, N, d)) @ L.T
    Hh = np.einsum("rni,rnj->rij", X, X) / N
    vals = Hh @ A @ Hh
    mean, se = vals.mean(axis=0), vals.std(axis=0) / np.sqrt(R)
    pred = (N + 1) / N * S @ A @ S + np.trace(A @ S) * S / N
    z = float(np.max(np.abs(mean - pred) / np.maximum(se, 1e-300)))
    return Outcome(bool(z <= 6), f"largest |MC mean - formula| / standard error = {z:.3g} over {R} prompts")


L2 = Proposition("L2", "lsa", {"Sigma_spd": Piece(_l2_sigma), "tau_positive": Piece(_l2_tau),
                               "gaussian": Piece(lambda i: always("x, w, noise Gaussian as stated (the model)"))}, {
    "minimiser": Piece(_l2_minimiser), "fourth_moment": Piece(_l2_fourth)},
    {"N": Param("examples per prompt (default: the first agent's N, else 10)", None, pp.positive_int),
     "tau": Param("standard deviation of the task vector w", 1.0, pp.real),
     "sigma": Param("label noise standard deviation", 0.0, pp.nonnegative),
     "samples": Param("Monte Carlo prompts for the fourth moment", 4000, pp.positive_int),
     "seed": Param("Monte Carlo seed", 0, pp.positive_int)})


# --- C15 --------------------------------------------------------------------------------------------

def _c15_covs(inst):
    P = pair(inst)
    S_A = inst.params.get("S_A")
    S_B = inst.params.get("S_B")
    I = np.eye(P.d)
    return P, I if S_A is None else S_A, I if S_B is None else S_B


def _series(J, Q) -> np.ndarray:
    """``sum_k J^k Q J^kT`` until ``||J^k||`` is negligible (an independent route to the Lyapunov solution)."""
    T = rounds_to_settle(J, 1e-14)
    if T is None:
        raise Unsettled(f"rho = {rho(J):.9g}: the series outlasts the round budget")
    V, P = np.zeros_like(Q), np.eye(J.shape[0])
    for _ in range(T + 1):
        V = V + P @ Q @ P.T
        P = J @ P
    return V


class Unsettled(Exception):
    """A series or transient that outlasts the round budget (the piece is not checkable)."""


def _c15_lyap(inst):
    try:
        return _c15_lyap_checked(inst)
    except Unsettled as exc:
        return Outcome(None, str(exc))


def _c15_lyap_checked(inst):
    from numerics.dynamics.lyapunov import discrete_lyapunov

    P, S_A, S_B = _c15_covs(inst)
    V_B = discrete_lyapunov(P.J_v, P.M_B @ S_A @ P.M_B.T + S_B)
    V_A = discrete_lyapunov(P.J_u, P.M_A @ S_B @ P.M_A.T + S_A)
    series = np.r_[_series(P.J_v, P.M_B @ S_A @ P.M_B.T + S_B), _series(P.J_u, P.M_A @ S_B @ P.M_A.T + S_A)]
    return close("(V_B, V_A) vs the series sum_k J^k Q J^kT", np.r_[V_B, V_A], series, tol=REL_TOL * 10)


C15 = Proposition("C15", "pair", {
    "independent_noise": Piece(lambda i: always("zero-mean noise, independent across agents and turns (the model)")),
    "rate": Piece(lambda i: less_than_one("rho(M_A M_B)", rho(pair(i).J_u)))}, {
    "mean": Piece(lambda i: not_checkable("the mean follows C1-C3 by linearity of expectation")),
    "covariance": Piece(_c15_lyap)},
    {"S_A": Param("A's output-noise covariance (d x d, default I)", None, pp.psd, "d"),
     "S_B": Param("B's output-noise covariance (d x d, default I)", None, pp.psd, "d")})


# --- C17 --------------------------------------------------------------------------------------------

def _agents(inst):
    system = inst.system
    if system.protocol is not None:
        from numerics.protocol.engine import is_round_robin
        if not is_round_robin(system.protocol):
            raise NotApplicable("the claim is about the round robin; the config has another protocol")
    return system.agents


def _products(agents, i):
    """``P_{i,j}`` for every j and ``J_i`` (indices cyclic, agent i speaks last)."""
    K, d = len(agents), agents[0].d
    P = {i: np.eye(d)}
    acc = np.eye(d)
    for step in range(1, K):
        j = (i - step) % K
        acc = acc @ agents[(j + 1) % K].M
        P[j] = acc
    return P, P[(i + 1) % K] @ agents[(i + 1) % K].M


def _c17_inv(inst):
    agents = _agents(inst)
    outs = [invertible(f"I - J_{i}", np.eye(agents[0].d) - _products(agents, i)[1]) for i in range(len(agents))]
    worst = min(outs, key=lambda o: (bool(o.holds) and not o.boundary, o.value))
    return Outcome(all(o.holds for o in outs), worst.value, boundary=any(o.boundary for o in outs))


def _c17_telescoping(inst):
    agents = _agents(inst)
    d = agents[0].d
    lhs, rhs, terms = [], [], 1.0
    for i in range(len(agents)):
        P, J = _products(agents, i)
        lhs.append(sum(P[j] @ agents[j].K for j in range(len(agents))))
        rhs.append(np.eye(d) - J)
        terms = max(terms, sum(norm(P[j]) * norm(agents[j].K) for j in range(len(agents))))
    # the sum cancels terms far larger than I - J_i: round-off scales with them (VF found K_j ~ 2.5e5,
    # where 3.5e-7 relative to ||I - J_i|| was read as a counterexample)
    rhs_a = np.array(rhs)
    tol = REL_TOL * max(1.0, terms / max(1.0, norm(rhs_a)))
    return close("sum_j P_ij K_j vs I - J_i", np.array(lhs), rhs_a, tol=tol)


# Round-off units per GD step and agent in a real round (64 machine epsilons: the steps' products and sums).
ROUND_ROUNDOFF = 64 * float(np.finfo(float).eps)


def _c17_fixed(inst):
    agents = _agents(inst)
    K, d = len(agents), agents[0].d
    got, want, errs, preds = [], [], [], []
    for i in range(K):
        P, J = _products(agents, i)
        u = np.linalg.solve(np.eye(d) - J, sum(P[j] @ agents[j].c for j in range(K)))
        m = u
        for step in range(1, K + 1):  # one real round: agents i+1, ..., i reply in turn
            m = agents[(i + step) % K].respond(m)
        got.append(m)
        want.append(u)
        errs.append(u - agents[i].w_star)
        preds.append(np.linalg.solve(np.eye(d) - J, sum(P[j] @ agents[j].K @ (agents[j].w_star - agents[i].w_star)
                                                        for j in range(K) if j != i)))
    inst.cache["c17_errors"] = (np.array(errs), np.array(preds))
    # float64 round-off of one real round: a GD step's intermediates reach (1 + ||Gamma|| ||H||) times
    # its input, and the round composes every agent's steps (Gamma H = 1027 at s = 1, 2 amplifies by 1e9)
    amp = float(np.prod([(1 + np.linalg.norm(a.Gamma, 2) * np.linalg.norm(a.geometry.H, 2)) ** a.steps
                         for a in agents]))
    return close("one real round from u_i* vs u_i*", np.array(got), np.array(want),
                 tol=max(REL_TOL, ROUND_ROUNDOFF * K * amp))


def _c17_errors(inst):
    if "c17_errors" not in inst.cache:
        _c17_fixed(inst)
    errs, preds = inst.cache["c17_errors"]
    return close("e_i formula vs u_i* - w_i*", preds, errs)


C17 = Proposition("C17", "agents", {"invertible": Piece(_c17_inv)}, {
    "telescoping": Piece(_c17_telescoping, needs=()), "fixed_point": Piece(_c17_fixed),
    "errors": Piece(_c17_errors)})


# --- C18 --------------------------------------------------------------------------------------------

def _c18_transcript(inst):
    """A noise-free round-robin transcript: each agent's (incoming, outgoing) pairs over T rounds."""
    def make():
        agents = _agents(inst)
        K = len(agents)
        T = inst.params.get("T") or agents[0].d + 2
        m = inst.system.initial_message
        pairs = [([], []) for _ in range(K)]
        for _ in range(T):
            for i, a in enumerate(agents):
                out = a.respond(m)
                pairs[i][0].append(m)
                pairs[i][1].append(out)
                m = out
        return agents, [(np.array(a), np.array(b)) for a, b in pairs]
    return inst.get("c18", make)


def _c18_conditioning(pairs) -> float:
    """The least relative singular value of ``[incoming | 1]`` over the agents (0 if too few rows)."""
    worst = np.inf
    for inc, _ in pairs:
        Z = np.hstack([inc, np.ones((inc.shape[0], 1))])
        s = np.linalg.svd(Z, compute_uv=False)
        worst = min(worst, float(s[-1] / s[0]) if Z.shape[0] >= Z.shape[1] else 0.0)
    return worst


def _c18_rank(inst):
    _, pairs = _c18_transcript(inst)
    worst = _c18_conditioning(pairs)
    return Outcome(bool(worst > 1e-6), f"least relative singular value of [incoming | 1] = {worst:.3g}")


def _c18_fit(inst):
    from numerics.fit.fitting import least_squares_map

    agents, pairs = _c18_transcript(inst)
    got, want = [], []
    for a, (inc, out) in zip(agents, pairs):
        M, c = least_squares_map(inc, out)
        got.append(np.c_[M, c])
        want.append(np.c_[a.M, a.c])
    # least-squares round-off grows like eps / (relative singular value); 1e-10 leaves a 1e6 margin on eps
    tol = max(REL_TOL, 1e-10 / max(_c18_conditioning(pairs), 1e-300))
    return close("[Mhat | chat] vs [M | c]", np.array(got), np.array(want), tol=tol)


C18 = Proposition("C18", "agents", {"identifiable": Piece(_c18_rank)}, {
    "exact_fit": Piece(_c18_fit),
    "plateau": Piece(lambda i: not_checkable("bootstrap intervals of a noisy transcript are statistical"))},
    {"T": Param("rounds of the noise-free transcript (default d + 2)", None, pp.positive_int)})


# --- P1-P5: protocols -------------------------------------------------------------------------------

def _protocol(inst):
    from numerics.protocol.engine import of
    return of(inst.system)


def _sim_round(agents, protocol, z: np.ndarray) -> np.ndarray:
    """One round phase by phase with the agents' own GD steps: a listener of a phase replies
    (``speaks`` times its steps) to the weighted sum of the messages at the phase's start."""
    z = z.copy()
    for phase in protocol.phases:
        new = z.copy()
        for i, row in phase:
            new[i] = agents[i].respond(sum(w * z[j] for j, w in row))
        z = new
    return z


def _sim_matrix(inst):
    """``Phi`` and ``r`` read off simulated rounds (``r`` = round of 0, columns = round of e_k - r)."""
    def make():
        agents, proto = inst.system.agents, _protocol(inst)
        K, d = len(agents), agents[0].d
        r = _sim_round(agents, proto, np.zeros((K, d))).ravel()
        cols = []
        for k in range(K * d):
            e = np.zeros(K * d)
            e[k] = 1.0
            cols.append(_sim_round(agents, proto, e.reshape(K, d)).ravel() - r)
        return np.array(cols).T, r
    return inst.get("phi", make)


def _p1_rate(inst):
    from numerics.protocol.engine import rate
    from numerics.protocol.evaluate import stacked_finite

    M, _ = stacked_finite(inst.system)
    return less_than_one("rho(Phi) (live agents)", rate(M, _protocol(inst)))


def _p1_round(inst):
    from numerics.protocol.evaluate import round_map, stacked_finite

    M, c = stacked_finite(inst.system)
    W, mask = _protocol(inst).weights()
    Phi, r = round_map(M, c, W, mask)
    S, s = _sim_matrix(inst)
    return close("(Phi, r) vs a simulated round", np.c_[Phi, r], np.c_[S, s])


def _engine_fixed(inst):
    from numerics.protocol.engine import evaluate_float
    from numerics.protocol.evaluate import stacked_finite

    M, c = stacked_finite(inst.system)
    return evaluate_float(M, c, _protocol(inst))


def _p1_fixed(inst):
    _, z = _engine_fixed(inst)
    if z is None:
        return Outcome(False, "the engine found no fixed point")
    Z = _sim_round(inst.system.agents, _protocol(inst), z)
    return close("a simulated round from z* vs z*", Z, z)


P1 = Proposition("P1", "protocol", {"rate": Piece(_p1_rate)}, {
    "round_map": Piece(_p1_round, needs=()), "fixed_point": Piece(_p1_fixed)})


def _shape(inst, K: int, phases: list[dict], what: str):
    """Exit 3 unless the protocol is ``phases`` (listener -> {source: weight}) over K agents, with
    weights given by value (None: any value, returned)."""
    proto = _protocol(inst)
    if proto.K != K or len(proto.phases) != len(phases):
        raise NotApplicable(f"the claim is about {what}; the config's protocol has another shape")
    found = []
    for phase, want in zip(proto.phases, phases):
        got = {i: dict(row) for i, row in phase}
        if set(got) != set(want) or any(set(got[i]) != set(want[i]) for i in want):
            raise NotApplicable(f"the claim is about {what}; the config's protocol has another shape")
        for i in want:
            for j, w in want[i].items():
                if w is None:
                    found.append(float(got[i][j]))
                elif float(got[i][j]) != w:
                    raise NotApplicable(f"the claim is about {what}; weight {got[i][j]} where {w} is stated")
    return found


def _p2_shape(inst):
    _shape(inst, 2, [{0: {1: 1.0}, 1: {0: 1.0}}], "a simultaneous pair (one phase: A hears B, B hears A)")


def _p2_rate_h(inst):
    _p2_shape(inst)
    return less_than_one("rho(M_A M_B)", rho(pair_of(inst).J_u))


def pair_of(inst):
    from proofs_check.check.pair import Pair
    return Pair(inst.system.agents[0], inst.system.agents[1], inst.system.initial_message)


def _p2_square(inst):
    S, _ = _sim_matrix(inst)
    P = pair_of(inst)
    d = P.d
    want = np.zeros((2 * d, 2 * d))
    want[:d, :d], want[d:, d:] = P.J_u, P.J_v
    return close("Phi^2 (simulated) vs diag(M_A M_B, M_B M_A)", S @ S, want)


def _p2_rate(inst):
    from numerics.protocol.engine import rate
    from numerics.protocol.evaluate import stacked_finite

    M, _ = stacked_finite(inst.system)
    return close("engine's rho(Phi) vs rho(M_A M_B)^(1/2)", rate(M, _protocol(inst)), rho(pair_of(inst).J_u) ** 0.5)


def _p2_fixed(inst):
    _, z = _engine_fixed(inst)
    u, v = fixed_points(pair_of(inst))
    if z is None:
        return Outcome(False, "no fixed point from the engine")
    return close("z* vs (u*, v*)", z, np.array([u, v]))


P2 = Proposition("P2", "protocol", {"rate": Piece(_p2_rate_h)}, {
    "phi_squared": Piece(_p2_square, needs=()), "rate_root": Piece(_p2_rate, needs=()),
    "fixed_point": Piece(_p2_fixed)})


def _p3_equal(inst):
    from numerics.dynamics import closed_forms
    from numerics.protocol.engine import rate

    _shape(inst, 2, [{0: {1: 1.0}}, {0: {0: 1.0}}, {1: {0: 1.0}}], "the schedule A (hears B), A, B")
    from numerics.protocol.evaluate import stacked_finite
    M, c = stacked_finite(inst.system)
    M2 = M.copy()
    M2[0] = M[0] @ M[0]
    c2 = c.copy()
    c2[0] = M[0] @ c[0] + c[0]
    r_proto = rate(M, _protocol(inst))
    r_steps = float(closed_forms.contraction_rate(M2))
    return close("rate of A, A, B vs round robin with M_A -> M_A^2", r_proto, r_steps)


def _p3_fixed(inst):
    from numerics.dynamics import closed_forms
    from numerics.protocol.evaluate import stacked_finite

    _, z = _engine_fixed(inst)
    M, c = stacked_finite(inst.system)
    M2, c2 = M.copy(), c.copy()
    M2[0], c2[0] = M[0] @ M[0], M[0] @ c[0] + c[0]
    if z is None:
        return Outcome(False, "no fixed point from the engine")
    return close("fixed points of A, A, B vs round robin with two steps for A", z,
                 closed_forms.fixed_points(M2, c2))


P3 = Proposition("P3", "protocol", {"schedule": Piece(lambda i: always("phases A, A, B (checked by the shape)")),
                                    "rate": Piece(_p1_rate)}, {
    "same_rate": Piece(_p3_equal, needs=("schedule",)), "same_fixed_point": Piece(_p3_fixed)})


def _p4_omega(inst):
    return inst.get("omega", lambda: _shape(inst, 2, [{0: {0: None, 1: None}}, {1: {0: 1.0}}],
                                            "the anchored pair (A hears omega A + (1 - omega) B; B hears A)"))


def _p4_range(inst):
    a, b = _p4_omega(inst)
    return Outcome(0 <= a <= 1 and abs(a + b - 1) <= 1e-12, f"omega = {a:g}, weight on B = {b:g}")


def _p4_matrix(inst):
    a, _ = _p4_omega(inst)
    P = pair_of(inst)
    return np.eye(P.d) - a * P.M_A - (1 - a) * P.J_u


def _p4_inv(inst):
    return invertible("I - omega M_A - (1 - omega) M_A M_B", _p4_matrix(inst))


def _p4_plateau(inst):
    a, _ = _p4_omega(inst)
    P = pair_of(inst)
    _, z = _engine_fixed(inst)
    if z is None:
        return Outcome(False, "no fixed point from the engine")
    e_A = z[0] - P.w_A
    return close("(I - omega M_A - (1 - omega) M_A M_B) e_A vs (1 - omega) M_A K_B Delta",
                 _p4_matrix(inst) @ e_A, (1 - a) * P.M_A @ P.K_B @ P.Delta)


P4 = Proposition("P4", "protocol", {"omega_range": Piece(_p4_range), "invertible": Piece(_p4_inv),
                                    "rate": Piece(_p1_rate)}, {
    "plateau": Piece(_p4_plateau)})


def _p5_shape(inst):
    _shape(inst, 3, [{0: {1: 0.5, 2: 0.5}, 1: {0: 0.5, 2: 0.5}, 2: {0: 0.5, 1: 0.5}}],
           "three agents each reading the mean of the other two in one phase")


def _p5_phi(inst):
    _p5_shape(inst)
    S, _ = _sim_matrix(inst)
    M = [a.M for a in inst.system.agents]
    Z = np.zeros_like(M[0])
    want = 0.5 * np.block([[Z, M[0], M[0]], [M[1], Z, M[1]], [M[2], M[2], Z]])
    return close("Phi (simulated) vs 1/2 [[0, M_1, M_1], [M_2, 0, M_2], [M_3, M_3, 0]]", S, want)


P5 = Proposition("P5", "protocol", {"rate": Piece(_p1_rate)}, {
    "phi": Piece(_p5_phi, needs=()), "fixed_point": Piece(_p1_fixed)})


PROPOSITIONS = [L1, L1b, L2, C15, C17, C18, P1, P2, P3, P4, P5]
