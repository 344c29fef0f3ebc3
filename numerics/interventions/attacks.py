"""Attack prompts (docs/theory.rst): full-rank (C9), rank-one (C10), steering (C11).

Each returns an :class:`AttackPrompt` whose ``X``, ``y`` plug into a CONFIG.json
agent entry as ``{"prompt": {"X": X, "y": y}, "preconditioner": Gamma_A}``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.agents.gd import GDAgent
from numerics.agents.prompts import from_prompt
from numerics.dynamics import closed_forms
from numerics.io import validate
from numerics.io.errors import InputError


@dataclass(frozen=True)
class AttackPrompt:
    X: np.ndarray
    y: np.ndarray
    w_A: np.ndarray  # the attacker's target (its prompt's least-squares solution)
    rho: float = 0.0  # rho(M_A M_B) of the attacked pair (0 for an exact attacker: M_A = 0, C9 and C11)
    unreachable: float = 0.0  # C11: ||v* - p|| left by a least-squares steering target

    def agent(self, Gamma_A, name: str = "A") -> GDAgent:
        """The attacker: a GD agent on this prompt with preconditioner ``Gamma_A``."""
        return GDAgent(name, from_prompt(self.X, self.y, name=name), Gamma_A)


def _orthonormal_columns(rng: np.random.Generator, N: int, d: int) -> np.ndarray:
    Q, R = np.linalg.qr(rng.standard_normal((N, d)))
    return Q * np.sign(np.diag(R))


def full_rank_prompt(Gamma_A, w_A, N: int, rng: np.random.Generator) -> AttackPrompt:
    """C9: ``X_A = sqrt(N) U Gamma_A^{-1/2}``, ``y_A = X_A w_A*`` gives ``K_A = I``, ``M_A = 0``.

    Hypotheses: ``Gamma_A`` SPD, ``N >= d``.
    """
    G = validate.spd("Gamma_A", Gamma_A)
    d = G.shape[0]
    w = validate.vector("w_A*", w_A, d)
    N = validate.positive_int("N", N)
    if N < d:
        raise InputError("N", N, f"the full-rank attack needs N >= d = {d} examples (C9)")
    from scipy.linalg import sqrtm  # scipy loads in ~0.2 s: only when an attack is built

    root_inv = np.real(sqrtm(np.linalg.inv(G)))
    X = np.sqrt(N) * _orthonormal_columns(rng, N, d) @ root_inv
    return AttackPrompt(X=X, y=X @ w, w_A=w, rho=0.0)


def rank_one_prompt(Gamma_A, M_B, w_A, w_B, N: int = 1) -> AttackPrompt:
    """C10: every row ``x = Gamma_A^{-1} g / sqrt(g^T Gamma_A^{-1} g)`` with ``g = K_B Delta``.

    Then ``K_A g = g``, so ``M_A K_B Delta = 0`` and ``e_A = 0`` provided
    ``rho(M_A M_B) < 1``, which is checked and reported (InputError otherwise).
    """
    G = validate.spd("Gamma_A", Gamma_A)
    d = G.shape[0]
    M_B = validate.square("M_B", M_B, d)
    w_A = validate.vector("w_A*", w_A, d)
    w_B = validate.vector("w_B*", w_B, d)
    N = validate.positive_int("N", N)
    g = (np.eye(d) - M_B) @ (w_B - w_A)
    if np.linalg.norm(g) <= 1e-14 * max(1.0, float(np.linalg.norm(w_B - w_A))):
        raise InputError("g = K_B Delta", g, "is zero: nothing to cancel (A is already exact, C8)")
    Gi_g = np.linalg.solve(G, g)
    x = Gi_g / np.sqrt(g @ Gi_g)
    X = np.tile(x, (N, 1))
    M_A = np.eye(d) - G @ (X.T @ X / N)
    rho = float(closed_forms.spectral_radius(M_A @ M_B))
    if rho >= 1:
        raise InputError("rho(M_A M_B)", rho, "the rank-one attack prompt makes the pair diverge (C10 needs rho < 1)")
    return AttackPrompt(X=X, y=X @ w_A, w_A=w_A, rho=rho)


def steering_target(M_B, w_B, p) -> tuple[np.ndarray, float]:
    """C11: ``w_A* = M_B^{-1}(p - K_B w_B*)`` puts B's equilibrium at ``p`` (with ``M_A = 0``).

    When ``M_B`` is singular the least-squares choice is returned with the
    unreachable residual ``||M_B w_A* + K_B w_B* - p||``.
    """
    M_B = validate.square("M_B", M_B)
    d = M_B.shape[0]
    w_B = validate.vector("w_B*", w_B, d)
    p = validate.vector("p", p, d)
    rhs = p - (np.eye(d) - M_B) @ w_B
    w_A, *_ = np.linalg.lstsq(M_B, rhs, rcond=None)
    residual = float(np.linalg.norm(M_B @ w_A - rhs))
    return w_A, residual


def steering_prompt(Gamma_A, M_B, w_B, p, N: int, rng: np.random.Generator) -> AttackPrompt:
    """C11 with the C9 full-rank prompt, so that ``M_A = 0``."""
    w_A, residual = steering_target(M_B, w_B, p)
    out = full_rank_prompt(Gamma_A, w_A, N, rng)
    return AttackPrompt(X=out.X, y=out.y, w_A=w_A, rho=0.0, unreachable=residual)


KINDS = ("full", "rank-one", "steer")


@dataclass(frozen=True)
class AttackPlan:
    """An attack on a two-agent config: the attacker's new CONFIG.json entry and its prompt."""

    kind: str
    attacker: str
    victim: str
    entry: dict  # the attacker's agent entry, ready to replace its old one
    prompt: AttackPrompt


def plan(system, kind: str, point=None, N: int | None = None, *, seed: int, attacker: int) -> AttackPlan:
    """Build the ``kind`` attack (C9 ``full``, C10 ``rank-one``, C11 ``steer`` to ``point``) for agent ``attacker``.

    The attacker keeps its preconditioner (which must be SPD) and target ``w_A*``; the
    victim is the other agent of a two-agent ``system`` (:class:`numerics.protocol.config.System`).
    """
    if kind not in KINDS:
        raise InputError("--kind", kind, f"must be one of {list(KINDS)}")
    if len(system.agents) != 2:
        raise InputError("number of agents", len(system.agents),
                         "an attack is defined for two agents (docs/theory.rst)")
    a, b = system.agents[attacker], system.agents[1 - attacker]
    d, rng = a.d, np.random.default_rng(seed)
    Gamma_A = validate.spd(f"{a.name}.preconditioner (Gamma_A)", a.Gamma)
    if kind == "full":
        prompt = full_rank_prompt(Gamma_A, a.w_star, d if N is None else N, rng)
    elif kind == "rank-one":
        prompt = rank_one_prompt(Gamma_A, b.M, a.w_star, b.w_star, 1 if N is None else N)
    else:
        if point is None:
            raise InputError("--point", None, "is required for --kind steer (the equilibrium to impose on the victim)")
        prompt = steering_prompt(Gamma_A, b.M, b.w_star, point, d if N is None else N, rng)
    entry = {"name": a.name, "prompt": {"X": prompt.X.tolist(), "y": prompt.y.tolist()},
             "preconditioner": Gamma_A.tolist(), "steps_per_turn": 1}
    return AttackPlan(kind, a.name, b.name, entry, prompt)


# G = d m_V* / d w_A* (a steering target's sensitivity, under a protocol or a random one) with a
# condition number above this amplifies the float64 rounding of the fixed point by more than 1e-6
# relative: the victim cannot be placed reliably.
MAX_SENSITIVITY_COND = 1e10


def victim_index(names, attacker: int, victim: str | None, required: bool) -> int | None:
    """The victim's index: the other agent of two, else ``victim`` by name (``required``: InputError without one)."""
    if victim is None:
        if len(names) == 2:
            return 1 - attacker
        if required:
            raise InputError("--victim", None, f"is required with {len(names)} agents (one of {names})")
        return None
    if victim not in names:
        raise InputError("--victim", victim, f"is not an agent of the config; agents: {names}")
    if names.index(victim) == attacker:
        raise InputError("--victim", victim, "is the attacker itself")
    return names.index(victim)
