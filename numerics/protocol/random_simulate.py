"""Simulating a random protocol with the real agents (issue 26; never a derived formula).

A schedule is the 0-based index of the alternative run in each round
(:func:`draw_schedule`); :func:`run_random` runs the agents' own ``respond`` under it with exactly
the phase semantics of ``rounds`` (:func:`numerics.protocol.simulate.run_protocol`), and
:func:`monte_carlo` iterates the GD map ``w <- w - Gamma (H w - b)`` over many independent runs at
once (numpy over runs, a loop over rounds, alternatives and phases only); :func:`round_maps` reads
each alternative's affine round map off one round of the same agents (for the Monte Carlo rates of
:mod:`numerics.protocol.random_estimates`).

Randomness, reproducible from one seed: the schedule's uniforms come first (one per round,
inverse CDF of the law of that round: ``initial_law`` for the first, row ``P[previous]`` after),
then the noise (standard normals, per round, per phase, per speaker in phase order, times a square
root of the speaker's ``S_i``).
"""
from __future__ import annotations

import bisect
from typing import Sequence

import numpy as np

from numerics.dynamics import noisy
from numerics.io.errors import InputError
from numerics.protocol import simulate
from numerics.protocol.random_spec import RandomProtocol

__all__ = ["draw_schedule", "check_schedule", "run_random", "monte_carlo", "round_maps", "noise_factor"]


def _pick(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse CDF: the first index whose cumulative probability exceeds ``u`` (a zero-probability
    alternative is never picked). ``cum`` (..., n) rows normalised to end at exactly 1 (:func:`_cumulative`)
    and ``u`` in [0, 1), so at most n - 1 entries are <= u: the index is always an alternative."""
    return np.sum(cum <= u[..., None], axis=-1)


def _cumulative(law: np.ndarray) -> np.ndarray:
    """Cumulative sums of the rows of ``law``, divided by their last entry: it becomes exactly 1 (x / x)."""
    cum = np.cumsum(law, axis=-1)
    return cum / cum[..., -1:]


def draw_schedule(rp: RandomProtocol, rounds: int, rng: np.random.Generator, runs: int | None = None) -> np.ndarray:
    """The alternatives of ``rounds`` rounds (int array (rounds,), or (runs, rounds) with ``runs``).

    Round 0 from ``rp.initial_law``, round t from row ``P[schedule[t-1]]`` (for independent draws
    every row is ``p``). ``rounds`` uniforms per run from ``rng``, drawn as one (runs, rounds) array.
    """
    shape = (rounds,) if runs is None else (runs, rounds)
    u = rng.random(shape)
    if rounds == 0:
        return np.empty(shape, dtype=np.int64)
    u2 = u.reshape(-1, rounds)
    out = np.empty(u2.shape, dtype=np.int64)
    out[:, 0] = _pick(_cumulative(rp.initial_law), u2[:, 0])
    cumP = _cumulative(rp.P)
    if not rp.markov:
        out[:, 1:] = _pick(cumP[0], u2[:, 1:])
    elif u2.shape[0] == 1:  # one chain: plain Python per round (numpy per-call overhead dominates here)
        rows, last = cumP.tolist(), int(out[0, 0])
        for t, u in enumerate(u2[0, 1:].tolist(), start=1):
            last = bisect.bisect_right(rows[last], u)  # the same inverse CDF as _pick
            out[0, t] = last
    else:
        for t in range(1, rounds):
            out[:, t] = _pick(cumP[out[:, t - 1]], u2[:, t])
    return out.reshape(shape)


def check_schedule(rp: RandomProtocol, schedule, rounds: int) -> np.ndarray:
    """A given schedule (``simulate --schedule``) as an int array: a list of ``rounds`` integers in
    ``[0, n_alt)``, each one an alternative that can follow the previous one (InputError otherwise)."""
    if not isinstance(schedule, (list, tuple, np.ndarray)):
        raise InputError("--schedule", schedule, "must be a JSON list of alternative indices")
    items = list(schedule)
    if len(items) != rounds:
        raise InputError("--schedule", f"{len(items)} entries", f"must have one alternative per round ({rounds})")
    for t, x in enumerate(items):
        if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)) or not 0 <= int(x) < rp.n_alt:
            raise InputError(f"--schedule[{t}]", x, f"must be an integer in [0, {rp.n_alt - 1}] (an alternative)")
    s = np.array([int(x) for x in items], dtype=np.int64)
    if rounds and rp.initial_law[s[0]] <= 0:
        raise InputError("--schedule[0]", int(s[0]), "has probability 0 as the first round's alternative")
    for t in range(1, rounds):
        if rp.P[s[t - 1], s[t]] <= 0:
            raise InputError(f"--schedule[{t}]", int(s[t]),
                             f"cannot follow alternative {int(s[t - 1])} (probability 0)")
    return s


def noise_factor(S: np.ndarray) -> np.ndarray:
    """``S^{1/2}``, the PSD square root of a PSD (possibly singular) ``S`` (``L L^T = S``): the factor of
    :func:`numerics.dynamics.noisy.noise_factor`, so a seed draws the same noises whichever LAPACK computes the
    eigenvectors (``V sqrt(Lambda)`` would depend on their signs)."""
    return noisy.noise_factor("noise_covariance", S)


def run_random(agents: Sequence, rp: RandomProtocol, rounds: int, schedule: np.ndarray,
               noise_rng: np.random.Generator | None = None,
               noise: Sequence[np.ndarray | None] | None = None) -> np.ndarray:
    """Run the real agents under ``schedule``: every agent's message before the first round and at the
    end of each round, (rounds + 1, K, d).

    Round t runs the phases of alternative ``schedule[t]`` as ``rounds`` does: in a phase every listed
    agent hears ``sum_j W_ij m_j`` of the messages as they stood at the start of the phase and all
    write at once. With ``noise`` (per agent a covariance or None) and ``noise_rng``, each written
    message gets ``L_i xi`` added (``xi`` standard normal, drawn per speaker in phase order).
    Only ``agent.respond`` is called.
    """
    speaks = [max(alt.speaks_per_round()[i] for alt in rp.alternatives) for i in range(rp.K)]
    rounds = simulate.check_size(agents, rounds, speaks) if rounds else 0
    factors: list[np.ndarray | None] | None = None
    if noise is not None and any(S is not None for S in noise):
        if noise_rng is None:
            raise ValueError("noise needs noise_rng")
        factors = [None if S is None else noise_factor(np.asarray(S, dtype=float)) for S in noise]
    m = np.array(rp.initial, dtype=float)
    out = np.empty((rounds + 1,) + m.shape)
    out[0] = m
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(rounds):
            for phase in rp.alternatives[int(schedule[t])].phases:
                new = [(i, agents[i].respond(simulate.heard(m, row))) for i, row in phase]
                for i, w in new:
                    Li = None if factors is None else factors[i]
                    if Li is not None and noise_rng is not None:
                        w = w + Li @ noise_rng.standard_normal(m.shape[-1])
                    m[i] = w
            out[t + 1] = m
            simulate.require_finite(agents, m, f"round {t}")
    return out


def monte_carlo(Gamma: np.ndarray, H: np.ndarray, b: np.ndarray, steps: Sequence[int], rp: RandomProtocol,
                rounds: int, n_runs: int, seed: int, noise: np.ndarray | None = None) -> np.ndarray:
    """Every agent's message after ``rounds`` rounds in ``n_runs`` independent runs, (n_runs, K, d).

    Each run draws its own schedule (:func:`draw_schedule`, all runs at once) and starts from
    ``rp.initial``; a speaker's answer is ``steps[i]`` GD steps ``w <- w - Gamma_i (H_i w - b_i)`` from
    what it heard (``b_i = H_i w_i*``), plus noise ``L_i xi`` when ``noise`` (K, d, d) is given. Batched
    over runs: per round, the runs drawing alternative k are advanced together.
    """
    rng = np.random.default_rng(seed)
    K, d = b.shape
    sched = draw_schedule(rp, rounds, rng, runs=n_runs)  # (n_runs, rounds)
    A, g = _gd_maps(Gamma, H, b)
    L = None if noise is None else np.stack([noise_factor(S) for S in noise])
    z = np.broadcast_to(rp.initial, (n_runs, K, d)).copy()
    phases = _batched_phases(rp)
    for t in range(rounds):
        for k, alt_phases in enumerate(phases):
            runs = np.flatnonzero(sched[:, t] == k)
            if runs.size == 0 or not alt_phases:
                continue
            z[runs] = _run_alternative(z[runs], alt_phases, A, g, steps, L, rng)
    return z


def round_maps(Gamma: np.ndarray, H: np.ndarray, b: np.ndarray, steps: Sequence[int],
               rp: RandomProtocol) -> tuple[np.ndarray, np.ndarray]:
    """Each alternative's round map ``m -> Phi_k m + psi_k`` read off one round of the real GD agents.

    The agents of :func:`monte_carlo` (noiseless) run one round of alternative k from the zero state
    (``psi_k``, the image of 0) and from each unit state ``e_j`` (``Phi_k e_j = image - psi_k``), all
    ``K d + 1`` probes of all alternatives as one batch. A round is affine in the joint state because
    every answer is ``steps[i]`` affine GD steps from an affine combination of messages, so the probes
    determine it. Returns ``Phi`` (n_alt, K d, K d) and ``psi`` (n_alt, K d) in row-major order of
    (agent, coordinate).
    """
    K, d = b.shape
    n = K * d
    A, g = _gd_maps(Gamma, H, b)
    probes = np.concatenate([np.zeros((1, n)), np.eye(n)]).reshape(n + 1, K, d)
    Phi = np.empty((rp.n_alt, n, n))
    psi = np.empty((rp.n_alt, n))
    for k, alt_phases in enumerate(_batched_phases(rp)):
        out = _run_alternative(probes.copy(), alt_phases, A, g, steps, None, None).reshape(n + 1, n)
        psi[k] = out[0]
        Phi[k] = (out[1:] - out[0]).T  # column j: the image of e_j minus the image of 0
    return Phi, psi


def _gd_maps(Gamma: np.ndarray, H: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One GD step ``w <- w - Gamma (H w - b) = A w + g``: ``A = I - Gamma H`` (K, d, d), ``g = Gamma b`` (K, d)."""
    d = b.shape[-1]
    return np.eye(d) - Gamma @ H, (Gamma @ b[..., None])[..., 0]


def _batched_phases(rp: RandomProtocol) -> list:
    """Per alternative, per phase: the speakers' indices and their dense listening rows."""
    return [[(np.array([i for i, _ in ph]), _dense_rows(ph, rp.K)) for ph in alt.phases] for alt in rp.alternatives]


def _run_alternative(zk: np.ndarray, alt_phases: list, A: np.ndarray, g: np.ndarray, steps: Sequence[int],
                     L: np.ndarray | None, rng: np.random.Generator | None) -> np.ndarray:
    """One round of one alternative on a batch of joint states ``zk`` (runs, K, d), updated in place and
    returned: per phase every speaker hears the start-of-phase messages and takes its GD steps."""
    for speakers, Wrows in alt_phases:
        heard = np.einsum("sj,rjd->rsd", Wrows, zk)  # (runs, speakers, d), the start-of-phase messages
        for s, i in enumerate(speakers):
            w = heard[:, s]
            for _ in range(int(steps[i])):
                w = w @ A[i].T + g[i]
            heard[:, s] = w
        if L is not None and rng is not None:
            heard = heard + np.einsum("sab,rsb->rsa", L[speakers], rng.standard_normal(heard.shape))
        zk[:, speakers] = heard
    return zk


def _dense_rows(phase, K: int) -> np.ndarray:
    """The listening weights of a phase's speakers as a dense (speakers, K) array."""
    rows = np.zeros((len(phase), K))
    for s, (_, row) in enumerate(phase):
        for j, w in row:
            rows[s, j] += float(w)
    return rows
