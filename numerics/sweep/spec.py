"""SPEC.json for ``a2ad sweep``: validation, the grid, and each point's config.

A spec is ``{"base": CONFIG, "axes": {NAME: VALUES, ...}, "measure": [...], "seed": S,
"chunk_size": n, "plot": {"quantity": COLUMN}}``. An axis NAME is a path into the base
config (``"agents.0.preconditioner"``, ``"agents.1.target.0"``, ``"agents.0.geometry.0.1"``,
any JSON path for later config kinds) or a derived axis:

- ``gap_scale`` s and ``gap_angle`` theta place agent 1's target around agent 0's:
  ``w_1* = w_0* + s ||Delta_0|| (cos(theta) e + sin(theta) q)``, with ``Delta_0 = w_1* - w_0*``
  of the base, ``e = Delta_0 / ||Delta_0||`` and ``q`` the coordinate axis most orthogonal to
  ``e``, made orthogonal to it (so ``||Delta|| = s ||Delta_0||``, the C3/C4 gap).
- ``seed``: each point's seed (integers >= 0); without it every point uses the spec's ``seed``.

A random protocol's probability is an axis too (issue 26): ``protocol.random.K.probability``
(independent draws), ``protocol.random.K.next.NAME`` (row K of a Markov chain) or
``protocol.initial.NAME``. Setting one probability of a law to p rescales the others of the same law
proportionally, by ``(1 - p) / (their sum)``, so the law still sums to 1 and their ratios stay as in
the base. Values must lie in [0, 1]; a law with one entry cannot vary, one whose other entries are
all 0 cannot be rescaled below 1, and two axes on one law are refused.

VALUES is a list of numbers, ``{"linspace": [start, stop, n]}`` or ``{"geomspace": [start, stop, n]}``.
The grid is the Cartesian product, first axis slowest. Setting ``geometry.r.c`` also sets
``geometry.c.r`` (a geometry is symmetric). Nothing is evaluated: values are JSON numbers.

Bounds (docs/sweeps.rst; each reached exactly is accepted, exceeded by one refused): at most
``MAX_AXIS_VALUES`` values an axis, ``MAX_POINTS`` points (``MAX_EXPENSIVE_POINTS`` when simulating,
training, or building every point through config.parse), a ``seed`` (the spec's and a seed axis's
values) in [0, 2^31 - 1], a ``steps_per_turn`` axis in [1, ``MAX_STEPS_PER_TURN``], ``turns`` at most
``MAX_TURNS``, ``train-lsa`` options within ``TRAIN_MAX``, ``chunk_size`` in [1, ``MAX_CHUNK``] (default
1 with train-lsa, else 256 under the 10^5-point bound, else 100000). A refusal names the field and its
first offending value.
"""
from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import dataclass

import numpy as np

from numerics.io import schema, validate
from numerics.io.errors import InputError
from numerics.lsa import settings as ts
from numerics.protocol import config

TOP_KEYS = {"base", "axes", "measure", "seed", "chunk_size", "plot", "schema_version"}
MEASURES = ("predict", "simulate", "train-lsa")
DERIVED = ("gap_angle", "gap_scale", "seed")
# A probability of a random protocol's law: of independent draws, of a Markov row, of the initial law.
_PROBABILITY = {
    "independent": re.compile(r"protocol\.random\.(\d+)\.probability$", re.ASCII),
    "next": re.compile(r"protocol\.random\.(\d+)\.next\.(.+)$", re.ASCII | re.DOTALL),
    "initial": re.compile(r"protocol\.initial\.(.+)$", re.ASCII | re.DOTALL),
}
# Bounds that keep a sweep on one machine's memory and a cluster's patience.
MAX_POINTS = 10_000_000          # closed-form points (10^6 take ~2-5 s and ~1 GB here)
MAX_EXPENSIVE_POINTS = 100_000   # points that simulate or train (each costs 1 ms to seconds)
MAX_AXIS_VALUES = 1_000_000
MAX_TURNS = 100_000
MAX_STEPS_PER_TURN = 1_000
MAX_CHUNK = 1_000_000
MAX_SEED = 2**31 - 1            # the spec's seed and a seed axis's values (docs/sweeps.rst)
TRAIN_DEFAULTS = {"N": 20, "tau": 1.0, "sigma": 0.1, "steps": ts.STEPS, "batch": ts.BATCH, "lr": ts.LR,
                  "parameterisation": "sparse", "turns": 400}
TRAIN_MAX = {"N": 10_000, "steps": 100_000, "batch": 100_000, "turns": MAX_TURNS}

_FAST_PATTERNS = {
    "preconditioner": re.compile(r"agents\.(\d+)\.preconditioner$", re.ASCII),
    "preconditioner_entry": re.compile(r"agents\.(\d+)\.preconditioner\.(\d+)\.(\d+)$", re.ASCII),
    "target": re.compile(r"agents\.(\d+)\.target\.(\d+)$", re.ASCII),
    "geometry": re.compile(r"agents\.(\d+)\.geometry\.(\d+)\.(\d+)$", re.ASCII),
    "steps": re.compile(r"agents\.(\d+)\.steps_per_turn$", re.ASCII),
    "initial": re.compile(r"initial_message\.(\d+)$", re.ASCII),
}  # re.ASCII: \d is 0-9 only, as in _is_index (int() and str.isdigit accept other scripts' digits)


@dataclass(frozen=True)
class Axis:
    """One axis of the grid. Frozen, as is :class:`Spec`: a parsed spec is shared by every chunk
    (and pickled to workers) and never changes."""

    name: str
    values: np.ndarray           # float64 (int64 for seed and steps_per_turn)
    kind: str                    # a key of _FAST_PATTERNS, "gap_angle", "gap_scale", "seed", "probability" or "generic"
    index: tuple[int, ...] = ()  # the integers of the path (agent, row, column, ...)


@dataclass(frozen=True)
class Spec:
    raw: dict                    # the spec as given (kept in DIR/spec.json)
    base: dict                   # the base CONFIG object
    system: config.System        # the base, parsed
    axes: tuple[Axis, ...]
    measures: dict               # name -> options
    seed: int                    # every field is given by parse (the only constructor): no defaults
    chunk_size: int
    plot_quantity: str | None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(a.values) for a in self.axes)

    @property
    def n_points(self) -> int:
        return math.prod(self.shape)

    @property
    def n_chunks(self) -> int:
        return -(-self.n_points // self.chunk_size)

    @property
    def expensive(self) -> bool:
        return "train-lsa" in self.measures or self.generic

    @property
    def generic(self) -> bool:
        """Some axis has no batched setter, or the base has a protocol: every point is built through config.parse."""
        return (self.system.protocol is not None or self.system.random is not None
                or any(a.kind in ("generic", "probability") for a in self.axes))

    def chunk_points(self, chunk: int) -> np.ndarray:
        return np.arange(chunk * self.chunk_size, min((chunk + 1) * self.chunk_size, self.n_points))

    def axis_values(self, points: np.ndarray) -> dict[str, np.ndarray]:
        """Each axis's value at the given flat point indices (first axis slowest)."""
        idx = np.unravel_index(points, self.shape)
        return {a.name: a.values[i] for a, i in zip(self.axes, idx)}

    def seeds(self, values: dict[str, np.ndarray], n: int) -> np.ndarray:
        return values["seed"].astype(np.int64) if "seed" in values else np.full(n, self.seed, dtype=np.int64)

    def point_config(self, values: dict[str, float]) -> dict:
        """The CONFIG object of one point (JSON, not yet parsed)."""
        cfg = copy.deepcopy(self.base)
        for axis in self.axes:
            if axis.kind in ("gap_angle", "gap_scale", "seed"):
                continue
            v = values[axis.name]
            v = int(v) if axis.kind == "steps" else float(v)
            if axis.kind == "probability":
                set_probability(cfg, axis.name, v)
                continue
            _set(cfg, axis.name, v)
            if axis.kind == "geometry":  # keep the geometry symmetric
                i, r, c = axis.index
                cfg["agents"][i]["geometry"][c][r] = v
        if any(a.kind in ("gap_angle", "gap_scale") for a in self.axes):
            w0 = np.array(cfg["agents"][0]["target"], dtype=float)
            e, q = gap_frame(self.system)
            norm = gap_norm(self.system)
            theta = float(values.get("gap_angle", 0.0))
            s = float(values.get("gap_scale", 1.0))
            cfg["agents"][1]["target"] = (w0 + s * norm * (math.cos(theta) * e + math.sin(theta) * q)).tolist()
        return cfg

    def point_system(self, values: dict[str, float]) -> config.System:
        return config.parse(self.point_config(values))


def gap_norm(system: config.System) -> float:
    return float(np.linalg.norm(system.agents[1].w_star - system.agents[0].w_star))


def gap_frame(system: config.System) -> tuple[np.ndarray, np.ndarray]:
    """``e``: the base gap's direction; ``q``: the coordinate axis most orthogonal to e, orthogonalised."""
    delta = system.agents[1].w_star - system.agents[0].w_star
    e = delta / np.linalg.norm(delta)
    k = int(np.argmin(np.abs(e)))
    q = np.zeros_like(e)
    q[k] = 1.0
    q = q - (q @ e) * e
    return e, q / np.linalg.norm(q)


def _law(cfg: dict, name: str) -> tuple[str, list[tuple[dict, str]], tuple[dict, str]]:
    """The law a probability axis belongs to: its id, its entries as ``(container, key)`` pairs (the
    axis's own included, even when the base leaves it out as 0) and the axis's own pair."""
    proto = cfg.get("protocol")
    alts = proto.get("random") if isinstance(proto, dict) else None
    if not isinstance(alts, list):
        raise InputError("axis", name, "sets a probability of a random protocol, but the base has no protocol.random")
    m = _PROBABILITY["independent"].match(name)
    if m:
        k = int(m.group(1))
        if k >= len(alts) or not isinstance(alts[k], dict) or "probability" not in alts[k]:
            raise InputError("axis", name, "names no alternative with a 'probability' (independent draws) in the base")
        return "protocol.random probability", [(a, "probability") for a in alts], (alts[k], "probability")
    m = _PROBABILITY["next"].match(name)
    if m:
        k, key = int(m.group(1)), m.group(2)
        if k >= len(alts) or not isinstance(alts[k], dict) or not isinstance(alts[k].get("next"), dict):
            raise InputError("axis", name, "names no alternative with a 'next' row (a Markov chain) in the base")
        row, law = alts[k]["next"], f"protocol.random.{k}.next"
    else:
        m = _PROBABILITY["initial"].match(name)
        assert m is not None
        key = m.group(1)
        row = proto.get("initial") if isinstance(proto, dict) else None
        if not isinstance(row, dict):
            raise InputError("axis", name, "needs the base to give protocol.initial (the law of the first alternative)")
        law = "protocol.initial"
    return law, [(row, x) for x in row] + ([] if key in row else [(row, key)]), (row, key)


def is_probability(name: str) -> bool:
    """Whether an axis path names a probability of a random protocol's law."""
    return any(p.match(name) for p in _PROBABILITY.values())


def set_probability(cfg: dict, name: str, value: float) -> None:
    """Set one probability of a law to ``value`` and rescale the law's other entries by
    ``(1 - value) / (their sum)`` (their ratios kept, the law summing to 1)."""
    _, entries, (own, key) = _law(cfg, name)
    others = [(c, k) for c, k in entries if not (c is own and k == key)]
    total = math.fsum(float(c[k]) for c, k in others)
    if total <= 0 and value < 1:
        raise InputError(f"axes.{name}", value, "cannot be set below 1: the other probabilities of its law are all 0 "
                                                "(nothing to rescale)")
    for c, k in others:
        c[k] = float(c[k]) * (1 - value) / total if total > 0 else 0.0
    own[key] = value


def _set(obj, path: str, value) -> None:
    keys = path.split(".")
    for key in keys[:-1]:
        obj = obj[int(key)] if isinstance(obj, list) else obj[key]
    last = keys[-1]
    if isinstance(obj, list):
        obj[int(last)] = value
    else:
        obj[last] = value


def _is_index(key: str) -> bool:
    """A list index in an axis path: ASCII digits only (``str.isdigit`` also accepts '²' or '٣', which
    ``int`` refuses or reads as another number: the column would not name the entry it sets)."""
    return key.isascii() and key.isdigit()


def _check_path(base: dict, path: str) -> None:
    """Every component must exist in the base, except a last object key (config validation judges it)."""
    obj = base
    keys = path.split(".")
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        if isinstance(obj, list):
            if not _is_index(key) or int(key) >= len(obj):
                raise InputError("axis", path, f"'{key}' is not an index of a list of length {len(obj)} in the base "
                                               "(list indices are ASCII digits 0-9)")
            obj = obj[int(key)]
        elif isinstance(obj, dict):
            if key not in obj:
                if last:
                    return
                raise InputError("axis", path, f"'{key}' is not a key of the base config here")
            obj = obj[key]
        else:
            raise InputError("axis", path, f"'{key}' goes below a number in the base config")
    if isinstance(obj, (dict, str)) or (isinstance(obj, list) and not path.endswith("preconditioner")):
        raise InputError("axis", path, "must lead to a number in the base config (e.g. add .0 for a vector entry)")


def _number_list(name: str, raw) -> np.ndarray:
    if isinstance(raw, dict):
        if len(raw) != 1 or next(iter(raw)) not in ("linspace", "geomspace"):
            raise InputError(f"axes.{name}", raw, "must be a list of numbers, {\"linspace\": [a, b, n]} or "
                                                  "{\"geomspace\": [a, b, n]}")
        kind, args = next(iter(raw.items()))
        if not isinstance(args, list) or len(args) != 3:
            raise InputError(f"axes.{name}.{kind}", args, "must be [start, stop, n]")
        a, b = (float(validate.finite_array(f"axes.{name}.{kind}", x, ndim=0)) for x in args[:2])
        n = validate.positive_int(f"axes.{name}.{kind} n", args[2])
        if n > MAX_AXIS_VALUES:
            raise InputError(f"axes.{name}.{kind} n", n, f"must be at most {MAX_AXIS_VALUES}")
        if kind == "geomspace" and not (a * b > 0):
            raise InputError(f"axes.{name}.geomspace", args, "start and stop must be nonzero and of one sign")
        return np.linspace(a, b, n) if kind == "linspace" else np.geomspace(a, b, n)
    if not isinstance(raw, list) or not raw or any(isinstance(x, bool) for x in raw):
        raise InputError(f"axes.{name}", raw, "must be a non-empty list of numbers (or linspace/geomspace)")
    if len(raw) > MAX_AXIS_VALUES:
        raise InputError(f"axes.{name}", len(raw), f"has more than {MAX_AXIS_VALUES} values")
    return validate.finite_array(f"axes.{name}", raw, ndim=1)


def _integers(name: str, values: np.ndarray, lo: int, hi: int) -> np.ndarray:
    bad = (values != np.round(values)) | (values < lo) | (values > hi)
    if np.any(bad):
        first = float(values[bad][0])  # printed as the user wrote it: -1, 2.5 (not np.float64(-1.0))
        raise InputError(f"axes.{name}", int(first) if first.is_integer() else first,
                         f"must be integers in [{lo}, {hi}]")
    return values.astype(np.int64)


def _axis(name: str, raw, base: dict, system: config.System) -> Axis:
    if not isinstance(name, str) or not name:
        raise InputError("axes key", name, "must be a non-empty string")
    values = _number_list(name, raw)
    if name == "seed":
        return Axis(name, _integers(name, values, 0, MAX_SEED), "seed")
    if name in ("gap_angle", "gap_scale"):
        for i in (0, 1):
            if "target" not in base["agents"][i]:
                raise InputError(f"axes.{name}", name, f"needs agents {0} and {1} given by geometry + target "
                                                       f"(agent {i} is given by a prompt)")
        if gap_norm(system) == 0:
            raise InputError(f"axes.{name}", name, "needs a nonzero base gap: agent 1's target equals agent 0's")
        return Axis(name, values, name)
    if is_probability(name):
        _, entries, _ = _law(base, name)
        if len(entries) < 2:
            raise InputError(f"axes.{name}", name, "varies a law with one entry (its probability is 1): give the law "
                                                   "another entry, or sweep another probability")
        bad = (values < 0) | (values > 1)
        if np.any(bad):
            raise InputError(f"axes.{name}", float(values[bad][0]), "must be a probability in [0, 1]")
        return Axis(name, values, "probability")
    _check_path(base, name)
    for kind, pattern in _FAST_PATTERNS.items():
        m = pattern.match(name)
        if m:
            index = tuple(int(g) for g in m.groups())
            if kind == "steps":
                values = _integers(name, values, 1, MAX_STEPS_PER_TURN)
            if kind in ("target", "geometry") and "target" not in base["agents"][index[0]]:
                break  # a prompt agent: only through the generic path
            if kind == "preconditioner_entry" and not isinstance(base["agents"][index[0]].get("preconditioner"), list):
                break
            return Axis(name, values, kind, index)
    return Axis(name, values, "generic")


def _measures(raw) -> dict:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise InputError("measure", raw, f"must be a non-empty list of {list(MEASURES)} (or objects with options)")
    out = {}
    opts: object  # a JSON value until checked below
    for entry in raw:
        if isinstance(entry, str):
            name, opts = entry, {}
        elif isinstance(entry, dict) and len(entry) == 1:
            name, opts = next(iter(entry.items()))
        else:
            raise InputError("measure entry", entry, "must be a name or {name: {options}}")
        if name not in MEASURES:
            raise InputError("measure", name, f"must be one of {list(MEASURES)}")
        if not isinstance(opts, dict):
            raise InputError(f"measure.{name}", opts, "options must be a JSON object")
        out[name] = _measure_options(name, opts)
    out.setdefault("predict", {})  # always: the rho = 1 boundary and the predicted residuals
    return out


def _measure_options(name: str, opts: dict) -> dict:
    if name == "predict":
        validate.unknown_keys("measure.predict", opts, ())  # it takes no options
        return {}
    if name == "simulate":
        validate.unknown_keys("measure.simulate", opts, ("turns",))
        if "turns" not in opts:
            raise InputError("measure.simulate", opts, "needs exactly {\"turns\": T}")
        turns = validate.positive_int("measure.simulate.turns", opts["turns"])
        if turns > MAX_TURNS:
            raise InputError("measure.simulate.turns", turns, f"must be at most {MAX_TURNS}")
        return {"turns": turns}
    validate.unknown_keys("measure.train-lsa", opts, TRAIN_DEFAULTS)
    out = dict(TRAIN_DEFAULTS, **opts)
    for key in ("N", "steps", "batch", "turns"):
        out[key] = validate.positive_int(f"measure.train-lsa.{key}", out[key])
        if out[key] > TRAIN_MAX[key]:
            raise InputError(f"measure.train-lsa.{key}", out[key], f"must be at most {TRAIN_MAX[key]}")
    for key in ("tau", "sigma", "lr"):
        v = out[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0 \
                or (v == 0 and key != "sigma"):
            raise InputError(f"measure.train-lsa.{key}", v, "must be a finite positive number (sigma may be 0)")
        out[key] = float(v)
    from numerics.lsa.training import PARAMETERISATIONS

    if out["parameterisation"] not in PARAMETERISATIONS:
        raise InputError("measure.train-lsa.parameterisation", out["parameterisation"],
                         f"must be one of {list(PARAMETERISATIONS)}")
    return out


def parse(raw) -> Spec:
    """Validate a decoded SPEC.json object (InputError naming the field on bad input)."""
    if not isinstance(raw, dict):
        raise InputError("spec", raw, "must be a JSON object")
    validate.unknown_keys("spec", raw, TOP_KEYS)
    schema.check_version(raw)
    for key in ("base", "axes", "measure"):
        if key not in raw:
            raise InputError(f"spec.{key}", None, "is missing")
    system = config.parse(raw["base"])  # the base must itself be a valid CONFIG.json
    base = copy.deepcopy(raw["base"])
    base.setdefault("initial_message", [0.0] * system.d)  # so that initial_message.k can be an axis
    axes_raw = raw["axes"]
    if not isinstance(axes_raw, dict) or not axes_raw:
        raise InputError("axes", axes_raw, "must be a non-empty JSON object {path or derived name: values}")
    axes = tuple(_axis(name, values, base, system) for name, values in axes_raw.items())
    if any(a.kind in ("gap_angle", "gap_scale") for a in axes):
        for a in axes:
            if a.name.startswith("agents.1.target"):
                raise InputError("axes", a.name, "sets agent 1's target, which gap_angle / gap_scale also set")
    laws = [_law(base, a.name)[0] for a in axes if a.kind == "probability"]
    for law in laws:
        if laws.count(law) > 1:
            raise InputError("axes", law, "has two axes on one law: each rescales the others, so give at most one "
                                          "axis per law")
    measures = _measures(raw["measure"])
    if (system.protocol is not None or system.random is not None) and "train-lsa" in measures:
        raise InputError("measure", "train-lsa", "runs trained agents in the round robin only; remove base.protocol "
                                                 "or measure predict/simulate")
    seed = raw.get("seed", 0)
    seed = validate.positive_int("seed", seed, minimum=0)
    if seed > MAX_SEED:
        raise InputError("seed", seed, "must be at most 2^31 - 1")
    n = math.prod(len(a.values) for a in axes)
    costly = ("train-lsa" in measures or "simulate" in measures or system.protocol is not None
              or system.random is not None or any(a.kind in ("generic", "probability") for a in axes))
    limit = MAX_EXPENSIVE_POINTS if costly else MAX_POINTS
    if n > limit:
        raise InputError("grid size", n, f"must be at most {limit} points for these measures and axes")
    default_chunk = 1 if "train-lsa" in measures else 256 if costly else 100_000
    chunk = validate.positive_int("chunk_size", raw.get("chunk_size", default_chunk))
    if chunk > MAX_CHUNK:
        raise InputError("chunk_size", chunk, f"must be at most {MAX_CHUNK}")
    plot = raw.get("plot", {})
    if not isinstance(plot, dict):
        raise InputError("plot", plot, "must be {\"quantity\": COLUMN}")
    validate.unknown_keys("plot", plot, ("quantity",))
    spec = Spec(raw=raw, base=base, system=system, axes=axes, measures=measures, seed=seed, chunk_size=chunk,
                plot_quantity=plot.get("quantity"))
    _check_values(spec)
    return spec


def _check_values(spec: Spec) -> None:
    """Parse the config at every value of each axis that needs more than a finite number (geometry, generic,
    probability), at the first and last value of the others; the other axes at their first value. A
    probability axis's refusal is amended with the point (``at AXIS = VALUE``); others are raised as they are."""
    middle = {a.name: a.values[0] for a in spec.axes}
    for axis in spec.axes:
        values = axis.values if axis.kind in ("geometry", "generic", "probability") else axis.values[[0, -1]]
        for v in np.unique(values):
            try:
                spec.point_system(dict(middle, **{axis.name: v}))
            except InputError as exc:
                if axis.kind != "probability":
                    raise
                raise exc.amended(f" (at {axis.name} = {float(v):g}, the others of its law rescaled)") from None


def load(path) -> Spec:
    """Read and validate a SPEC.json file."""
    try:
        raw = config.read_json(path)
    except InputError as exc:  # the same checks, named for what this file is
        raise InputError("spec file", exc.value, exc.problem) from None
    return parse(raw)


def canonical(raw: dict) -> str:
    """The spec as stable JSON text (what DIR/spec.json stores and --resume compares)."""
    return json.dumps(raw, sort_keys=True, indent=2)
