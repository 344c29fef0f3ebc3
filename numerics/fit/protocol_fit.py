"""C18 under any interaction protocol: fit each agent's per-turn map from a protocol transcript
and predict the plateau, rate and spread with the protocol's round map (P1).

Each agent i's turn is ``T_i(u) = Mhat_i u + chat_i`` (``steps_per_turn`` applications of
its own map), where its input ``u = sum_j W_ij m_j`` is rebuilt from the transcript's
messages and the protocol (:func:`numerics.protocol.transcript.replay`); an agent that
speaks in several phases gives one pair per phase. The maps are fitted by the same least
squares as the round robin (:func:`numerics.fit.fitting.fit_map`). From the fitted maps:

- the rate ``rho(Phi)`` and every agent's end-of-round fixed point, and
- the stationary covariance of the end-of-round state for independent per-turn noise
  ``Shat_i`` (the residual covariances), the Lyapunov equation of the round map
  (:func:`numerics.protocol.evaluate.stationary_covariance`),

both by the engine of every config (:mod:`numerics.protocol.engine`, through
:func:`numerics.fit.fitting.predict`), which the round-robin fit uses too: a transcript recorded
under the round robin written out as a protocol gives the same report as one without a header.

A transcript of a random protocol (each message records its round's drawn ``alternative``) is
replayed under the recorded alternatives (:func:`numerics.protocol.random_transcript.replay`), the
maps fitted the same way, and the prediction is the random protocol's: the mean-square rate
(``rate``) and the first-moment rate (``mean_rate``), the stationary mean at the end of a round as the
plateau and the stationary covariance with the residual covariances as per-message noise
(:func:`numerics.protocol.random_moments.moments`; package extension, issue 26). Hypothesis for a
plateau there: mean-square rate < 1.

The intervals are today's (:mod:`numerics.fit.fitting`): least-squares t-intervals for the maps,
a pairs bootstrap per agent for plateau and spread, a moving-block bootstrap of the tail.
Hypothesis for a plateau: ``rho < 1``. Verified against simulations of the protocol in
``tests/test_protocol_cli.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from numerics.fit import fitting
from numerics.io.errors import InputError
from numerics.protocol import engine
from numerics.protocol.evaluate import stationary_covariance  # noqa: F401 (part of this module's API)
from numerics.protocol.random_spec import RandomProtocol
from numerics.protocol.spec import Protocol
from numerics.protocol.transcript import replay


def predict_random(fits, rp: RandomProtocol) -> fitting.Prediction:
    """The fitted maps under a random protocol: ``rate`` the mean-square rate, ``mean_rate`` the
    first-moment rate, ``plateau`` the stationary mean and ``spread`` the stationary covariance with each
    agent's residual covariance ``Shat_i`` added to every message it writes (None unless the
    mean-square rate is below 1)."""
    from numerics.protocol.random_moments import moments

    M = np.stack([f.M_hat for f in fits])
    c = np.stack([f.c_hat for f in fits])
    mo = moments(M, c, rp, np.stack([f.residual_cov for f in fits]))
    if not mo.converges:
        return fitting.Prediction(tuple(fits), mo.contraction_rate, None, None, mo.mean_rate)
    return fitting.Prediction(tuple(fits), mo.contraction_rate, mo.mean, mo.covariance, mo.mean_rate)


@dataclass(frozen=True)
class ProtocolFitReport(fitting.FitReport):
    """A :class:`numerics.fit.fitting.FitReport` of a protocol transcript, with the protocol and the
    end-of-round messages (rounds, K, d) the tail is taken from."""

    protocol: Protocol | RandomProtocol | None = None
    round_messages: np.ndarray | None = None
    alternatives: np.ndarray | None = None  # a random protocol: each complete round's alternative


def fit(transcript, protocol: Protocol | RandomProtocol, tail_fraction: float, *, bootstrap: int, seed: int,
        level: float = fitting.CONFIDENCE) -> fitting.FitReport:
    """Fit every agent of a transcript recorded under ``protocol`` and compare prediction with its tail: a
    :class:`ProtocolFitReport`, or, for the round robin in list order, the report of a transcript without
    a protocol (:func:`numerics.fit.fitting.fit_transcript`)."""
    fitting.check_fit_options(level, tail_fraction, bootstrap)
    names = list(protocol.names)
    unknown = sorted(set(r.agent for r in transcript.records) - set(names))
    if unknown:
        raise InputError("transcript agent", unknown[0],
                         f"is not an agent of the protocol (agents: {', '.join(names)})")
    if isinstance(protocol, RandomProtocol):
        return _fit_random(transcript, protocol, tail_fraction, bootstrap=bootstrap, seed=seed, level=level)
    if any(r.alternative is not None for r in transcript.records):
        raise InputError("transcript alternative", next(r.alternative for r in transcript.records),
                         "is recorded, but the protocol is deterministic (give the random protocol it was drawn under)")
    rep = replay(protocol, transcript.records)
    data = {a: (rep.inputs[k], rep.outputs[k]) for k, a in enumerate(names)}
    if engine.is_round_robin(protocol):  # what a config without `protocol` means: the same report
        return fitting.fit_data(data, names, rep.rounds, None, tail_fraction, bootstrap=bootstrap, seed=seed,
                                level=level)
    report = fitting.fit_data(data, names, rep.rounds, protocol, tail_fraction, bootstrap=bootstrap, seed=seed,
                              level=level)
    return ProtocolFitReport(**{f.name: getattr(report, f.name) for f in fields(report)}, protocol=protocol,
                             round_messages=rep.rounds)


def _fit_random(transcript, rp: RandomProtocol, tail_fraction: float, *, bootstrap: int, seed: int,
                level: float) -> fitting.FitReport:
    """The fit of a random-protocol transcript, replayed under its recorded alternatives."""
    from numerics.protocol import random_transcript

    rep = random_transcript.replay(rp, transcript.records)
    data = {a: (rep.inputs[k], rep.outputs[k]) for k, a in enumerate(rp.names)}
    report = fitting.fit_data(data, list(rp.names), rep.rounds, rp, tail_fraction, bootstrap=bootstrap, seed=seed,
                              level=level, predictor=lambda fs: predict_random(fs, rp))
    return ProtocolFitReport(**{f.name: getattr(report, f.name) for f in fields(report)}, protocol=rp,
                             round_messages=rep.rounds, alternatives=rep.alternatives)


def _from_header(header: dict, d: int) -> Protocol | RandomProtocol:
    from numerics.protocol import random_transcript, transcript as pt
    if isinstance(header.get("protocol"), dict) and "random" in header["protocol"]:
        return random_transcript.from_header(header, d)
    return pt.from_header(header, d)


def _same(a: Protocol | RandomProtocol, b: Protocol | RandomProtocol) -> bool:
    from numerics.protocol import random_transcript, transcript as pt
    if isinstance(a, RandomProtocol) or isinstance(b, RandomProtocol):
        return isinstance(a, RandomProtocol) and isinstance(b, RandomProtocol) and random_transcript.same(a, b)
    return pt.same(a, b)


def transcript_protocol(transcript, config_path=None) -> Protocol | RandomProtocol | None:
    """The protocol to fit ``transcript`` under: its header's, or the config's (``--config``), or None.

    A config without a ``protocol`` gives its round robin. When both name one they must agree.
    """
    d = transcript.d
    from_transcript = None if transcript.header is None else _from_header(transcript.header, d)
    if config_path is None:
        return from_transcript
    from numerics.protocol import config
    from numerics.protocol.spec import round_robin
    system = config.load(config_path)
    if system.d != d:
        raise InputError("--config dimension", system.d, f"differs from the transcript's dimension {d}")
    proto: Protocol | RandomProtocol = system.random or system.protocol or round_robin(system.names,
                                                                                      system.initial_message)
    if from_transcript is not None and not _same(from_transcript, proto):
        raise InputError("--config", str(config_path), "names a different protocol (agents, phases, weights "
                         "or initial messages) from the one the transcript was recorded under")
    return proto
