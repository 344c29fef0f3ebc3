"""C18 under any interaction protocol: fit each agent's per-turn map from a protocol transcript
and predict the plateau, rate and spread with the protocol's round map (P1).

Each agent i's turn is ``T_i(u) = Mhat_i u + chat_i`` (``steps_per_turn`` applications of
its own map), where its input ``u = sum_j W_ij m_j`` is rebuilt from the transcript's
messages and the protocol (:func:`numerics.protocol.transcript.replay`); an agent that
speaks in several phases gives one pair per phase. The maps are fitted by the same least
squares as the round robin (:func:`numerics.fit.fitting.fit_map`). From the fitted maps:

- the rate ``rho(Phi)`` and every agent's end-of-round fixed point, by
  :mod:`numerics.protocol.evaluate` (block-row composition of the phases, one solve);
- the stationary covariance of the end-of-round state for independent per-turn noise
  ``Shat_i`` (the residual covariances): ``Sigma = Phi Sigma Phi^T + Q`` with
  ``Q = sum_p Phi_P ... Phi_(p+1) D_p (...)^T``, where ``D_p`` holds ``Shat_i`` in the
  blocks of the agents that speak in phase p. Only the live agents R (whose messages the
  round reads) have nonzero columns in ``Phi``, so ``Sigma_RR`` solves the reduced
  equation and ``Sigma = Phi_:R Sigma_RR Phi_:R^T + Q``.

The intervals are today's (:mod:`numerics.fit.fitting`): least-squares t-intervals for the maps,
a pairs bootstrap per agent for plateau and spread, a moving-block bootstrap of the tail.
Hypothesis for a plateau: ``rho < 1``. Verified against simulations of the protocol in
``tests/test_protocol_cli.py``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.dynamics import lyapunov
from numerics.fit import fitting
from numerics.protocol import evaluate as protocol_eval
from numerics.io.errors import InputError
from numerics.protocol.spec import Protocol
from numerics.protocol.transcript import replay


def stationary_covariance(M: np.ndarray, S: np.ndarray, W: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Every agent's stationary end-of-round covariance (K, d, d) under the protocol (``rho < 1``).

    ``M`` (K, d, d) per-turn transfers, ``S`` (K, d, d) per-turn noise covariances.
    """
    K, d = M.shape[0], M.shape[-1]
    zero = np.zeros((K, d))
    Q = np.zeros((K * d, K * d))
    for p in range(W.shape[0]):
        Phi_p, _ = protocol_eval.round_map(M, zero, W[p:p + 1], mask[p:p + 1])
        D = np.zeros((K, d, K, d))
        for i in np.flatnonzero(mask[p]):
            D[i, :, i, :] = S[i]
        Q = Phi_p @ Q @ Phi_p.T + D.reshape(K * d, K * d)
    Phi, _ = protocol_eval.round_map(M, zero, W, mask)
    live = protocol_eval.live_agents(W, mask)
    idx = protocol_eval.live_index(live, d)
    A = Phi[:, idx]
    if idx.size:
        Sigma = A @ lyapunov.discrete_lyapunov(A[idx], Q[np.ix_(idx, idx)]) @ A.T + Q  # O(n^3) Schur solve
    else:  # no message survives a round: only the round's own noise
        Sigma = Q
    Sigma = (Sigma + Sigma.T) / 2
    return np.stack([Sigma[i * d:(i + 1) * d, i * d:(i + 1) * d] for i in range(K)])


def predict(fits, protocol: Protocol) -> fitting.Prediction:
    """Rate, end-of-round fixed points and stationary covariances of the fitted maps under ``protocol``."""
    M = np.stack([f.M_hat for f in fits])
    c = np.stack([f.c_hat for f in fits])
    W, mask = protocol.weights()
    Phi, _ = protocol_eval.round_map(M, c, W, mask)
    rate = float(protocol_eval.rate(Phi, protocol_eval.live_agents(W, mask), M.shape[-1]))
    if not rate < 1 - protocol_eval.CONVERGENCE_MARGIN:
        return fitting.Prediction(tuple(fits), rate, None, None)
    plateau = protocol_eval.fixed_points(M, c, W, mask, check=False)
    spread = stationary_covariance(M, np.stack([f.residual_cov for f in fits]), W, mask)
    return fitting.Prediction(tuple(fits), rate, plateau, spread)


@dataclass(frozen=True)
class ProtocolFitReport(fitting.FitReport):
    """A :class:`numerics.fit.fitting.FitReport` of a protocol transcript, with the protocol and the
    end-of-round messages (rounds, K, d) the tail is taken from."""

    protocol: Protocol | None = None
    round_messages: np.ndarray | None = None


def fit(transcript, protocol: Protocol, tail_fraction: float = 0.5, *, bootstrap: int, seed: int,
        level: float = fitting.CONFIDENCE) -> ProtocolFitReport:
    """Fit every agent of a transcript recorded under ``protocol`` and compare prediction with its tail."""
    fitting.check_fit_options(level, tail_fraction, bootstrap)
    names = list(protocol.names)
    unknown = sorted(set(r.agent for r in transcript.records) - set(names))
    if unknown:
        raise InputError("transcript agent", unknown[0], f"is not an agent of the protocol (agents: {', '.join(names)})")
    rep = replay(protocol, transcript.records)
    data = {a: (rep.inputs[k], rep.outputs[k]) for k, a in enumerate(names)}
    fits = tuple(fitting.fit_map(*data[a], name=a, warn=False) for a in names)
    notes = [note for f in fits for note in f.warnings]
    prediction = predict(fits, protocol)
    if prediction.plateau is None:
        notes.append(f"fitted round rate rho = {prediction.rate:.4g} >= 1: the fitted protocol diverges, "
                     "so there is no plateau to predict")
    rounds = rep.rounds
    start, tail = fitting.tail_rounds(rounds, tail_fraction)
    rng = np.random.default_rng(seed)
    plateaus, spreads = fitting.bootstrap_refits(data, names, lambda fits: predict(fits, protocol), bootstrap,
                                                 rng, notes)
    return ProtocolFitReport(
        agents=tuple(names), prediction=prediction, tail_start=start,
        observed_mean=tail.mean(axis=0),
        observed_cov=np.stack([np.atleast_2d(np.cov(tail[:, k].T)) for k in range(len(names))]),
        map_interval=tuple(fitting.map_interval(*data[a], level=level) for a in names),
        plateau_interval=fitting.percentile_interval(np.array(plateaus), level) if plateaus else None,
        spread_interval=fitting.percentile_interval(np.array(spreads), level) if spreads else None,
        observed_mean_interval=fitting.percentile_interval(
            fitting._block_bootstrap_means(tail, max(bootstrap, 1), rng), level),
        bootstrap=bootstrap, level=level, warnings=tuple(notes), protocol=protocol, round_messages=rounds)


def transcript_protocol(transcript, config_path=None) -> Protocol | None:
    """The protocol to fit ``transcript`` under: its header's, or the config's (``--config``), or None.

    A config without a ``protocol`` gives its round robin. When both name one they must agree.
    """
    from numerics.protocol import transcript as pt
    d = transcript.d
    from_transcript = None if transcript.header is None else pt.from_header(transcript.header, d)
    if config_path is None:
        return from_transcript
    from numerics.io import config
    from numerics.protocol.spec import round_robin
    system = config.load(config_path)
    if system.d != d:
        raise InputError("--config dimension", system.d, f"differs from the transcript's dimension {d}")
    proto = system.protocol or round_robin(system.names, system.initial_message)
    if from_transcript is not None and not pt.same(from_transcript, proto):
        raise InputError("--config", str(config_path), "names a different protocol (agents, phases, weights or "
                                                       "initial messages) from the one the transcript was recorded under")
    return proto
