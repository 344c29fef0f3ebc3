"""Method VF: a Hypothesis search for a counterexample to a claim's statement, inside its hypotheses.

For every claim with an ``a2ad check`` proposition (:data:`proofs_check.check.PROPOSITIONS`), VF
draws configs (:func:`proofs_check.verification.strategies.systems`, protocols below, random
protocols for R1-R4 from :func:`proofs_check.verification.strategies.random_configs`) and the
claim's ``--param`` values, builds the instance through the path of ``a2ad check``
(:func:`proofs_check.check.run.build_instance`) and evaluates it with the same evaluators
(:func:`proofs_check.check.core.evaluate`), so that ``check`` and ``verify`` cannot disagree:

- an instance where no conclusion applies (a hypothesis it needs fails or sits on its boundary, or
  the config has the wrong shape) is rejected (``hypothesis.assume``);
- an instance where the hypotheses hold and a conclusion fails is a counterexample: the method
  fails and its detail prints the shrunk config and ``--param`` values, ready for ``a2ad check``.

The method's error is the number of counterexamples (0 or 1: Hypothesis stops at the first and
shrinks it), with bar 0; a search that draws no instance inside the hypotheses fails too (it
tested nothing). ``--profile quick`` draws :data:`QUICK_EXAMPLES` derandomized examples per
claim (:data:`RANDOM_QUICK_EXAMPLES` for R1-R4), ``--profile full`` :data:`FULL_EXAMPLES`.
"""
from __future__ import annotations

import functools
import json
from typing import Any, Callable

import numpy as np

from proofs_check.verification import strategies as S
from proofs_check.verification.registry import Outcome, Profile

__all__ = ["EXAMPLES", "falsify", "instances", "items", "method", "params"]

# Examples per claim: quick keeps ``verify --profile quick`` within its budget (15 s on a 2-core
# machine with a warm proof cache); full is a search of hundreds.
QUICK_EXAMPLES = 5
FULL_EXAMPLES = 300
EXAMPLES = {"quick": QUICK_EXAMPLES, "full": FULL_EXAMPLES}
# Rates within this distance of 1 are redrawn (their transient outlasts one example's budget);
# full hugs the boundary closer.
RATE_BAND = {"quick": 0.02, "full": 0.002}
# R1-R4 (random protocols): a draw costs the compiled maps and dense eigenvalues of the second-moment
# operator (n_modes (K d)^2 rows), so quick draws fewer, smaller instances (a chain is drawn as
# independent draws above the size); full draws chains up to the group chat's size at K = 3, d = 2.
RANDOM_QUICK_EXAMPLES = 3
RANDOM_MAX_UNKNOWNS = {"quick": 64, "full": 256}
# Agents per random protocol: arbitrary phases over four agents compile to large symbolic maps (a
# second per draw measured), kept for full.
RANDOM_K = {"quick": (2, 3), "full": (2, 4)}
# The random-protocol strategy per claim: R2 is about noiseless agents, R4 about the two-speaker
# protocol; R3's spread bound is checkable for independent draws only (a chain is not drawn).
RANDOM_OPTIONS: dict[str, dict] = {"R1": {}, "R2": {"noise": False}, "R3": {"markov": False},
                                   "R4": {"two_speakers": True}}
# R1 propagates its moments for log(tol) / log(rate) rounds: a draw whose mean-square or mean rate lies
# within RATE_BAND of 1 is redrawn, as for the deterministic claims.
PROPAGATING = frozenset({"R1"})
# Seconds Hypothesis may spend shrinking a counterexample (each candidate is a full evaluation, some
# simulate thousands of rounds): afterwards only the failures already seen fail again, so the search
# ends with the smallest counterexample shrunk so far. Whether one is found does not depend on it.
SHRINK_SECONDS = {"quick": 3.0, "full": 30.0}


def _st():
    from hypothesis import strategies as st
    return st


# --- the claims' --param values, as JSON values (parsed by the claim's own Param.parse) ---------------

def _tolist(a: np.ndarray) -> list:
    return a.tolist()


@functools.cache
def _steps_list(lo: int = 1, hi: int = 8):
    st = _st()
    return st.lists(st.integers(lo, hi), min_size=1, max_size=4)


@functools.cache
def _vector(n: int, bound: float = 3.0):
    return S.arrays((n,), -bound, bound).map(_tolist)


@functools.cache
def _psd(n: int):
    return S.arrays((n, n), -1.0, 1.0).map(S.gram)


@functools.cache
def _alpha():
    st = _st()
    # 1 (the exact round), near 0 and 2 (rates near 1), inside, and outside (0, 2) (rejected)
    return st.one_of(st.sampled_from((1.0, 0.001, 1.999, 0.2)), S.entries(-0.5, 2.5))


def _with_py(t) -> list:
    return [*t[0].tolist(), t[1]]


@functools.cache
def _lsa_p(d: int):
    """``p`` of length d + 1, its last entry ``p_y`` often exactly 0 (the L1b boundary)."""
    st = _st()
    return st.tuples(S.arrays((d,)), st.one_of(st.just(0.0), S.entries())).map(_with_py)


def _zero_q(t) -> list:
    Q, z = t
    Q = Q.copy()
    if z:
        d = Q.shape[0] - 1
        Q[d, :d] = 0.0
    return Q.tolist()


@functools.cache
def _lsa_Q(d: int):
    """``Q`` of order d + 1, its ``q_yx`` (last row, first d entries) often exactly 0."""
    st = _st()
    return st.tuples(S.arrays((d + 1, d + 1)), st.booleans()).map(_zero_q)


@functools.cache
def _perturbation(d: int):
    st = _st()
    return st.one_of(st.none(), S.arrays((d, d), -0.5, 0.5))


@functools.cache
def _c13(d: int):
    """``alpha`` and ``E``: ``Hhat`` is None (``H_A``) or ``H_A + E`` (non-symmetric), see :func:`instances`."""
    return _st().fixed_dictionaries({"alpha": _alpha(), "Hhat": _perturbation(d)})


PARAMS: dict[str, Callable[[int, dict], Any]] = {
    # claim -> (d, raw config) -> strategy of {name: JSON value}; claims not listed use their defaults
    "C4": lambda d, raw: _st().fixed_dictionaries({"s": _st().lists(S.entries(-5.0, 5.0), min_size=1, max_size=3)}),
    "C7": lambda d, raw: _st().fixed_dictionaries({"s": _steps_list(1, 60)}),
    "C9": lambda d, raw: _st().fixed_dictionaries({
        "N": _st().one_of(_st().none(), _st().integers(max(d - 1, 1), d + 2)), "seed": _st().integers(0, 3)}),
    "C10": lambda d, raw: _st().fixed_dictionaries({"N": _st().integers(1, 3)}),
    "C11": lambda d, raw: _st().fixed_dictionaries({"p": _st().one_of(_st().none(), _vector(d))}),
    "C12": lambda d, raw: _st().fixed_dictionaries({"alpha": _alpha()}),
    "C13": lambda d, raw: _c13(d),
    "C15": lambda d, raw: _st().fixed_dictionaries({"S_A": _st().one_of(_st().none(), _psd(d)),
                                                    "S_B": _st().one_of(_st().none(), _psd(d))}),
    "C16": lambda d, raw: _st().fixed_dictionaries({"s": _steps_list(1, 8)}),
    "L1": lambda d, raw: _st().fixed_dictionaries({"w": _vector(d)}),
    "L1b": lambda d, raw: _st().fixed_dictionaries({"nu": _lsa_p(d), "Q": _lsa_Q(d), "w": _vector(d)}),
    "L2": lambda d, raw: _st().fixed_dictionaries({"N": _st().integers(2, 12), "tau": S.entries(-0.5, 3.0),
                                                   "sigma": S.entries(0.0, 1.0), "samples": _st().just(500)}),
}


def params(claim: str, d: int, raw: dict):
    """The strategy of ``claim``'s ``--param`` values (``{}``: every parameter at its default)."""
    make = PARAMS.get(claim)
    return make(d, raw) if make else _st().just({})


# --- configs: the system (and protocol) a claim is about ---------------------------------------------

def _with(raw: dict, rounds: list[dict]) -> dict:
    return {**raw, "protocol": {"rounds": rounds}}


_FIXED_ROUNDS = {
    "P2": [{"A": {"B": 1.0}, "B": {"A": 1.0}}],
    "P3": [{"A": {"B": 1.0}}, {"A": {"A": 1.0}}, {"B": {"A": 1.0}}],
    "P5": [{"A": {"B": 0.5, "C": 0.5}, "B": {"A": 0.5, "C": 0.5}, "C": {"A": 0.5, "B": 0.5}}],
}


def _protocol_systems(claim: str):
    st = _st()
    systems = S.systems(K=(2, 4) if claim == "P1" else (3, 3) if claim == "P5" else (2, 2), rate_band=0.0)

    @st.composite
    def build(draw):
        raw = draw(systems)
        if claim == "P1":
            return _with(raw, S.draw_rounds(draw, [a["name"] for a in raw["agents"]]))
        if claim == "P4":
            a = draw(st.one_of(st.sampled_from((0.0, 1.0, 0.5)), S.entries(0.0, 1.0)))
            return _with(raw, [{"A": {"A": a, "B": round(1 - a, 12)}}, {"B": {"A": 1.0}}])
        return _with(raw, _FIXED_ROUNDS[claim])
    return build()


def _exact_first(raw: dict) -> dict:
    """C11 is about ``M_A = 0``: A's preconditioner becomes ``H_A^{-1}`` where ``H_A`` is invertible."""
    H = np.asarray(raw["agents"][0]["geometry"])
    if np.linalg.cond(H) > 1e8:
        return raw
    A = {**raw["agents"][0], "preconditioner": np.linalg.inv(H).tolist()}
    return {**raw, "agents": [A, *raw["agents"][1:]]}


def instances(claim: str, profile_name: str = "quick"):
    """Strategy of ``(raw config, {param: JSON value})`` for ``claim``."""
    from proofs_check.check import PROPOSITIONS

    shape = PROPOSITIONS[claim].shape
    band = RATE_BAND.get(profile_name, RATE_BAND["quick"])
    if shape == "random":
        size = profile_name if profile_name in RANDOM_K else "quick"
        systems = S.random_configs(K=RANDOM_K[size], max_unknowns=RANDOM_MAX_UNKNOWNS[size],
                                   **RANDOM_OPTIONS.get(claim, {}))
    elif shape == "protocol":
        systems = _protocol_systems(claim)
    elif shape == "agents":
        systems = S.systems(K=(2, 4), rate_band=band)
    elif shape == "lsa":
        systems = S.systems(max_steps=1, kinds=("scalar", "general", "spd", "skewed"), rate_band=0.0)
    else:
        systems = S.systems(rate_band=band)
    st = _st()

    @st.composite
    def build(draw):
        raw = draw(systems)
        if claim == "C11":
            raw = _exact_first(raw)
        values = draw(params(claim, len(raw["initial_message"]), raw))
        if claim == "C13" and values["Hhat"] is not None:
            values = {**values, "Hhat": (np.asarray(raw["agents"][0]["geometry"]) + values["Hhat"]).tolist()}
        return raw, values
    return build()


# --- the search ----------------------------------------------------------------------------------------

def items(values: dict) -> list[str]:
    """``--param`` items ``NAME=VALUE`` (VALUE as JSON), as ``a2ad check`` reads them."""
    return [f"{k}={json.dumps(v)}" for k, v in values.items() if v is not None]


def _near_one(claim: str, inst, band: float) -> bool:
    """Whether a claim in :data:`PROPAGATING` has a rate within ``band`` of 1 (not exactly 1) here."""
    if claim not in PROPAGATING or band <= 0:
        return False
    from proofs_check.check.random_claims import rates
    return any(np.isfinite(r) and 0 < abs(r - 1) < band for r in rates(inst))


def evaluate(claim: str, raw: dict, values: dict, band: float = 0.0):
    """The ``a2ad check`` report of ``claim`` on the instance, or None when no conclusion of the claim
    applies (the config has the wrong shape, or a hypothesis a conclusion needs fails) or, for a claim in
    :data:`PROPAGATING`, when a rate lies within ``band`` of 1 (too slow to propagate in one example)."""
    from numerics.io.errors import InputError
    from proofs_check.check import PROPOSITIONS
    from proofs_check.check.core import NotApplicable, evaluate as check_evaluate, safe
    from proofs_check.check.run import build_instance
    from proofs_check.statements import statements

    prop = PROPOSITIONS[claim]
    try:
        inst = build_instance(claim, raw, items(values))
        ok = {}
        for name, piece in prop.hypotheses.items():
            out = safe(piece.fn, inst)
            ok[name] = bool(out.holds) and not out.boundary
        needs = [tuple(prop.hypotheses) if p.needs is None else p.needs for p in prop.conclusions.values()]
        applicable = [all(ok[n] for n in need) for need in needs]
        if not (any(applicable) if prop.alternatives else all(ok.values())):
            return None
        if _near_one(claim, inst, band):
            return None
        return check_evaluate(prop, statements.of(claim).texts(), inst)
    except (NotApplicable, InputError):
        return None  # a config the claim is not about, or one check refuses as input: not an instance


def describe(claim: str, raw: dict, values: dict, report) -> str:
    """A counterexample as ``a2ad check`` would be run on it, with the failing conclusions' values."""
    bad = [f"{c['name']}: {c['value']}" for c in report.conclusions if c["applicable"] and c["holds"] is False]
    args = " ".join(f"--param '{i}'" for i in items(values))
    return (f"COUNTEREXAMPLE to {claim}: {'; '.join(bad)}. Reproduce: save the config "
            f"{json.dumps(raw, separators=(',', ':'))} as c.json and run a2ad check {claim} c.json {args}".rstrip())


def _key(raw: dict, values: dict) -> str:
    return json.dumps([raw, values], sort_keys=True)


def falsify(claim: str, profile: Profile, examples: int | None = None, shrink_seconds: float | None = None) -> Outcome:
    """Search ``examples`` (default: the profile's) instances of ``claim`` for a counterexample, and
    shrink the first one found for at most ``shrink_seconds`` (default :data:`SHRINK_SECONDS`)."""
    import time

    try:
        from hypothesis import HealthCheck, Phase, assume, given, settings
        from hypothesis.errors import Unsatisfiable
    except ImportError:
        return Outcome.skip("hypothesis is not installed (a dependency of a2a-dynamics: pip install a2a-dynamics)")
    from proofs_check.check import PROPOSITIONS

    is_random = PROPOSITIONS[claim].shape == "random"
    n = examples or (RANDOM_QUICK_EXAMPLES if is_random and profile.name == "quick"
                     else EXAMPLES.get(profile.name, QUICK_EXAMPLES))
    band = RATE_BAND.get(profile.name, RATE_BAND["quick"]) if claim in PROPAGATING else 0.0
    seen = {"inside": 0, "checked": 0}
    failing: dict[str, str] = {}  # key of a counterexample -> its detail
    budget = SHRINK_SECONDS.get(profile.name, SHRINK_SECONDS["quick"]) if shrink_seconds is None else shrink_seconds
    first = [0.0]

    phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if budget > 0 else [])

    @settings(max_examples=n, derandomize=True, database=None, deadline=None, phases=phases,
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(instances(claim, profile.name))
    def search(example):
        raw, values = example
        key = _key(raw, values)
        if key not in failing:  # a known counterexample fails again (Hypothesis replays the shrunk one)
            if failing and time.perf_counter() - first[0] > budget:
                return  # the shrink budget is spent: a new candidate is not evaluated (counts as passing)
            report = evaluate(claim, raw, values, band)
            assume(report is not None)
            if not failing:
                seen["inside"] += 1
                seen["checked"] += report.holds is not None
            if report.holds is not False:
                return
            if not failing:
                first[0] = time.perf_counter()
            failing[key] = describe(claim, raw, values, report)
        raise AssertionError(key)  # one raise site: Hypothesis tells failures apart by where they are raised

    power = ("a conclusion failing on any drawn instance inside the hypotheses is 1 counterexample, "
             "against a bar of 0 (tests/test_falsifiers.py plants dropped hypotheses and wrong conclusions)")
    try:
        search()
    except AssertionError as exc:
        # Hypothesis re-raises its shrunk counterexample (keyed as raised)
        shown = failing.get(str(exc)) or next(reversed(failing.values()), f"counterexample: {exc}")
        return Outcome(1.0, 0.0, seen["inside"], shown, power=power)
    except Unsatisfiable:
        return Outcome(float("nan"), 0.0, 0, f"no drawn instance satisfied the hypotheses of {claim}: "
                       "the search tested nothing", power=power)
    except Exception:  # e.g. FlakyFailure: a counterexample seen, then a replay that differs
        if not failing:
            raise
        shown = next(reversed(failing.values()))
        return Outcome(1.0, 0.0, seen["inside"], shown, power=power)
    if not seen["inside"]:
        return Outcome(float("nan"), 0.0, 0, f"no drawn instance satisfied the hypotheses of {claim}", power=power)
    return Outcome(0.0, 0.0, seen["inside"],
                   f"no counterexample in {seen['inside']} instances inside the hypotheses "
                   f"({seen['checked']} with a checkable conclusion)", power=power)


def method(claim: str) -> Callable[[Profile], Outcome]:
    """The VF method of ``claim`` (a closure the runner can call with a profile)."""
    def vf(profile: Profile) -> Outcome:
        return falsify(claim, profile)
    vf.__name__ = f"vf_{claim}"
    return vf

