"""VS for the sweep measures: the columns ``a2ad sweep`` writes, computed by its chunk function
(:func:`numerics.sweep.measures.compute_chunk`, what every backend runs), against an independent
computation at every grid point (issue 22, item 4).

Two small grids over a preconditioner and a target entry: a round-robin pair (the batched tier) and a
protocol config (the per-point tier). At each point the agents are rebuilt here from the axis values and
the references of :mod:`proofs_check.verification.shipped_reference` give the rate (probed round map), the
fixed point (simulated until settled) and the simulated last round: ``contraction_rate``, ``converges``,
``residual_norm_<name>`` (NaN where the point diverges), ``sim_residual_norm_<name>`` and
``sim_fixed_point_distance_<name>``. (The command's Parquet and figure are not read: the columns are.)
"""
from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

from proofs_check.verification import shipped_cli as cli, shipped_reference as ref
from proofs_check.verification.registry import Outcome, Profile
from proofs_check.verification.shipped import FLOAT_BAR, MISMATCH, SIMULATE_BAR, Ledger, _instances

__all__ = ["sweep_method", "kinds_method"]

TURNS = 25


def _with_point(inst: ref.Instance, gamma0: float, target10: float) -> ref.Instance:
    G, T = inst.Gamma.copy(), inst.target.copy()
    G[0] = gamma0 * np.eye(inst.d)
    T[1, 0] = target10
    return ref.Instance(inst.names, inst.H, T, G, inst.scalar_gamma, inst.steps, inst.initial, inst.rounds)


def _scalar_first(inst: ref.Instance) -> ref.Instance:
    G = inst.Gamma.copy()
    G[0] = np.round(abs(G[0, 0, 0]), ref.DECIMALS) * np.eye(inst.d)
    return ref.Instance(inst.names, inst.H, inst.target, G, (True,) + inst.scalar_gamma[1:], inst.steps,
                        inst.initial, inst.rounds)


def check_grid(ledger: Ledger, inst: ref.Instance, cols: dict) -> None:
    for p in range(len(cols["point"])):
        v = _with_point(inst, float(cols["agents.0.preconditioner"][p]), float(cols["agents.1.target.0"][p]))
        check_point(ledger, v, cols, p, TURNS)
        ledger.instances += 1


def sweep_method(profile: Profile) -> Outcome:
    """VS: the sweep columns of a 3 x 2 grid (round-robin pair, batched) and of a 3 x 2 grid under a protocol."""
    from numerics.sweep import measures, spec as sweep_spec

    rng = np.random.default_rng(profile.seed + 2323)
    ledger = Ledger()
    for protocol in (False, True):
        inst = _scalar_first(_instances(rng, 1, (2, 2) if not protocol else (2, 3), protocol)[0][0])
        g, t = float(inst.Gamma[0, 0, 0]), float(inst.target[1, 0])
        base = {k: v for k, v in inst.config().items() if k != "schema_version"}
        raw = {"base": base,
               "axes": {"agents.0.preconditioner": {"linspace": [round(0.5 * g, 3), round(2.5 * g, 3), 3]},
                        "agents.1.target.0": [round(t - 0.5, 3), round(t + 0.5, 3)]},
               "measure": ["predict", {"simulate": {"turns": TURNS}}], "plot": {"quantity": "contraction_rate"}}
        try:
            spec = sweep_spec.parse(raw)
            chunks = [measures.compute_chunk(spec, c) for c in range(spec.n_chunks)]
        except Exception as exc:  # a sweep that refuses a valid grid is a failure of the shipped path
            ledger.require("sweep runs", False, f"{type(exc).__name__}: {exc}"[:160])
            continue
        cols = {k: np.concatenate([np.atleast_1d(ch[k]) for ch in chunks]) for k in chunks[0]}
        ledger.require("grid size", len(cols["point"]) == 6, f"{len(cols['point'])} points")
        check_grid(ledger, inst, cols)
    if ledger.instances == 0:
        ledger.add("points checked", MISMATCH, 1.0)
    return ledger.outcome("sweep columns (numerics.sweep.measures.compute_chunk) on a round-robin pair grid and a "
                          "protocol grid vs the probed rate, settled and simulated rounds at every point")


# ---------------------------------------------------------------- every sweep kind the CLI offers
# (issue 22, item 5): the batched setters of every axis kind, the derived axes (gap_scale, gap_angle,
# seed), the geometry check at each point, a random protocol's columns, a round robin through the
# per-point tier and a renamed plot quantity. Each point's reference is rebuilt here from the axis
# values as docs/sweeps.rst states them.
KIND_TURNS = 7  # simulate turns of the kinds grids (a few rounds: the columns, not the plateau)


def _points(spec_axes: dict) -> list[dict]:
    """The grid in the documented order (first axis slowest), each point as {axis: value}."""
    import itertools

    names = list(spec_axes)
    return [dict(zip(names, combo)) for combo in itertools.product(*(spec_axes[n] for n in names))]


def _columns(raw: dict) -> tuple[dict | None, str]:
    """Every column of the sweep of ``raw`` (chunks of its chunk function), or None and the refusal."""
    import json as _json

    from numerics.sweep import measures, spec as sweep_spec

    try:
        spec = sweep_spec.parse(_json.loads(_json.dumps(raw)))  # decoded from JSON text, as SPEC.json is
        chunks = [measures.compute_chunk(spec, c) for c in range(spec.n_chunks)]
        table = measures.columns(spec)  # the result table's columns (the Parquet schema), in order
    except Exception as exc:  # noqa: BLE001 - a refusal is compared with the expected one by the caller
        return None, f"{type(exc).__name__}: {exc}"
    cols: dict = {k: np.concatenate([np.atleast_1d(ch[k]) for ch in chunks]) for k in chunks[0]}
    cols["__table__"] = table
    return cols, ""


# docs/config.rst: ``converges`` is ``contraction_rate < 1 - 1e-12`` (a unique attracting fixed point).
CONVERGES_BELOW = 1 - 1e-12


def check_point(ledger: Ledger, v: ref.Instance, cols: dict, p: int, turns: int | None) -> None:
    """One point's predict (and, with ``turns``, simulate) columns against the references of ``v``."""
    rho = ref.rate(v)
    ledger.add("contraction_rate", abs(float(cols["contraction_rate"][p]) - rho) / rho, FLOAT_BAR)
    conv = rho < CONVERGES_BELOW
    ledger.require("converges", bool(cols["converges"][p]) == conv, f"converges at rho {rho!r}")
    z = ref.settled(v, rho) if conv else None
    last = ref.simulate_rounds(v, turns)[-1] if turns else None
    for k, n in enumerate(v.names):
        got = float(cols[f"residual_norm_{n}"][p])
        if z is None:
            ledger.require("residual_norm NaN where diverging", math.isnan(got), f"{n}: {got} at rho {rho:.2f}")
        else:
            want = float(np.linalg.norm(z[k] - v.target[k]))
            ledger.add("residual_norm", abs(got - want) / max(want, 1e-300), FLOAT_BAR)
        if last is None:
            continue
        want_sim = float(np.linalg.norm(last[k] - v.target[k]))
        ledger.add("sim_residual_norm", abs(float(cols[f"sim_residual_norm_{n}"][p]) - want_sim) / want_sim,
                   SIMULATE_BAR)
        gap = float(cols[f"sim_fixed_point_distance_{n}"][p])
        if z is None:
            ledger.require("sim_fixed_point_distance NaN where diverging", math.isnan(gap), f"{n}: {gap}")
        else:
            ledger.add("sim_fixed_point_distance", abs(gap - float(np.linalg.norm(last[k] - z[k])))
                       / max(float(np.linalg.norm(z)), 1e-300), FLOAT_BAR)


def _grid_columns(ledger: Ledger, raw: dict, points: list[dict], seed: int) -> dict | None:
    """The sweep's columns of ``raw``; the point, seed and axis columns checked against ``points``."""
    cols, why = _columns(raw)
    if cols is None:
        ledger.require("sweep runs", False, why[:160])
        return None
    ledger.require("grid size", len(cols["point"]) == len(points), f"{len(cols['point'])} points, want {len(points)}")
    if len(cols["point"]) != len(points):
        return None
    ledger.require("point column", [int(x) for x in cols["point"]] == list(range(len(points))), "point indices")
    table = cols.pop("__table__")
    want = ["point", "seed"] + [a for a in points[0] if a != "seed"]  # docs/sweeps.rst: point, seed, the axes, once
    ledger.require("table columns", table[:len(want)] == want and len(set(table)) == len(table) == len(cols),
                   f"result columns {table[:len(want) + 1]}")
    seeds = [int(pt.get("seed", seed)) for pt in points]
    ledger.require("seed column", [int(x) for x in cols["seed"]] == seeds, f"seeds {list(cols['seed'])[:4]}")
    for name in points[0]:
        if name != "seed":
            ledger.require("axis columns", [float(x) for x in cols[name]] == [float(pt[name]) for pt in points],
                           f"axis column {name}")
    return cols


def _stable_base(rng: np.random.Generator, K: int, d: int, ok) -> ref.Instance:
    for _ in range(400):
        inst = ref.random_instance(rng, K, d, False, max_steps=2)
        if ok(inst):
            return inst
    raise RuntimeError("no base instance for the sweep grid")


def _setters_grid(ledger: Ledger, rng: np.random.Generator) -> None:
    """K = 3, d = 2 (K != d): a preconditioner entry of a matrix preconditioner, a geometry entry (kept
    symmetric), agent 0's steps per turn (1 or 3 beside agent 1's 2) and an initial-message entry."""
    def apply(inst: ref.Instance, pt: dict) -> ref.Instance:
        G, H = inst.Gamma.copy(), inst.H.copy()
        G[1, 0, 1] = pt["agents.1.preconditioner.0.1"]
        H[2, 0, 1] = H[2, 1, 0] = pt["agents.2.geometry.0.1"]
        ini = inst.initial.copy()
        ini[1] = pt["initial_message.1"]
        steps = (int(pt["agents.0.steps_per_turn"]), 2, inst.steps[2])
        return ref.Instance(inst.names, H, inst.target, G, inst.scalar_gamma, steps, ini, None)

    def axes_of(inst: ref.Instance) -> dict:
        g, h = float(inst.Gamma[1, 0, 1]), float(inst.H[2, 0, 1])
        return {"agents.1.preconditioner.0.1": [g, round(g + 0.05, 3)],
                "agents.2.geometry.0.1": [round(h - 0.05, 3), h], "agents.0.steps_per_turn": [1, 3],
                "initial_message.1": [-0.5, 0.7]}

    def ok(inst: ref.Instance) -> bool:
        if inst.scalar_gamma[1]:
            return False
        return all(RHO_OK(ref.rate(apply(inst, pt))) for pt in _points(axes_of(inst)))

    def two_steps(inst: ref.Instance) -> ref.Instance:  # agent 1 answers with 2 GD steps per turn
        return ref.Instance(inst.names, inst.H, inst.target, inst.Gamma, inst.scalar_gamma,
                            (inst.steps[0], 2, inst.steps[2]), inst.initial, None)

    inst = two_steps(_stable_base(rng, 3, 2, lambda i: ok(two_steps(i))))
    axes = axes_of(inst)
    points = _points(axes)
    base = {k: v for k, v in inst.config().items() if k != "schema_version"}
    raw = {"base": base, "axes": axes, "measure": ["predict", {"simulate": {"turns": KIND_TURNS}}], "seed": 5}
    cols = _grid_columns(ledger, raw, points, 5)
    if cols is not None:
        for p, pt in enumerate(points):
            check_point(ledger, apply(inst, pt), cols, p, KIND_TURNS)
        ledger.instances += len(points)


def RHO_OK(rho: float) -> bool:  # noqa: N802 - a predicate on the reference rate
    """Fast to settle (rho <= 0.9) or clearly divergent (rho >= 1.05)."""
    return rho <= 0.9 or rho >= 1.05


def _gap_frame(w0: np.ndarray, w1: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """docs/sweeps.rst: e the base gap's direction, q the coordinate axis most orthogonal to e, made
    orthogonal to it (unit), and the base gap's norm."""
    delta = w1 - w0
    e = delta / np.linalg.norm(delta)
    q = np.eye(len(e))[int(np.argmin(np.abs(e)))]
    q = q - (q @ e) * e
    return e, q / np.linalg.norm(q), float(np.linalg.norm(delta))


def _gap_grid(ledger: Ledger, rng: np.random.Generator) -> None:
    """K = 2, d = 3: gap_scale, gap_angle and seed axes (agent 1's target placed around agent 0's)."""
    axes = {"gap_scale": [0.5, 2.0], "gap_angle": [0.3, 2.0], "seed": [3, 7]}

    def apply(inst: ref.Instance, pt: dict) -> ref.Instance:
        e, q, norm = _gap_frame(inst.target[0], inst.target[1])
        T = inst.target.copy()
        T[1] = T[0] + pt["gap_scale"] * norm * (math.cos(pt["gap_angle"]) * e + math.sin(pt["gap_angle"]) * q)
        return ref.Instance(inst.names, inst.H, T, inst.Gamma, inst.scalar_gamma, inst.steps, inst.initial, None)

    def two_steps(i: ref.Instance) -> ref.Instance:  # every agent 2 GD steps per turn (no agent at 1)
        return ref.Instance(i.names, i.H, i.target, i.Gamma, i.scalar_gamma, (2, 2), i.initial, None)

    inst = two_steps(_stable_base(rng, 2, 3, lambda i: RHO_OK(ref.rate(two_steps(i)))))
    points = _points(axes)
    base = {k: v for k, v in inst.config().items() if k != "schema_version"}
    raw = {"base": base, "axes": axes, "measure": ["predict", {"simulate": {"turns": KIND_TURNS}}]}
    cols = _grid_columns(ledger, raw, points, 0)
    if cols is not None:
        for p, pt in enumerate(points):
            check_point(ledger, apply(inst, pt), cols, p, KIND_TURNS)
        ledger.instances += len(points)


def _geometry_checks(ledger: Ledger) -> None:
    """Each point's geometry: refused when its smallest eigenvalue is below -1e-10 max(1, |lambda|max) of that
    geometry (as CONFIG.json's, docs/config.rst), naming the agent and the eigenvalue; accepted at the bar.
    The refused point exists only in the grid (each axis's values are valid with the others at their first)."""
    big = [[1000.0, 0.0], [0.0, 1000.0]]  # another agent's large eigenvalues must not loosen A's bar
    base = {"agents": [{"name": "A", "geometry": [[1.0, 0.0], [0.0, 1.0]], "target": [1.0, 0.0], "preconditioner": 0.5},
                       {"name": "B", "geometry": big, "target": [0.0, 1.0], "preconditioner": 0.0005}]}
    low = 0.249999999  # with geometry.0.1 = 0.5: det = -1e-9, smallest eigenvalue ~ -8e-10
    # two non-PSD points, (0.5, low) first in the grid's order, then (0.6, low): the refusal names the first
    raw = {"base": base, "axes": {"agents.0.geometry.0.1": [0.0, 0.5, 0.6], "agents.0.geometry.1.1": [1.0, low]},
           "measure": ["predict"]}
    want = float(np.linalg.eigvalsh(np.array([[1.0, 0.5], [0.5, low]]))[0])
    cols, why = _columns(raw)
    ledger.require("non-PSD point refused", cols is None and "A.geometry" in why and f"{want:.3g}" in why
                   and "positive semidefinite" in why, f"non-PSD grid point: {why[:120] or 'accepted'}")
    at_bar = {"agents.0.geometry.0.0": [1.0, -1e-10]}  # eigenvalues exactly -1e-10 and 0.5: on the bar, accepted
    base_bar = {"agents": [dict(base["agents"][0], geometry=[[1.0, 0.0], [0.0, 0.5]]), base["agents"][1]]}
    cols, why = _columns({"base": base_bar, "axes": at_bar, "measure": ["predict"]})
    ledger.require("PSD bar point accepted", cols is not None, f"geometry on the PSD bar refused: {why[:120]}")
    # [[0.5, 0.5], [0.5, 0.4999999997]]: eigenvalues ~1 and -1.5e-10, just past the bar 1e-10 (scale 1): refused
    past = {"agents": [dict(base["agents"][0], geometry=[[0.5, 0.0], [0.0, 0.5]]), base["agents"][1]]}
    cols, why = _columns({"base": past, "axes": {"agents.0.geometry.0.1": [0.0, 0.5],
                                                 "agents.0.geometry.1.1": [0.5, 0.4999999997]}, "measure": ["predict"]})
    ledger.require("non-PSD point refused", cols is None and "positive semidefinite" in why,
                   f"geometry with eigenvalue -1.5e-10 accepted: {why[:100] or 'accepted'}")
    # eigenvalues 10 and -5e-10: within the bar 1e-10 * 10 of a geometry whose largest eigenvalue is 10
    scaled = {"agents": [dict(base["agents"][0], geometry=[[10.0, 0.0], [0.0, 1.0]]), base["agents"][1]]}
    cols, why = _columns({"base": scaled, "axes": {"agents.0.geometry.1.1": [1.0, -5e-10]}, "measure": ["predict"]})
    ledger.require("PSD bar point accepted", cols is not None, f"geometry within the scaled bar refused: {why[:120]}")


def _renamed_quantity(ledger: Ledger) -> None:
    """A spec plotting a column by its name before schema version 1 is refused, naming the new name."""
    import json as _json

    raw = _json.loads('{"base": {"agents": [{"name": "A", "geometry": [[1.0]], "target": [1.0], "preconditioner": 0.5},'
                      ' {"name": "B", "geometry": [[1.0]], "target": [0.0], "preconditioner": 0.5}]},'
                      ' "axes": {"agents.0.preconditioner": [0.5, 0.6]}, "measure": ["predict"],'
                      ' "plot": {"quantity": "rho"}}')
    # a former name, a former per-agent prefix, and a name that only ends like a column (no rename to offer)
    # (and one sorting after every former name)
    cases = {"rho": "renamed to 'contraction_rate'", "residual_A": "renamed to 'residual_norm_A'",
             "not_a_colA": "is not a result column", "zz_not_a_column": "is not a result column"}
    with cli.scratch() as tmp:
        argvs = []
        for k, quantity in enumerate(cases):
            raw["plot"]["quantity"] = quantity
            path = cli.write_configs(f"{tmp}", [raw])[0]
            moved = f"{tmp}/spec_{k}.json"
            Path(path).rename(moved)
            argvs.append(["sweep", moved, "--out", f"{tmp}/out{k}", "--no-progress"])
        outs = cli.run_commands(argvs)
    for (quantity, want), out in zip(cases.items(), outs):
        ledger.require("renamed plot quantity", out.status != 0 and want in out.stderr,
                       f"plot.quantity {quantity}: exit {out.status}, {out.stderr.strip()[:120]!r}")


# A random protocol of three alternatives (independent draws; every agent speaks; A's and B's sources change
# between alternatives, so the schedule itself spreads the messages), docs/protocol.rst.
RANDOM_ALTERNATIVES = ([{"A": {"B": 1.0}}, {"C": {"A": 1.0}}], [{"A": {"C": 1.0}}, {"B": {"A": 0.5, "C": 0.5}}],
                       [{"B": {"A": 1.0}}, {"C": {"B": 1.0}}])
RANDOM_PROBABILITIES = (0.4, 0.35, 0.25)


def _random_reference(inst: ref.Instance, p: np.ndarray) -> dict:
    """docs/protocol.rst for independent draws, from each alternative's probed round map ``(Phi_k, psi_k)``:
    the mean-square rate ``rho(sum p_k Phi_k (x) Phi_k)^(1/2)``, the mean rate ``rho(sum p_k Phi_k)``, the
    stationary mean and the stationary covariance (centred: ``C = sum p_k (Phi_k C Phi_k^T + d_k d_k^T)``,
    ``d_k = Phi_k m + psi_k - m``, solved as a Kronecker system)."""
    maps = [ref.probed_round_map(ref.Instance(inst.names, inst.H, inst.target, inst.Gamma, inst.scalar_gamma,
                                              inst.steps, inst.initial,
                                              tuple(tuple((lst, tuple(row.items())) for lst, row in ph.items())
                                                    for ph in alt)))
            for alt in RANDOM_ALTERNATIVES]
    n = maps[0][0].shape[0]
    E = sum(pk * Phi for pk, (Phi, _) in zip(p, maps))
    T = sum(pk * np.kron(Phi, Phi) for pk, (Phi, _) in zip(p, maps))
    out: dict = {"mean_rate": float(np.max(np.abs(np.linalg.eigvals(E)))),
           "contraction_rate": float(np.sqrt(np.max(np.abs(np.linalg.eigvals(T)))))}
    m = np.linalg.solve(np.eye(n) - E, sum(pk * r for pk, (_, r) in zip(p, maps)))
    Q = sum(pk * np.outer(Phi @ m + r - m, Phi @ m + r - m) for pk, (Phi, r) in zip(p, maps))
    C = np.linalg.solve(np.eye(n * n) - T, Q.reshape(-1)).reshape(n, n)  # row-major vec: kron(A, A) vec(C)
    out["mean"], out["cov"] = m.reshape(inst.K, inst.d), C
    return out


def _random_run(inst: ref.Instance, p: np.ndarray, turns: int, seed: int) -> np.ndarray:
    """The last round's messages under the schedule drawn from ``seed``: one uniform per round, the
    alternative by the inverse CDF of ``p`` (docs/protocol.rst, as ``a2ad simulate --seed``)."""
    u = np.random.default_rng(seed).random(turns)
    cum = np.cumsum(p)
    z = np.tile(inst.initial, (inst.K, 1))
    for t in range(turns):
        k = min(int(np.searchsorted(cum, u[t], side="right")), len(p) - 1)
        alt = RANDOM_ALTERNATIVES[k]
        rounds = tuple(tuple((lst, tuple(row.items())) for lst, row in ph.items()) for ph in alt)
        z = ref.simulate_rounds(ref.Instance(inst.names, inst.H, inst.target, inst.Gamma, inst.scalar_gamma,
                                             inst.steps, inst.initial, rounds), 1, start=z)[-1]
    return z


def _random_grid(ledger: Ledger, rng: np.random.Generator) -> None:
    """K = 3, d = 2 under a random protocol (the per-point tier): alternative 0's probability (the others
    rescaled in their ratio, docs/sweeps.rst) and agent 0's preconditioner; predict and simulate."""
    def with_gamma(inst: ref.Instance, g: float) -> ref.Instance:
        G = inst.Gamma.copy()
        G[0] = g * np.eye(inst.d)
        return ref.Instance(inst.names, inst.H, inst.target, G, inst.scalar_gamma, inst.steps, inst.initial, None)

    def law(p0: float) -> np.ndarray:
        rest = np.array(RANDOM_PROBABILITIES[1:])
        return np.concatenate([[p0], rest * (1 - p0) / rest.sum()])

    inst = _scalar_first(_stable_base(rng, 3, 2, lambda i: True))
    g = float(inst.Gamma[0, 0, 0])
    # 8 g: the mean-square rate above 1 (the NaN columns)
    axes = {"protocol.random.0.probability": [0.3, 0.6], "agents.0.preconditioner": [g, round(8.0 * g, 3)]}
    points = _points(axes)
    base = {k: v for k, v in inst.config().items() if k != "schema_version"}
    base["protocol"] = {"random": [{"probability": pk, "rounds": alt}
                                   for pk, alt in zip(RANDOM_PROBABILITIES, RANDOM_ALTERNATIVES)]}
    raw = {"base": base, "axes": axes, "measure": ["predict", {"simulate": {"turns": KIND_TURNS}}], "seed": 11}
    cols = _grid_columns(ledger, raw, points, 11)
    if cols is None:
        return
    for q, pt in enumerate(points):
        v, p = with_gamma(inst, pt["agents.0.preconditioner"]), law(pt["protocol.random.0.probability"])
        want = _random_reference(v, p)
        for key in ("contraction_rate", "mean_rate"):
            ledger.add(f"random {key}", abs(float(cols[key][q]) - want[key]) / want[key], FLOAT_BAR)
        conv = want["contraction_rate"] < 1
        ledger.require("random converges", bool(cols["converges"][q]) == conv,
                       f"converges at mean-square rate {want['contraction_rate']:.3f}")
        last = _random_run(v, p, KIND_TURNS, 11)
        for k, n in enumerate(v.names):
            res, spread = float(cols[f"residual_norm_{n}"][q]), float(cols[f"spread_{n}"][q])
            gap = float(cols[f"sim_fixed_point_distance_{n}"][q])
            if not conv:
                ledger.require("random NaN where not converging", math.isnan(res) and math.isnan(spread)
                               and math.isnan(gap), f"{n}: {res}, {spread}, {gap}")
            else:
                m = want["mean"]
                w_res = float(np.linalg.norm(m[k] - v.target[k]))
                ledger.add("random residual_norm", abs(res - w_res) / max(w_res, 1e-300), FLOAT_BAR)
                w_spread = float(np.sqrt(np.trace(want["cov"][k * v.d:(k + 1) * v.d, k * v.d:(k + 1) * v.d])))
                # relative to the whole spread sqrt(tr C) (an agent's own spread may be ~0)
                ledger.add("random spread", abs(spread - w_spread) / max(float(np.sqrt(np.trace(want["cov"]))), 1e-300),
                           FLOAT_BAR)
                ledger.add("random sim_fixed_point_distance", abs(gap - float(np.linalg.norm(last[k] - m[k])))
                           / max(float(np.linalg.norm(m)), 1e-300), FLOAT_BAR)
            w_sim = float(np.linalg.norm(last[k] - v.target[k]))
            ledger.add("random sim_residual_norm", abs(float(cols[f"sim_residual_norm_{n}"][q]) - w_sim) / w_sim,
                       SIMULATE_BAR)
    ledger.instances += len(points)


def _prompt_grid(ledger: Ledger, rng: np.random.Generator) -> None:
    """K = 2, d = 2, agent A given by a prompt, axis on one of its labels (a path with no batched setter:
    the per-point tier without a protocol). A's geometry and target from the prompt, docs/theory.rst:
    ``H = X^T X / N``, ``w* = H^+ X^T y / N``."""
    inst = _stable_base(rng, 2, 2, lambda i: True)
    X = np.round(rng.standard_normal((3, 2)), ref.DECIMALS)
    y0 = np.round(rng.standard_normal(3), ref.DECIMALS)
    H = X.T @ X / 3
    g = float(np.round(0.8 / np.max(np.linalg.eigvalsh(H)), ref.DECIMALS))
    axes = {"agents.0.prompt.y.1": [float(y0[1]), round(float(y0[1]) + 1.5, 3)], "agents.1.preconditioner":
            [float(np.round(abs(inst.Gamma[1, 0, 0]), ref.DECIMALS)), float(np.round(3 * abs(inst.Gamma[1, 0, 0]), 3))]}
    cfg = {k: v for k, v in inst.config().items() if k != "schema_version"}
    cfg["agents"][0] = {"name": "A", "prompt": {"X": X.tolist(), "y": y0.tolist()}, "preconditioner": g,
                        "steps_per_turn": int(inst.steps[0])}
    cfg["agents"][1]["preconditioner"] = axes["agents.1.preconditioner"][0]
    points = _points(axes)
    measure = ["predict", {"simulate": {"turns": KIND_TURNS}}]
    cols = _grid_columns(ledger, {"base": cfg, "axes": axes, "measure": measure}, points, 0)
    if cols is None:
        return
    for p, pt in enumerate(points):
        y = y0.copy()
        y[1] = pt["agents.0.prompt.y.1"]
        Hs, T, G = inst.H.copy(), inst.target.copy(), inst.Gamma.copy()
        Hs[0], T[0] = H, np.linalg.pinv(H) @ X.T @ y / 3
        G[0] = g * np.eye(2)
        G[1] = pt["agents.1.preconditioner"] * np.eye(2)
        v = ref.Instance(inst.names, Hs, T, G, (True, True), inst.steps, inst.initial, None)
        check_point(ledger, v, cols, p, KIND_TURNS)
    ledger.instances += len(points)


# train-lsa options of the LSA grid: a short training (the columns, not a good Gamma_eff, are checked)
LSA_OPTIONS = {"steps": 40, "batch": 16, "N": 10, "turns": KIND_TURNS}


def _lsa_forward(p: np.ndarray, Q: np.ndarray, H: np.ndarray, w_star: np.ndarray, w: np.ndarray) -> np.ndarray:
    """One LSA forward pass on a prompt of geometry ``H`` and target ``w*`` (docs/lsa.rst, L1): tokens
    ``z_j = (x_j, y_j - <w, x_j>)``, ``w' = w + yhat(e_1..e_d)``, ``yhat(x_q) = (1/N) sum_j (p^T z_j)(z_j^T Q z_q)``:
    it reads the prompt through ``(1/N) sum_j z_j z_j^T`` only, which an exact prompt fixes as
    ``[[H, H e], [e^T H, e^T H e]]`` with ``e = w* - w``."""
    d = len(w)
    e = w_star - w
    S = np.zeros((d + 1, d + 1))
    S[:d, :d], S[:d, d], S[d, :d], S[d, d] = H, H @ e, H @ e, e @ H @ e
    return w + (p @ S @ Q[:, :d])


def _lsa_grid(ledger: Ledger, rng: np.random.Generator) -> None:
    """K = 2, d = 2, train-lsa over a seed axis and a target entry: each agent trained as docs/sweeps.rst says
    (its geometry as input covariance, the point's seed and its index as the seed sequence), then the LSA
    agents' forward passes iterated here from their weights."""
    inst = _stable_base(rng, 2, 2, lambda i: True)
    t = float(inst.target[1, 0])
    # trained for 40 steps; and untrained (1 step at lr 1e-6): seed 4 then gives an LSA round robin of rate
    # ~1.05 (the NaN columns), seed 7 one of rate ~0.99
    for axes, opts in (({"seed": [0, 1], "agents.1.target.0": [t, round(t + 0.7, 3)]}, dict(LSA_OPTIONS)),
                       ({"seed": [4, 7]}, {"steps": 1, "lr": 1e-6, "batch": 4, "N": 4, "turns": 3})):
        diverging = _lsa_points(ledger, inst, axes, opts)
    # every target 0: the predicted residual is exactly 0, its relative gap undefined (NaN)
    zero = ref.Instance(inst.names, inst.H, np.zeros_like(inst.target), inst.Gamma, inst.scalar_gamma, inst.steps,
                        inst.initial, None)
    _lsa_points(ledger, zero, {"seed": [7]}, {"steps": 1, "lr": 1e-6, "batch": 4, "N": 4, "turns": 3})
    ledger.require("an LSA point diverges", diverging > 0, "no LSA round robin of rate >= 1 among the untrained")


def _lsa_points(ledger: Ledger, inst: ref.Instance, axes: dict, opts: dict) -> int:
    """The train-lsa columns of one grid against the references; returns how many points diverge."""
    from numerics.lsa import settings as ts, training

    points = _points(axes)
    base = {k: v for k, v in inst.config().items() if k != "schema_version"}
    cols = _grid_columns(ledger, {"base": base, "axes": axes, "measure": [{"train-lsa": opts}]}, points, 0)
    if cols is None:
        return 0
    diverging = 0
    from numerics.sweep.spec import TRAIN_DEFAULTS  # the documented defaults ("as a2ad train-lsa")

    full: dict = dict(TRAIN_DEFAULTS, **opts)
    for q, pt in enumerate(points):
        T = inst.target.copy()
        T[1, 0] = pt.get("agents.1.target.0", T[1, 0])
        forwards = []
        for i, n in enumerate(inst.names):
            seed = int(np.random.SeedSequence([int(pt["seed"]), i]).generate_state(1)[0])
            res = training.train(inst.d, full["N"], inst.H[i], full["tau"], full["sigma"], steps=full["steps"],
                                 batch=full["batch"], seed=seed, lr=full["lr"],
                                 parameterisation=full["parameterisation"], progress=False, check_every=ts.CHECK_EVERY)
            pv, Qm = res.weights.W_PV[-1], res.weights.W_KQ
            G_eff = pv[-1] * Qm[:inst.d, :inst.d].T
            want = float(np.linalg.norm(G_eff - res.Gamma_star) / np.linalg.norm(res.Gamma_star))
            ledger.add("lsa_gamma_rel_error", abs(float(cols[f"lsa_gamma_rel_error_{n}"][q]) - want) / want, FLOAT_BAR)
            forwards.append((pv, Qm))

        def turn(i: int, w: np.ndarray) -> np.ndarray:
            for _ in range(inst.steps[i]):
                w = _lsa_forward(*forwards[i], inst.H[i], T[i], w)
            return w

        def round_(z: np.ndarray) -> np.ndarray:  # the round robin: agent i hears agent i - 1
            z = z.copy()
            for i in range(inst.K):
                z[i] = turn(i, z[(i - 1) % inst.K])
            return z

        z = np.tile(inst.initial, (inst.K, 1))
        for _ in range(opts["turns"]):
            z = round_(z)
        nK = inst.K * inst.d
        r0 = round_(np.zeros((inst.K, inst.d))).reshape(nK)
        Phi = np.stack([round_(np.eye(nK)[k].reshape(inst.K, inst.d)).reshape(nK) - r0 for k in range(nK)], axis=1)
        rho = float(np.max(np.abs(np.linalg.eigvals(Phi))))
        ledger.add("lsa_contraction_rate", abs(float(cols["lsa_contraction_rate"][q]) - rho) / rho, FLOAT_BAR)
        u = np.linalg.solve(np.eye(nK) - Phi, r0).reshape(inst.K, inst.d) if rho < CONVERGES_BELOW else None
        diverging += u is None
        for i, n in enumerate(inst.names):
            e_sim = z[i] - T[i]
            ledger.add("lsa_sim_residual_norm", abs(float(cols[f"lsa_sim_residual_norm_{n}"][q])
                                                    - float(np.linalg.norm(e_sim))) / float(np.linalg.norm(e_sim)),
                       FLOAT_BAR)
            got_res, got_rel = float(cols[f"lsa_residual_norm_{n}"][q]), float(cols[f"lsa_residual_rel_error_{n}"][q])
            if u is None:
                ledger.require("lsa NaN where diverging", math.isnan(got_res) and math.isnan(got_rel),
                               f"{n}: {got_res}")
                continue
            e_pred = u[i] - T[i]
            size = float(np.linalg.norm(e_pred))
            if size == 0:
                ledger.require("lsa residual 0", got_res == 0 and math.isnan(got_rel), f"{n}: {got_res}, {got_rel}")
                continue
            ledger.add("lsa_residual_norm", abs(got_res - size) / size, FLOAT_BAR)
            rel = float(np.linalg.norm(e_sim - e_pred)) / size
            # ||e_sim - e_pred|| cancels when the run has settled: relative to at least 1e-3
            ledger.add("lsa_residual_rel_error", abs(got_rel - rel) / max(rel, 1e-3), FLOAT_BAR)
    ledger.instances += len(points)
    return diverging


# The simulate tier runs its systems in sub-batches of at most SIM_HISTORY_FLOATS message entries of history
# (numerics.sweep.measures): a budget below one system's history (turns K d = 4 here) must still run every system,
# one per sub-batch, with the same columns (the budget sizes memory, never the result).
HISTORY_BELOW_ONE_SYSTEM = 3


def _margin_grid(ledger: Ledger, history_floats: int | None = None) -> None:
    """d = 1: B copies what it hears (geometry 0), A's preconditioner 1e-12 puts the rate at exactly
    ``1 - 1e-12`` in float64 (``converges`` false there, docs/config.rst), 0.5 at 0.5. With ``history_floats``
    the simulate tier's history budget is lowered to it for this grid."""
    from numerics.sweep import measures

    if history_floats is not None:
        saved = measures.SIM_HISTORY_FLOATS
        measures.SIM_HISTORY_FLOATS = history_floats
        try:
            _margin_grid(ledger)
        finally:
            measures.SIM_HISTORY_FLOATS = saved
        return
    base = {"agents": [{"name": "A", "geometry": [[1.0]], "target": [1.0], "preconditioner": 0.5},
                       {"name": "B", "geometry": [[0.0]], "target": [0.0], "preconditioner": 0.5}]}
    axes = {"agents.0.preconditioner": [1e-12, 0.5]}
    points = _points(axes)
    # 2 turns = K d: the simulate tier's sub-batch arithmetic meets a zero there if it mixes them up
    cols = _grid_columns(ledger, {"base": base, "axes": axes, "measure": ["predict", {"simulate": {"turns": 2}}]},
                         points, 0)
    if cols is None:
        return
    for p, pt in enumerate(points):
        v = ref.Instance(("A", "B"), np.array([[[1.0]], [[0.0]]]), np.array([[1.0], [0.0]]),
                         np.array([[[pt["agents.0.preconditioner"]]], [[0.5]]]), (True, True), (1, 1), np.zeros(1))
        check_point(ledger, v, cols, p, 2)
    ledger.instances += len(points)


def _chunk_grids(ledger: Ledger, rng: np.random.Generator) -> None:
    """K = 2, d = 2: one turn (turns K = d), and a 17 x 17 grid in one chunk (more points than CPython's
    cached small integers), checked at its first, middle and last point."""
    inst = _scalar_first(_stable_base(rng, 2, 2, lambda i: RHO_OK(ref.rate(i))))
    g, t = float(inst.Gamma[0, 0, 0]), float(inst.target[1, 0])
    base = {k: v for k, v in inst.config().items() if k != "schema_version"}
    for axes, turns, at in (({"agents.0.preconditioner": [g, round(0.5 * g, 3)]}, 1, None),
                            ({"agents.0.preconditioner": {"linspace": [round(0.5 * g, 3), g, 17]},
                              "agents.1.target.0": {"linspace": [t - 1.0, t + 1.0, 17]}}, None, (0, 144, 288))):
        values = {k: (np.linspace(float(v["linspace"][0]), float(v["linspace"][1]), int(v["linspace"][2])).tolist()
                      if isinstance(v, dict) else v) for k, v in axes.items()}
        points = _points(values)
        measure: list = ["predict"] + ([{"simulate": {"turns": turns}}] if turns else [])
        cols = _grid_columns(ledger, {"base": base, "axes": axes, "measure": measure}, points, 0)
        if cols is None:
            continue
        for p in (range(len(points)) if at is None else at):
            check_point(ledger, _with_point(inst, points[p]["agents.0.preconditioner"],
                                            points[p].get("agents.1.target.0", t)), cols, p, turns)
            ledger.instances += 1


class _Terminal(io.StringIO):
    """A captured stream that says it is a terminal (rich draws its live displays only on one)."""

    def isatty(self) -> bool:
        return True


def _silent_on_a_terminal(ledger: Ledger, grid, *args) -> None:
    """``grid(ledger, *args)`` with stdout and stderr terminals: computing the columns writes nothing there
    (docs/sweeps.rst: the one progress bar counts chunks, drawn by the command on stderr, not by a chunk)."""
    import contextlib

    out, err = _Terminal(), _Terminal()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        grid(ledger, *args)
    written = out.getvalue() + err.getvalue()
    ledger.require("chunk output", written == "", f"a chunk wrote {len(written)} characters to a terminal: "
                   f"{written[:60]!r}")


def kinds_method(profile: Profile) -> Outcome:
    """VS: the sweep kinds the CLI offers beyond sweep_method's grids, each against its reference."""
    rng = np.random.default_rng(profile.seed + 2424)
    ledger = Ledger()
    _setters_grid(ledger, rng)
    _gap_grid(ledger, rng)
    _random_grid(ledger, rng)
    _prompt_grid(ledger, rng)
    _silent_on_a_terminal(ledger, _lsa_grid, rng)
    _margin_grid(ledger)
    _margin_grid(ledger, HISTORY_BELOW_ONE_SYSTEM)
    _chunk_grids(ledger, rng)
    _geometry_checks(ledger)
    _renamed_quantity(ledger)
    if ledger.instances == 0:
        ledger.add("points checked", MISMATCH, 1.0)
    return ledger.outcome("sweep columns of every axis kind (preconditioner entry, geometry, steps, initial "
                          "message, gap_scale, gap_angle, seed, a prompt label, a random protocol's probability) and "
                          "of train-lsa vs the probed rate, settled and simulated rounds, the random protocol's "
                          "moments and the LSA forward passes at every point; the point, seed and axis columns; the "
                          "PSD check at each point; renamed plot quantities")
