"""The ``predict`` and ``simulate`` JSON documents, for every config.

Every config is a protocol (without a ``protocol`` key: its round robin), and both documents
go through one engine: ``predict`` evaluates the protocol's round map with
:mod:`numerics.protocol.engine` (C1, C2, C7, C17 for a round robin; P1 for any protocol) in
float64 or, with ``precision``, in mpmath at that many digits, and names the cause of a
divergence; ``simulate`` iterates the real agents under the protocol
(:func:`numerics.protocol.simulate.run_protocol`) and never calls a closed form.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from numerics.io import validate
from numerics.io.errors import InputError
from numerics.protocol import engine, evaluate, simulate
from numerics.protocol.config import ExactSystem, System
from numerics.protocol.evaluate import CONVERGENCE_MARGIN, stacked_finite  # noqa: F401 (part of this module's API)

MIN_DIGITS, MAX_DIGITS = 16, 1000
# --precision works in exact rationals, then mpmath: bounded so a run stays within seconds.
MAX_PRECISE_DIM = 20
MAX_PRECISE_EXAMPLES = 10**4
# --precision D computes with D + GUARD_DIGITS working digits, then again with the guard doubled, and doubles it
# while two evaluations print different documents (up to MAX_GUARD_DIGITS): forming I - Phi near the convergence
# margin cancels up to ~12 leading digits, so a fixed guard of 10 printed wrong last digits there.
GUARD_DIGITS, MAX_GUARD_DIGITS = 10, 160


def check_digits(digits) -> int:
    digits = validate.positive_int("--precision", digits, minimum=MIN_DIGITS)
    if digits > MAX_DIGITS:
        raise InputError("--precision", digits, f"must be at most {MAX_DIGITS} digits")
    return digits


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


def _geometries(system) -> list[np.ndarray]:
    """Every agent's ``H`` in float64 (from ``X^T X / N`` where the config gives a prompt), for the diagnosis."""
    out = []
    for a in system.agents:
        if a.geometry.H is not None:
            out.append(np.asarray(a.geometry.H, dtype=float))
        else:
            X = np.asarray(a.geometry.X, dtype=float)
            out.append(X.T @ X / len(X))
    return out


def predict(system: System, precision: int | None = None) -> dict:
    """The ``predict`` document: rate ``contraction_rate`` of the round map, ``converges``, every agent's
    end-of-round ``fixed_point`` and ``residual`` (P1; C1, C2, C17 for the round robin), and the ``reason``
    naming the cause when it diverges. In float64, or with ``precision`` digits (:func:`predict_precise`).

    With agents' ``noise`` each entry gains ``covariance``, the stationary end-of-round covariance of its
    message (C15; the joint Lyapunov equation of the round map). A random protocol: :func:`predict_random`.
    """
    if precision is not None:
        return predict_precise(system, precision)
    if system.random is not None:
        return predict_random(system)
    protocol = engine.of(system)
    M, c = stacked_finite(system)
    rho, z = engine.evaluate_float(M, c, protocol)
    doc: dict[str, Any] = {"dimension": system.d, "contraction_rate": rho, "converges": z is not None,
                           "precision": "float64", "agents": {}}
    if z is None:
        doc["reason"] = engine.diagnose(rho, protocol, M, _geometries(system), system.names)
    entries = doc["agents"] = float_entries(system, z)
    S = system.noise_stack()
    if S is not None:  # the document gains covariance only when some agent is noisy
        cov = engine.stationary_covariance(M, S, protocol) if z is not None else None
        for i, entry in enumerate(entries.values()):
            entry["covariance"] = None if cov is None else cov[i].tolist()
    return doc


def predict_random(system: System) -> dict:
    """The ``predict`` document of a random protocol (:mod:`numerics.protocol.random_moments`).

    ``contraction_rate`` is the mean-square rate per round (square root of the spectral radius of the
    second-moment operator) and decides ``converges``; ``mean_rate`` the spectral radius of the
    first-moment operator. Per agent: ``fixed_point`` the stationary mean at the end of a round,
    ``residual`` = mean - target, ``covariance`` the stationary covariance of its message; all null
    (with a ``reason`` saying whether the mean still converges) when ``converges`` is false.
    """
    from numerics.protocol import random_moments

    rp = system.random
    assert rp is not None
    M, c = stacked_finite(system)
    mom = random_moments.moments(M, c, rp, system.noise_stack())
    doc: dict[str, Any] = {"dimension": system.d, "contraction_rate": mom.contraction_rate,
                           "mean_rate": mom.mean_rate, "converges": mom.converges, "precision": "float64",
                           "schedule": schedule_summary(rp), "agents": {}}
    if not mom.converges:
        doc["reason"] = random_reason(mom.contraction_rate, mom.mean_rate, f"{mom.contraction_rate:.6g}",
                                      f"{mom.mean_rate:.6g}")
    entries = doc["agents"] = float_entries(system, mom.mean if mom.converges else None)
    for i, entry in enumerate(entries.values()):
        entry["covariance"] = mom.covariance[i].tolist() if mom.covariance is not None else None
    return doc


def schedule_summary(rp) -> dict:
    """How the alternatives are drawn: ``kind`` (independent or markov), their ``alternatives`` names
    and the ``stationary_law`` (the long-run frequency of each)."""
    return {"kind": "markov" if rp.markov else "independent", "alternatives": list(rp.labels),
            "stationary_law": rp.stationary().tolist()}


def random_reason(rate, mean_rate, rate_text: str, mean_text: str) -> str:
    """Why a random protocol has no stationary moments, saying whether the mean still converges."""
    from numerics.protocol.evaluate import CONVERGENCE_MARGIN as margin

    head = (f"mean-square rate {rate_text} >= 1 (to within {margin:g}): the second moment of the messages does "
            "not converge for every initial state and alternative (Costa, Fragoso, Marques 2005)")
    if mean_rate < 1 - margin:
        return head + (f"; the mean still converges (mean rate {mean_text} < 1), but the spread around it does "
                       "not settle")
    return head + f"; the mean does not converge either (mean rate {mean_text} >= 1)"


def predict_precise(system: System | ExactSystem, digits: int) -> dict:
    """:func:`predict` with mpmath at ``digits`` significant digits; numbers as decimal strings.

    The per-turn transfers are rebuilt from the agents' input data (taken as exact, a JSON decimal
    by its text) at that precision, so no float64 product enters the result.
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
    if system.random is not None:
        return _predict_random_precise(system, digits)
    protocol = engine.of(system)
    _check_precise_cost(system, protocol, digits, precise)  # before any mpmath work
    names = [a.name for a in system.agents]
    s = lambda x: mp.nstr(x, digits, strip_zeros=False)  # noqa: E731

    def at(working: int) -> dict:
        with mp.workdps(working):
            Ms, cs, targets = zip(*(precise.agent_transfer(a.Gamma, a.geometry, a.steps) for a in system.agents))
            rho, z = engine.evaluate_precise(Ms, cs, protocol)
            doc = {"dimension": system.d, "contraction_rate": s(rho), "converges": z is not None,
                   "precision": f"mpmath {digits} digits", "agents": {}}
            if z is None:
                Mf = np.array([[[float(x) for x in row] for row in m.tolist()] for m in Ms])
                doc["reason"] = engine.diagnose(float(rho), protocol, Mf, _geometries(system), names, mp.nstr(rho, 6))
            doc["agents"] = agent_entries(names, targets, z, lambda v: [s(x) for x in v], lambda r: s(mp.norm(r)))
        return doc

    return settled(at, digits)


def settled(at: Callable[[int], dict], digits: int) -> dict:
    """The document ``at(working digits)`` prints once it no longer depends on the working precision: computed
    with ``digits + GUARD_DIGITS``, then with the guard doubled until two evaluations in a row print the same
    document (every printed digit settled), or the guard reaches ``MAX_GUARD_DIGITS`` (then the last evaluation:
    a value within ``10^-(digits + MAX_GUARD_DIGITS / 2)`` of a rounding tie may print either neighbour)."""
    guard = GUARD_DIGITS
    doc = at(digits + guard)
    while guard < MAX_GUARD_DIGITS:
        guard *= 2
        again = at(digits + guard)
        if again == doc:
            return doc
        doc = again
    return doc


def _predict_random_precise(system: System | ExactSystem, digits: int) -> dict:
    """:func:`predict_random` in mpmath (:mod:`numerics.protocol.random_precise`), for small instances
    (refused with the size otherwise); noisy agents are refused (their covariances are float64 only)."""
    import mpmath as mp

    from numerics.dynamics import precise
    from numerics.protocol import random_precise

    rp = system.random
    assert rp is not None
    random_precise.check_size(rp, system.d, digits)
    if any(S is not None for S in system.noise):
        raise InputError("--precision", digits, "a random protocol with noisy agents ('noise') is computed in "
                                                "float64 only: predict without --precision")
    names = [a.name for a in system.agents]
    s = lambda x: mp.nstr(x, digits, strip_zeros=False)  # noqa: E731

    def at(working: int) -> dict:
        with mp.workdps(working):
            Ms, cs, targets = zip(*(precise.agent_transfer(a.Gamma, a.geometry, a.steps) for a in system.agents))
            mean_rate, rate, mean, cov = random_precise.moments(Ms, cs, rp)
            converges = cov is not None
            doc: dict[str, Any] = {"dimension": system.d, "contraction_rate": s(rate), "mean_rate": s(mean_rate),
                                   "converges": converges, "precision": f"mpmath {digits} digits",
                                   "schedule": schedule_summary(rp), "agents": {}}
            if not converges:
                doc["reason"] = random_reason(rate, mean_rate, mp.nstr(rate, 6), mp.nstr(mean_rate, 6))
            entries = doc["agents"] = agent_entries(names, targets, mean if converges else None,
                                                    lambda v: [s(x) for x in v], lambda r: s(mp.norm(r)))
            for i, entry in enumerate(entries.values()):
                entry["covariance"] = None if cov is None else [[s(cov[i][a, b]) for b in range(system.d)]
                                                                for a in range(system.d)]
        return doc

    return settled(at, digits)


def _check_precise_cost(system: System | ExactSystem, protocol, digits: int, precise) -> None:
    """:func:`numerics.dynamics.precise.check_cost` of this system: a cycle composes d x d maps (one
    live block), any other protocol the (K d) x (K d) round map over its live agents."""
    K, d = len(system.agents), system.d
    if engine.cycle(protocol) is not None:
        live, phase_ops = 1, K * d ** 3
    else:
        W, mask = protocol.weights()
        live = int(evaluate.live_agents(W, mask).sum())
        phase_ops = precise.phase_operations(K, d, [len(row) for phase in protocol.phases for _, row in phase])
    rows = [0 if a.geometry.X is None else len(a.geometry.X) for a in system.agents]
    precise.check_cost(d, live, phase_ops, [a.steps for a in system.agents], rows, digits)


def simulate_doc(system: System, turns: int, seed=None, schedule=None) -> dict:
    """Iterate the real agents for ``turns`` rounds under the config's protocol (its round robin without
    one): every agent's message at the end of each round, and its distance to the agent's own target.

    A random protocol draws its ``schedule`` (0-based alternative per round) from ``seed`` (default 0),
    or replays the given ``schedule``; agents' ``noise`` is drawn from the same generator, after the
    schedule's uniforms (drawn also when a schedule is given, so a replay with the seed repeats the
    noise; :mod:`numerics.protocol.random_simulate`). The document then has ``seed`` and,
    for a random protocol, ``schedule``.
    """
    from numerics.protocol import random_simulate
    from numerics.protocol.random_spec import RandomProtocol

    rp = system.random
    noisy = system.noise_stack() is not None
    if rp is None and schedule is not None:
        raise InputError("--schedule", schedule, "is for a random protocol ('random'); this config has none")
    if rp is None and not noisy:
        messages = simulate.run_protocol(system.agents, engine.of(system), turns)
        doc: dict[str, Any] = {"turns": int(turns), "agents": {}}
    else:
        seed = validate.seed("--seed", 0 if seed is None else seed)
        turns = validate.positive_int("turns", turns)
        rng = np.random.default_rng(seed)
        if rp is None:  # a deterministic protocol with noise: one alternative, drawn every round
            p = engine.of(system)
            rp = RandomProtocol(p.names, (p,), ("0",), np.ones((1, 1)), np.ones(1), False, p.initial)
            drawn = np.zeros(turns, dtype=np.int64)
        else:  # the schedule's uniforms are drawn even when one is given: a replay draws the same noise
            drawn = random_simulate.draw_schedule(rp, turns, rng)
            if schedule is not None:
                drawn = random_simulate.check_schedule(rp, schedule, turns)
        messages = random_simulate.run_random(system.agents, rp, turns, drawn, rng, system.noise)[1:]
        doc = {"turns": int(turns), "seed": seed}
        if system.random is not None:
            doc["schedule"] = drawn.tolist()
        doc["agents"] = {}
    for i, agent in enumerate(system.agents):
        m = messages[:, i]
        doc["agents"][agent.name] = {"messages": m.tolist(),
                                     "residual_norms": np.linalg.norm(m - agent.w_star, axis=-1).tolist()}
    return doc
