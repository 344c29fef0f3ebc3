"""Linear interaction protocols: the optional ``protocol`` key of CONFIG.json (P1-P5).

The state is every agent's latest message ``z = (m_1, ..., m_K)``. A round runs the
phases in order. In a phase every listed agent i reads the messages as they stood at
the start of the phase, forms ``sum_j W_ij m_j`` from its listed weights, applies its
own map ``steps_per_turn`` times, and all listed agents write at once. Without a
``protocol`` the phases are ``{agent_i: {agent_(i-1): 1}}`` in list order (the round
robin of C17).

This module validates protocols. The one simulator of every config (protocol or round
robin) is :func:`numerics.protocol.simulate.run_protocol`, which only calls each agent's
``respond`` (never a derived formula); every derived quantity goes through
:mod:`numerics.protocol.engine`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from numerics.io import validate
from numerics.io.errors import InputError

PROTOCOL_KEYS = {"rounds", "initial_messages"}
# A protocol is compiled symbolically and simulated phase by phase; beyond these sizes
# neither is what the tool is for, and the bounds keep a hostile config cheap to reject.
MAX_PHASES = 64


@dataclass(frozen=True)
class Protocol:
    """Phases of simultaneous updates over agents ``names`` (indices into that tuple).

    ``phases[p]`` is a tuple of ``(listener, ((source, weight), ...))``; ``initial``
    (K, d) holds every agent's message before the first round.
    """

    names: tuple[str, ...]
    phases: tuple[tuple[tuple[int, tuple[tuple[int, float], ...]], ...], ...]
    initial: np.ndarray

    @property
    def K(self) -> int:
        return len(self.names)

    def speaks_per_round(self) -> list[int]:
        """How many phases of a round list each agent (an agent takes its steps that many times per round)."""
        return [sum(1 for phase in self.phases for i, _ in phase if i == k) for k in range(self.K)]

    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Dense ``W`` (P, K, K) and listener mask (P, K) of the phases."""
        P, K = len(self.phases), self.K
        W, mask = np.zeros((P, K, K)), np.zeros((P, K), dtype=bool)
        for p, phase in enumerate(self.phases):
            for i, row in phase:
                mask[p, i] = True
                for j, w in row:
                    W[p, i, j] += w
        return W, mask

    def as_dict(self) -> dict:
        """The JSON form (``rounds`` and ``initial_messages``)."""
        return {"rounds": [{self.names[i]: {self.names[j]: w for j, w in row} for i, row in phase}
                           for phase in self.phases],
                "initial_messages": {n: self.initial[k].tolist() for k, n in enumerate(self.names)}}


def round_robin(names: Sequence[str], initial_message: np.ndarray) -> Protocol:
    """Agents speak in list order; agent i hears agent i-1 (C17)."""
    K = len(names)
    phases = tuple(((i, (((i - 1) % K, 1.0),)),) for i in range(K))
    initial = np.tile(np.asarray(initial_message, dtype=float), (K, 1))
    return Protocol(tuple(names), phases, initial)


def _index(names: Sequence[str], where: str, name) -> int:
    if not isinstance(name, str) or name not in names:
        raise InputError(where, name, f"is not an agent of this config (agents: {', '.join(names)})")
    return list(names).index(name)


def _weight(where: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(where, value, "must be a number (a listening weight)")
    if not math.isfinite(float(value)):
        raise InputError(where, value, "must be finite")
    # a JSON decimal keeps its text for --precision
    return value if getattr(value, "text", None) is not None else float(value)


def _pairs(where: str, value) -> list:
    """A phase or weight row as (key, value) pairs: a JSON object or, from Python, a list of pairs."""
    if isinstance(value, Mapping):
        return list(value.items())
    if isinstance(value, (list, tuple)) and all(isinstance(x, (list, tuple)) and len(x) == 2 for x in value):
        return [tuple(x) for x in value]
    raise InputError(where, value, "must be a JSON object mapping agent names to listening weights")


def build_phases(rounds, names: Sequence[str], where: str = "protocol.rounds", allow_empty: bool = False
                 ) -> tuple[tuple[tuple[int, tuple[tuple[int, float], ...]], ...], ...]:
    """Validate a list of phases (``where`` names it in errors) and return them as index tuples.

    ``allow_empty``: an empty list is a round in which nobody speaks (an alternative of a random
    protocol); a phase itself is never empty. Errors (InputError): unknown agent, empty phase,
    non-finite weight, an agent listed twice in a phase (or a source twice in a row).
    """
    if not isinstance(rounds, (list, tuple)) or (not rounds and not allow_empty):
        raise InputError(where, rounds, "must be a non-empty list of phases")
    if len(rounds) > MAX_PHASES:
        raise InputError(where, len(rounds), f"must have at most {MAX_PHASES} phases")
    phases = []
    for p, phase in enumerate(rounds):
        at = f"{where}[{p}]"
        pairs = _pairs(at, phase)
        if not pairs:
            raise InputError(at, phase, "is an empty phase: list at least one agent that speaks")
        seen, out = set(), []
        for listener, row in pairs:
            i = _index(names, f"{at} agent", listener)
            if i in seen:
                raise InputError(f"{at} agent", listener, "is listed twice in one phase")
            seen.add(i)
            sources, row_out = set(), []
            for source, w in _pairs(f"{at}.{listener}", row):
                j = _index(names, f"{at}.{listener} source", source)
                if j in sources:
                    raise InputError(f"{at}.{listener} source", source, "is listed twice")
                sources.add(j)
                row_out.append((j, _weight(f"{at}.{listener}.{source}", w)))
            out.append((i, tuple(row_out)))
        phases.append(tuple(out))
    return tuple(phases)


def initial_state(names: Sequence[str], d: int, initial_message, initial_messages=None) -> np.ndarray:
    """Every agent's message before the first round (K, d): ``initial_message`` for all, replaced per
    agent by ``initial_messages`` (a JSON object, or from Python a list of pairs)."""
    initial = np.tile(validate.vector("initial_message", initial_message, d), (len(names), 1))
    if initial_messages is not None:
        given: set[int] = set()
        for n, v in _pairs("protocol.initial_messages", initial_messages):
            k = _index(names, "protocol.initial_messages agent", n)
            if k in given:  # the list-of-pairs form can repeat an agent (an object cannot): no silent last-wins
                raise InputError("protocol.initial_messages agent", n, "is listed twice")
            given.add(k)
            initial[k] = validate.vector(f"protocol.initial_messages.{n}", v, d)
    return initial


def build(rounds, names: Sequence[str], d: int, initial_message, initial_messages=None) -> Protocol:
    """Validate phases (and optional per-agent initial messages) and build a :class:`Protocol`.

    Errors (InputError): those of :func:`build_phases`, an agent listed twice in
    ``initial_messages``, an agent that never speaks.
    """
    phases = build_phases(rounds, names)
    speaking = {i for phase in phases for i, _ in phase}
    for k, n in enumerate(names):
        if k not in speaking:
            raise InputError("protocol agent", n, "never speaks: every agent must appear in at least one phase")
    initial = initial_state(names, d, initial_message, initial_messages)
    return Protocol(tuple(names), phases, initial)


def parse(raw, names: Sequence[str], d: int, initial_message) -> Protocol:
    """The ``protocol`` object of a decoded CONFIG.json (keys ``rounds``, ``initial_messages``)."""
    if not isinstance(raw, dict):
        raise InputError("protocol", raw, "must be a JSON object with 'rounds' (and optional 'initial_messages')")
    validate.unknown_keys("protocol", raw, PROTOCOL_KEYS)
    if "rounds" not in raw:
        raise InputError("protocol.rounds", None, "is missing")
    return build(raw["rounds"], names, d, initial_message, raw.get("initial_messages"))
