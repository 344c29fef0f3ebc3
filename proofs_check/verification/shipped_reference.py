"""Independent references for the shipped-path methods: configs written as a user writes them, and
their answers computed without the package.

An :class:`Instance` holds GD agents (geometry ``H``, target ``w*``, preconditioner ``Gamma``,
``steps_per_turn``) and an optional protocol, every number a short decimal, so the JSON config
is exact and mpmath reads the same values. The references only iterate the GD step
``w <- w - Gamma (H w - H w*)`` under the protocol's phases, written here from the README's
semantics (no package code): a round is simulated, the round map is probed column by column
from simulated rounds (brute force), the rate is the spectral radius of that probed matrix, and
the fixed point is where the simulated rounds settle (float64) or the solve of the probed
affine map (mpmath, for ``--precision``). Package extension (issue 22, item 4).
"""
from __future__ import annotations

from dataclasses import dataclass

import mpmath as mp
import numpy as np

__all__ = ["Instance", "random_instance", "simulate_rounds", "probed_round_map", "rate", "settled",
           "precise_reference"]

# Inputs rounded to this many decimals: the JSON text is the exact value, in float64 and in mpmath.
DECIMALS = 3


def _dec(x) -> np.ndarray:
    return np.round(np.asarray(x, dtype=float), DECIMALS)


@dataclass(frozen=True)
class Instance:
    """K GD agents, optionally under a protocol (``rounds`` as in CONFIG.json: listener -> source -> weight)."""

    names: tuple[str, ...]
    H: np.ndarray  # (K, d, d)
    target: np.ndarray  # (K, d)
    Gamma: np.ndarray  # (K, d, d)
    scalar_gamma: tuple[bool, ...]  # written as a number in the config
    steps: tuple[int, ...]
    initial: np.ndarray  # (d,) initial_message
    rounds: tuple[tuple[tuple[str, tuple[tuple[str, float], ...]], ...], ...] | None = None

    @property
    def K(self) -> int:
        return len(self.names)

    @property
    def d(self) -> int:
        return int(self.H.shape[-1])

    def config(self) -> dict:
        """The CONFIG.json object a user would write."""
        agents = []
        for k, n in enumerate(self.names):
            g = float(self.Gamma[k, 0, 0]) if self.scalar_gamma[k] else self.Gamma[k].tolist()
            agents.append({"name": n, "geometry": self.H[k].tolist(), "target": self.target[k].tolist(),
                           "preconditioner": g, "steps_per_turn": int(self.steps[k])})
        out: dict = {"schema_version": 1, "agents": agents, "initial_message": self.initial.tolist()}
        if self.rounds is not None:
            out["protocol"] = {"rounds": [{lst: dict(row) for lst, row in phase} for phase in self.rounds]}
        return out

    def phases(self) -> list[list[tuple[int, list[tuple[int, float]]]]]:
        """Phases as index lists; without a protocol, the round robin: agent i hears agent i - 1."""
        idx = {n: k for k, n in enumerate(self.names)}
        if self.rounds is None:
            return [[(i, [((i - 1) % self.K, 1.0)])] for i in range(self.K)]
        return [[(idx[lst], [(idx[s], float(w)) for s, w in row]) for lst, row in phase] for phase in self.rounds]


def random_instance(rng: np.random.Generator, K: int, d: int, protocol: bool, max_steps: int = 3) -> Instance:
    """Random agents (SPD geometry, scalar or matrix preconditioner, 1..max_steps steps) and, when
    ``protocol``, random phases: several listeners per phase, 1..K sources, weights of any sign whose
    rows need not sum to 1 (a listener may hear itself)."""
    names = tuple("ABCDEFGH"[:K])
    H, Gam, scal = [], [], []
    for _ in range(K):
        A = rng.standard_normal((d, d))
        h = _dec(A @ A.T / d + 0.2 * np.eye(d))
        h = np.triu(h) + np.triu(h, 1).T
        lam = float(np.max(np.linalg.eigvalsh(h)))
        g = float(_dec(rng.uniform(0.3, 1.2) / lam))
        if rng.random() < 0.5:
            Gam.append(g * np.eye(d))
            scal.append(True)
        else:  # a matrix preconditioner, not symmetric
            Gam.append(_dec(g * (np.eye(d) + 0.2 * rng.standard_normal((d, d)))))
            scal.append(False)
        H.append(h)
    target = _dec(rng.standard_normal((K, d)))
    rounds = None
    if protocol:
        phases = []
        for _ in range(int(rng.integers(1, 4))):
            listeners = [n for n in names if rng.random() < 0.6] or [names[int(rng.integers(K))]]
            phase = []
            for lst in listeners:
                sources = [n for n in names if rng.random() < 0.5] or [names[int(rng.integers(K))]]
                phase.append((lst, tuple((s, float(_dec(rng.uniform(-0.4, 1.0)))) for s in sources)))
            phases.append(tuple(phase))
        rounds = tuple(phases)
    steps = tuple(int(s) for s in rng.integers(1, max_steps + 1, K))
    return Instance(names, np.array(H), target, np.array(Gam), tuple(scal), steps, _dec(rng.standard_normal(d)),
                    rounds)


def _gd(inst: Instance, i: int, w: np.ndarray) -> np.ndarray:
    H, G, ws = inst.H[i], inst.Gamma[i], inst.target[i]
    for _ in range(inst.steps[i]):
        w = w - G @ (H @ w - H @ ws)
    return w


def _round(inst: Instance, z: np.ndarray, phases) -> np.ndarray:
    z = z.copy()
    for phase in phases:
        heard = [(i, sum((w * z[j] for j, w in row), np.zeros(inst.d))) for i, row in phase]
        for i, m in heard:  # every listener read the start-of-phase messages; all write at once
            z[i] = _gd(inst, i, m)
    return z


def simulate_rounds(inst: Instance, turns: int, start: np.ndarray | None = None) -> np.ndarray:
    """Every agent's message at the end of each of ``turns`` rounds, (turns, K, d), from the initial message."""
    phases = inst.phases()
    z = np.tile(inst.initial, (inst.K, 1)) if start is None else np.array(start, dtype=float)
    out = np.empty((turns, inst.K, inst.d))
    for t in range(turns):
        z = _round(inst, z, phases)
        out[t] = z
    return out


def probed_round_map(inst: Instance) -> tuple[np.ndarray, np.ndarray]:
    """``(Phi, r)`` of one simulated round, probed: ``r`` = round(0), column k = round(e_k) - r."""
    phases = inst.phases()
    n = inst.K * inst.d
    r = _round(inst, np.zeros((inst.K, inst.d)), phases).reshape(n)
    Phi = np.empty((n, n))
    for k in range(n):
        e = np.zeros(n)
        e[k] = 1.0
        Phi[:, k] = _round(inst, e.reshape(inst.K, inst.d), phases).reshape(n) - r
    return Phi, r


def rate(inst: Instance) -> float:
    """Spectral radius of the probed round map (eigenvalues by LAPACK, not the package)."""
    Phi, _ = probed_round_map(inst)
    return float(np.max(np.abs(np.linalg.eigvals(Phi))))


def settled(inst: Instance, rho: float, floor: float = 1e-15) -> np.ndarray:
    """Where the simulated rounds settle: run until ``rho^t < floor`` (needs ``rho < 1``), (K, d)."""
    turns = int(np.ceil(np.log(floor) / np.log(max(rho, 1e-3)))) + 20
    return simulate_rounds(inst, turns)[-1]


def precise_reference(inst: Instance, dps: int) -> tuple[mp.mpf, list[mp.matrix]]:
    """``(rho, z)`` at ``dps`` digits: the probed round map in mpmath from the decimal inputs (the JSON text),
    its spectral radius (mpmath eig) and the fixed point solving ``(I - Phi) z = r`` (needs rho < 1)."""
    K, d = inst.K, inst.d
    with mp.workdps(dps):
        val = lambda x: mp.mpf(repr(float(x)))  # noqa: E731 - the decimal text the config holds
        H = [mp.matrix([[val(x) for x in row] for row in inst.H[k]]) for k in range(K)]
        G = [mp.matrix([[val(x) for x in row] for row in inst.Gamma[k]]) for k in range(K)]
        ws = [mp.matrix([val(x) for x in inst.target[k]]) for k in range(K)]
        phases = [[(i, [(j, mp.mpf(repr(w))) for j, w in row]) for i, row in phase] for phase in inst.phases()]

        def one(z: list) -> list:
            z = list(z)
            for phase in phases:
                new = []
                for i, row in phase:
                    m = mp.matrix(d, 1)
                    for j, w in row:
                        m += w * z[j]
                    for _ in range(inst.steps[i]):
                        m = m - G[i] * (H[i] * m - H[i] * ws[i])
                    new.append((i, m))
                for i, m in new:
                    z[i] = m
            return z

        zero = [mp.matrix(d, 1) for _ in range(K)]
        r0 = one(zero)
        flat = lambda z: [z[k][a] for k in range(K) for a in range(d)]  # noqa: E731
        r = mp.matrix(flat(r0))
        n = K * d
        Phi = mp.matrix(n, n)
        for col in range(n):
            e = [mp.matrix(d, 1) for _ in range(K)]
            e[col // d][col % d] = mp.mpf(1)
            c = flat(one(e))
            for row in range(n):
                Phi[row, col] = c[row] - r[row]
        rho = max(abs(x) for x in mp.eig(Phi, left=False, right=False))
        z = mp.lu_solve(mp.eye(n) - Phi, r)
        return rho, [mp.matrix([z[k * d + a] for a in range(d)]) for k in range(K)]

