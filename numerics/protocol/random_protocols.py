"""Seeded random protocols and agents, for witnesses (V4, V6), tests and benchmarks.

A random protocol has 1..``max_phases`` phases; each phase lists a random non-empty set
of agents, each listening to a random set of sources with one of four kinds of weights:
``average`` (equal, summing to 1), ``convex`` (random, summing to 1), ``anchored``
(weight on its own last message plus the rest), ``any`` (arbitrary finite reals).
Every agent is made to speak at least once per round.
"""
from __future__ import annotations

import numpy as np

from numerics.agents import random_systems
from numerics.agents.gd import GDAgent
from numerics.agents.prompts import from_geometry
from numerics.protocol import spec as proto
from numerics.protocol.config import System

WEIGHT_KINDS = ("average", "convex", "anchored", "any")


def rounds(rng: np.random.Generator, names, max_phases: int = 4) -> list[dict]:
    """Phases as JSON-like dicts ``{listener: {source: weight}}``."""
    K = len(names)
    P = int(rng.integers(1, max_phases + 1))
    phases = []
    for _ in range(P):
        listeners = rng.choice(K, size=int(rng.integers(1, K + 1)), replace=False)
        phases.append({int(i): None for i in listeners})
    for k in range(K):  # every agent speaks at least once
        if not any(k in ph for ph in phases):
            phases[int(rng.integers(P))][k] = None
    out = []
    for ph in phases:
        row_out = {}
        for i in ph:
            kind = WEIGHT_KINDS[int(rng.integers(len(WEIGHT_KINDS)))]
            others = [j for j in range(K) if j != i]
            src = list(rng.choice(others, size=int(rng.integers(1, K)), replace=False))
            if kind == "anchored":
                src.append(i)
            if kind == "average":
                w = np.full(len(src), 1.0 / len(src))
            elif kind == "any":
                w = rng.uniform(-0.6, 1.2, len(src))
            else:
                w = rng.dirichlet(np.ones(len(src)))
            row_out[names[i]] = {names[int(j)]: float(x) for j, x in zip(src, w)}
        out.append(row_out)
    return out


def agents(rng: np.random.Generator, names, d: int, max_steps: int = 3) -> tuple[GDAgent, ...]:
    """GD agents with SPD geometries (cond <= 100) and scalar or SPD matrix preconditioners."""
    out = []
    for n in names:
        H = random_systems.spd(rng, d, cond=10 ** rng.uniform(0, 2))
        G = random_systems.spd(rng, d, cond=5.0) if rng.uniform() < 0.5 else np.eye(d)
        G = G * rng.uniform(0.3, 1.7) / np.max(np.real(np.linalg.eigvals(G @ H)))
        geom = from_geometry(H, rng.standard_normal(d), name=n)
        out.append(GDAgent(n, geom, G, int(rng.integers(1, max_steps + 1))))
    return tuple(out)


def system(rng: np.random.Generator, K: int, d: int, rho_max: float = 0.9, max_phases: int = 4,
           max_tries: int = 200) -> System:
    """A config System with a random protocol whose round rate is at most ``rho_max``."""
    from numerics.protocol import evaluate as protocol_eval
    names = [chr(ord("A") + k) for k in range(K)]
    for _ in range(max_tries):
        ag = agents(rng, names, d)
        v0 = rng.standard_normal(d)
        p = proto.build(rounds(rng, names, max_phases), names, d, v0)
        s = System(agents=ag, initial_message=v0, protocol=p)
        M, c, W, mask = protocol_eval.system_arrays(s)
        Phi, _ = protocol_eval.round_map(M, c, W, mask)
        if protocol_eval.rate(Phi, protocol_eval.live_agents(W, mask), d) <= rho_max:
            return s
    raise RuntimeError(f"no random protocol with rho <= {rho_max} in {max_tries} tries")


def batch(rng: np.random.Generator, B: int, K: int, d: int, P: int):
    """``M`` (B, K, d, d), ``c`` (B, K, d), ``W`` (B, P, K, K), ``mask`` (B, P, K) for B random
    protocols of P phases (for batched evaluation); transfers scaled so rates stay well below 1."""
    M = rng.standard_normal((B, K, d, d)) * (0.4 / np.sqrt(d))
    c = rng.standard_normal((B, K, d))
    mask = rng.uniform(size=(B, P, K)) < 0.6
    mask[:, -1, :] |= ~np.any(mask, axis=1)  # every agent speaks at least once
    W = rng.dirichlet(np.ones(K), size=(B, P, K)) * mask[..., None]
    return M, c, W, mask
