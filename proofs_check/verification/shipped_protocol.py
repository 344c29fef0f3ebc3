"""VS for the protocol shapes that decide the engine's paths: ``predict`` (float64 and ``--precision``)
and ``simulate`` on them, the rate alone, the stationary covariance and the round-robin test (P1, C17).

The protocol engine (:mod:`numerics.protocol.engine`) takes a fast path for a round robin in any speaking
order and the block-row round map for everything else; wrong variants of that choice (a damped cycle
taken for a round robin, a permuted cycle dropped from the fast path, an empty listening row, no live
agent) print a wrong rate or fixed point only on those shapes, which random protocols almost never draw.
Here each shape is written as a config a user writes and run through the ``a2ad`` entry point; every
printed field is compared with the round map probed on rounds simulated in
:mod:`proofs_check.verification.shipped_reference` (no package code on the reference side):

* ``predict``: the rate against ``rho`` of the probed ``Phi``; every agent's fixed point, residual (with
  its sign, fixed point minus target), residual norm and target against the solve of ``z = Phi z + r``;
* ``predict --precision``: the same fields against the probed map in mpmath at 90 digits;
* ``simulate``: every message and residual norm against the simulated rounds;
* ``predict`` of the same configs with reply noise on every agent: each agent's ``covariance`` against the
  series ``sum_k Phi^k Q (Phi^k)^T`` of the probed maps, ``null`` for a divergent config;
* the rate alone (``engine.rate``, read by the sweeps and attacks) against the probed rate;
* the stationary covariance under the protocol (the fit's spread) against the series
  ``sum_k Phi^k Q (Phi^k)^T`` of the probed maps (no Lyapunov solver);
* ``engine.is_round_robin`` (what a config without ``protocol`` means) true for the list-order cycle with
  weight exactly 1 only (a JSON decimal by its text, any number of agents).

Package extension (issue 22, items 4 and 5): the paper states the theory, not the tool.
"""
from __future__ import annotations

import json
import math

import mpmath as mp
import numpy as np

from proofs_check.verification import shipped_cli as cli, shipped_reference as ref
from proofs_check.verification.registry import Outcome, Profile
from proofs_check.verification.shipped import (
    FLOAT_BAR,
    PRINTED_DIGITS,
    REFERENCE_DPS,
    RHO_MAX,
    RHO_MIN,
    Ledger,
    check_simulate,
    rel,
)

__all__ = ["shapes", "shapes_method", "probed", "instance", "check_document", "check_covariance", "NAMED_SHAPES",
           "RR_SHAPES", "DIVERGENT", "PRECISE_SHAPE_BAR", "COVARIANCE_BAR", "NOISE_VARIANCE"]

# --precision 50 on these shapes against the probed map at 90 digits: >= 40 agreeing digits (the bar of
# shipped.PRECISE_BAR); relative to max(1, |z|) since a rate may be exactly 0 (no live agent).
PRECISE_SHAPE_BAR = 1e-40
# engine.stationary_covariance (a Stein solve) vs the probed series summed to 1e-18: float64 rounding of
# K d <= 9 dimensional products, amplified by 1 / (1 - rho^2) <= 5 (rho <= 0.9); 1e-9 as the V4 bar.
COVARIANCE_BAR = FLOAT_BAR
SIMULATE_TURNS = 7
# Reply noise of the noisy configs: agent k's replies get covariance NOISE_VARIANCE (k + 1) I.
NOISE_VARIANCE = 0.01


def _spd(seed: int, d: int) -> np.ndarray:
    A = np.random.default_rng(seed).standard_normal((d, d))
    h = np.round(A @ A.T / d + 0.5 * np.eye(d), ref.DECIMALS)
    return np.triu(h) + np.triu(h, 1).T


def instance(H, G, rounds=None, steps=None) -> ref.Instance:
    """GD agents A, B, ... with geometries ``H``, preconditioners ``G`` (a number is ``g I``), targets
    ``(1 - k/2) 1``, initial message ``0.3 1`` and ``rounds`` as in CONFIG.json (None: the round robin)."""
    K, d = len(H), len(H[0])
    Gam = np.array([g * np.eye(d) if np.ndim(g) == 0 else np.asarray(g, dtype=float) for g in G])
    rows = None if rounds is None else tuple(tuple((lst, tuple(row.items())) for lst, row in ph.items())
                                             for ph in rounds)
    return ref.Instance(tuple("ABCDEFGH"[:K]), np.asarray(H, dtype=float), np.array([[1.0 - 0.5 * k] * d
                                                                                    for k in range(K)]),
                        Gam, tuple(np.ndim(g) == 0 for g in G), tuple(steps or [1] * K), np.full(d, 0.3), rows)


def shapes() -> dict[str, ref.Instance]:
    """The named protocol shapes: each decides a branch of the engine (fast path or block rows)."""
    H = [_spd(1, 2), _spd(2, 2), _spd(3, 2)]
    G = [[[0.5, 0.1], [0.1, 0.4]], 0.6, [[0.3, 0.0], [0.0, 0.7]]]
    return {
        # a round robin in the order C, A, B (each hears the previous speaker with weight 1): the fast path
        "permuted_cycle": instance(H, G, [{"C": {"B": 1}}, {"A": {"C": 1}}, {"B": {"A": 1}}], steps=[1, 2, 3]),
        # one agent per phase, but B hears C (not A, the previous speaker): not a cycle
        "one_agent_phases": instance(H, G, [{"A": {"C": 1}}, {"B": {"C": 1}}, {"C": {"B": 1}}], steps=[2, 1, 1]),
        # a cycle whose weights are not 1: not a round robin
        "damped_cycle": instance(H, G, [{"A": {"C": 0.75}}, {"B": {"A": 0.75}}, {"C": {"B": 0.75}}]),
        # the round robin itself, without a protocol key, with 3 steps per turn
        "round_robin": instance(H, G, None, steps=[3, 1, 2]),
        # the round robin written out in list order (weight 1.0 as a JSON decimal)
        "written_out": instance(H, G, [{"A": {"C": 1.0}}, {"B": {"A": 1.0}}, {"C": {"B": 1.0}}], steps=[3, 1, 2]),
        # simultaneous phases with weights summing to 1.5 and to 0.5
        "simultaneous": instance(H, G, [{"A": {"B": 0.9, "C": 0.6}, "B": {"C": 0.5}}, {"C": {"A": 0.5, "B": 0.5}}]),
        # K phases, each agent first in one of them, but the first phase has two speakers: not a cycle
        "two_speakers_first": instance(H[:2], G[:2], [{"A": {"B": 1}, "B": {"A": 0.5}}, {"B": {"A": 1}}]),
        # one agent per phase, A hearing nothing (an empty row hears 0): not a cycle
        "empty_row": instance(H[:2], G[:2], [{"A": {}}, {"B": {"A": 1}}], steps=[2, 1]),
        # three agents of d = 2 (K != d), A hearing nothing: the zero A hears has d entries, not K
        "empty_row_3": instance(H, G, [{"A": {}}, {"B": {"A": 1}}, {"C": {"B": 0.5, "A": 0.5}}]),
        # nobody hears anybody: no live agent, rate 0, the fixed point is one answer to silence
        "no_live": instance(H[:2], G[:2], [{"A": {}, "B": {}}]),
        # a cycle where A also hears B: two sources, not a round robin
        "cycle_extra_source": instance(H, G, [{"A": {"C": 1, "B": 0.3}}, {"B": {"A": 1}}, {"C": {"B": 1}}]),
        # a round robin of one-dimensional agents with scalar preconditioners, 2 steps each (C17 with d = 1)
        "round_robin_1d": instance([[[1.5]], [[0.8]], [[2.0]], [[1.1]]], [0.4, 0.9, 0.3, 0.7], None,
                                   steps=[2, 2, 1, 3]),
    }


NAMED_SHAPES = tuple(shapes())
# B overshoots (Gamma_B H_B = 3.5 I): rate 2.5; its noisy document prints a null covariance.
DIVERGENT = instance([np.eye(2).tolist()] * 2, [0.5, 3.5])
RR_SHAPES = ("round_robin", "written_out", "permuted_cycle", "round_robin_1d")  # C17: round robins


def probed(inst: ref.Instance) -> tuple[float, np.ndarray]:
    """``(rho, z)``: the probed round map's spectral radius and the solve of ``z = Phi z + r`` (K, d)."""
    Phi, r = ref.probed_round_map(inst)
    rho = float(np.max(np.abs(np.linalg.eigvals(Phi))))
    return rho, np.linalg.solve(np.eye(len(r)) - Phi, r).reshape(inst.K, inst.d)


def _number(x, exact: bool):
    """A printed number: float64 as printed, or an mpmath decimal string read at REFERENCE_DPS."""
    if exact:
        with mp.workdps(REFERENCE_DPS):
            return mp.mpf(x) if isinstance(x, str) else mp.mpf("nan")
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else math.nan


def _err(got, want, scale, exact: bool) -> float:
    """``|got - want| / scale`` (vectors: the largest entry), inf when shapes differ or entries are missing."""
    if isinstance(want, (list, np.ndarray, mp.matrix)):
        want_list = [want[i] for i in range(len(want))] if isinstance(want, mp.matrix) else list(np.ravel(want))
        if not isinstance(got, list) or len(got) != len(want_list):
            return math.inf
        return max((_err(g, w, scale, exact) for g, w in zip(got, want_list)), default=0.0)
    g = _number(got, exact)
    with mp.workdps(REFERENCE_DPS):
        e = abs(g - want) / scale
        return float(e) if e == e else math.nan


def check_document(ledger: Ledger, doc, inst: ref.Instance, exact: bool, label: str) -> None:
    """Every field of a convergent ``predict`` document (float64, or ``--precision`` when ``exact``) against
    the probed round map (float64 solve, or mpmath at REFERENCE_DPS)."""
    if exact:
        rho, z = ref.precise_reference(inst, REFERENCE_DPS)
        bar, precision = PRECISE_SHAPE_BAR, f"mpmath {PRINTED_DIGITS} digits"
        with mp.workdps(REFERENCE_DPS):
            ws = [mp.matrix([mp.mpf(repr(float(x))) for x in inst.target[k]]) for k in range(inst.K)]
            zs = [[z[k][a] for a in range(inst.d)] for k in range(inst.K)]
            scale = max(mp.mpf(1), max(max(abs(x) for x in v) for v in zs))
            fields = [(zs[k], [zs[k][a] - ws[k][a] for a in range(inst.d)], mp.norm(z[k] - ws[k]), list(ws[k]))
                      for k in range(inst.K)]
    else:
        rho, zf = probed(inst)
        bar, precision, scale = FLOAT_BAR, "float64", max(1.0, float(np.abs(zf).max()))
        fields = [(zf[k], zf[k] - inst.target[k], float(np.linalg.norm(zf[k] - inst.target[k])), inst.target[k])
                  for k in range(inst.K)]
    kind = "precise" if exact else "float64"
    ok = isinstance(doc, dict) and isinstance(doc.get("agents"), dict)
    ledger.require(f"{kind} document", ok and doc.get("converges") is True and "reason" not in doc
                   and doc.get("precision") == precision and doc.get("dimension") == inst.d,
                   f"{label}: {kind} document {str(doc)[:120]}")
    if not ok:
        return
    ledger.add(f"{kind} contraction_rate", _err(doc.get("contraction_rate"), rho, 1.0, exact), bar)
    agents = doc["agents"]
    ledger.require(f"{kind} agents", list(agents) == list(inst.names), f"{label}: agents {list(agents)}")
    if list(agents) != list(inst.names):
        return
    for k, n in enumerate(inst.names):
        fp, res, norm, target = fields[k]
        e = agents[n] if isinstance(agents[n], dict) else {}
        ledger.add(f"{kind} fixed_point", _err(e.get("fixed_point"), fp, scale, exact), bar)
        ledger.add(f"{kind} residual", _err(e.get("residual"), res, scale, exact), bar)  # sign: z - w*
        ledger.add(f"{kind} residual_norm", _err(e.get("residual_norm"), norm, scale, exact), bar)
        ledger.add(f"{kind} target", _err(e.get("target"), target, scale, exact), bar)


def _stationary(ledger: Ledger, inst: ref.Instance, rng: np.random.Generator) -> None:
    """engine.rate and engine.stationary_covariance (the fit's spread) against the probed series."""
    from numerics.protocol import config, engine

    system = config.parse(json.loads(json.dumps(inst.config())))
    M, _ = system.stacked()
    protocol = engine.of(system)
    ledger.add("engine.rate", abs(engine.rate(M, protocol) - ref.rate(inst)), FLOAT_BAR)
    A = rng.standard_normal((inst.K, inst.d, inst.d))
    S = A @ np.swapaxes(A, -1, -2) / inst.d + 0.1 * np.eye(inst.d)
    I = np.eye(inst.d)
    Ms = [np.linalg.matrix_power(I - inst.Gamma[k] @ inst.H[k], inst.steps[k]) for k in range(inst.K)]
    V, _, _ = ref.stationary_covariance(Ms, np.zeros((inst.K, inst.d)), S, inst.phases())
    want = np.stack([V[k * inst.d:(k + 1) * inst.d, k * inst.d:(k + 1) * inst.d] for k in range(inst.K)])
    got = np.asarray(engine.stationary_covariance(M, S, protocol), dtype=float)
    ledger.add("stationary_covariance", float(np.abs(got - want).max() / np.abs(want).max())
               if got.shape == want.shape else math.inf, COVARIANCE_BAR)


def _noisy(inst: ref.Instance) -> dict:
    """The config with reply noise ``sigma_k^2 I`` on every agent (NOISE_VARIANCE times k + 1)."""
    cfg = inst.config()
    for k, a in enumerate(cfg["agents"]):
        a["noise"] = NOISE_VARIANCE * (k + 1)
    return cfg


def check_covariance(ledger: Ledger, doc, inst: ref.Instance, label: str) -> None:
    """Every agent's printed ``covariance`` (a noisy config) against the probed series of the round map with
    each reply's noise carried to the end of the round; null for every agent when the rate is >= 1."""
    agents = doc.get("agents") if isinstance(doc, dict) else None
    if not isinstance(agents, dict) or list(agents) != list(inst.names):
        ledger.require("noisy document", False, f"{label}: noisy document {str(doc)[:120]}")
        return
    I = np.eye(inst.d)
    Ms = [np.linalg.matrix_power(I - inst.Gamma[k] @ inst.H[k], inst.steps[k]) for k in range(inst.K)]
    Ss = [NOISE_VARIANCE * (k + 1) * I for k in range(inst.K)]
    V, rho, _ = ref.stationary_covariance(Ms, np.zeros((inst.K, inst.d)), Ss, inst.phases())
    for k, n in enumerate(inst.names):
        got = agents[n].get("covariance", "missing") if isinstance(agents[n], dict) else "missing"
        if rho >= 1:
            ledger.require("covariance null", got is None,
                           f"{label}: {n}'s covariance {str(got)[:60]} at rho {rho:.3g}")
            continue
        want = V[k * inst.d:(k + 1) * inst.d, k * inst.d:(k + 1) * inst.d]
        ledger.add("covariance", rel(got, want) if isinstance(got, list) else math.inf, COVARIANCE_BAR)


def _round_robin_test(ledger: Ledger, named: dict[str, ref.Instance]) -> None:
    """``is_round_robin``: the list-order cycle with weight exactly 1 (any spelling of 1, any K) only."""
    from numerics.io import jsonio
    from numerics.protocol import config, engine, spec

    def protocol_of(inst):
        return engine.of(config.parse(json.loads(json.dumps(inst.config()))))

    for name in ("written_out", "round_robin"):
        ledger.require("is_round_robin", engine.is_round_robin(protocol_of(named[name])), f"{name} not a round robin")
    for name in ("permuted_cycle", "one_agent_phases", "damped_cycle", "simultaneous", "empty_row",
                 "two_speakers_first", "cycle_extra_source"):
        ledger.require("is_round_robin", not engine.is_round_robin(protocol_of(named[name])),
                       f"{name} taken for the round robin")
    # a list-order cycle of weight 1.25, its weights plain floats (as the API's dict configs give them): not 1
    loud = instance([[[1.0]]] * 3, [0.5] * 3, [{"A": {"C": 1.25}}, {"B": {"A": 1.25}}, {"C": {"B": 1.25}}])
    ledger.require("is_round_robin", not engine.is_round_robin(protocol_of(loud)), "weights 1.25 read as 1")
    base = instance([[[1.0]]] * 3, [0.5] * 3, [{"A": {"C": 0}}, {"B": {"A": 0}}, {"C": {"B": 0}}]).config()
    for w in ("1.0", "1.000", "1e0", "10e-1"):  # read from a file, a weight keeps its decimal text
        written = config.parse(jsonio.loads(json.dumps(base).replace(": 0}", f": {w}}}")))
        ledger.require("is_round_robin", engine.is_round_robin(engine.of(written)), f"weight {w} read as not 1")
    # 300 agents: beyond CPython's small-int cache, so counts compared by identity would differ
    big = spec.round_robin([f"a{k}" for k in range(300)], np.zeros(1))
    ledger.require("is_round_robin", engine.cycle(big) == tuple(range(300)) and engine.is_round_robin(big),
                   "the 300-agent round robin not recognised")


def _random(rng: np.random.Generator, n: int, Ks: tuple[int, int], protocol: bool) -> list[ref.Instance]:
    out: list[ref.Instance] = []
    for _ in range(200 * n):
        if len(out) == n:
            break
        inst = ref.random_instance(rng, int(rng.integers(Ks[0], Ks[1] + 1)), int(rng.integers(1, 4)), protocol)
        if RHO_MIN <= ref.rate(inst) <= RHO_MAX:
            out.append(inst)
    return out


def shapes_method(names: tuple[str, ...], seed_offset: int, protocol: bool):
    """A VS method: the named shapes ``names`` (and random ones: protocols when ``protocol``, else round
    robins of 2..4 agents; 2 in the quick profile, 12 in the full) through ``predict``, ``predict
    --precision`` and ``simulate``, with the rate alone and the stationary covariance; with the
    round-robin test when the shapes include the written-out round robin."""
    def method(profile: Profile) -> Outcome:
        rng = np.random.default_rng(profile.seed + seed_offset)
        named = shapes()
        cases = [(n, named[n]) for n in names]
        extra = 2 if profile.name == "quick" else 12
        cases += [(f"random{k}", inst) for k, inst in enumerate(_random(rng, extra, (2, 4), protocol))]
        ledger = Ledger(instances=len(cases))
        noisy = [inst for _, inst in cases] + [DIVERGENT]
        with cli.scratch() as tmp:
            paths = cli.write_configs(tmp, [inst.config() for _, inst in cases] + [_noisy(i) for i in noisy])
            plain, loud = paths[:len(cases)], paths[len(cases):]
            printed = cli.run_commands([["predict", p] for p in plain]
                                       + [["predict", p, "--precision", str(PRINTED_DIGITS)] for p in plain]
                                       + [["simulate", p, "--turns", str(SIMULATE_TURNS)] for p in plain]
                                       + [["predict", p] for p in loud])
        n = len(cases)
        for k, inst in enumerate(noisy):
            check_covariance(ledger, printed[3 * n + k].json_or_none(), inst, f"noisy {k}")
        for k, (label, inst) in enumerate(cases):
            for pr, exact in ((printed[k], False), (printed[n + k], True)):
                ledger.require("exit status", pr.status == 0, f"{label}: exit {pr.status}: {pr.stderr.strip()[:120]}")
                check_document(ledger, pr.json_or_none(), inst, exact, label)
            ledger.require("exit status", printed[2 * n + k].status == 0, f"{label}: simulate exit")
            check_simulate(ledger, printed[2 * n + k].json_or_none(), inst, SIMULATE_TURNS)
            _stationary(ledger, inst, rng)
        if "written_out" in names:
            _round_robin_test(ledger, named)
        return ledger.outcome(f"a2ad predict, predict --precision {PRINTED_DIGITS} and simulate on {n} configs "
                              f"({', '.join(names)} and {n - len(names)} random), engine.rate and the stationary "
                              "covariance, vs the round map probed on simulated rounds (float64 and mpmath "
                              f"{REFERENCE_DPS} digits) and its noise series")
    return method


