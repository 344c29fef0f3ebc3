"""C18: fit each agent's affine map from a transcript and predict its plateau and spread.

Least squares ``[Mhat | chat] = Y Z^T (Z Z^T)^{-1}`` with ``Z = [incoming; 1]``
(theory/stochastic/fitting.py). From the fitted maps: the implied target
``w_hat* = (I - Mhat)^{-1} chat``, and, through the engine of every config
(:mod:`numerics.protocol.engine`), the rate of the round map (``rho(Mhat_A Mhat_B)`` for the
round robin), the predicted plateau (C2, C17; P1 under a protocol) and, from the residual
covariances ``Shat_i``, the predicted stationary spread (C15; the round map's Lyapunov equation
under a protocol). Intervals: for the fitted maps, the least-squares t-interval conditional on the design
(``chat_ij +- t_{n-d-1} sqrt(Shat_ii [(Z^T Z)^{-1}]_jj)``; valid for the autoregressive designs of a
conversation, where the regressors are earlier noisy messages, and measured at 95% coverage by
``a2ad verify --claims C18``); pairs bootstrap per agent for the plateau and spread; a moving-block
bootstrap of the tail for the observed mean (the tail is autocorrelated).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from numerics.io.errors import InputError
from numerics.io.transcripts import Transcript
from numerics.protocol import engine
from numerics.protocol.spec import round_robin

# Numerical rank of the design [incoming; 1]: singular values below this (relative) are zero.
RANK_RTOL = 1e-9
# Above this condition number the fit is reported as poorly identified (but still given).
ILL_CONDITIONED = 1e8
CONFIDENCE = 0.95


class IdentifiabilityWarning(UserWarning):
    """The transcript identifies a map only poorly (few or nearly degenerate messages)."""


@dataclass(frozen=True)
class AffineFit:
    """One agent's fitted map ``w' ~ Mhat w + chat``."""

    name: str
    M_hat: np.ndarray
    c_hat: np.ndarray
    n: int
    residual_cov: np.ndarray  # Shat: unbiased covariance of the residuals
    r2: float  # 1 - SS_res / SS_tot over all output coordinates
    condition: float  # of the design [incoming; 1]
    warnings: tuple[str, ...] = ()

    @property
    def K_hat(self) -> np.ndarray:
        return np.eye(self.M_hat.shape[0]) - self.M_hat

    @property
    def target(self) -> np.ndarray | None:
        """``w_hat* = Khat^{-1} chat``, or None when ``Khat`` is singular."""
        if np.linalg.cond(self.K_hat) > ILL_CONDITIONED:
            return None
        return np.linalg.solve(self.K_hat, self.c_hat)


def _design(incoming: np.ndarray) -> np.ndarray:
    return np.hstack([incoming, np.ones((incoming.shape[0], 1))])


def least_squares_map(incoming: np.ndarray, outgoing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(Mhat, chat)`` minimising ``sum ||outgoing - Mhat incoming - chat||^2`` (no identifiability checks)."""
    theta, *_ = np.linalg.lstsq(_design(incoming), outgoing, rcond=None)  # rows of [Mhat | chat]^T
    return theta[:-1].T, theta[-1]


def fit_map(incoming, outgoing, name: str = "agent", warn: bool = True) -> AffineFit:
    """Least-squares ``[Mhat | chat]``; InputError when the messages cannot identify it.

    Thin or ill-conditioned data are noted in ``AffineFit.warnings`` and, with ``warn``,
    also issued as :class:`IdentifiabilityWarning`.
    """
    W, Y = np.asarray(incoming, dtype=float), np.asarray(outgoing, dtype=float)
    if W.ndim != 2 or Y.shape != W.shape:
        raise InputError(f"{name} message shapes", (W.shape, Y.shape),
                         "incoming and outgoing messages must both be (n, d) arrays of the same shape")
    n, d = W.shape
    if n < d + 1:
        raise InputError(f"{name} messages", n, f"cannot identify a {d}-dimensional affine map: it needs "
                                               f"d + 1 = {d + 1} affinely independent incoming messages; "
                                               f"record at least {d + 1 - n} more")
    Z = _design(W)
    s = np.linalg.svd(Z, compute_uv=False)
    rank = int(np.sum(s > RANK_RTOL * s[0]))
    if rank < d + 1:
        raise InputError(f"{name} incoming messages", f"affine rank {rank - 1}",
                         f"span only a {rank - 1}-dimensional affine subspace of R^{d}: the map is not "
                         f"identified in {d + 1 - rank} direction(s); at least {d + 1 - rank} more messages "
                         "off that subspace are needed (e.g. a longer transient, or noise)")
    M_hat, c_hat = least_squares_map(W, Y)
    R = Y - W @ M_hat.T - c_hat
    dof = n - d - 1
    notes = []
    cond = float(s[0] / s[-1])
    if cond > ILL_CONDITIONED:
        notes.append(f"{name}: design condition number {cond:.2g} > {ILL_CONDITIONED:.0e}: the map is poorly "
                     "identified (messages nearly degenerate)")
    if dof < d + 1:
        notes.append(f"{name}: only {dof} residual degrees of freedom; the noise covariance needs about "
                     f"{2 * (d + 1) - n} more messages to be estimated")
    S_hat = R.T @ R / dof if dof > 0 else np.zeros((d, d))
    ss_tot = float(np.sum((Y - Y.mean(axis=0)) ** 2))
    r2 = 1.0 - float(np.sum(R ** 2)) / ss_tot if ss_tot > 0 else float("nan")
    for note in notes if warn else ():
        warnings.warn(note, IdentifiabilityWarning, stacklevel=2)
    return AffineFit(name, M_hat, c_hat, n, S_hat, r2, cond, tuple(notes))


@dataclass(frozen=True)
class Interval:
    low: np.ndarray
    high: np.ndarray

    def contains(self, x) -> np.ndarray:
        return (np.asarray(x) >= self.low) & (np.asarray(x) <= self.high)


def map_interval(incoming, outgoing, level: float = CONFIDENCE) -> Interval:
    """Interval for each entry of ``[Mhat | chat]`` (shape (d, d + 1)): the least-squares t-interval
    ``theta +- t_{level, n-d-1} sqrt(Shat_ii [(Z^T Z)^{-1}]_jj)`` with ``Z = [incoming, 1]``.

    The pairs bootstrap it replaces covered only ~89% at nominal 95% on conversation
    transcripts (the design is autocorrelated and the percentile tails of 100-300 resamples are
    short); this interval covers 94-96% there. NaN when there are no residual degrees of freedom.
    """
    from scipy.special import stdtrit  # the t quantile (what scipy.stats.t.ppf calls) without scipy.stats' import

    W, Y = np.asarray(incoming, dtype=float), np.asarray(outgoing, dtype=float)
    Z = _design(W)
    n, p = Z.shape
    M_hat, c_hat = least_squares_map(W, Y)
    theta = np.hstack([M_hat, c_hat[:, None]])
    dof = n - p
    if dof <= 0:
        nan = np.full(theta.shape, np.nan)
        return Interval(nan, nan)
    R = Y - Z @ theta.T
    S = np.sum(R ** 2, axis=0) / dof  # per output coordinate
    # diag((Z^T Z)^+) >= 0 for the PSD Gram matrix; abs() makes a rounding-level negative entry (a direction
    # Z does not span) non-negative, the same within rounding
    C_diag = np.abs(np.diag(np.linalg.pinv(Z.T @ Z)))
    half = stdtrit(dof, 0.5 + level / 2) * np.sqrt(np.outer(S, C_diag))
    return Interval(theta - half, theta + half)


def percentile_interval(samples: np.ndarray, level: float = CONFIDENCE) -> Interval:
    q = (1 - level) / 2
    return Interval(np.quantile(samples, q, axis=0), np.quantile(samples, 1 - q, axis=0))


@dataclass(frozen=True)
class Prediction:
    """Fitted maps and what they predict for the conversation."""

    fits: tuple[AffineFit, ...]
    rate: float
    plateau: np.ndarray | None  # (K, d) predicted fixed points, None if rate >= 1
    spread: np.ndarray | None  # (K, d, d) predicted stationary covariances
    mean_rate: float | None = None  # a random protocol: the first-moment rate (``rate`` is the mean-square one)


def predict(fits: tuple[AffineFit, ...], protocol=None) -> Prediction:
    """Rate, end-of-round plateau and stationary covariances of the fitted maps under ``protocol``
    (default: the round robin of the fits in order), by the engine of every config; no plateau
    where the rate is not below 1."""
    M = np.stack([f.M_hat for f in fits])
    c = np.stack([f.c_hat for f in fits])
    if protocol is None:
        protocol = round_robin([f.name for f in fits], np.zeros(M.shape[-1]))
    rate, plateau = engine.evaluate_float(M, c, protocol)
    if plateau is None:
        return Prediction(tuple(fits), rate, None, None)
    spread = engine.stationary_covariance(M, np.stack([f.residual_cov for f in fits]), protocol)
    return Prediction(tuple(fits), rate, plateau, spread)


@dataclass(frozen=True)
class FitReport:
    """Everything ``a2ad fit`` prints (C18)."""

    agents: tuple[str, ...]
    prediction: Prediction
    tail_start: int  # first round of the tail
    observed_mean: np.ndarray  # (K, d)
    observed_cov: np.ndarray  # (K, d, d)
    map_interval: tuple[Interval, ...]  # per agent, over [Mhat | chat] (d, d + 1): least-squares t-intervals
    plateau_interval: Interval | None  # (K, d)
    spread_interval: Interval | None  # (K, d): predicted standard deviation per coordinate
    observed_mean_interval: Interval  # (K, d)
    bootstrap: int
    level: float
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _rounds(outgoing: list[np.ndarray]) -> np.ndarray:
    """Each agent's outgoing messages stacked as (rounds, K, d), keeping only complete rounds."""
    n = min(len(p) for p in outgoing)
    return np.stack([p[:n] for p in outgoing], axis=1)


def _block_bootstrap_means(tail: np.ndarray, B: int, rng) -> np.ndarray:
    """Moving-block bootstrap of the tail mean; block length ~ n^(1/3) (at least 1)."""
    n = tail.shape[0]
    L = max(1, int(round(n ** (1 / 3))))
    starts = rng.integers(0, n - L + 1, size=(B, -(-n // L)))
    idx = (starts[..., None] + np.arange(L)).reshape(B, -1)[:, :n]
    return tail[idx].mean(axis=1)


def fit_transcript(transcript: Transcript, tail_fraction: float = 0.5, *, bootstrap: int, seed: int,
                   level: float = CONFIDENCE) -> FitReport:
    """Fit every agent of a round-robin transcript and compare prediction with its tail."""
    check_fit_options(level, tail_fraction, bootstrap)
    agents = transcript.agents
    if len(agents) < 2:
        raise InputError("transcript agents", agents, "a conversation needs at least 2 agents")
    data = {a: transcript.pairs(a) for a in agents}
    rounds = _rounds([data[a][1] for a in agents])
    return fit_data(data, agents, rounds, None, tail_fraction, bootstrap=bootstrap, seed=seed, level=level)


def fit_data(data: dict[str, tuple[np.ndarray, np.ndarray]], agents, rounds: np.ndarray, protocol,
             tail_fraction: float, *, bootstrap: int, seed: int, level: float, predictor=None) -> FitReport:
    """The fit of every config (round robin when ``protocol`` is None): each agent's map from its
    (input, output) pairs ``data[agent]``, the prediction by :func:`predict` under ``protocol`` (or by
    ``predictor(fits)``: a random protocol's moments), and the comparison with the tail of ``rounds``
    (rounds, K, d: every agent's message at the end of a round)."""
    fits = tuple(fit_map(*data[a], name=a, warn=False) for a in agents)
    notes = [note for f in fits for note in f.warnings]
    predict_fits = predictor if predictor is not None else (lambda fs: predict(fs, protocol))
    prediction = predict_fits(fits)
    if prediction.plateau is None:
        what = "conversation" if protocol is None else "protocol"
        notes.append(f"fitted round rate rho = {prediction.rate:.4g} >= 1: the fitted {what} diverges, "
                     "so there is no plateau to predict")
    start, tail = tail_rounds(rounds, tail_fraction)
    rng = np.random.default_rng(seed)
    plateaus, spreads = bootstrap_refits(data, agents, predict_fits, bootstrap, rng, notes)
    map_intervals = tuple(map_interval(*data[a], level=level) for a in agents)
    return FitReport(
        agents=tuple(agents), prediction=prediction, tail_start=start,
        observed_mean=tail.mean(axis=0),
        observed_cov=np.stack([np.atleast_2d(np.cov(tail[:, k].T)) for k in range(len(agents))]),
        map_interval=map_intervals,
        plateau_interval=percentile_interval(np.array(plateaus), level) if plateaus else None,
        spread_interval=percentile_interval(np.array(spreads), level) if spreads else None,
        observed_mean_interval=percentile_interval(_block_bootstrap_means(tail, max(bootstrap, 1), rng), level),
        bootstrap=bootstrap, level=level, warnings=tuple(notes))


def check_fit_options(level: float, tail_fraction: float, bootstrap: int) -> None:
    """InputError unless 0 < level < 1, 0 < tail_fraction < 1 and bootstrap is an integer >= 0."""
    if not 0 < level < 1:
        raise InputError("interval level", level, "must be in (0, 1)")
    if not 0 < tail_fraction < 1:
        raise InputError("tail fraction", tail_fraction, "must be in (0, 1)")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 0:
        raise InputError("bootstrap", bootstrap, "must be an integer >= 0 (resamples)")


def tail_rounds(rounds: np.ndarray, tail_fraction: float) -> tuple[int, np.ndarray]:
    """The first round of the tail and the tail's rounds (the last ``tail_fraction`` of them, >= 2)."""
    start = int(rounds.shape[0] * (1 - tail_fraction))
    tail = rounds[start:]
    if tail.shape[0] < 2:
        raise InputError("tail rounds", tail.shape[0], "need at least 2 complete rounds in the tail; "
                                                       "record more turns or raise --tail")
    return start, tail


def bootstrap_refits(data: dict, agents, predict_fits, bootstrap: int, rng, notes: list) -> tuple[list, list]:
    """Pairs bootstrap per agent: refit every agent's map on resampled (input, output) pairs, predict
    with ``predict_fits`` and keep the converging refits' plateaus and predicted standard deviations.
    A degenerate resample is skipped; a note is added when fewer than 90% of the refits converge."""
    plateaus, spreads = [], []
    for _ in range(bootstrap):
        boot = []
        for a in agents:
            U, Y = data[a]
            idx = rng.integers(0, len(U), size=len(U))
            try:
                boot.append(fit_map(U[idx], Y[idx], name=a, warn=False))
            except InputError:  # a degenerate resample: skip it
                break
        if len(boot) < len(agents):
            continue
        p = predict_fits(tuple(boot))
        if p.plateau is not None:
            plateaus.append(p.plateau)
            spreads.append(np.sqrt(np.maximum(np.diagonal(p.spread, axis1=-2, axis2=-1), 0)))
    if bootstrap and len(plateaus) < 0.9 * bootstrap:
        notes.append(f"only {len(plateaus)} of {bootstrap} bootstrap refits converge: intervals are unreliable")
    return plateaus, spreads
