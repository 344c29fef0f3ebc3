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

import math

import numpy as np

from proofs_check.verification import shipped_reference as ref
from proofs_check.verification.registry import Outcome, Profile
from proofs_check.verification.shipped import FLOAT_BAR, MISMATCH, SIMULATE_BAR, Ledger, _instances

__all__ = ["sweep_method"]

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
        rho = ref.rate(v)
        ledger.add("contraction_rate", abs(float(cols["contraction_rate"][p]) - rho) / rho, FLOAT_BAR)
        ledger.require("converges", bool(cols["converges"][p]) == (rho < 1), f"converges at rho {rho:.3f}")
        last = ref.simulate_rounds(v, TURNS)[-1]
        z = ref.settled(v, rho) if rho < 1 else None
        for k, n in enumerate(v.names):
            got = float(cols[f"residual_norm_{n}"][p])
            if z is None:
                ledger.require("residual_norm NaN where diverging", math.isnan(got), f"{n}: {got} at rho {rho:.2f}")
            else:
                want = float(np.linalg.norm(z[k] - v.target[k]))
                ledger.add("residual_norm", abs(got - want) / max(want, 1e-300), FLOAT_BAR)
            want_sim = float(np.linalg.norm(last[k] - v.target[k]))
            ledger.add("sim_residual_norm", abs(float(cols[f"sim_residual_norm_{n}"][p]) - want_sim) / want_sim,
                       SIMULATE_BAR)
            gap = float(cols[f"sim_fixed_point_distance_{n}"][p])
            if z is None:
                ledger.require("sim_fixed_point_distance NaN where diverging", math.isnan(gap), f"{n}: {gap}")
            else:
                want_gap = float(np.linalg.norm(last[k] - z[k]))
                # the distance of the 25th round to the fixed point: relative to the plateau scale
                ledger.add("sim_fixed_point_distance", abs(gap - want_gap) / max(float(np.linalg.norm(z)), 1e-300),
                           FLOAT_BAR)
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
