"""Transcripts of random-protocol runs: the drawn schedule, message by message, and its replay.

Under a random protocol (:mod:`numerics.protocol.random_spec`; issue 26, package extension) each
round one alternative k is drawn and its phases run with exactly the semantics of ``rounds``
(:mod:`numerics.protocol.transcript`). :class:`RandomSchedule` walks that order one message at a
time; who chooses the alternatives is a callable ``draw(turn, previous)``:

* the LLM runner draws them with :func:`uniform_drawer`: round t's alternative is the inverse CDF of
  its law (``initial_law`` for the first round, ``P[previous, :]`` after) at the t-th number of the
  seed's uniform stream :func:`uniforms`. Round t's draw depends only on the seed, t and the previous
  alternative, so a run resumed after its last recorded alternative draws exactly what an
  uninterrupted run with the same seed draws (a Markov chain continues from ``P[last, :]``). It is
  the schedule that ``a2ad simulate --seed`` draws (:func:`numerics.protocol.random_simulate.draw_schedule`:
  the same uniforms, the same inverse CDF);
* :func:`replay` reads them from the transcript (each message records its round's ``alternative``).

A round whose alternative is empty (nobody speaks) writes no message, so its turn is missing from a
transcript; the state does not change in it, and the replay checks only that the protocol has an
empty alternative that can occur.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from numerics.io.errors import InputError
from numerics.protocol import simulate, transcript as pt
from numerics.protocol.random_spec import RandomProtocol

__all__ = ["RandomSchedule", "RandomReplay", "uniforms", "uniform_drawer", "draw_alternative", "replay",
           "header", "from_header", "same", "messages_per_round", "run"]

def uniforms(seed: int, rounds: int) -> np.ndarray:
    """The first ``rounds`` numbers of the schedule's uniform stream of ``seed``: ``default_rng(seed)``'s
    first draws, as ``simulate --seed`` takes them (PCG64 fills ``random(n)`` in order, so a longer stream
    starts with a shorter one)."""
    return np.random.default_rng(seed).random(rounds)


def draw_alternative(law: np.ndarray, u: float) -> int:
    """The inverse CDF of ``law`` at ``u`` in [0, 1): the first k with ``cdf[k] > u``, the cumulative sum
    normalised to end at exactly 1 (a law summing to 1 only within rounding draws no impossible tail), so
    an alternative of probability 0 is never drawn."""
    cdf = np.cumsum(law)
    cdf = cdf / cdf[-1]
    return min(int(np.sum(cdf <= u)), len(cdf) - 1)


def uniform_drawer(rp: RandomProtocol, u: np.ndarray) -> Callable[[int, int | None], int]:
    """``draw(turn, previous)``: the first round from ``initial_law``, every later one from ``P[previous]``."""
    def draw(turn: int, previous: int | None) -> int:
        law = rp.initial_law if previous is None else rp.P[previous]
        return draw_alternative(law, float(u[turn]))
    return draw


def messages_per_round(rp: RandomProtocol) -> list[int]:
    """Per agent, the most messages it writes in one round over the alternatives (the size bound of a run)."""
    return [max(sum(1 for phase in alt.phases for i, _ in phase if i == k) for alt in rp.alternatives)
            for k in range(rp.K)]


class RandomSchedule:
    """A random protocol's messages in order, with the state they are computed from.

    ``pending(turns)`` draws rounds (passing over empty ones) until a message remains before round
    ``turns``; then ``next()`` gives ``(turn, phase, agent index, alternative)``, ``heard()`` that
    agent's input and ``write(message)`` records its answer (visible when the phase ends).
    ``rounds`` and ``alternatives`` collect every round's end state and drawn alternative.
    """

    def __init__(self, rp: RandomProtocol, draw: Callable[[int, int | None], int]):
        self.rp, self.draw = rp, draw
        self.m = np.array(rp.initial, dtype=float)
        self._new = self.m.copy()
        self.turn = self.phase = self.slot = 0
        self.previous: int | None = None  # the alternative of the last finished round
        self.alternative: int | None = None  # of the current round, once drawn
        self.rounds: list[np.ndarray] = []
        self.alternatives: list[int] = []

    def _phases(self):
        assert self.alternative is not None
        return self.rp.alternatives[self.alternative].phases

    def _end_round(self) -> None:
        self.rounds.append(self.m.copy())
        self.previous, self.alternative = self.alternative, None
        self.phase, self.slot, self.turn = 0, 0, self.turn + 1

    def pending(self, turns: int) -> bool:
        """Whether a message remains before round ``turns`` (drawing rounds as they start)."""
        while self.turn < turns:
            if self.alternative is None:
                self.alternative = self.draw(self.turn, self.previous)
                self.alternatives.append(self.alternative)
            if self._phases():
                return True
            self._end_round()  # nobody speaks this round
        return False

    def next(self) -> tuple[int, int, int, int]:
        assert self.alternative is not None
        return self.turn, self.phase, self._phases()[self.phase][self.slot][0], self.alternative

    def heard(self) -> np.ndarray:
        """``sum_j W_ij m_j`` for the next speaker i, summed as the simulator does."""
        return simulate.heard(self.m, self._phases()[self.phase][self.slot][1])

    def write(self, message) -> None:
        phases = self._phases()
        i = phases[self.phase][self.slot][0]
        self._new[i] = message
        self.slot += 1
        if self.slot == len(phases[self.phase]):  # the phase ends: everyone writes at once
            self.m, self._new = self._new, self._new.copy()
            self.slot, self.phase = 0, self.phase + 1
            if self.phase == len(phases):
                self._end_round()


@dataclass(frozen=True)
class RandomReplay:
    """A transcript replayed under its random protocol."""

    inputs: tuple[np.ndarray, ...]  # per agent (n_i, d): the rebuilt inputs sum_j W_ij m_j
    outputs: tuple[np.ndarray, ...]  # per agent (n_i, d): its messages
    rounds: np.ndarray  # (complete rounds, K, d): every agent's message at the end of each round
    alternatives: np.ndarray  # (complete rounds,): the alternative of each (an empty one where no line)
    schedule: RandomSchedule  # positioned after the last message (to continue a run)


def _recorded_drawer(rp: RandomProtocol, records) -> Callable[[int, int | None], int]:
    """``draw(turn, previous)`` reading each round's alternative from the records; a turn without a
    message was a round of an empty alternative (one that can occur must exist)."""
    by_turn: dict[int, int] = {}
    for n, rec in enumerate(records):
        if rec.alternative is None:
            raise InputError(f"transcript message {n + 1} alternative", None,
                             "is missing: a random protocol's messages record their round's drawn alternative")
        if rec.alternative >= rp.n_alt:
            raise InputError(f"transcript message {n + 1} alternative", rec.alternative,
                             f"is not an alternative of the protocol (0 to {rp.n_alt - 1})")
        if rec.label != rp.labels[rec.alternative]:
            raise InputError(f"transcript message {n + 1} label", rec.label,
                             f"differs from alternative {rec.alternative}'s name {rp.labels[rec.alternative]!r}")
        if by_turn.setdefault(rec.turn, rec.alternative) != rec.alternative:
            raise InputError(f"transcript message {n + 1} alternative", rec.alternative,
                             f"differs from the alternative {by_turn[rec.turn]} of the earlier messages of turn "
                             f"{rec.turn}")
    empty = [k for k, alt in enumerate(rp.alternatives) if not alt.phases and rp.stationary()[k] > 0]

    def draw(turn: int, previous: int | None) -> int:
        if turn in by_turn:
            k = by_turn[turn]
            # the law is checked where the previous round is recorded (a round without lines is not)
            law = rp.initial_law if turn == 0 else (rp.P[previous] if previous is not None and turn - 1 in by_turn
                                                    else None)
            if law is not None and not law[k] > 0:
                raise InputError(f"transcript turn {turn} alternative", k,
                                 "cannot follow the previous round's alternative under the protocol's law "
                                 "(probability 0)")
            return k
        if not empty:
            raise InputError("transcript turn", turn, "has no message, but every alternative of the protocol has "
                                                      "a speaker (a round without messages needs an empty one)")
        return empty[0]
    return draw


def replay(rp: RandomProtocol, records, check_incoming: bool = True) -> RandomReplay:
    """Rebuild each agent's inputs from the outgoing messages of ``records`` under the recorded alternatives.

    InputError when a message is out of its alternative's order (wrong agent, turn or phase), names an
    alternative the law cannot draw there, or when its recorded ``incoming`` differs from the rebuilt
    input by more than :data:`numerics.protocol.transcript.INCOMING_RTOL` (relative).
    """
    s = RandomSchedule(rp, _recorded_drawer(rp, records))
    names = rp.names
    inputs: list[list[np.ndarray]] = [[] for _ in names]
    outputs: list[list[np.ndarray]] = [[] for _ in names]
    for n, rec in enumerate(records):
        if not s.pending(rec.turn + 1):
            raise InputError(f"transcript message {n + 1}", f"{rec.agent} at turn {rec.turn}",
                             f"comes after turn {s.turn - 1} of the protocol's schedule")
        t, p, i, k = s.next()
        if rec.agent != names[i] or rec.turn != t or rec.phase != p:
            raise InputError(f"transcript message {n + 1}", f"{rec.agent} at turn {rec.turn}, phase {rec.phase}",
                             f"alternative {k} ({rp.labels[k]}) expects {names[i]} at turn {t}, phase {p}")
        heard = s.heard()
        pt.check_record(n, rec, s.m.shape[1], heard, check_incoming, f"{names[i]} under alternative {k}")
        inputs[i].append(heard)
        outputs[i].append(rec.outgoing)
        s.write(rec.outgoing)
    d = s.m.shape[1]
    stack = lambda xs: np.array(xs, dtype=float).reshape(-1, d)  # noqa: E731
    done = len(s.rounds)
    return RandomReplay(tuple(stack(x) for x in inputs), tuple(stack(y) for y in outputs),
                        np.array(s.rounds).reshape(-1, rp.K, d), np.array(s.alternatives[:done], dtype=int), s)


def header(rp: RandomProtocol) -> dict:
    """The transcript header naming ``rp`` with its law (see :mod:`numerics.io.transcripts`)."""
    from numerics.io.transcripts import FORMAT_VERSION
    return {"schema_version": FORMAT_VERSION, "agents": list(rp.names), "protocol": rp.as_dict()}


def from_header(head: dict, d: int) -> RandomProtocol:
    """The random protocol a transcript header names, validated like a config's (exit 2 on errors)."""
    from numerics.protocol.random_spec import parse
    return parse(head["protocol"], head["agents"], d, np.zeros(d))


def same(a: RandomProtocol, b: RandomProtocol) -> bool:
    """Same agents, alternatives (phases, weights, names), law and initial messages."""
    return (a.names == b.names and a.labels == b.labels and a.markov == b.markov
            and tuple(x.phases for x in a.alternatives) == tuple(x.phases for x in b.alternatives)
            and a.P.shape == b.P.shape and bool(np.array_equal(a.P, b.P))
            and bool(np.array_equal(a.initial_law, b.initial_law))
            and a.initial.shape == b.initial.shape and bool(np.array_equal(a.initial, b.initial)))


def run(agents, rp: RandomProtocol, turns: int, seed: int = 0):
    """Run ``agents`` (anything with ``name`` and ``respond``) under ``rp`` for ``turns`` rounds, the
    alternatives drawn from ``seed`` as ``llm-run`` draws them; returns the
    :class:`numerics.io.transcripts.Transcript` (with its header)."""
    from numerics.io.transcripts import Transcript, record

    s = RandomSchedule(rp, uniform_drawer(rp, uniforms(seed, turns)))
    records = []
    while s.pending(turns):
        t, p, i, k = s.next()
        heard = s.heard()
        agent = agents[i]
        out = np.asarray(agent.respond(heard), dtype=float)
        records.append(record(agent, t, heard, out, {"schedule_seed": seed}, phase=p, alternative=k,
                              label=rp.labels[k]))
        s.write(out)
    return Transcript(tuple(records), header(rp))
