"""The ``predict`` and ``simulate`` JSON documents.

``predict`` evaluates the closed forms (C1, C2, C3, C7, C17) in float64 or, with
``precision``, in mpmath at that many digits. ``simulate`` iterates the real
agents and never calls a closed form.
"""
from __future__ import annotations

import numpy as np

from numerics.dynamics import closed_forms, simulate
from numerics.io import validate
from numerics.io.config import System
from numerics.io.errors import InputError

# rho within this of 1 is reported as not converging: at 1 - 1e-12 a float64
# fixed point has lost most digits and the iteration needs ~1e13 rounds.
CONVERGENCE_MARGIN = 1e-12
MIN_DIGITS, MAX_DIGITS = 16, 1000
# --precision works in exact rationals, then mpmath: bounded so a run stays within seconds.
MAX_PRECISE_DIM = 20
MAX_PRECISE_EXAMPLES = 10**4


def check_digits(digits) -> int:
    digits = validate.positive_int("--precision", digits, minimum=MIN_DIGITS)
    if digits > MAX_DIGITS:
        raise InputError("--precision", digits, f"must be at most {MAX_DIGITS} digits")
    return digits


# Singular values of the stacked H_i below this (relative) leave a direction no prompt informs.
UNINFORMED_REL_TOL = 1e-12


def _reason(rho: float, system: System, text: str | None = None, M=None, H=None) -> str:
    """Why rho >= 1, naming the cause: an agent's own map M_i with an eigenvalue on or outside the
    unit circle (its preconditioner overshoots), a direction no prompt informs (every M_i keeps
    it), or, with every M_i contracting alone, the coupling itself (C6)."""
    text = text or f"{rho:.6g}"
    head = (f"contraction rate rho = {text} > 1: the messages diverge for every initial message with a "
            "component on the unstable subspace (C1)" if rho > 1 else
            f"contraction rate rho = {text} is 1 to within {CONVERGENCE_MARGIN:g}: no unique attracting fixed point")
    if M is None:  # float64 systems; --precision passes its own M_i and H_i
        with np.errstate(all="ignore"):
            M, _ = system.stacked()
        H = [a.geometry.H for a in system.agents]
    if not np.all(np.isfinite(M)):
        return f"{head}; cause: an agent's own per-turn map overflows float64 (its GD steps diverge)"
    radii = [float(closed_forms.spectral_radius(m)) for m in M]
    k = int(np.argmax(radii))
    H = np.vstack(H)
    _, s, Vt = np.linalg.svd(H)
    uninformed = s[-1] <= UNINFORMED_REL_TOL * max(float(s[0]), 1.0) if s.size == system.d else True
    name = system.agents[k].name
    if radii[k] > 1 + CONVERGENCE_MARGIN:
        cause = (f"agent {name}'s own per-turn map M_{name} has an eigenvalue of modulus {radii[k]:.6g} outside "
                 "the unit disc (its preconditioner overshoots: Gamma H has an eigenvalue above 2)")
    elif uninformed:
        v = Vt[-1]
        cause = (f"the direction {np.array2string(v, precision=3, separator=', ')} is informed by no prompt "
                 "(H_i v = 0 for every agent), so every M_i keeps it with eigenvalue 1")
    elif radii[k] >= 1 - CONVERGENCE_MARGIN:
        cause = (f"agent {name}'s own per-turn map M_{name} has an eigenvalue of modulus {radii[k]:.6g} on the "
                 "unit circle (Gamma H has an eigenvalue of exactly 0 or 2)")
    else:
        cause = ("every agent's own map contracts (spectral radii " + ", ".join(f"{r:.3g}" for r in radii) +
                 "), so the coupling itself is unstable: rho of the round map can exceed the product of "
                 "the agents' radii (C6)")
    return f"{head}; cause: {cause}"


def stacked_finite(system: System) -> tuple[np.ndarray, np.ndarray]:
    """``system.stacked()``, or an InputError naming the agent whose ``M^s`` or ``c`` overflows float64."""
    with np.errstate(all="ignore"):
        M, c = system.stacked()
    for agent, Mi, ci in zip(system.agents, M, c):
        if not (np.all(np.isfinite(Mi)) and np.all(np.isfinite(ci))):
            raise InputError(f"{agent.name} per-turn transfer M^s", agent.steps,
                             "overflows float64 (the agent's own GD steps diverge); --precision computes it exactly")
    return M, c


def agent_entries(names, targets, fixed_points, fmt, norm) -> dict:
    """Each agent's ``predict`` entry: target, fixed point, residual ``fixed_point - target`` and its
    norm (``None`` where there is no fixed point). ``fmt`` turns a vector into JSON, ``norm`` a residual
    into its printed norm: float64 lists, or mpmath decimal strings for ``--precision``."""
    out = {}
    for i, name in enumerate(names):
        entry = {"target": fmt(targets[i]), "fixed_point": None, "residual": None, "residual_norm": None}
        if fixed_points is not None:
            r = fixed_points[i] - targets[i]
            entry.update(fixed_point=fmt(fixed_points[i]), residual=fmt(r), residual_norm=norm(r))
        out[name] = entry
    return out


def float_entries(system, fixed_points) -> dict:
    """:func:`agent_entries` in float64 against each agent's ``w_star``."""
    return agent_entries(system.names, [a.w_star for a in system.agents], fixed_points,
                         lambda v: v.tolist(), lambda r: float(np.linalg.norm(r)))


def predict(system: System) -> dict:
    """Closed-form prediction in float64."""
    if system.protocol is not None:
        from numerics.protocol import evaluate as protocol_eval
        return protocol_eval.predict(system)
    M, c = stacked_finite(system)
    rho = float(closed_forms.contraction_rate(M))
    doc = {"dimension": system.d, "contraction_rate": rho, "converges": rho < 1 - CONVERGENCE_MARGIN,
           "precision": "float64", "agents": {}}
    if not doc["converges"]:
        doc["reason"] = _reason(rho, system)
        u = None
    else:
        u = closed_forms.fixed_points(M, c)
    doc["agents"] = float_entries(system, u)
    return doc


def predict_precise(system: System, digits: int) -> dict:
    """Closed-form prediction with mpmath at ``digits`` significant digits; numbers as decimal strings.

    The per-turn transfers are rebuilt from the agents' input data (taken as exact) at
    that precision, so no float64 product enters the result.
    """
    import mpmath as mp  # only here: keeps `a2ad predict` in float64 fast to start

    from numerics.dynamics import precise

    digits = check_digits(digits)
    if system.d > MAX_PRECISE_DIM:
        raise InputError("dimension d", system.d, f"--precision supports d <= {MAX_PRECISE_DIM}")
    for agent in system.agents:
        if agent.geometry.X is not None and len(agent.geometry.X) > MAX_PRECISE_EXAMPLES:
            raise InputError(f"{agent.name}.prompt.X", f"{len(agent.geometry.X)} rows",
                             f"--precision supports at most {MAX_PRECISE_EXAMPLES} examples per agent")
    if system.protocol is not None:
        from numerics.protocol import evaluate as protocol_eval
        return protocol_eval.predict_precise(system, digits)
    s = lambda x: mp.nstr(x, digits, strip_zeros=False)
    with mp.workdps(digits + 10):  # guard digits for the solve
        Ms, cs, targets = [], [], []
        for agent in system.agents:
            M, c, w = precise.agent_transfer(agent.Gamma, agent.geometry, agent.steps)
            Ms.append(M)
            cs.append(c)
            targets.append(w)
        J, _ = precise.round_map(Ms, cs)
        rho = precise.spectral_radius(J)
        doc = {"dimension": system.d, "contraction_rate": s(rho), "converges": bool(rho < 1 - CONVERGENCE_MARGIN),
               "precision": f"mpmath {digits} digits", "agents": {}}
        u = precise.fixed_points(Ms, cs)[0] if doc["converges"] else None
        if u is None:
            Hs = [np.asarray(a.geometry.H, dtype=float) if a.geometry.H is not None else
                  (lambda X: X.T @ X / len(X))(np.asarray(a.geometry.X, dtype=float)) for a in system.agents]
            Mf = np.array([[[float(x) for x in row] for row in m.tolist()] for m in Ms])
            doc["reason"] = _reason(float(rho), system, mp.nstr(rho, 6), Mf, Hs)
        doc["agents"] = agent_entries([a.name for a in system.agents], targets, u,
                                      lambda v: [s(x) for x in v], lambda r: s(mp.norm(r)))
    return doc


def simulate_doc(system: System, turns: int) -> dict:
    """Iterate the real agents for ``turns`` rounds; ``residual_norms[t]`` is the t-th message's distance
    to the agent's own target (``predict``'s ``residual_norm`` when the messages have converged)."""
    if system.protocol is not None:  # messages at the end of each round
        from numerics.protocol.spec import simulate as simulate_protocol
        messages = simulate_protocol(system.agents, system.protocol, turns)
    else:
        messages = simulate.run(system.agents, system.initial_message, turns)
    doc = {"turns": int(turns), "agents": {}}
    for i, agent in enumerate(system.agents):
        m = messages[:, i]
        doc["agents"][agent.name] = {"messages": m.tolist(),
                                     "residual_norms": np.linalg.norm(m - agent.w_star, axis=-1).tolist()}
    return doc
