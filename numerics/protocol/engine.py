"""The one evaluation path of every config: rate, fixed points, stationary covariance and the
divergence diagnosis of a protocol's round map (P1; C1, C2, C6, C15, C17 for the round robin).

Every config is a protocol: without a ``protocol`` key it is the round robin
(:func:`numerics.protocol.spec.round_robin`, :func:`of`). ``predict`` (float64 and
``--precision``), ``simulate`` (:func:`numerics.protocol.simulate.run_protocol`), the fit's
prediction and the attacks all evaluate a :class:`~numerics.protocol.spec.Protocol` here, so a
config and the same config with its round robin written out as ``protocol`` give the same numbers
and the same diagnosis.

Fast path: a protocol that *is* a round robin in some speaking order (:func:`cycle`: K phases, one
agent each, every agent once, each hearing the previous speaker with weight exactly 1) is evaluated
by the closed forms of C1, C2, C15 and C17 (:mod:`numerics.dynamics.closed_forms`,
:mod:`numerics.dynamics.precise`, :mod:`numerics.dynamics.lyapunov`) on the agents taken in
speaking order; every other protocol by the block-row round map (:mod:`numerics.protocol.evaluate`).
Both evaluate the same round map (the fixed point of a round robin is each agent's end-of-round
message); ``tests/test_engine.py`` checks the fast path against the general one.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from numerics.dynamics import closed_forms
from numerics.io.errors import InputError
from numerics.protocol import evaluate
from numerics.protocol.evaluate import CONVERGENCE_MARGIN
from numerics.protocol.spec import Protocol, round_robin

# Singular values of the stacked H_i below this (relative) leave a direction no prompt informs.
UNINFORMED_REL_TOL = 1e-12


def of(system) -> Protocol:
    """The protocol of a config: its ``protocol`` key, else its round robin (C17).

    A random protocol (``system.random``) has no single round map: the commands that support it
    read it themselves (:mod:`numerics.protocol.random_moments`); every other one refuses here.
    """
    if getattr(system, "random", None) is not None:
        raise InputError("protocol.random", f"{system.random.n_alt} alternatives",
                         "this command handles deterministic protocols ('rounds') only")
    if system.protocol is not None:
        return system.protocol
    return round_robin([a.name for a in system.agents], system.initial_message)


def _is_one(w) -> bool:
    """Whether a listening weight is exactly 1 (a JSON decimal by its text, as ``--precision`` reads it)."""
    text = getattr(w, "text", None)
    return Fraction(text) == 1 if text is not None else w == 1


def cycle(protocol: Protocol) -> tuple[int, ...] | None:
    """The speaking order when ``protocol`` is a round robin, else None.

    A round robin: K phases, one agent each, every agent once, each hearing only the previous
    speaker (cyclically) with weight exactly 1. Its round map is C17's with the agents in that order.
    """
    phases = protocol.phases
    if len(phases) != protocol.K or any(len(phase) != 1 for phase in phases):
        return None
    order = tuple(phase[0][0] for phase in phases)
    if sorted(order) != list(range(protocol.K)):
        return None
    for p, ((_, row),) in enumerate(phases):
        if len(row) != 1 or row[0][0] != order[p - 1] or not _is_one(row[0][1]):
            return None
    return order


def is_round_robin(protocol: Protocol) -> bool:
    """Whether ``protocol`` is the round robin in list order: what a config without ``protocol`` means."""
    return cycle(protocol) == tuple(range(protocol.K))


def converges(rho) -> bool:
    """``rho < 1`` with the margin :data:`CONVERGENCE_MARGIN` (at 1 - 1e-12 a float64 fixed point is lost)."""
    return bool(rho < 1 - CONVERGENCE_MARGIN)


def evaluate_float(M: np.ndarray, c: np.ndarray, protocol: Protocol) -> tuple[float, np.ndarray | None]:
    """``(rho, z)``: the rate of the round map and every agent's end-of-round fixed point (K, d), or
    ``z = None`` when ``rho >= 1 - CONVERGENCE_MARGIN`` (P1; C1, C2, C17 on the fast path).

    ``M`` (K, d, d) per-turn transfers ``M_i^{s_i}``, ``c`` (K, d) offsets, in list order.
    """
    order = cycle(protocol)
    if order is not None:
        o = list(order)
        rho = float(closed_forms.contraction_rate(M[o]))
        if not converges(rho):
            return rho, None
        z = np.empty(c.shape)
        z[o] = closed_forms.fixed_points(M[o], c[o], check=False)
        return rho, z
    W, mask = protocol.weights()
    with np.errstate(over="ignore", invalid="ignore"):  # a round map that overflows is refused by evaluate.rate
        Phi, _ = evaluate.round_map(M, c, W, mask)
    rho = float(evaluate.rate(Phi, evaluate.live_agents(W, mask), M.shape[-1]))
    if not converges(rho):
        return rho, None
    return rho, evaluate.fixed_points(M, c, W, mask, check=False)


def rate(M: np.ndarray, protocol: Protocol) -> float:
    """The contraction rate ``rho`` of the round map alone (no fixed point is solved)."""
    order = cycle(protocol)
    if order is not None:
        return float(closed_forms.contraction_rate(M[list(order)]))
    W, mask = protocol.weights()
    Phi, _ = evaluate.round_map(M, np.zeros(M.shape[:-1]), W, mask)
    return float(evaluate.rate(Phi, evaluate.live_agents(W, mask), M.shape[-1]))


def evaluate_precise(Ms, cs, protocol: Protocol):
    """:func:`evaluate_float` in mpmath at the current precision: ``(rho, z)`` with ``z`` a list of K
    mp vectors, or None when ``rho >= 1 - CONVERGENCE_MARGIN``. ``Ms``, ``cs``: mp matrices in list order."""
    import mpmath as mp  # only here: keeps float64 `predict` fast to start

    from numerics.dynamics import precise

    order = cycle(protocol)
    if order is not None:
        Mo, co = [Ms[i] for i in order], [cs[i] for i in order]
        J, _ = precise.round_map(Mo, co)
        rho = precise.spectral_radius(J)
        if not converges(rho):
            return rho, None
        u, _ = precise.fixed_points(Mo, co)
        z = [None] * len(Ms)
        for p, i in enumerate(order):
            z[i] = u[p]
        return rho, z
    K, d = len(Ms), Ms[0].rows
    W, mask = protocol.weights()
    idx = [int(i) for i in evaluate.live_index(evaluate.live_agents(W, mask), d)]
    Phi, r = evaluate.precise_round_map(Ms, cs, protocol)
    # No live agent: the round map is constant, rate 0, and the fixed point is r itself.
    PRR = mp.matrix([[Phi[i, j] for j in idx] for i in idx]) if idx else None
    rho = precise.spectral_radius(PRR) if idx else mp.mpf(0)
    if not converges(rho):
        return rho, None
    zR = mp.lu_solve(mp.eye(len(idx)) - PRR, mp.matrix([r[i] for i in idx])) if idx else []
    z = [sum((Phi[a, idx[k]] * zR[k] for k in range(len(idx))), mp.mpf(0)) + r[a] for a in range(K * d)]
    return rho, [mp.matrix(z[i * d:(i + 1) * d]) for i in range(K)]


def stationary_covariance(M: np.ndarray, S: np.ndarray, protocol: Protocol) -> np.ndarray:
    """Every agent's stationary end-of-round covariance (K, d, d) for independent per-turn noise
    ``S`` (K, d, d) (``rho < 1``): C15 on the fast path, the joint-state Lyapunov equation of the
    round map otherwise (:func:`numerics.protocol.evaluate.stationary_covariance`)."""
    from numerics.dynamics import lyapunov  # scipy-free, but only the fit needs it

    order = cycle(protocol)
    if order is not None:
        o = list(order)
        out = np.empty(S.shape)
        out[o] = lyapunov.stationary_covariances(M[o], S[o])
        return out
    W, mask = protocol.weights()
    return evaluate.stationary_covariance(M, S, W, mask)


def weights_rate(protocol: Protocol) -> float:
    """rho of the round map with every ``M_i = I`` and ``c_i = 0``: the listening weights alone.

    On a direction ``v`` that no prompt informs every ``M_i`` is the identity, so the states
    ``(a_1 v, ..., a_K v)`` form an invariant subspace on which the round map is this one; its
    rate is 1 for a round robin (a cycle of weights 1)."""
    W, mask = protocol.weights()
    K = protocol.K
    Phi, _ = evaluate.round_map(np.ones((K, 1, 1)), np.zeros((K, 1)), W, mask)
    return float(evaluate.rate(Phi, evaluate.live_agents(W, mask), 1))


def diagnose(rho: float, protocol: Protocol, M, H, names, text: str | None = None) -> str:
    """Why ``rho >= 1``, naming the cause (the ``reason`` of a ``predict`` document).

    The head states the divergence (C1 for a round robin, P1 otherwise); the cause is, in this
    order: an agent that speaks whose own per-turn map ``M_i^{s_i}`` has an eigenvalue outside the
    unit disc (its preconditioner overshoots); a direction ``v`` no prompt informs (the stacked
    ``H_i`` of the speaking agents have a common null vector: every ``M_i`` keeps it, and the round
    map acts there as the listening weights alone, which do not contract); an own map with an
    eigenvalue on the unit circle; else the coupling itself, every own map contracting (C6 for
    the round robin; P1's composition of the phases and weights otherwise).

    ``M`` (K, d, d) per-turn transfers, ``H`` the K geometries, ``names`` the agents, ``text`` how
    to print rho (default 6 significant digits).
    """
    rr = cycle(protocol) is not None
    text = text or f"{rho:.6g}"
    if rho > 1 and float(text) <= 1:  # rounds to 1: "rho = 1 > 1" would read as a contradiction
        text = f"{text} + {float(rho - 1):.2g}"
    if rr:
        head = (f"contraction rate rho = {text} > 1: the messages diverge for every initial message with a "
                "component on the unstable subspace (C1)" if rho > 1 else
                f"contraction rate rho = {text} is 1 to within {CONVERGENCE_MARGIN:g}: "
                "no unique attracting fixed point")
    else:
        head = (f"contraction rate rho = {text} > 1: the round map of the protocol diverges for every initial "
                "state with a component on its unstable subspace (P1)" if rho > 1 else
                f"contraction rate rho = {text} is 1 to within {CONVERGENCE_MARGIN:g}: no unique attracting "
                "fixed point of the protocol's round map (P1)")
    return f"{head}; cause: {_cause(protocol, np.asarray(M), H, names, rr)}"


def _cause(protocol: Protocol, M: np.ndarray, H, names, rr: bool) -> str:
    if not np.all(np.isfinite(M)):
        return "an agent's own per-turn map overflows float64 (its GD steps diverge)"
    speaking = [k for k, n in enumerate(protocol.speaks_per_round()) if n]
    radii = {k: float(closed_forms.spectral_radius(M[k])) for k in speaking}
    k = max(speaking, key=lambda i: radii[i])  # the first of the largest, in list order
    Hs = np.vstack([np.asarray(H[i], dtype=float) for i in speaking])
    d = M.shape[-1]
    _, s, Vt = np.linalg.svd(Hs)
    uninformed = s[-1] <= UNINFORMED_REL_TOL * max(float(s[0]), 1.0) if s.size == d else True
    rho_w = 1.0 if rr else weights_rate(protocol)
    name = names[k]
    v = np.array2string(Vt[-1], precision=3, separator=', ')
    if radii[k] > 1 + CONVERGENCE_MARGIN:
        return (f"agent {name}'s own per-turn map M_{name} has an eigenvalue of modulus {radii[k]:.6g} outside "
                "the unit disc (its preconditioner overshoots: Gamma H has an eigenvalue above 2)")
    if uninformed and rho_w >= 1 - CONVERGENCE_MARGIN:
        cause = (f"the direction {v} is informed by no prompt (H_i v = 0 for every agent), so every M_i keeps "
                 "it with eigenvalue 1")
        if not rr:
            cause += (f", and on it the round map is that of the listening weights alone, of spectral radius "
                      f"{rho_w:.6g}")
        return cause
    if radii[k] >= 1 - CONVERGENCE_MARGIN and not uninformed:  # an uninformed direction the weights damp is no cause
        return (f"agent {name}'s own per-turn map M_{name} has an eigenvalue of modulus {radii[k]:.6g} on the "
                "unit circle (Gamma H has an eigenvalue of exactly 0 or 2)")
    listed = ", ".join(f"{radii[i]:.3g}" for i in speaking)
    if rr:
        return (f"every agent's own map contracts (spectral radii {listed}), so the coupling itself is unstable: "
                "rho of the round map can exceed the product of the agents' radii (C6)")
    own = (f"every agent's own map contracts (spectral radii {listed})" if not uninformed else
           f"every agent's own map contracts off the direction {v} no prompt informs (there each keeps "
           f"eigenvalue 1, which the listening weights alone damp to rate {rho_w:.6g})")
    cause = (f"{own}, so the coupling itself is unstable: the phases and listening weights compose the "
             "agents' maps into a round map with rho above 1 (P1)")
    if rho_w > 1 + CONVERGENCE_MARGIN:
        cause += f"; the listening weights alone amplify (with every M_i = I the round map has rho {rho_w:.6g})"
    return cause
