"""Hypothesis strategies for V6: dimensions 1..8, full-rank, rank-deficient and
ill-conditioned geometries, misalignment scale and angle.

Examples are ``PairExample`` dataclasses holding plain arrays; the random
matrices come from a drawn seed so shrinking stays cheap.

The falsifiers (VF, :mod:`proofs_check.verification.falsifiers`) use :func:`systems` below instead:
configs as ``a2ad check`` reads them, every matrix a shrinking array strategy (no drawn seed).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from numerics.agents import random_systems

KINDS = ("full", "rank_deficient", "ill_conditioned")
# Pairs slower than this need too many turns to converge inside a property check.
RHO_CAP = 0.95


@dataclass(frozen=True)
class PairExample:
    Gamma: np.ndarray  # (2, d, d)
    H: np.ndarray  # (2, d, d)
    w_star: np.ndarray  # (2, d)
    kinds: tuple[str, str]
    scale: float
    angle: float

    @property
    def Delta(self) -> np.ndarray:
        return self.w_star[1] - self.w_star[0]


def geometry(rng: np.random.Generator, d: int, kind: str) -> np.ndarray:
    if kind == "rank_deficient" and d > 1:
        return random_systems.psd(rng, d, rank=int(rng.integers(1, d)), cond=10.0)
    if kind == "ill_conditioned":
        return random_systems.spd(rng, d, cond=10 ** rng.uniform(4, 8))
    return random_systems.spd(rng, d, cond=10 ** rng.uniform(0, 2))


def preconditioner(rng: np.random.Generator, H: np.ndarray, kind: str) -> np.ndarray:
    """Scalar step for well-conditioned prompts; a near-inverse for ill-conditioned ones
    (so the pair still contracts while H itself is ill-conditioned)."""
    eta = rng.uniform(0.2, 1.8)
    if kind == "ill_conditioned":
        return eta * np.linalg.inv(H)
    return eta / np.max(np.linalg.eigvalsh(H)) * np.eye(H.shape[0])


def targets(rng: np.random.Generator, d: int, scale: float, angle: float) -> np.ndarray:
    """``w_A*`` of norm 1 and ``w_B*`` at the given angle from it, of norm ``scale``."""
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    if d == 1:
        return np.stack([u, scale * u * (1 if angle < np.pi / 2 else -1)])
    v = rng.standard_normal(d)
    v -= (v @ u) * u
    v /= np.linalg.norm(v)
    return np.stack([u, scale * (np.cos(angle) * u + np.sin(angle) * v)])


def pair_examples():
    from hypothesis import assume, strategies as st

    @st.composite
    def build(draw):
        d = draw(st.integers(1, 8))
        kinds = (draw(st.sampled_from(KINDS)), draw(st.sampled_from(KINDS)))
        scale = draw(st.floats(0.0, 10.0))
        angle = draw(st.floats(0.0, float(np.pi)))
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        H = np.stack([geometry(rng, d, k) for k in kinds])
        Gamma = np.stack([preconditioner(rng, h, k) for h, k in zip(H, kinds)])
        M = np.eye(d) - Gamma @ H
        assume(np.max(np.abs(np.linalg.eigvals(M[0] @ M[1]))) < RHO_CAP)
        return PairExample(Gamma, H, targets(rng, d, scale, angle), kinds, scale, angle)

    return build()


# --- VF: falsifier instances, as configs ``a2ad check`` reads ----------------------------------------
#
# Every matrix and vector is a hypothesis.extra.numpy array (it shrinks entry by entry towards 0:
# a counterexample shrinks to zero entries, rank deficiency and small dimension), never a drawn
# seed. Entries are rounded to ROUND_DIGITS decimals: a shrunk counterexample prints as short
# numbers, exact zeros are frequent (rank-deficient, decoupled and singular geometries) and no
# subnormal entry turns a scale 1 / lambda_max(H) into an overflow.

ROUND_DIGITS = 4
ENTRY = 2.0  # entries of drawn matrices and vectors in [-ENTRY, ENTRY]
FALSIFY_MAX_D = 3  # dimensions 1..3: non-commuting products and complex eigenvalues need only d >= 2
# Steps near the boundaries: eta / lambda_max(H) with eta near 0 or 2 puts an eigenvalue of M near 1
# or -1 (rates near 1); eta = 2.6 puts one at -1.6 (rho(M) > 1, issue 22's C12 instance); eta = 1 with
# Gamma = H^+ gives M = 0 on the range of H (exact attackers).
ETAS = (1.0, 0.001, 1.999, 0.5, 1.5, 2.6)
# Preconditioners: scalar; non-symmetric I + S (non-commuting transfers, complex eigenvalues);
# SPD; skewed SPD (far from H's eigenbasis: non-normal transfers, ||M^s|| growing before it decays);
# H^+ (M = 0 on the range of H).
GAMMA_KINDS = ("scalar", "general", "spd", "skewed", "inverse")
# How the agents relate: independent, commuting (a shared eigenbasis, C5), one shared Gamma (C6).
PAIR_MODES = ("independent", "commuting", "shared")


def _st():
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
    return st, hnp


def rounded(x: float) -> float:
    return round(x, ROUND_DIGITS) + 0.0  # + 0.0: no -0.0 in a printed counterexample


# Strategies are built once per signature (functools.cache): Hypothesis labels a strategy built
# inside a draw from its source, and rebuilding them per draw cost ~0.1 s per example.
@functools.cache
def entries(lo: float = -ENTRY, hi: float = ENTRY):
    st, _ = _st()
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False).map(rounded)


@functools.cache
def arrays(shape, lo: float = -ENTRY, hi: float = ENTRY):
    """A float64 array strategy with rounded entries in ``[lo, hi]`` (shrinks towards 0)."""
    _, hnp = _st()
    return hnp.arrays(np.float64, shape, elements=entries(lo, hi))


def _sym(A: np.ndarray) -> np.ndarray:
    return (A + A.T) / 2


def _orthogonal(A: np.ndarray) -> np.ndarray:
    """An orthogonal matrix from a drawn one (Q of its QR; the identity if it is singular)."""
    d = A.shape[0]
    if abs(np.linalg.det(A)) < 1e-3:
        return np.eye(d)
    Q, _ = np.linalg.qr(A)
    return Q


def draw_geometry(draw, d: int, basis: np.ndarray | None = None) -> np.ndarray:
    """A PSD ``H``: ``X^T X / n`` from a drawn ``X`` with ``n`` rows (``n < d``: rank-deficient), or
    ``Q diag(lambda) Q^T`` in a given orthogonal basis; optionally one direction scaled by ``10^-k``
    (ill-conditioned, up to cond ~1e6 times the drawn one). ``draw``: a composite's draw (helpers
    draw directly: a composite built inside a draw costs Hypothesis a source inspection per call)."""
    st, _ = _st()
    if basis is not None:
        lam = draw(arrays((d,), 0.0, 2 * ENTRY))
        H = basis @ np.diag(lam) @ basis.T
    else:
        n = draw(st.integers(1, d + 1))
        X = draw(arrays((n, d)))
        H = X.T @ X / n
    k = draw(st.sampled_from((0, 0, 3, 6)))
    if k and d > 1:
        S = np.eye(d)
        S[-1, -1] = 10.0 ** (-k / 2)
        H = S @ H @ S
    return _sym(H)


def _lam_max(H: np.ndarray) -> float:
    return float(np.max(np.linalg.eigvalsh(H))) if H.size else 0.0


def draw_preconditioner(draw, H: np.ndarray, kind: str) -> np.ndarray:
    """``Gamma`` of one of :data:`GAMMA_KINDS`, scaled by ``eta / lambda_max(H)``."""
    st, _ = _st()
    d = H.shape[0]
    eta = draw(st.one_of(st.sampled_from(ETAS), entries(0.0, 2.0)))
    lam = _lam_max(H)
    scale = eta / lam if lam > 1e-6 else eta
    if kind == "inverse":
        return eta * np.linalg.pinv(H) if lam > 1e-6 else eta * np.eye(d)
    if kind == "general":
        return scale * (np.eye(d) + draw(arrays((d, d), -1.0, 1.0)))
    if kind == "spd":
        R = draw(arrays((d, d), -1.0, 1.0))
        return scale * (np.eye(d) + R @ R.T) / (1 + _lam_max(R @ R.T))
    if kind == "skewed":  # SPD V V^T with V = I + 10 triu(R): condition up to ~1e4, badly aligned with H
        V = np.eye(d) + 10 * np.triu(draw(arrays((d, d), -1.0, 1.0)), 1)
        return scale * V @ V.T / _lam_max(V @ V.T)
    return scale * np.eye(d)


def agent_json(name: str, H: np.ndarray, Gamma: np.ndarray, w: np.ndarray, steps: int = 1) -> dict:
    return {"name": name, "geometry": H.tolist(), "target": w.tolist(), "preconditioner": Gamma.tolist(),
            "steps_per_turn": int(steps)}


def round_rate(raw: dict) -> float:
    """``rho`` of one round-robin round of the config's agents (their ``steps_per_turn`` included)."""
    J = None
    for a in raw["agents"]:
        H, G = np.asarray(a["geometry"]), np.asarray(a["preconditioner"])
        M = np.linalg.matrix_power(np.eye(H.shape[0]) - G @ H, a["steps_per_turn"])
        J = M if J is None else M @ J
    assert J is not None
    return float(np.max(np.abs(np.linalg.eigvals(J))))


def systems(K: tuple[int, int] = (2, 2), max_steps: int = 3, modes=PAIR_MODES, kinds=GAMMA_KINDS,
            rate_band: float = 0.01):
    """Configs (JSON-like dicts) of ``K`` agents in dimension 1..:data:`FALSIFY_MAX_D`.

    A round whose rate lies within ``rate_band`` of 1 (but not exactly 1, a boundary the
    hypotheses reject) is redrawn: its simulation outlasts what one example can afford.
    """
    from hypothesis import assume

    st, _ = _st()

    @st.composite
    def build(draw):
        k = draw(st.integers(*K))
        d = draw(st.integers(1, FALSIFY_MAX_D))
        mode = draw(st.sampled_from(modes))
        basis = _orthogonal(draw(arrays((d, d)))) if mode == "commuting" else None
        agents = []
        for i in range(k):
            H = draw_geometry(draw, d, basis)
            if mode == "shared" and i:
                G = np.asarray(agents[0]["preconditioner"])
            else:
                kind = draw(st.sampled_from(("scalar", "inverse") if mode == "commuting" else kinds))
                G = draw_preconditioner(draw, H, kind)
            steps = draw(st.integers(1, max_steps))
            agents.append(agent_json(chr(ord("A") + i), H, G, draw(arrays((d,), -3.0, 3.0)), steps))
        raw = {"schema_version": 1, "agents": agents, "initial_message": draw(arrays((d,), -3.0, 3.0)).tolist()}
        with np.errstate(all="ignore"):
            r = round_rate(raw)
        assume(not (np.isfinite(r) and 0 < abs(r - 1) < rate_band))
        return raw

    return build()
