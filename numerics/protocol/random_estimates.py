"""Monte Carlo estimates of a random protocol's rates, plateau and spread, each with its standard error.

Package extension (issue 26, claims R1-R3). Nothing here calls a derived formula (``theory/`` or
:mod:`numerics.protocol.random_moments`): the round maps are read off the real GD agents
(:func:`numerics.protocol.random_simulate.round_maps`), the law of the schedule only through
draws (:func:`numerics.protocol.random_simulate.draw_schedule`), and the stationary quantities
from the final messages of simulated runs (:func:`numerics.protocol.random_simulate.monte_carlo`).

**Rates** (:func:`estimate_rates`). Noiseless agents map the joint state ``m -> Phi_k m + psi_k``
in a round of alternative k. The mean rate per round is the spectral radius of the mean of
``Phi`` over one drawn round, the mean-square rate the square root of that of the mean of
``Phi (x) Phi``; for a Markov chain the mean is taken conditionally on the previous round's
alternative (blocks ``E[Phi_l | previous j]``-weighted: block ``(l, j)`` is ``P_jl Phi_j``, resp.
``P_jl Phi_j (x) Phi_j``). Both means are estimated by averaging over ``N`` drawn rounds; since a
round's map depends only on the alternative drawn, the average of ``Phi_{s_i} (x) Phi_{s_i}`` over
the draws ``s_i`` is ``sum_k phat_k Phi_k (x) Phi_k`` with ``phat`` the empirical frequencies (for a
chain: ``N`` transitions ``j -> l``, ``j`` uniform over the alternatives, ``l`` drawn from row ``j``;
``Phat_jl = n_jl / n_j``). Consistent: ``phat -> p`` almost surely and a spectral radius is
continuous. Reading a rate off the decay of simulated runs instead is biased at every finite horizon
(transients of the faster modes; the mean-square rate is carried by rare schedules, which a finite
sample of long runs misses).

**Bars** (parametric bootstrap): ``N_BOOT`` (200, the default ``n_boot``) replicate frequency tables are
drawn from the estimated law (multinomial, per row ``j`` with ``n_j`` draws for a chain) and the rates
recomputed; ``se`` is their standard deviation, ``bias`` their mean minus the estimate. A spectral radius is
not smooth where its largest modulus is attained by several eigenvalues (the group chat: agents that no
alternative overwrites for a while give one eigenvalue per 2-cycle of the chain, all of modulus 1/2 at the
page's probabilities): a plug-in estimate is then biased upward by the largest of several
fluctuations, of the order of ``se``, which the bootstrap ``bias`` measures; the bar adds it.
The second-moment operator acts on symmetric matrices only (its spectral radius is attained there:
it maps the cone of positive semidefinite matrices, per mode, into itself, Krein-Rutman), in the
basis ``Q_ab``, ``a <= b``: ``n (n + 1) / 2`` unknowns per mode instead of ``n^2``. Its size,
``n (n + 1) / 2`` for independent draws and ``n_alt n (n + 1) / 2`` for a chain (``n = K d``), is at most
``MAX_OPERATOR`` (256; its eigenvalues are computed ``n_boot + 1`` times): a larger one is refused (InputError).

**Stationary quantities** (:func:`stationary_estimates`): the final messages of ``n`` independent runs
(long enough that the transient is below round-off) are ``n`` independent draws of the stationary law.
Plateau ``||mean - w_star||`` with standard error ``sd(g . z) / sqrt(n)``, ``g`` the unit vector along
``mean - w_star`` (delta method); spread ``tr C`` with standard error ``sd(||z - mean||^2) / sqrt(n)``.

A derived value agrees with its estimate when ``|derived - estimate| <= bar`` with
``bar = Z_BAR se + |bias| + ROUNDOFF`` (:func:`bar`; ``bias = 0`` for the stationary quantities).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from numerics.io.errors import InputError
from numerics.protocol.random_simulate import draw_schedule, round_maps
from numerics.protocol.random_spec import RandomProtocol

__all__ = ["RateEstimate", "StationaryEstimate", "estimate_rates", "rates_from_maps", "transition_counts",
           "stationary_estimates", "bar", "within_bar", "Z_BAR", "ROUNDOFF", "N_BOOT", "MAX_OPERATOR"]

# A derived value sits within Z_BAR standard errors of an honest estimate: an estimate is asymptotically
# normal, so 4 standard errors fail by chance with probability 6e-5 per comparison (about 1e-3 over a
# table of 20 entries), while the planted errors in the tests move an estimate by tens of bars.
Z_BAR = 4.0
# Absolute slack for float64 round-off (messages of order 1): an eigenvalue of an operator of size
# <= MAX_OPERATOR to ~1e-12, and a run's messages after hundreds of rounds to ~1e-13; where a quantity's
# standard error vanishes (zero spread, a rate independent of the probabilities) this is the whole bar.
ROUNDOFF = 1e-10
# Bootstrap replicates: the standard deviation of the replicates is then known to ~5 % (1 / sqrt(2 N_BOOT)).
N_BOOT = 200
# The largest moment operator (n_alt n (n + 1) / 2 unknowns for a chain's second moment, n = K d) whose
# eigenvalues are computed N_BOOT times here (about a second at this size).
MAX_OPERATOR = 256


@dataclass(frozen=True)
class RateEstimate:
    """Monte Carlo rates per round (:func:`estimate_rates`) with bootstrap standard errors and biases.

    ``frequencies``: the empirical law of the drawn rounds, ``(n_alt,)`` for independent draws, the
    empirical transition matrix ``(n_alt, n_alt)`` for a chain; ``n_draws`` the number of rounds drawn.
    """

    mean_rate: float
    mean_rate_se: float
    mean_rate_bias: float
    contraction_rate: float
    contraction_rate_se: float
    contraction_rate_bias: float
    n_draws: int
    frequencies: np.ndarray

    @property
    def mean_rate_bar(self) -> float:
        return bar(self.mean_rate_se, self.mean_rate_bias)

    @property
    def contraction_rate_bar(self) -> float:
        return bar(self.contraction_rate_se, self.contraction_rate_bias)


@dataclass(frozen=True)
class StationaryEstimate:
    """Stationary quantities from ``n`` final messages (:func:`stationary_estimates`).

    ``plateau = ||mean - w_star||`` (joint), ``spread = tr C`` (joint covariance), and per agent
    ``plateau_i = ||mean_i - w_star_i||`` and ``spread_i = (tr C_i)^(1/2)``, each with its standard error.
    """

    plateau: float
    plateau_se: float
    spread: float
    spread_se: float
    plateau_i: np.ndarray
    plateau_i_se: np.ndarray
    spread_i: np.ndarray
    spread_i_se: np.ndarray
    n: int


def bar(se: float, bias: float = 0.0, z: float = Z_BAR) -> float:
    """The agreement bar of an estimate: ``z se + |bias| + ROUNDOFF``."""
    return float(z * se + abs(bias) + ROUNDOFF)


def within_bar(derived: float, estimate: float, se: float, bias: float = 0.0, z: float = Z_BAR) -> bool:
    """``|derived - estimate| <= bar(se, bias, z)`` (False for a NaN on either side)."""
    return bool(abs(derived - estimate) <= bar(se, bias, z))


def transition_counts(rp: RandomProtocol, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """``n_draws`` drawn rounds as counts: ``(n_alt,)`` for independent draws, ``(n_alt, n_alt)``
    transition counts ``n_jl`` for a chain (previous alternative j uniform, next l drawn from row j).

    One batched :func:`draw_schedule` of two rounds per draw (the generator then continues with whatever is drawn
    next), from a uniform first round: the law ``1 / n`` each, as written (another constant is the same law, but
    its cumulative sums round differently, which moves a draw that falls on a boundary).
    """
    if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) or n_draws < 2:
        raise InputError("n_draws", n_draws, "must be an integer >= 2 (rounds drawn for the Monte Carlo rates)")
    n = rp.n_alt
    uniform = dataclasses.replace(rp, initial_law=np.full(n, 1.0 / n))
    s = draw_schedule(uniform, 2, rng, runs=int(n_draws))
    counts = np.zeros((n, n), dtype=np.int64)
    np.add.at(counts, (s[:, 0], s[:, 1]), 1)
    return counts if rp.markov else counts.sum(axis=0)


def rates_from_maps(Phi: np.ndarray, counts: np.ndarray, rng: np.random.Generator,
                    n_boot: int = N_BOOT) -> RateEstimate:
    """Mean and mean-square rates of the round maps ``Phi`` (n_alt, n, n) weighted by the drawn
    ``counts`` (:func:`transition_counts`: 1-D for independent draws, 2-D for a chain), with bootstrap
    standard errors and biases from ``n_boot`` replicates drawn with ``rng`` (module docstring)."""
    Phi = np.asarray(Phi, dtype=float)
    counts = np.asarray(counts)
    if Phi.ndim != 3 or Phi.shape[1] != Phi.shape[2] or not np.all(np.isfinite(Phi)):
        raise InputError("round maps Phi", Phi, "must be finite, (n_alt, n, n) (agents that diverge in one round?)")
    n_alt, n = Phi.shape[0], Phi.shape[-1]
    if counts.shape not in ((n_alt,), (n_alt, n_alt)) or np.any(counts < 0):
        raise InputError("transition counts", counts.tolist(),
                         f"must be non-negative, ({n_alt},) or ({n_alt}, {n_alt})")
    markov = counts.ndim == 2
    size = (n_alt if markov else 1) * n * (n + 1) // 2
    if size > MAX_OPERATOR:
        raise InputError("second-moment operator size", size,
                         f"must be <= {MAX_OPERATOR} for the Monte Carlo rate estimate (n_alt (K d)(K d + 1)/2)")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise InputError("n_boot", n_boot, "must be an integer >= 2 (bootstrap replicates)")
    rows = counts.sum(axis=-1)
    if np.any(rows == 0):
        raise InputError("transition counts", counts.tolist(), "every alternative needs at least one draw")
    freq = counts / np.asarray(rows)[..., None]
    boot = rng.multinomial(rows, freq, size=(n_boot,) + counts.shape[:-1]) / np.asarray(rows)[..., None]
    laws = np.concatenate([freq[None], boot])  # the estimate first, then the replicates
    second = _symmetric_action(Phi)
    mean = _radii(Phi, laws, markov)
    ms = np.sqrt(_radii(second, laws, markov))
    return RateEstimate(float(mean[0]), float(np.std(mean[1:], ddof=1)), float(np.mean(mean[1:]) - mean[0]),
                        float(ms[0]), float(np.std(ms[1:], ddof=1)), float(np.mean(ms[1:]) - ms[0]),
                        int(counts.sum()), freq)


def estimate_rates(Gamma: np.ndarray, H: np.ndarray, b: np.ndarray, steps: Sequence[int], rp: RandomProtocol,
                   n_draws: int, seed: int, n_boot: int = N_BOOT) -> RateEstimate:
    """Monte Carlo mean and mean-square rates per round of GD agents ``w <- w - Gamma_i (H_i w - b_i)``
    (``steps[i]`` steps per answer) under the random protocol ``rp``: the round maps read off one
    round of the agents (:func:`~numerics.protocol.random_simulate.round_maps`), averaged over
    ``n_draws`` drawn rounds (:func:`transition_counts`), bars from ``n_boot`` bootstrap replicates;
    one generator seeded by ``seed`` draws the rounds, then the replicates.

    Mean rate ``rho(E Phi)``, mean-square rate ``rho(E Phi (x) Phi)^(1/2)`` (per previous alternative
    for a chain). Hypotheses: noiseless rounds (additive noise does not change the rates).
    Claims R1 (the rate that decides mean-square convergence) and R2-R3 (the gallery's rates).
    """
    Phi, _ = round_maps(Gamma, H, b, steps, rp)
    rng = np.random.default_rng(seed)
    return rates_from_maps(Phi, transition_counts(rp, n_draws, rng), rng, n_boot)


def _symmetric_action(Phi: np.ndarray) -> np.ndarray:
    """``Q -> Phi_k Q Phi_k^T`` on symmetric ``Q`` in the basis ``Q_ab`` (a <= b), (n_alt, m, m) with
    ``m = n (n + 1) / 2``: ``(Phi Q Phi^T)_ab = sum_c Phi_ac Phi_bc Q_cc + sum_{c<d} (Phi_ac Phi_bd +
    Phi_ad Phi_bc) Q_cd``."""
    n = Phi.shape[-1]
    full = np.einsum("kac,kbd->kabcd", Phi, Phi)
    both = full + full.transpose(0, 1, 2, 4, 3)
    idx = np.arange(n)
    both[..., idx, idx] = full[..., idx, idx]  # a diagonal entry Q_cc appears once
    r, c = np.triu_indices(n)
    return both[:, r, c][:, :, r, c]


def _radii(B: np.ndarray, laws: np.ndarray, markov: bool) -> np.ndarray:
    """Spectral radii of ``sum_k p_k B_k`` for every law ``p`` in ``laws`` (R, n_alt), or for a chain of
    the block operators with block (l, j) ``P_jl B_j`` for every ``P`` in ``laws`` (R, n_alt, n_alt)."""
    if not markov:
        ops = np.einsum("rk,kab->rab", laws, B)
    else:
        n_alt, m = B.shape[0], B.shape[-1]
        ops = np.einsum("rjl,jab->rlajb", laws, B).reshape(-1, n_alt * m, n_alt * m)
    return np.abs(np.linalg.eigvals(ops)).max(axis=-1)


def stationary_estimates(z: np.ndarray, w_star: np.ndarray) -> StationaryEstimate:
    """Plateau and spread, joint and per agent, from final messages ``z`` (n, K, d) of independent runs
    against the targets ``w_star`` (K, d), with standard errors (module docstring)."""
    z = np.asarray(z, dtype=float)
    if z.ndim != 3 or z.shape[0] < 2 or z.shape[1:] != np.shape(w_star):
        raise InputError("Monte Carlo samples", z.shape, f"must be (n >= 2, K, d) with (K, d) = {np.shape(w_star)}")
    n, K, d = z.shape
    plateau, plateau_se = _plateau(z.reshape(n, K * d), np.ravel(w_star))
    spread, spread_se = _spread(z.reshape(n, K * d))
    per = [(_plateau(z[:, i], np.asarray(w_star)[i]), _spread(z[:, i])) for i in range(K)]
    tr = np.array([s for _, (s, _) in per])
    tr_se = np.array([se for _, (_, se) in per])
    root = np.sqrt(tr)
    root_se = np.divide(tr_se, 2 * root, out=np.sqrt(tr_se), where=root > 0)  # where tr C_i = 0: sqrt(se)
    return StationaryEstimate(plateau, plateau_se, spread, spread_se, np.array([p for (p, _), _ in per]),
                              np.array([se for (_, se), _ in per]), root, root_se, n)


def _plateau(z: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """``||mean - w||`` and its delta-method standard error, from samples ``z`` (n, m)."""
    n = z.shape[0]
    gap = z.mean(axis=0) - w
    norm = float(np.linalg.norm(gap))
    if norm == 0.0:  # no direction: the norm of the mean's standard errors bounds the fluctuation
        return 0.0, float(np.sqrt(np.sum(z.var(axis=0, ddof=1)) / n))
    return norm, float(np.std(z @ (gap / norm), ddof=1) / np.sqrt(n))


def _spread(z: np.ndarray) -> tuple[float, float]:
    """``tr C`` (sample covariance) and its standard error ``sd(||z - mean||^2) / sqrt(n)``."""
    n = z.shape[0]
    sq = np.sum((z - z.mean(axis=0)) ** 2, axis=1)
    return float(sq.sum() / (n - 1)), float(np.std(sq, ddof=1) / np.sqrt(n))
