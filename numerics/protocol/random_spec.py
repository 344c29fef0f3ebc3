"""Random protocols: the ``random`` key of a config's ``protocol`` (issue 26; package extension).

Each round one *alternative* (a list of phases with exactly the semantics of ``rounds``,
:mod:`numerics.protocol.spec`) is drawn and run. Two laws:

* independent draws: every alternative has ``probability``; ``P[j, l] = p_l`` for every j;
* a Markov chain over the alternatives: every alternative has a ``name`` and a ``next`` row (the
  law of the following round's alternative); the chain must be irreducible and aperiodic
  (primitive), and the first round's alternative is drawn from its stationary law unless
  ``initial`` gives another one (Costa, Fragoso, Marques 2005: Markov jump linear systems).

An alternative with ``"rounds": []`` is a round in which nobody speaks. Probabilities are
non-negative, each law sums to 1 within :data:`LAW_TOL`, at most :data:`MAX_ALTERNATIVES`
alternatives, names unique, every agent speaks in at least one alternative that can occur.
Every violation is an :class:`~numerics.io.errors.InputError` naming the quantity.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from numerics.io import validate
from numerics.io.errors import InputError
from numerics.protocol.spec import Protocol, build_phases, initial_state

__all__ = ["RandomProtocol", "parse", "stationary_law", "MAX_ALTERNATIVES", "LAW_TOL", "RANDOM_KEYS",
           "ALTERNATIVE_KEYS"]

# The second-moment operator has n_alt (K d)^2 unknowns and the schedule is drawn per round:
# 16 alternatives keeps both (and a hostile config) small.
MAX_ALTERNATIVES = 16
# A law given in JSON decimals (0.1 + 0.2 + 0.7) sums to 1 only up to float64 round-off.
LAW_TOL = 1e-9
RANDOM_KEYS = {"random", "initial_messages", "initial"}
ALTERNATIVE_KEYS = {"probability", "rounds", "name", "next"}


@dataclass(frozen=True)
class RandomProtocol:
    """A random schedule over deterministic alternatives.

    ``alternatives[k]`` is a :class:`~numerics.protocol.spec.Protocol` (its phases may be empty:
    nobody speaks); ``P[j, l]`` the probability that alternative l follows j (independent draws:
    every row is ``p``); ``initial_law`` the law of the first round's alternative; ``initial``
    (K, d) every agent's message before the first round. ``P_raw`` and ``initial_raw`` keep the
    probabilities as written (JSON decimals keep their text, for ``--precision``).
    """

    names: tuple[str, ...]
    alternatives: tuple[Protocol, ...]
    labels: tuple[str, ...]
    P: np.ndarray
    initial_law: np.ndarray
    markov: bool
    initial: np.ndarray
    P_raw: tuple[tuple[object, ...], ...] = ()
    initial_raw: tuple[object, ...] | None = None

    @property
    def K(self) -> int:
        return len(self.names)

    @property
    def n_alt(self) -> int:
        return len(self.alternatives)

    def stationary(self) -> np.ndarray:
        """The stationary law ``pi`` of the alternatives (``p`` for independent draws)."""
        return stationary_law(self.P) if self.markov else self.P[0].copy()

    def can_occur(self) -> np.ndarray:
        """Boolean (n,): alternatives drawn with positive probability in the long run."""
        return self.P[0] > 0 if not self.markov else np.ones(self.n_alt, dtype=bool)

    def as_dict(self) -> dict:
        """The JSON form of the ``protocol`` object (the ``random`` list and ``initial_messages``)."""
        alts = []
        for k, alt in enumerate(self.alternatives):
            entry: dict = {"rounds": alt.as_dict()["rounds"]}
            if self.markov:
                entry = {"name": self.labels[k], **entry,
                         "next": {self.labels[l]: float(self.P[k, l]) for l in range(self.n_alt) if self.P[k, l] > 0}}
            else:
                entry = {"probability": float(self.P[0, k]), **entry}
            alts.append(entry)
        out: dict = {"random": alts,
                     "initial_messages": {n: self.initial[k].tolist() for k, n in enumerate(self.names)}}
        if self.markov and self.initial_raw is not None:
            out["initial"] = {self.labels[k]: float(x) for k, x in enumerate(self.initial_law) if x > 0}
        return out


def stationary_law(P: np.ndarray) -> np.ndarray:
    """The stationary law of a row-stochastic ``P``: ``pi^T P = pi^T``, ``sum pi = 1`` (unique for
    an irreducible chain), by a least-squares solve of the stacked system. An irreducible chain's law is
    positive everywhere; a computed entry below 1e-15 in magnitude is that solve's rounding of a tinier one (or of
    a negative) and is set to 0 (docs/protocol.rst), so the law returned is never negative."""
    n = P.shape[0]
    A = np.vstack([P.T - np.eye(n), np.ones((1, n))])
    b = np.zeros(n + 1)
    b[-1] = 1.0
    pi = np.linalg.lstsq(A, b, rcond=None)[0]
    pi = np.where(np.abs(pi) < 1e-15, 0.0, pi)
    return pi / pi.sum()


def _probability(where: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(where, value, "must be a number (a probability)")
    x = float(value)
    if not math.isfinite(x) or x < 0 or x > 1 + LAW_TOL:
        raise InputError(where, value, "must be a probability in [0, 1]")
    return x


def _law_sums_to_one(where: str, law: np.ndarray) -> None:
    total = float(np.sum(law))
    if abs(total - 1.0) > LAW_TOL:
        raise InputError(where, total, f"the probabilities must sum to 1 (within {LAW_TOL:g})")


def _name_row(where: str, raw, labels: Sequence[str]) -> tuple[np.ndarray, list]:
    """A law written as ``{alternative name: probability}``: the dense row and the values as written."""
    if not isinstance(raw, dict) or not raw:
        raise InputError(where, raw, "must be a non-empty JSON object {alternative name: probability}")
    row, kept = np.zeros(len(labels)), [0] * len(labels)
    for name, value in raw.items():
        if name not in labels:
            raise InputError(f"{where} alternative", name, f"is not an alternative (names: {', '.join(labels)})")
        k = labels.index(name)
        row[k] = _probability(f"{where}.{name}", value)
        kept[k] = value
    _law_sums_to_one(where, row)
    return row, kept


def _primitive(P: np.ndarray) -> bool:
    """Irreducible and aperiodic: some power of the support graph is all positive; ``(n-1)^2 + 1``
    suffices (Wielandt's bound), reached by repeated squaring."""
    n = P.shape[0]
    A = (P > 0).astype(np.int64)
    R, need = A.copy(), (n - 1) ** 2 + 1
    power = 1
    while power < need:  # R = A^power, squared until past the bound (A^m > 0 stays > 0 for m beyond)
        R = ((R @ R) > 0).astype(np.int64)
        power *= 2
    return bool(np.all(R > 0))


def parse(raw, names: Sequence[str], d: int, initial_message) -> RandomProtocol:
    """The ``protocol`` object with ``random`` (see the module docstring) as a :class:`RandomProtocol`."""
    if not isinstance(raw, dict):
        raise InputError("protocol", raw, "must be a JSON object")
    validate.unknown_keys("protocol", raw, RANDOM_KEYS, " ('random' and 'rounds' do not go together)")
    alts_raw = raw.get("random")
    if not isinstance(alts_raw, list) or not alts_raw:
        raise InputError("protocol.random", alts_raw, "must be a non-empty list of alternatives")
    n = len(alts_raw)
    if n > MAX_ALTERNATIVES:
        raise InputError("protocol.random", f"{n} alternatives", f"must have at most {MAX_ALTERNATIVES} alternatives")
    initial = initial_state(names, d, initial_message, raw.get("initial_messages"))
    for k, a in enumerate(alts_raw):
        if not isinstance(a, dict):
            raise InputError(f"protocol.random[{k}]", a, "must be a JSON object with 'rounds'")
        validate.unknown_keys(f"protocol.random[{k}]", a, ALTERNATIVE_KEYS)
        if "rounds" not in a:
            raise InputError(f"protocol.random[{k}].rounds", None, "is missing")
    markov = any("next" in a for a in alts_raw)
    # labels: the names, else the indices
    labels: list[str] = []
    for k, a in enumerate(alts_raw):
        if "name" in a:
            if not isinstance(a["name"], str) or not a["name"]:
                raise InputError(f"protocol.random[{k}].name", a["name"], "must be a non-empty string")
            if a["name"] in labels:
                raise InputError(f"protocol.random[{k}].name", a["name"], "is used twice: names must be unique")
            labels.append(a["name"])
        elif markov:
            raise InputError(f"protocol.random[{k}].name", None,
                             "is missing: a Markov chain ('next') names every alternative")
        else:
            labels.append(str(k))
    if not markov and len(set(labels)) != n:
        raise InputError("protocol.random name", labels, "names must be unique (and differ from the indices)")
    alternatives = tuple(
        Protocol(tuple(names), build_phases(a["rounds"], names, f"protocol.random[{k}].rounds", allow_empty=True),
                 initial)
        for k, a in enumerate(alts_raw))
    if markov:
        P = np.zeros((n, n))
        P_raw = []
        for k, a in enumerate(alts_raw):
            if "probability" in a:
                raise InputError(f"protocol.random[{k}].probability", a["probability"],
                                 "is not used by a Markov chain: give 'next' rows only")
            if "next" not in a:
                raise InputError(f"protocol.random[{k}].next", None,
                                 "is missing: every alternative of a Markov chain has a 'next' row")
            P[k], kept = _name_row(f"protocol.random[{k}].next", a["next"], labels)
            P_raw.append(tuple(kept))
        if not _primitive(P):
            raise InputError("protocol.random next", P.tolist(),
                             "the chain must be irreducible and aperiodic (every alternative reachable from "
                             "every other, with no periodic cycle)")
        if "initial" in raw:
            law, kept = _name_row("protocol.initial", raw["initial"], labels)
            initial_raw: tuple | None = tuple(kept)
        else:
            law, initial_raw = stationary_law(P), None
    else:
        if "initial" in raw:
            raise InputError("protocol.initial", raw["initial"],
                             "is for a Markov chain ('next' rows); independent draws start from 'probability'")
        p = np.zeros(n)
        kept_p = []
        for k, a in enumerate(alts_raw):
            if "probability" not in a:
                raise InputError(f"protocol.random[{k}].probability", None,
                                 "is missing: independent draws give every alternative a probability")
            p[k] = _probability(f"protocol.random[{k}].probability", a["probability"])
            kept_p.append(a["probability"])
        _law_sums_to_one("protocol.random probability", p)
        P, law, initial_raw = np.tile(p, (n, 1)), p.copy(), None
        P_raw = [tuple(kept_p)] * n
    can = (P[0] > 0) if not markov else np.ones(n, dtype=bool)  # an irreducible chain visits every one
    speaking = {i for k in np.flatnonzero(can) for phase in alternatives[k].phases for i, _ in phase}
    for i, name in enumerate(names):
        if i not in speaking:
            raise InputError("protocol agent", name,
                             "never speaks: every agent must speak in at least one alternative that can occur")
    return RandomProtocol(tuple(names), alternatives, tuple(labels), P, law, markov, initial,
                          tuple(P_raw), initial_raw)
