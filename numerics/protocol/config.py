"""CONFIG.json (schema version 1): parsing with validation, no eval.

See README.md. Each agent gives ``prompt`` {X, y} or ``geometry`` + ``target``,
a ``preconditioner`` (number or d x d matrix) and optional ``steps_per_turn``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, TypeVar, overload

import numpy as np

from numerics.agents import prompts
from numerics.agents.gd import GDAgent
from numerics.io import jsonio, validate
from numerics.io.errors import InputError
from numerics.io.schema import check_version
from numerics.protocol import random_spec
from numerics.protocol.random_spec import RandomProtocol
from numerics.protocol.spec import Protocol, parse as parse_protocol

TOP_KEYS = {"agents", "initial_message", "schema_version", "protocol"}
AGENT_KEYS = {"name", "prompt", "geometry", "target", "preconditioner", "steps_per_turn", "noise"}
PROMPT_KEYS = {"X", "y"}
# M^s is formed by repeated squaring (predict), so only simulate pays per step; it has
# its own bound on the total number of steps (numerics.protocol.simulate.MAX_AGENT_STEPS).
MAX_STEPS_PER_TURN = 10**12
# An agent's data: float64 (parse) or as written (parse_exact, for --precision).
GeometryT = TypeVar("GeometryT", prompts.Geometry, "ExactGeometry")


@dataclass(frozen=True)
class System:
    """K >= 2 agents in speaking order and the first agent's incoming message."""

    agents: tuple[GDAgent, ...]
    initial_message: np.ndarray
    protocol: Protocol | None = None  # None: the round robin (or a random protocol, below)
    random: RandomProtocol | None = None  # the ``protocol.random`` schedule (then ``protocol`` is None)
    noise: tuple[np.ndarray | None, ...] = ()  # per agent: covariance S_i of the noise on its messages

    @property
    def d(self) -> int:
        return self.agents[0].d

    def noise_stack(self) -> np.ndarray | None:
        """Every agent's noise covariance (K, d, d) (zeros for an agent without ``noise``), or None
        when no agent has ``noise``."""
        if not any(S is not None for S in self.noise):
            return None
        d = self.d
        return np.stack([np.zeros((d, d)) if S is None else S for S in self.noise])

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.agents]

    def stacked(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-turn transfers ``M_i^{s_i}`` (K, d, d) and offsets ``c_i`` (K, d)."""
        return np.stack([a.M for a in self.agents]), np.stack([a.c for a in self.agents])


def _object(where: str, value) -> dict:
    if not isinstance(value, dict):
        raise InputError(where, value, "must be a JSON object")
    return value


def parse_agent(index: int, raw) -> tuple[str, prompts.Geometry, object, int]:
    name, spec, p = _agent_spec(index, raw)
    if p is not None:
        geom = prompts.from_prompt(p["X"], p["y"], name=f"{name}.prompt")
    else:
        geom = prompts.from_geometry(spec["geometry"], spec["target"], name=name)
    return name, geom, spec.get("preconditioner"), _steps(name, spec)


def _steps(name: str, spec: dict) -> int:
    return validate.positive_int(f"{name}.steps_per_turn", spec.get("steps_per_turn", 1), maximum=MAX_STEPS_PER_TURN)


def _agent_spec(index: int, raw) -> tuple[str, dict, dict | None]:
    """Name, the checked agent object and its prompt object (None for geometry + target)."""
    spec = _object(f"agents[{index}]", raw)
    validate.unknown_keys(f"agents[{index}]", spec, AGENT_KEYS)
    name = spec.get("name", chr(ord("A") + index) if index < 26 else f"agent{index}")
    if not isinstance(name, str) or not name:
        raise InputError(f"agents[{index}].name", name, "must be a non-empty string")
    has_prompt = "prompt" in spec
    has_geometry = "geometry" in spec or "target" in spec
    if has_prompt == has_geometry:
        raise InputError(f"{name}", sorted(spec), "give either 'prompt' (X, y) or 'geometry' plus 'target'")
    if has_prompt:
        p = _object(f"{name}.prompt", spec["prompt"])
        validate.unknown_keys(f"{name}.prompt", p, PROMPT_KEYS)
        if set(p) != PROMPT_KEYS:
            raise InputError(f"{name}.prompt", sorted(p), "needs both 'X' and 'y'")
        return name, spec, p
    for key in ("geometry", "target"):
        if key not in spec:
            raise InputError(f"{name}.{key}", None, "is missing ('geometry' and 'target' go together)")
    return name, spec, None


@overload
def parse_agents(raw: Any) -> tuple[list[tuple[str, prompts.Geometry, Any, int]], np.ndarray]: ...


@overload
def parse_agents(raw: Any, agent_parser: Callable[[int, Any], tuple[str, GeometryT, Any, int]]
                 ) -> tuple[list[tuple[str, GeometryT, Any, int]], np.ndarray]: ...


def parse_agents(raw: Any, agent_parser: Callable[[int, Any], tuple[str, Any, Any, int]] | None = None
                 ) -> tuple[list[tuple[str, Any, Any, int]], np.ndarray]:
    """The validated agent entries ``(name, geometry, preconditioner or None, steps)`` and ``v_0``;
    ``agent_parser`` (default :func:`parse_agent`; the exact one for ``--precision``) reads each entry."""
    agent_parser = agent_parser or parse_agent
    top = _object("config", raw)
    validate.unknown_keys("config", top, TOP_KEYS)
    check_version(top)
    agents_raw = top.get("agents")
    if not isinstance(agents_raw, list) or len(agents_raw) < 2:
        raise InputError("agents", agents_raw if not isinstance(agents_raw, list) else len(agents_raw),
                         "must be a list of at least 2 agents")
    parsed = [agent_parser(i, a) for i, a in enumerate(agents_raw)]
    names = [p[0] for p in parsed]
    if len(set(names)) != len(names):
        raise InputError("agents.name", names, "agent names must be distinct")
    d = parsed[0][1].d
    for name, geom, _, _ in parsed:
        if geom.d != d:
            raise InputError(f"{name} dimension", geom.d, f"differs from the first agent's dimension {d}")
    return parsed, validate.vector("initial_message", top.get("initial_message", [0.0] * d), d)


def default_preconditioner(name: str, geom: prompts.Geometry) -> np.ndarray:
    """``Gamma = I / lambda_max(H)``: the agent's own GD step that never overshoots.

    With this step ``M = I - H / lambda_max(H)`` has its eigenvalues in [0, 1): 1 - lambda/lambda_max
    for each eigenvalue lambda of the PSD H, so the agent alone contracts monotonically in every
    direction its prompt informs (C1 for one agent); any step above 2 / lambda_max would put an
    eigenvalue of M below -1 (outside the unit disc). Used when an agent gives no ``preconditioner``.
    """
    lam = float(np.max(np.linalg.eigvalsh(geom.H))) if geom.d else 0.0
    if not np.isfinite(lam) or lam <= 0:
        raise InputError(f"{name}.preconditioner", None, "is missing, and the default I / lambda_max(H) needs a "
                                                         "prompt with H != 0: give a number or a d x d matrix")
    return np.eye(geom.d) / lam


def parse_noise(name: str, value, d: int) -> np.ndarray:
    """An agent's ``noise``: a number ``sigma^2 >= 0`` (meaning ``sigma^2 I``) or a PSD d x d covariance
    ``S_i`` of the zero-mean Gaussian noise added to every message the agent writes (C15)."""
    where = f"{name}.noise"
    if isinstance(value, bool):
        raise InputError(where, value, "must be a number sigma^2 >= 0 or a PSD d x d covariance")
    if isinstance(value, (int, float)):
        x = float(value)
        if not np.isfinite(x) or x < 0:
            raise InputError(where, value, "must be a finite variance sigma^2 >= 0")
        return x * np.eye(d)
    return validate.psd(where, value, d)


def noises(raw, names, d: int) -> tuple[np.ndarray | None, ...]:
    """Each agent's parsed ``noise`` (None where it has none), in list order."""
    return tuple(None if "noise" not in a else parse_noise(n, a["noise"], d)
                 for n, a in zip(names, raw["agents"]))


def parse_any_protocol(raw, names, d: int, v0) -> tuple[Protocol | None, RandomProtocol | None]:
    """The ``protocol`` object: ``rounds`` gives a :class:`Protocol`, ``random`` a
    :class:`~numerics.protocol.random_spec.RandomProtocol`; both is an error."""
    if isinstance(raw, dict) and "random" in raw:
        if "rounds" in raw:
            raise InputError("protocol", sorted(raw), "has both 'rounds' and 'random': give one of them")
        return None, random_spec.parse(raw, names, d, v0)
    return parse_protocol(raw, names, d, v0), None


def parse(raw) -> System:
    """Validate a decoded CONFIG.json object and build the system (a missing preconditioner
    defaults to :func:`default_preconditioner`)."""
    parsed, v0 = parse_agents(raw)
    d = v0.shape[0]
    agents = tuple(
        GDAgent(name, geom, default_preconditioner(name, geom) if g is None
                else validate.preconditioner(f"{name}.preconditioner", g, d), steps)
        for name, geom, g, steps in parsed)
    names = [a.name for a in agents]
    proto, rand = None, None
    if "protocol" in raw:  # optional; without it the round robin, unchanged
        proto, rand = parse_any_protocol(raw["protocol"], names, d, v0)
    return System(agents=agents, initial_message=v0, protocol=proto, random=rand, noise=noises(raw, names, d))


def load(path) -> System:
    """Read and parse a CONFIG.json file."""
    return parse(read_json(path))


def read_json(path: str | os.PathLike[str]) -> Any:
    """The decoded JSON of a config file (not yet validated: see :func:`parse`).

    Strict and bounded (:mod:`numerics.io.jsonio`): at most 16 MiB of UTF-8, no duplicate
    keys, no integer or literal outside the float64 range, at most 64 levels of nesting.
    """
    return jsonio.load(path, "config file")


# --- exact data for --precision ------------------------------------------------------------

@dataclass(frozen=True)
class ExactGeometry:
    """An agent's data as decoded from JSON (numbers keep their decimal text): ``X, y`` or ``H, w_star``."""

    d: int
    X: list | None = None
    y: list | None = None
    H: list | None = None
    w_star: list | None = None


@dataclass(frozen=True)
class ExactAgent:
    name: str
    geometry: ExactGeometry
    Gamma: list  # d x d, exact entries
    steps: int


@dataclass(frozen=True)
class ExactSystem:
    """A config with every number exactly as written (for ``predict --precision``).

    Checked like :func:`parse` (shapes, finiteness, PSD geometry, strict numbers), but
    nothing is computed in float64, so ``X`` entries of 1e300 do not overflow.
    """

    agents: tuple[ExactAgent, ...]
    initial_message: list
    protocol: Protocol | None = None  # weights keep their decimal text; None: the round robin
    random: RandomProtocol | None = None  # probabilities keep their text in P_raw
    noise: tuple[np.ndarray | None, ...] = ()

    @property
    def d(self) -> int:
        return self.agents[0].geometry.d


def _exact_agent(index: int, raw):
    name, spec, p = _agent_spec(index, raw)
    if p is not None:
        X, _ = prompts.check_prompt(p["X"], p["y"], name=f"{name}.prompt")
        geom = ExactGeometry(X.shape[1], X=p["X"], y=p["y"])
    else:
        H = validate.square(f"{name}.geometry", spec["geometry"])
        with np.errstate(all="ignore"):  # scale down first: the PSD check must not overflow
            scale = float(np.max(np.abs(H))) or 1.0
            validate.psd(f"{name}.geometry", H / scale)
        validate.vector(f"{name}.target", spec["target"], H.shape[0])
        geom = ExactGeometry(H.shape[0], H=spec["geometry"], w_star=spec["target"])
    return name, geom, spec.get("preconditioner"), _steps(name, spec)


def parse_exact(raw) -> ExactSystem:
    """Validate a decoded config and keep its numbers exact (see :class:`ExactSystem`)."""
    parsed, _ = parse_agents(raw, agent_parser=_exact_agent)
    d = parsed[0][1].d
    agents = []
    for name, geom, g, _steps_ in parsed:
        if g is None:  # the float64 default I / lambda_max(H) is not an exact number
            raise InputError(f"{name}.preconditioner", None, "is missing: --precision needs it written out, "
                                                             "e.g. \"preconditioner\": 0.5 or a d x d matrix")
        validate.preconditioner(f"{name}.preconditioner", g, d)
        Gamma = [[g if i == j else 0 for j in range(d)] for i in range(d)] if not isinstance(g, list) else g
        agents.append(ExactAgent(name, geom, Gamma, _steps_))
    v0 = raw.get("initial_message", [0] * d)
    proto, rand = None, None
    names = [a.name for a in agents]
    if "protocol" in raw:
        proto, rand = parse_any_protocol(raw["protocol"], names, d, validate.vector("initial_message", v0, d))
    return ExactSystem(tuple(agents), v0, proto, rand, noises(raw, names, d))


def load_exact(path) -> ExactSystem:
    """Read a CONFIG.json keeping every number exact (``predict --precision``)."""
    return parse_exact(read_json(path))
