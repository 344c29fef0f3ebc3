"""Method VN: necessity witnesses, one per hypothesis a statement declares necessary.

A witness (:data:`WITNESSES`) is an instance, stored as data (a config as ``a2ad check`` reads it and
``--param`` values), that breaks exactly one hypothesis of a claim and on which a conclusion needing
that hypothesis fails. :func:`witnessed` checks it through the evaluators of ``a2ad check``
(:mod:`proofs_check.check`): the named hypothesis fails (off its boundary), every other hypothesis
the conclusion needs holds (off its boundary), and the conclusion's evaluator returns "fails" (a
refusal of the input by a constructor does not count: it shows no failure of the mathematics).

The hypotheses with a witness are the statement's ``necessary`` names
(:data:`proofs_check.statements.statements.NECESSARY`); every other hypothesis is typeset
"sufficient; not shown necessary". VN fails when a declared name has no witness or a witness does
not witness.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from proofs_check.verification.registry import Outcome, Profile

__all__ = ["WITNESSES", "Witness", "method", "witnessed"]


@dataclass(frozen=True)
class Witness:
    claim: str
    hypothesis: str  # the one hypothesis the instance breaks
    conclusion: str  # the conclusion (needing that hypothesis) that fails on it
    config: dict  # a config as a2ad check reads it
    note: str  # where the instance comes from (issue 22's counterexamples, or the reason it works)
    params: dict = field(default_factory=dict)  # --param values (JSON values)


def _agent(name: str, H, Gamma, w, steps: int = 1) -> dict:
    return {"name": name, "geometry": H, "target": w, "preconditioner": Gamma, "steps_per_turn": steps}


def _pair(A: dict, B: dict, v0) -> dict:
    return {"schema_version": 1, "agents": [A, B], "initial_message": v0}


# An SPD pair (Gamma_i and H_i SPD) with rho(M_A) = 0.99, rho(M_B) = 0.98 and rho(M_A M_B) = 153 (issue 22
# gives another with 119): K_i = V_i diag(k_i) V_i^{-1} with H_i = V_i^{-T} V_i^{-1}, Gamma_i = V_i diag(k_i)
# V_i^T, k_A = (0.01, 1.99), k_B = (0.02, 1.98), V_A = [[1, 1], [0, a]], V_B = [[1, 0], [1, a]], a = 1/40.
_SPD_A = _agent("A", [[1.0, -40.0], [-40.0, 3200.0]], [[2.0, 0.04975], [0.04975, 0.00124375]], [1.0, 0.0])
_SPD_B = _agent("B", [[1601.0, -1600.0], [-1600.0, 1600.0]], [[0.02, 0.02], [0.02, 0.0212375]], [0.0, 1.0])

# C1 (issue 22): the divergence is on the unstable subspace of M_B M_A, not of M_A M_B.
# v* of this pair is (0, 0) (both targets 0), so v_0 = e_2 = v* + e_2.
_C1_A = _agent("A", [[0.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0])
_C1_B = _agent("B", [[0.8, -2.0], [-2.0, 6.0]], [[1.0, 0.9], [0.9, 1.0]], [0.0, 0.0])

# C12 (issue 22): Gamma_A = 2.6 I, H_A = diag(1, 0.5), alpha = 0.2: |1 - alpha| rho(M_A) = 1.28.
_C12_A = _agent("A", [[1.0, 0.0], [0.0, 0.5]], 2.6, [1.0, -1.0])
_C12_B = _agent("B", [[1.0, 0.0], [0.0, 1.0]], 0.5, [0.0, 1.0])

# M_A = M_B = -1 in d = 1: M_A M_B = 1, I - M_A M_B = 0 (no fixed point, the formulas divide by 0).
_FLIP_A = _agent("A", [[1.0]], 2.0, [1.0])
_FLIP_B = _agent("B", [[1.0]], 2.0, [-1.0])

# M_A = M_B = -1.5 in d = 1: rho(M_A M_B) = 2.25 and the messages oscillate with growing amplitude.
_OSC_A = _agent("A", [[1.0]], 2.5, [1.0])
_OSC_B = _agent("B", [[1.0]], 2.5, [-1.0])
# H = 0 for every agent: M_i = I, J_i = I (each agent repeats what it hears; every message is a fixed point).
_MUTE = [_agent(n, [[0.0]], 1.0, [float(k)]) for k, n in enumerate("ABC")]



def _two_speakers(m_A: float, m_B: float, noise_A: float | None = None) -> dict:
    """d = 1, H = 1, Gamma_i = 1 - m_i (so M_i = m_i), targets 1 and -1; each round A hears B or B hears A
    (probability 1/2 each); A adds noise of variance ``noise_A`` when given."""
    A = _agent("A", [[1.0]], 1.0 - m_A, [1.0])
    if noise_A is not None:
        A = {**A, "noise": noise_A}
    return {**_pair(A, _agent("B", [[1.0]], 1.0 - m_B, [-1.0]), [0.0]), "protocol": {"random": [
        {"probability": 0.5, "rounds": [{"A": {"B": 1.0}}]}, {"probability": 0.5, "rounds": [{"B": {"A": 1.0}}]}]}}


WITNESSES: list[Witness] = [
    Witness("C1", "rate", "converges", _pair(_OSC_A, _OSC_B, [0.0]),
            "M_A = M_B = -1.5 (d = 1): rho = 2.25, u_t oscillates away from u*"),
    Witness("C1", "component", "diverges", _pair(_C1_A, _C1_B, [0.0, 1.0]),
            "issue 22: v_0 - v* = e_2 lies on the eigenvalue-2 direction of M_A M_B but not on the unstable "
            "subspace of M_B M_A; u_t = u* for every t"),
    Witness("C17", "invertible", "fixed_point", {"schema_version": 1, "agents": _MUTE, "initial_message": [0.0]},
            "K = 3 agents with H = 0: J_i = I, I - J_i = 0 and the formula has no solution"),
    Witness("C2", "invertible", "fixed_points", _pair(_FLIP_A, _FLIP_B, [0.0]),
            "M_A = M_B = -1 (d = 1): I - M_A M_B = 0 and the two agents swap messages without a fixed point"),
    Witness("C3", "rate", "plateau", _pair(_SPD_A, _SPD_B, [0.0, 0.0]),
            "issue 22: an SPD pair with rho(M_A) = 0.99, rho(M_B) = 0.98 and rho(M_A M_B) = 153; I - M_A M_B is "
            "invertible and the formula gives a finite e_A, but the messages diverge"),
    Witness("C8", "invertible", "iff_A", _pair(_FLIP_A, _FLIP_B, [0.0]),
            "M_A = M_B = -1 (d = 1): I - M_A M_B = 0, e_A is undefined"),
    Witness("C12", "rate", "no_plateau", _pair(_C12_A, _C12_B, [0.0, 0.0]),
            "issue 22: Gamma_A = 2.6 I, H_A = diag(1, 0.5), alpha = 0.2 diverges (|1 - alpha| rho(M_A) = 1.28)",
            {"alpha": 0.2}),
    Witness("C13", "rate", "no_plateau", _pair(_C12_A, _C12_B, [0.0, 0.0]),
            "C12's witness with Hhat = H_A: rho(M_A (I - alpha H_A^{-1} H_A)) = 1.28 diverges", {"alpha": 0.2}),
    Witness("R2", "noiseless", "invariance", _two_speakers(0.5, 0.5, noise_A=1.0),
            "M_A = M_B = 1/2 (d = 1), A hears B or B hears A: both alternatives keep the simultaneous fixed point "
            "(every d_k = 0), yet A's noise (variance 1) leaves a nonzero stationary covariance"),
    Witness("R4", "stable", "proved", _two_speakers(1.5, 1.5),
            "M_A = M_B = 3/2 (d = 1), p = 1/2: rho(M_B M_A) = 9/4 > 1 and the random mean-square rate per turn "
            "(sqrt(1.625) = 1.27) is below the round robin's per turn (3/2)"),
    Witness("C7", "rate", "plateau", _pair({**_SPD_A, "steps_per_turn": 1}, _SPD_B, [0.0, 0.0]),
            "C3's witness with s_A = s_B = 1: rho(M_A M_B) = 153, the messages diverge"),
]


def _needs(prop, conclusion: str) -> tuple[str, ...]:
    need = prop.conclusions[conclusion].needs
    return tuple(prop.hypotheses) if need is None else need


def witnessed(w: Witness) -> tuple[bool, str]:
    """Whether ``w`` breaks only ``w.hypothesis`` (of those ``w.conclusion`` needs) and the conclusion
    fails there, read off the ``a2ad check`` evaluators; and what was seen."""
    from proofs_check.check import PROPOSITIONS
    from proofs_check.check.core import safe
    from proofs_check.check.run import build_instance
    from proofs_check.verification.falsifiers import items

    prop = PROPOSITIONS[w.claim]
    inst = build_instance(w.claim, w.config, items(w.params))
    needs = _needs(prop, w.conclusion)
    if w.hypothesis not in needs:
        return False, f"{w.conclusion} does not need {w.hypothesis}"
    seen, ok = [], True
    for name in needs:
        out = safe(prop.hypotheses[name].fn, inst)
        seen.append(f"{name}: {out.value}")
        broken = out.holds is False and not out.boundary
        held = bool(out.holds) and not out.boundary
        ok &= broken if name == w.hypothesis else held
    concl = safe(prop.conclusions[w.conclusion].fn, inst)
    seen.append(f"{w.conclusion}: {concl.value}")
    ok &= concl.holds is False and not concl.value.startswith("refused")
    return ok, "; ".join(seen)


def _declared(claim: str) -> tuple[str, ...]:
    from proofs_check.statements import statements
    return statements.of(claim).necessary


def check_claim(claim: str) -> Outcome:
    """VN of ``claim``: every declared necessary hypothesis has a witness that witnesses."""
    ws = [w for w in WITNESSES if w.claim == claim]
    declared = _declared(claim)
    missing = [h for h in declared if h not in {w.hypothesis for w in ws}]
    undeclared = [w.hypothesis for w in ws if w.hypothesis not in declared]
    bad, lines = [], []
    for w in ws:
        ok, seen = witnessed(w)
        lines.append(f"{w.hypothesis} -> {w.conclusion} fails: {seen}")
        if not ok:
            bad.append(w.hypothesis)
    problems = [f"{what}: {names}" for what, names in (
        ("declared necessary without a witness", missing),
        ("witness for a hypothesis the statement does not declare necessary", undeclared),
        ("NOT WITNESSED", bad)) if names]
    detail = "; ".join(problems) + (" | " if problems else "") + " | ".join(lines)
    return Outcome(float(len(missing) + len(undeclared) + len(bad)), 0.0, len(ws), detail,
                   power="a witness that no longer breaks only its hypothesis, or whose conclusion holds, is 1 "
                         "failure against a bar of 0")


def claims() -> list[str]:
    """Claims with a witness or a declared necessary hypothesis."""
    from proofs_check.statements import statements
    return sorted({w.claim for w in WITNESSES} | {c for c, s in statements.STATEMENTS.items() if s.necessary})


def method(claim: str) -> Callable[[Profile], Outcome]:
    def vn(profile: Profile) -> Outcome:
        return check_claim(claim)
    vn.__name__ = f"vn_{claim}"
    return vn
