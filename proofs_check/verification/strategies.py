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


def draw_rounds(draw, names: list[str]) -> list[dict]:
    """1..3 phases, each listener hearing 1..K sources with arbitrary weights (not summing to 1,
    negative, zero); every agent speaks at least once (a phase per silent agent is added)."""
    st, _ = _st()
    K = len(names)
    phases = []
    for _ in range(draw(st.integers(1, 3))):
        listeners = draw(st.lists(st.sampled_from(names), min_size=1, max_size=K, unique=True))
        phase = {}
        for i in listeners:
            phase[i] = _row(draw, names)
        phases.append(phase)
    spoken = {i for ph in phases for i in ph}
    for i in names:
        if i not in spoken:
            phases.append({i: {names[(names.index(i) - 1) % K]: 1.0}})
    return phases


# --- VF of R1-R4: random protocols (a config with ``protocol.random``) --------------------------------
#
# The agents come from :func:`systems` (every geometry kind, rates of one agent near 1 and above); the
# protocol is drawn as data: a family of alternatives (below), a law over them (independent draws or an
# irreducible aperiodic Markov chain, sometimes nearly reducible), optional noise and initial messages.
# Every probability is drawn from arrays that shrink towards 0 (a shrunk law is the uniform one).

# Families of alternatives (issue 26's, and arbitrary phases):
# - "speaker": one alternative per speaker, each a drawn row (weights not summing to 1, negative, zero);
#   with "fixed" rows a speaker always hears the same weighted average (R2's same_average case);
# - "gossip": an alternative per drawn pair, both ends hearing a drawn mix of the pair;
# - "wake_ups": each agent wakes with probability q and answers a drawn row (2^K alternatives);
# - "dropped": the round robin over a channel dropping each message with probability eps (2^K);
# - "last_speaker": the speaker hears the last speaker (alternatives "i hears j", a Markov chain);
# - "phases": 1..3 arbitrary phases per alternative.
# Families with a drawn law may also get a round where nobody speaks.
RANDOM_FAMILIES = ("speaker", "fixed", "gossip", "wake_ups", "dropped", "last_speaker", "phases")
# Probabilities that hug 0 and 1 (q, eps, p of a two-speaker protocol); 0 and 1 make alternatives that
# cannot occur (the parser refuses a config where an agent then never speaks: not an instance).
PROBABILITIES = (0.5, 1e-6, 0.001, 0.999, 1 - 1e-6, 0.0, 1.0)
# How far a law is from uniform: the drawn one mixed with the uniform law with weight ``MIX`` (1:
# uniform; 1e-3: the drawn law, its zero entries become probabilities ~1e-3 / n, near 0).
MIX = (1.0, 0.5, 1e-3)
# A Markov chain's second-moment operator has n_alt (K d)^2 rows (dense eigenvalues in a2ad check): a
# chain above this size is drawn as independent draws instead (K = 3, d = 2 group chat: 216).
MARKOV_MAX_UNKNOWNS = 256
# Noise covariances: none, a number sigma^2 (tiny, unit) or a drawn PSD matrix.
NOISE_LEVELS = (0.0, 1e-6, 1.0)


@functools.cache
def _weight():
    st, _ = _st()
    return st.one_of(st.sampled_from((1.0, 0.5, -1.5)), entries(-1.5, 1.5))


def _row(draw, names: list[str]) -> dict:
    """A listening row: 1..K sources with weights 1, 1/2, -3/2 or in [-1.5, 1.5] (not summing to 1, negative)."""
    st, _ = _st()
    sources = draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names), unique=True))
    return {j: draw(_weight()) for j in sources}


@functools.cache
def _probabilities():
    st, _ = _st()
    return st.one_of(st.sampled_from(PROBABILITIES), entries(0.0, 1.0))


def _probability(draw) -> float:
    return draw(_probabilities())


def _law(draw, n: int) -> np.ndarray:
    """A law over n alternatives: drawn entries in [0, 1] (exact zeros shrink in), normalised, mixed
    with the uniform law by a drawn weight (an all-zero draw is the uniform law)."""
    st, _ = _st()
    w = draw(arrays((n,), 0.0, 1.0))
    mix = draw(st.sampled_from(MIX))
    w = w / w.sum() if w.sum() > 0 else np.full(n, 1.0 / n)
    return (1 - mix) * w + mix / n


def _subsets(K: int) -> list[tuple[int, ...]]:
    return [tuple(i for i in range(K) if m >> i & 1) for m in range(2 ** K)]


def _subset_law(x: float, K: int) -> list[float]:
    """Each of K events independently with probability x: the law of each subset (in :func:`_subsets` order)."""
    return [float(x ** len(s) * (1 - x) ** (K - len(s))) for s in _subsets(K)]


def _family(draw, family: str, names: list[str]) -> tuple[list[list[dict]], list[float] | None, list[str] | None]:
    """``(alternatives, probabilities or None, labels or None)``: each alternative a ``rounds`` list.
    ``None`` probabilities: a law is drawn by the caller; labels: the alternatives' names (a chain)."""
    st, _ = _st()
    K = len(names)
    if family in ("speaker", "fixed"):
        rows = {i: _row(draw, names) for i in names}
        speakers = draw(st.lists(st.sampled_from(names), min_size=K, max_size=K + 2))
        speakers = names + speakers[K:]  # every agent speaks; extra alternatives repeat a speaker
        return [[{i: rows[i] if family == "fixed" else _row(draw, names)}] for i in speakers], None, None
    if family == "gossip":
        ring = [(names[k], names[(k + 1) % K]) for k in range(K if K > 2 else 1)]
        pairs = [(x, y) for a, x in enumerate(names) for y in names[a + 1:]]
        edges = draw(st.one_of(st.just(ring), st.lists(st.sampled_from(pairs), min_size=1, max_size=len(pairs),
                                                      unique=True)))
        alts = []
        for x, y in edges:
            a = draw(st.one_of(st.just(0.5), entries(-0.5, 1.5)))
            b = draw(st.one_of(st.just(round(1 - a, 12)), entries(-0.5, 1.5)))  # often summing to 1
            alts.append([{x: {x: b, y: a}, y: {y: b, x: a}}])
        return alts, None, None
    if family == "wake_ups":
        q = _probability(draw)
        # each awake agent answers a drawn row, or hears only itself with a drawn weight (R1's agent waking
        # with probability q: a weight beyond 1 in modulus overshoots, mean rate < 1 < mean-square rate)
        alone = draw(st.booleans())
        rows = {i: {i: draw(_weight())} if alone else _row(draw, names) for i in names}
        return ([[{names[i]: rows[names[i]] for i in s}] if s else [] for s in _subsets(K)],
                _subset_law(q, K), None)
    if family == "dropped":
        eps = _probability(draw)
        phases = [{names[i]: {names[(i - 1) % K]: 1.0}} for i in range(K)]
        # subset s of delivered messages: the phases whose message arrives, in order
        return [[phases[i] for i in s] for s in _subsets(K)], _subset_law(1 - eps, K), None
    if family == "last_speaker":
        pairs = [(i, j) for i in names for j in names if i != j]
        return [[{i: {j: 1.0}}] for i, j in pairs], None, [f"{i} hears {j}" for i, j in pairs]
    # "phases": arbitrary alternatives
    return [draw_rounds(draw, names) for _ in range(draw(st.integers(1, 3)))], None, None


def _chain(draw, n: int, pairs: list[tuple[str, str]] | None) -> np.ndarray:
    """A row-stochastic P over n alternatives. The group chat (``pairs``: alternative k is "i hears j"):
    after "i hears j" the next speaker l != i hears i, with drawn weights; otherwise every row a drawn
    law, or a sticky one (``(1 - e) I + e law``, e near 0: a nearly reducible chain)."""
    st, _ = _st()
    if pairs is not None:
        P = np.zeros((n, n))
        for a, (i, _j) in enumerate(pairs):
            nxt = [b for b, (l, lj) in enumerate(pairs) if lj == i and l != i]
            P[a, nxt] = _law(draw, len(nxt))
        return P
    P = np.stack([_law(draw, n) for _ in range(n)])
    if draw(st.booleans()):
        e = draw(st.sampled_from((1e-3, 0.1, 0.9)))
        P = (1 - e) * np.eye(n) + e * P
    return P / P.sum(axis=1, keepdims=True)


def _random_protocol(alts: list, p: np.ndarray | None, P: np.ndarray | None, labels: list[str] | None,
                     initial: str | None) -> dict:
    if P is None:
        assert p is not None
        return {"random": [{"probability": float(x), "rounds": a} for x, a in zip(p, alts)]}
    labels = labels or [f"alt {k}" for k in range(len(alts))]
    out: dict = {"random": [{"name": s, "rounds": a, "next": {labels[l]: float(P[k, l]) for l in range(len(alts))
                                                               if P[k, l] > 0}}
                            for k, (s, a) in enumerate(zip(labels, alts))]}
    if initial is not None:  # the first round's alternative given (else the stationary law)
        out["initial"] = {initial: 1.0}
    return out


def gram(R: np.ndarray) -> list:
    """``R R^T`` as a JSON list (a PSD matrix from a drawn one)."""
    return (R @ R.T).tolist()


@functools.cache
def _noise(d: int):
    st, _ = _st()
    return st.one_of(st.sampled_from(NOISE_LEVELS), arrays((d, d), -1.0, 1.0).map(gram))


def random_configs(K: tuple[int, int] = (2, 4), families=RANDOM_FAMILIES, markov: bool = True, noise: bool = True,
                   two_speakers: bool = False, max_unknowns: int = MARKOV_MAX_UNKNOWNS):
    """Configs with ``protocol.random`` (JSON-like dicts), as ``a2ad check`` reads them.

    ``families``: the alternatives drawn (:data:`RANDOM_FAMILIES`); ``markov``: whether a chain may be
    drawn (else independent draws only); ``noise``: whether agents may add noise; ``two_speakers``:
    R4's protocol (K = 2, A hears B or B hears A, probability ``p`` hugging 0 and 1). A chain whose
    second-moment system exceeds ``max_unknowns`` unknowns is drawn as independent draws.
    """
    st, _ = _st()
    agents = systems(K=(2, 2) if two_speakers else K, rate_band=0.0)

    @st.composite
    def build(draw):
        raw = draw(agents)
        names = [a["name"] for a in raw["agents"]]
        d = len(raw["initial_message"])
        if two_speakers:
            p = _probability(draw)
            proto = _random_protocol([[{"A": {"B": 1.0}}], [{"B": {"A": 1.0}}]], np.array([p, 1 - p]), None, None,
                                     None)
        else:
            family = draw(st.sampled_from([f for f in families if markov or f != "last_speaker"]))
            if family == "last_speaker" and len(names) == 2:
                family = "speaker"  # two agents answering each other alternate: a periodic chain
            alts, p, labels = _family(draw, family, names)
            if p is None and labels is None and draw(st.booleans()):
                alts = alts + [[]]  # and a round where nobody speaks (it keeps every message in place)
            n = len(alts)
            chain = family == "last_speaker" or (markov and p is None and draw(st.booleans()))
            if chain and n * (len(names) * d) ** 2 > max_unknowns:
                chain, labels = False, None
            if chain:
                P = _chain(draw, n, None if labels is None else [(i, j) for i in names for j in names if i != j])
                first = draw(st.one_of(st.none(), st.integers(0, n - 1)))
                labels = labels or [f"alt {k}" for k in range(n)]
                proto = _random_protocol(alts, None, P, labels, None if first is None else labels[first])
            else:
                proto = _random_protocol(alts, np.asarray(p) if p is not None else _law(draw, n), None, None, None)
        if draw(st.booleans()):  # every agent's own first message (else all start at initial_message)
            proto["initial_messages"] = {i: draw(arrays((d,), -3.0, 3.0)).tolist() for i in names}
        out = {**raw, "protocol": proto}
        if noise and draw(st.booleans()):
            out["agents"] = [{**a, "noise": draw(_noise(d))} if draw(st.booleans()) else a for a in raw["agents"]]
        return out

    return build()
