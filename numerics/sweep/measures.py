"""What ``a2ad sweep`` computes at each grid point, one chunk of points at a time.

Column names follow ``predict``'s vocabulary (docs/config.rst): a per-agent column is
``<quantity>_<agent name>``, a closed-form value has the bare name, a simulated one ``sim_``,
one of the trained LSA agents ``lsa_``.

- ``predict`` (C1, C2, C3, C7, C17): ``contraction_rate``, ``converges`` and every agent's
  ``residual_norm_<name>`` ``||u_i* - w_i*||``, batched over the chunk (one numpy call chain, no
  per-point loop) when every axis has a batched setter, else per point through
  :func:`numerics.protocol.prediction.predict`.
- ``simulate``: the real GD iteration for ``turns`` rounds (batched, never a closed form);
  ``sim_residual_norm_<name>`` is the last message's distance to the agent's target and
  ``sim_fixed_point_distance_<name>`` its distance to the predicted fixed point (NaN where rho >= 1).
- ``train-lsa`` (V7, L2): every agent replaced by an LSA agent trained on its own geometry
  ``H_i`` as input covariance and given a prompt of exactly that geometry and target;
  ``lsa_gamma_rel_error_<name>`` is ``||Gamma_eff - Gamma*||_F / ||Gamma*||_F``, and the real
  forward passes' residual ``e_sim`` (``lsa_sim_residual_norm_<name>``) is compared with
  C3/C17 built from ``Gamma_eff``, ``e_pred`` (``lsa_residual_norm_<name>``):
  ``lsa_residual_rel_error_<name>`` = ``||e_sim - e_pred|| / ||e_pred||``.

On a random protocol (``protocol.random``, issue 26) every point goes through
:func:`numerics.protocol.random_moments.moments`: ``contraction_rate`` is the mean-square rate (it
decides ``converges``), ``mean_rate`` the first-moment rate, ``residual_norm_<name>`` the distance of
the stationary mean to the agent's target and ``spread_<name>`` the square root of the trace of its
stationary covariance (NaN where ``converges`` is false). ``simulate`` there runs the real agents
under a schedule drawn from the point's seed (:mod:`numerics.protocol.random_simulate`), with the
agents' ``noise``, and measures the last round.

Every point carries its own seed; a chunk's result depends only on the spec and the chunk
index, so every backend writes the same numbers.
"""
from __future__ import annotations

import numpy as np

from numerics.dynamics import closed_forms
from numerics.io import validate
from numerics.io.errors import InputError
from numerics.lsa import settings as ts, training as lsa_training
from numerics.protocol import prediction, simulate
from numerics.sweep.spec import Spec, gap_frame, gap_norm

# run_batch keeps every turn: sub-batches hold at most this many floats of history (~160 MB).
SIM_HISTORY_FLOATS = 20_000_000


# Column names before schema version 1 (old -> new; a trailing "_" is a per-agent prefix), for the
# error that points a spec's old ``plot.quantity`` at the new name.
FORMER_COLUMNS = {"rho": "contraction_rate", "lsa_rho": "lsa_contraction_rate", "residual_": "residual_norm_",
                  "sim_residual_": "sim_residual_norm_", "sim_gap_": "sim_fixed_point_distance_",
                  "lsa_gamma_error_": "lsa_gamma_rel_error_", "lsa_residual_": "lsa_sim_residual_norm_",
                  "lsa_predicted_residual_": "lsa_residual_norm_", "lsa_plateau_gap_": "lsa_residual_rel_error_"}


def renamed(column: str, cols: list[str]) -> str | None:
    """The current name of a former column name (``None`` when ``column`` names none of ``cols``)."""
    for old, new in FORMER_COLUMNS.items():
        if old.endswith("_") and column.startswith(old) and new + column[len(old):] in cols:
            return new + column[len(old):]
        if column == old and new in cols:
            return new
    return None


def columns(spec: Spec) -> list[str]:
    """The result table's columns, in order."""
    names = spec.system.names
    cols = ["point", "seed"] + [a.name for a in spec.axes if a.name != "seed"]
    cols += ["contraction_rate", "converges"]
    if spec.system.random is not None:
        cols += ["mean_rate"]
    cols += [f"residual_norm_{n}" for n in names]
    if spec.system.random is not None:
        cols += [f"spread_{n}" for n in names]
    if "simulate" in spec.measures:
        cols += [f"sim_residual_norm_{n}" for n in names] + [f"sim_fixed_point_distance_{n}" for n in names]
    if "train-lsa" in spec.measures:
        cols += ["lsa_contraction_rate"] + [f"lsa_gamma_rel_error_{n}" for n in names]
        cols += [f"lsa_sim_residual_norm_{n}" for n in names] + [f"lsa_residual_norm_{n}" for n in names]
        cols += [f"lsa_residual_rel_error_{n}" for n in names]
    return cols


def compute_chunk(spec: Spec, chunk: int) -> dict[str, np.ndarray]:
    """Every column for the points of one chunk (a pure function of spec and chunk)."""
    points = spec.chunk_points(chunk)
    values = spec.axis_values(points)
    n = len(points)
    out = {"point": points.astype(np.int64), "seed": spec.seeds(values, n)}
    out.update({k: v for k, v in values.items() if k != "seed"})
    if spec.generic:
        out.update(_per_point(spec, values, n, lsa="train-lsa" in spec.measures))
    else:
        out.update(_batched(spec, values, n))
        if "train-lsa" in spec.measures:
            out.update(_per_point(spec, values, n, lsa=True, closed=False))
    _refuse_overflow(out, values)
    return {c: out[c] for c in columns(spec)}


def _point(values: dict[str, np.ndarray], p: int) -> dict[str, float]:
    """Point ``p``'s axis values, as a refusal names the point."""
    return {k: float(v[p]) for k, v in values.items()}


def _refuse_overflow(out: dict[str, np.ndarray], values: dict[str, np.ndarray]) -> None:
    """A converging point's closed-form columns (``residual_norm_<agent>``, ``spread_<agent>``) are finite numbers:
    one that overflows float64 (a target near 1e308) is refused by name, as ``predict`` refuses it, never written
    as inf. The first such point in the grid's order is named (docs/sweeps.rst)."""
    closed = [c for c in out if c.startswith(("residual_norm_", "spread_"))]
    bad = np.asarray(out["converges"], dtype=bool) & ~np.all([np.isfinite(out[c]) for c in closed], axis=0)
    if bad.any():
        p = int(np.argmax(bad))
        col = next(c for c in closed if not np.isfinite(out[c][p]))
        raise InputError(f"{col} at {_point(values, p)}", float(out[col][p]),
                         "is not finite: the computation overflows float64 (a2ad predict --precision computes "
                         "such a point exactly)")


# ---------------------------------------------------------------- batched (fast) tier

def system_arrays(spec: Spec, values: dict[str, np.ndarray], n: int):
    """``H, Gamma`` (n, K, d, d), ``b, w`` (n, K, d), ``steps`` (n, K) and ``v0`` (n, d) for n points."""
    sys_ = spec.system
    d = sys_.d
    H = np.repeat(np.stack([a.geometry.H for a in sys_.agents])[None], n, axis=0)
    G = np.repeat(np.stack([a.Gamma for a in sys_.agents])[None], n, axis=0)
    w = np.repeat(np.stack([a.w_star for a in sys_.agents])[None], n, axis=0)
    b = np.repeat(np.stack([a.geometry.b for a in sys_.agents])[None], n, axis=0)
    steps = np.repeat(np.array([a.steps for a in sys_.agents])[None], n, axis=0)
    v0 = np.repeat(sys_.initial_message[None], n, axis=0)
    moved = set()  # geometry agents whose b = H w must be recomputed
    for axis in spec.axes:
        v = values[axis.name]
        i = axis.index[0] if axis.index else None
        if axis.kind == "preconditioner":
            G[:, i] = v[:, None, None] * np.eye(d)
        elif axis.kind == "preconditioner_entry":
            G[:, i, axis.index[1], axis.index[2]] = v
        elif axis.kind == "target":
            w[:, i, axis.index[1]] = v
            moved.add(i)
        elif axis.kind == "geometry":
            H[:, i, axis.index[1], axis.index[2]] = v
            H[:, i, axis.index[2], axis.index[1]] = v
            moved.add(i)
        elif axis.kind == "steps":
            steps[:, i] = v
        elif axis.kind == "initial":
            v0[:, axis.index[0]] = v
    if any(a.kind == "geometry" for a in spec.axes):
        _require_psd(spec, H, values)
    if any(a.kind in ("gap_angle", "gap_scale") for a in spec.axes):
        e, q = gap_frame(sys_)
        theta = values.get("gap_angle", np.zeros(n))
        s = values.get("gap_scale", np.ones(n))
        w[:, 1] = w[:, 0] + (s * gap_norm(sys_))[:, None] * (np.cos(theta)[:, None] * e + np.sin(theta)[:, None] * q)
        moved.add(1)
    for i in moved:
        b[:, i] = (H[:, i] @ w[:, i, :, None])[..., 0]
    return H, G, b, w, steps, v0


def _require_psd(spec: Spec, H: np.ndarray, values) -> None:
    eig = np.linalg.eigvalsh(H)
    scale = np.maximum(1.0, np.max(np.abs(eig), axis=-1))
    bad = eig[..., 0] < -validate.PSD_RTOL * scale
    if np.any(bad):
        p, i = np.argwhere(bad)[0]
        raise InputError(f"{spec.system.agents[i].name}.geometry at {_point(values, p)}", H[p, i],
                         f"must be positive semidefinite (smallest eigenvalue {eig[p, i, 0]:.3g})")


def transfers(G: np.ndarray, H: np.ndarray, w: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``M_i = (I - Gamma_i H_i)^{s_i}`` and ``c_i = (I - M_i) w_i*`` (C7), batched."""
    d = H.shape[-1]
    A = np.eye(d) - G @ H
    M = A
    if np.any(steps != 1):
        M = A.copy()
        for k in range(1, int(steps.max())):
            more = steps > k
            M[more] = M[more] @ A[more]
    c = w - (M @ w[..., None])[..., 0]
    return M, c


def _batched(spec: Spec, values, n: int) -> dict[str, np.ndarray]:
    H, G, b, w, steps, v0 = system_arrays(spec, values, n)
    with np.errstate(over="ignore", invalid="ignore"):  # a transfer that overflows is refused by name below
        M, c = transfers(G, H, w, steps)
    finite = np.all(np.isfinite(M), axis=(-2, -1)) & np.all(np.isfinite(c), axis=-1)
    if not finite.all():
        p, i = (int(x) for x in np.argwhere(~finite)[0])
        raise InputError(f"{spec.system.agents[i].name} per-turn transfer M^s at {_point(values, p)}", int(steps[p, i]),
                         "overflows float64 (the agent's own GD steps diverge)")
    out, u = predict_columns(spec.system.names, M, c, w, lambda p: f"round map at {_point(values, p)}")
    if "simulate" in spec.measures:
        last = _simulate_batched(G, H, b, steps, v0, spec.measures["simulate"]["turns"])
        out.update(simulate_columns(spec.system.names, last, w, u))
    return out


def predict_columns(names, M: np.ndarray, c: np.ndarray, w: np.ndarray, name=None):
    """contraction_rate, converges, residual norms (NaN where rho >= 1 - margin) and the fixed points u (n, K, d).

    ``name(p)`` names point p in the refusal of a round map that overflows float64."""
    n = M.shape[0]
    rho = closed_forms.contraction_rate(M, name)
    conv = rho < 1 - prediction.CONVERGENCE_MARGIN
    u = np.full(w.shape, np.nan)
    if np.any(conv):
        u[conv] = closed_forms.fixed_points(M[conv], c[conv], check=False)
    res = np.linalg.norm(u - w, axis=-1)
    out = {"contraction_rate": rho, "converges": conv}
    out.update({f"residual_norm_{name}": res[:, i] for i, name in enumerate(names)})
    assert res.shape[0] == n
    return out, u


def _simulate_batched(G, H, b, steps, v0, turns: int) -> np.ndarray:
    """Last round's messages (n, K, d) of the real GD iteration, grouped by steps per turn."""
    n, K, d, _ = H.shape
    last = np.empty((n, K, d))
    sub = max(1, SIM_HISTORY_FLOATS // (turns * K * d))
    keys, groups = np.unique(steps, axis=0, return_inverse=True)
    with np.errstate(over="ignore", invalid="ignore"):
        for g, key in enumerate(keys):
            idx = np.flatnonzero(groups.ravel() == g)
            for start in range(0, len(idx), sub):
                j = idx[start:start + sub]
                last[j] = simulate.run_batch(G[j], H[j], b[j], key, v0[j], turns)[:, -1]
    return last


def simulate_columns(names, last: np.ndarray, w: np.ndarray, u: np.ndarray) -> dict[str, np.ndarray]:
    with np.errstate(over="ignore", invalid="ignore"):
        res = np.linalg.norm(last - w, axis=-1)
        gap = np.linalg.norm(last - u, axis=-1)
    out = {f"sim_residual_norm_{name}": res[:, i] for i, name in enumerate(names)}
    out.update({f"sim_fixed_point_distance_{name}": gap[:, i] for i, name in enumerate(names)})
    return out


# ---------------------------------------------------------------- per-point tier

def _per_point(spec: Spec, values, n: int, lsa: bool, closed: bool = True) -> dict[str, np.ndarray]:
    """Columns built one point at a time through config.parse (generic axes, trained agents)."""
    names = spec.system.names
    cols: dict[str, list] = {}
    seeds = spec.seeds(values, n)
    for p in range(n):
        system = spec.point_system({k: v[p] for k, v in values.items()})
        row = {}
        if closed and system.random is not None:
            row.update(random_row(system, spec.measures.get("simulate"), int(seeds[p])))
        elif closed:
            doc = prediction.predict(system)
            row.update(_predict_row(doc))
            if "simulate" in spec.measures:
                turns = spec.measures["simulate"]["turns"]
                w = np.stack([a.w_star for a in system.agents])
                if system.protocol is not None:  # messages at the end of each round
                    last = simulate.run_protocol(system.agents, system.protocol, turns)[-1]
                else:
                    last = simulate.run(system.agents, system.initial_message, turns)[-1]
                u = np.array([np.full(system.d, np.nan) if e["fixed_point"] is None else e["fixed_point"]
                              for e in doc["agents"].values()])
                row.update({k: v[0] for k, v in simulate_columns(names, last[None], w[None], u[None]).items()})
        if lsa:
            row.update(train_lsa_point(system, int(seeds[p]), spec.measures["train-lsa"]))
        for k, v in row.items():
            cols.setdefault(k, []).append(v)
    return {k: np.array(v) for k, v in cols.items()}


def random_row(system, simulate_opts: dict | None, seed: int) -> dict:
    """A random protocol's columns at one point: its moments (mean-square and mean rates, the stationary
    mean's residual norms and spreads), and with ``simulate_opts`` a run of the real agents under a
    schedule drawn from ``seed`` (the schedule's uniforms first, then the noise, as ``a2ad simulate``)."""
    from numerics.protocol import random_moments, random_simulate

    rp, names = system.random, system.names
    M, c = np.stack([a.M for a in system.agents]), np.stack([a.c for a in system.agents])
    w = np.stack([a.w_star for a in system.agents])
    mo = random_moments.moments(M, c, rp, system.noise_stack())
    row = {"contraction_rate": mo.contraction_rate, "converges": mo.converges, "mean_rate": mo.mean_rate}
    u = mo.mean if mo.converges and mo.mean is not None else np.full(w.shape, np.nan)
    spread = (np.sqrt(np.maximum(np.trace(mo.covariance, axis1=-2, axis2=-1), 0.0))
              if mo.converges and mo.covariance is not None else np.full(len(names), np.nan))
    for i, name in enumerate(names):
        row[f"residual_norm_{name}"] = float(np.linalg.norm(u[i] - w[i]))
        row[f"spread_{name}"] = float(spread[i])
    if simulate_opts is not None:
        turns, rng = simulate_opts["turns"], np.random.default_rng(seed)
        schedule = random_simulate.draw_schedule(rp, turns, rng)
        last = random_simulate.run_random(system.agents, rp, turns, schedule, rng, system.noise)[-1]
        row.update({k: v[0] for k, v in simulate_columns(names, last[None], w[None], u[None]).items()})
    return row


def _predict_row(doc) -> dict:
    """A point's predict columns from its ``predict`` document."""
    row = {"contraction_rate": doc["contraction_rate"], "converges": doc["converges"]}
    for name, entry in doc["agents"].items():
        row[f"residual_norm_{name}"] = np.nan if entry["residual_norm"] is None else entry["residual_norm"]
    return row


def exact_prompt(H: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A prompt (d examples) whose geometry is exactly ``H`` and whose labels fit ``w``: ``X^T X / d = H``."""
    lam, V = np.linalg.eigh(H)
    X = np.sqrt(H.shape[0]) * (np.sqrt(np.maximum(lam, 0.0))[:, None] * V.T)
    return X, X @ w


def train_lsa_point(system, seed: int, opts: dict) -> dict:
    """Train one LSA agent per agent (input covariance = its geometry), run them, compare with C3/C17."""
    from numerics.lsa.agent import LSAAgent

    d = system.d
    agents, row = [], {}
    for i, agent in enumerate(system.agents):
        H = validate.spd(f"{agent.name}.geometry (train-lsa uses it as the input covariance)", agent.geometry.H, d)
        agent_seed = int(np.random.SeedSequence([seed, i]).generate_state(1)[0])
        res = lsa_training.train(d, opts["N"], H, opts["tau"], opts["sigma"], steps=opts["steps"],
                                 batch=opts["batch"], seed=agent_seed, lr=opts["lr"],
                                 parameterisation=opts["parameterisation"], progress=False,
                                 check_every=ts.CHECK_EVERY)
        X, y = exact_prompt(H, agent.w_star)
        agents.append(LSAAgent(agent.name, res.weights, X, y, steps=agent.steps))
        row[f"lsa_gamma_rel_error_{agent.name}"] = res.rel_error
    with np.errstate(over="ignore", invalid="ignore"):
        last = simulate.run(agents, system.initial_message, opts["turns"])[-1]
    M = np.stack([a.M for a in agents])
    c = np.stack([a.c for a in agents])
    rho = float(closed_forms.contraction_rate(M))
    row["lsa_contraction_rate"] = rho
    conv = rho < 1 - prediction.CONVERGENCE_MARGIN
    u = closed_forms.fixed_points(M, c, check=False) if conv else None
    for i, a in enumerate(agents):
        e_sim = last[i] - a.w_star
        row[f"lsa_sim_residual_norm_{a.name}"] = float(np.linalg.norm(e_sim))
        if u is None:
            row[f"lsa_residual_norm_{a.name}"] = row[f"lsa_residual_rel_error_{a.name}"] = np.nan
            continue
        e_pred = u[i] - a.w_star
        size = float(np.linalg.norm(e_pred))
        row[f"lsa_residual_norm_{a.name}"] = size
        row[f"lsa_residual_rel_error_{a.name}"] = float(np.linalg.norm(e_sim - e_pred)) / size if size > 0 else np.nan
    return row
