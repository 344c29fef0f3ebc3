"""VS for the divergence ``reason`` that ``predict`` prints (C17 for the round robin, with the C1 and C6
heads; P1 under a protocol), in float64 and ``--precision``.

Each config diverges for one named cause, and the printed sentence is read back: its head (C1, C6 or
P1), the cause it names, and every number in it, recomputed here from the config's matrices and weights
without the package:

* an agent whose own per-turn map ``(I - Gamma H)^s`` has an eigenvalue outside the unit disc: named,
  with that radius;
* a direction no prompt informs: a unit vector ``v`` with ``H_i v = 0`` for every agent, to the decimals
  printed (prompt agents: ``H = X^T X / N``), and under a protocol the rate of the listening weights alone,
  composed phase by phase here;
* the coupling itself (every own map contracting), with each listed radius;
* listening weights that amplify, with their rate; weights within ``CONVERGENCE_MARGIN`` of 1 do not;
* an eigenvalue on the unit circle, within the margin or exactly at it (the band is closed);
* a rate within the margin below 1, or exactly ``1 - CONVERGENCE_MARGIN``: no fixed point printed;
* the edges of the uninformed test (the weights' rate exactly ``1 - CONVERGENCE_MARGIN``, the smallest
  singular value exactly at its threshold, a largest singular value below 1, a prompt geometry whose
  ``1 / N`` scale decides), the coupling off an uninformed direction the weights damp, and d = 257;
* a random protocol (P1's round maps drawn per round): its mean-square and mean rates against the moment
  operators of the probed alternatives, and whether the reason says the mean still converges.

The rate in every document is checked against the round map probed on simulated rounds
(:mod:`proofs_check.verification.shipped_reference`), and every fixed-point field must be ``null``.
Package extension (issue 22, items 4 and 5).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Callable

import mpmath as mp
import numpy as np

from proofs_check.verification import shipped_cli as cli, shipped_reference as ref
from proofs_check.verification.registry import Outcome, Profile
from proofs_check.verification.shipped import MISMATCH, Ledger
from proofs_check.verification.shipped_protocol import instance
from proofs_check.verification.shipped_small import printed_rho

__all__ = ["Case", "reasons_method", "reason_cases", "weights_rate", "own_radius", "MARGIN", "REASON_DIGITS",
           "RANDOM_CASES", "RANDOM_EDGE"]

# The engine's convergence band (numerics.protocol.evaluate.CONVERGENCE_MARGIN, restated: a rate within
# it of 1 has no float64 fixed point); the cases below sit inside, at and outside it.
MARGIN = 1e-12
REASON_DIGITS = 30  # --precision of the documents whose reason is read
# The reason prints rho, an agent's radius and the weights' rate with 6 significant digits (half a unit
# of the 6th digit, relative), the listed radii with 3, the direction with 3 decimals per entry.
SIX_DIGITS, THREE_DIGITS = 5e-6, 5e-3
DIRECTION_DECIMALS = 3
DIRECTION_ROUNDING = 5e-4  # half a unit of the 3rd decimal
# The printed rate of a divergent document against the probed rate (float64 probe, rho up to ~50).
RATE_BAR = 1e-9
NON_NORMAL = [[[0.5, -3.0], [0.0, 0.5]], [[0.5, 0.0], [-3.0, 0.5]]]  # radius 0.5 each, product rho > 1 (C6)
SIMULTANEOUS = [{"A": {"B": 1.0}, "B": {"A": 1.0}}]
AMPLIFY = [{"A": {"B": 1.5}}, {"B": {"A": 1.0}}]
SELF_HEARING = [{"A": {"B": 0.6, "A": 0.6}}, {"B": {"A": 1.0}}]
BIG_D = 257  # a dimension beyond CPython's small-int cache (-5..256)
WEAK_ROW = 1.1e-6  # a prompt row (0, WEAK_ROW): H gains WEAK_ROW^2 / N = 6.05e-13 along e_2 (N = 2)
# Random protocols (independent draws, two alternatives, d = 1, M_A = 0.63, M_B = 0.39): A hears B with
# weight w_k, then B hears A. (probability, w) per alternative; the mean-square rate is >= 1 in each.
RANDOM_CASES = {
    "mean_converges": ((0.45, 6.0), (0.55, -4.7)),  # mean rate 0.0282555 < 1
    "mean_diverges": ((0.45, 6.0), (0.55, 4.7)),  # mean rate 1.2985... >= 1
}
# M_A = M_B = 0.5, weights 6 and 2 with probability 1/2: the mean rate is exactly 1 (the closed band)
RANDOM_EDGE = ((0.5, 6.0), (0.5, 2.0))


def weights_rate(rounds, names) -> float:
    """rho of the listening weights alone (every M_i = I, d = 1), composed phase by phase."""
    K = len(names)
    R = np.eye(K)
    for phase in rounds:
        step = np.eye(K)
        for listener, row in phase.items():
            i = names.index(listener)
            step[i] = 0.0
            for source, w in row.items():
                step[i, names.index(source)] += w
        R = step @ R
    return float(np.max(np.abs(np.linalg.eigvals(R))))


def own_radius(H, G, s: int = 1) -> float:
    """Spectral radius of ``(I - Gamma H)^s`` (a number ``G`` is ``G I``)."""
    H = np.asarray(H, dtype=float)
    Gamma = G * np.eye(len(H)) if np.ndim(G) == 0 else np.asarray(G, dtype=float)
    return float(np.max(np.abs(np.linalg.eigvals(np.linalg.matrix_power(np.eye(len(H)) - Gamma @ H, s)))))


@dataclass(frozen=True)
class Case:
    """A divergent config, how its reason must read (``check(ledger, text, rho, label)``), whether the
    ``--precision`` document is read too, and for prompt agents the prompts replacing geometry and target."""

    inst: ref.Instance
    check: Callable[[Ledger, str, float, str], None]
    rounds: list | None
    precise: bool = True
    prompts: tuple | None = None

    def config(self) -> dict:
        cfg = self.inst.config()
        for a, prompt in zip(cfg["agents"], self.prompts or ()):
            del a["geometry"], a["target"]
            a["prompt"] = {"X": prompt, "y": [0.3] * len(prompt)}
        return cfg


def _number(ledger: Ledger, pattern: str, text: str, label: str) -> float:
    m = re.search(pattern, text)
    ledger.require("reason numbers", m is not None, f"{label}: no {pattern!r} in {text[:160]!r}")
    try:
        return float(m.group(1)) if m else math.nan
    except ValueError:
        return math.nan


def _six_digits(ledger: Ledger, pattern: str, text: str, label: str) -> None:
    """The number ``pattern`` captures has at most 6 significant digits (docs/config.rst: a reason's rates are
    rounded to 6 significant digits, in float64 and ``--precision`` alike)."""
    m = re.search(pattern, text)
    mantissa = m.group(1).lstrip("+-").split("e")[0].replace(".", "").lstrip("0") if m else ""
    ledger.require("reason digits", m is not None and 0 < len(mantissa) <= 6,
                   f"{label}: {m.group(1) if m else None!r} has more than 6 significant digits")


def _close(ledger: Ledger, name: str, got: float, want: float, rel: float) -> None:
    """A printed number to its printed significant digits: the error in units of ``rel * |want|`` (n significant
    digits are within half a unit of the n-th, at most ``5 x 10^-n`` times the value)."""
    ledger.add(name, abs(got - want) / (rel * max(abs(want), 1e-300)) if math.isfinite(got) else math.inf, 1.0)


def _has(ledger: Ledger, text: str, label: str, present=(), absent=()) -> None:
    for s in present:
        ledger.require("reason text", s in text, f"{label}: {s!r} missing from {text[:200]!r}")
    for s in absent:
        ledger.require("reason text", s not in text, f"{label}: {s!r} in {text[:200]!r}")


def _direction(ledger: Ledger, text: str, label: str) -> np.ndarray:
    m = re.search(r"the direction \[([^\]]*)\]", text)
    ledger.require("reason direction", m is not None, f"{label}: no direction in {text[:160]!r}")
    # docs/config.rst: the direction is printed with (at most) 3 decimals per entry
    mantissas = [x.strip().lower().split("e")[0] for x in m.group(1).split(",")] if m else []
    decimals = [len(x.split(".")[1]) if "." in x else 0 for x in mantissas]
    ledger.require("reason direction", bool(decimals) and max(decimals) <= DIRECTION_DECIMALS,
                   f"{label}: direction [{m.group(1) if m else ''}] has more than {DIRECTION_DECIMALS} decimals")
    try:
        return np.array([float(x) for x in m.group(1).split(",")]) if m else np.full(2, math.nan)
    except ValueError:
        return np.full(2, math.nan)


def _overshoot(H, G, s, head):
    def check(ledger, text, rho, label):
        _has(ledger, text, label, ("contraction rate rho = ", head, " > 1: ",
                                   "agent B's own per-turn map M_B has an eigenvalue of modulus"))
        ledger.require("reason head", text.startswith("contraction rate rho = "), f"{label}: {text[:80]!r}")
        _close(ledger, "reason rho", _number(ledger, r"rho = ([0-9.e+-]+) > 1", text, label), rho, SIX_DIGITS)
        _close(ledger, "reason radius", _number(ledger, r"modulus ([0-9.e+-]+) outside", text, label),
               own_radius(H[1], G[1], s), SIX_DIGITS)
    return check


def _uninformed(H, rounds, null):
    def check(ledger, text, rho, label):
        _has(ledger, text, label, ("is informed by no prompt",))
        v = _direction(ledger, text, label)
        # the printed vector is the unit null vector, up to sign, to the 3 decimals shown
        err = min(np.linalg.norm(v - null), np.linalg.norm(v + null)) if v.shape == null.shape else math.inf
        ledger.add("reason direction", err / (DIRECTION_ROUNDING * np.sqrt(len(null))), 1.0)
        ledger.add("reason direction", float(np.linalg.norm(np.asarray(H, dtype=float) @ v, axis=-1).max())
                   / (DIRECTION_ROUNDING * np.sqrt(len(null)) * max(np.linalg.norm(H, 2, axis=(1, 2)).max(), 1.0))
                   if v.shape == null.shape else math.inf, 1.0)
        if rounds is None:
            _has(ledger, text, label, ("is 1 to within",), ("listening weights",))  # rho = 1: the direction is kept
        else:
            _has(ledger, text, label, ("(P1)",))
            _close(ledger, "reason weights rate", _number(ledger, r"of spectral radius ([0-9.e+-]+)", text, label),
                   weights_rate(rounds, ["A", "B"]), SIX_DIGITS)
    return check


def _coupling(H, G, head):
    def check(ledger, text, rho, label):
        _has(ledger, text, label, ("coupling itself is unstable",), ("amplify", "no prompt"))
        ledger.require("reason head", text.endswith(head), f"{label}: {text[-60:]!r} does not end with {head}")
        m = re.search(r"spectral radii ([^)]*)\)", text)
        ledger.require("reason numbers", m is not None, f"{label}: no radii in {text[:160]!r}")
        try:
            radii = [float(x) for x in m.group(1).split(", ")] if m else []
        except ValueError:
            radii = []
        want = [own_radius(h, g) for h, g in zip(H, G)]
        ledger.add("reason radii", max(abs(a - b) for a, b in zip(radii, want)) / THREE_DIGITS
                   if len(radii) == len(want) else MISMATCH, 1.0)
    return check


def _coupling_radii(want, head):
    """The coupling cause with the listed radii ``want`` (no direction uninformed, no amplifying weights)."""
    def check(ledger, text, rho, label):
        _has(ledger, text, label, ("coupling itself is unstable", head), ("amplify", "no prompt"))
        m = re.search(r"spectral radii ([^)]*)\)", text)
        try:
            radii = [float(x) for x in m.group(1).split(", ")] if m else []
        except ValueError:
            radii = []
        ledger.add("reason radii", max(abs(a - b) for a, b in zip(radii, want)) / THREE_DIGITS
                   if len(radii) == len(want) else MISMATCH, 1.0)
    return check


def _amplifying(rounds):
    def check(ledger, text, rho, label):
        _has(ledger, text, label, ("coupling itself is unstable", "(P1)"))
        _close(ledger, "reason weights rate", _number(ledger, r"the round map has rho ([0-9.e+-]+)", text, label),
               weights_rate(rounds, ["A", "B"]), SIX_DIGITS)
    return check


def _damped(rounds):
    """The coupling cause off a direction no prompt informs, which the weights alone damp (printed rate)."""
    def check(ledger, text, rho, label):
        _has(ledger, text, label, ("contracts off the direction", "coupling itself is unstable", "(P1)"),
             ("is informed by no prompt",))
        _close(ledger, "reason weights rate", _number(ledger, r"damp to rate ([0-9.e+-]+)\)", text, label),
               weights_rate(rounds, ["A", "B"]), SIX_DIGITS)
    return check


def _text(present=(), absent=()):
    def check(ledger, text, rho, label):
        _has(ledger, text, label, present, absent)
    return check


def _on_circle(head):
    def check(ledger, text, rho, label):
        _has(ledger, text, label, ("is 1 to within", head, "on the unit circle"))
        _close(ledger, "reason radius", _number(ledger, r"modulus ([0-9.e+-]+) on the unit circle", text, label),
               1.0, SIX_DIGITS)
    return check


def reason_cases(protocol: bool) -> dict[str, Case]:
    """Divergent configs, one cause each: under the round robin (``protocol`` false) or a protocol."""
    I2, d1 = np.eye(2).tolist(), [[[1.0]], [[1.0]]]
    sim = SIMULTANEOUS if protocol else None
    head_c1, head_c6 = ("(P1)", "(P1)") if protocol else ("(C1)", "(C6)")
    cases: dict[str, Case] = {}
    for G, s in (([0.5, 3.5], 2), ([0.2, 2.5], 1)):  # B's own radius 6.25 or 1.5; A's 0.25 or 0.8
        H = [I2, np.diag([1.0, 0.5]).tolist()]
        cases[f"overshoot_{s}"] = Case(instance(H, G, sim, steps=[s, s]), _overshoot(H, G, s, head_c1), sim)
    e2_free = [[[1.0, 0.0], [0.0, 0.0]], [[0.5, 0.0], [0.0, 0.0]]]  # e_2 is informed by no prompt
    unin = SELF_HEARING if protocol else None
    cases["uninformed"] = Case(instance(e2_free, [0.5, 0.5], unin), _uninformed(e2_free, unin, np.array([0.0, 1.0])),
                               unin)
    cases["coupling"] = Case(instance([I2, I2], NON_NORMAL, sim), _coupling([I2, I2], NON_NORMAL, head_c6), sim)
    margin_rounds = SIMULTANEOUS if protocol else None
    cases["within_margin_below_1"] = Case(instance(d1, [2.5e-13, 2.5e-13], margin_rounds),
                                          _text(("is 1 to within",)), margin_rounds)
    for gamma, d in ((2.0 + 4e-13, 2), (2.000000000001, 1)):  # |1 - gamma| within or exactly at 1 + MARGIN
        H = [np.eye(d).tolist()] * 2
        cases[f"circle_within_margin_d{d}"] = Case(instance(H, [gamma, gamma], margin_rounds),
                                                   _text(("on the unit circle",), ("outside",)), margin_rounds)
    head = "fixed point of the protocol's round map (P1)" if protocol else "no unique attracting fixed point; cause"
    cases["on_circle"] = Case(instance([I2, I2], [2.0, 2.0], margin_rounds), _on_circle(head), margin_rounds)
    if not protocol:
        return cases
    amplifying: list[tuple[list, list]] = [([{"A": {"B": 5.0}}, {"B": {"A": 1.0}}], [0.5, 0.5]),
                                           (AMPLIFY, NON_NORMAL)]
    for k, (loud, gammas) in enumerate(amplifying):
        cases[f"amplifying_{k}"] = Case(instance([I2, I2], gammas, loud), _amplifying(loud), loud)
    for w in (1 + 5e-13, 1.000000000001):  # weights within (or exactly at) the margin above 1 do not amplify
        rounds = [{"A": {"B": w}}, {"B": {"A": 1.0}}]
        cases[f"weights_at_margin_{w!r}"] = Case(instance([I2, I2], NON_NORMAL, rounds),
                                                 _text(("coupling itself is unstable",), ("amplify",)), rounds)
    # the float rate 1 - 1e-12 exactly (A hears itself, Gamma_A = 1e-12): the closed band, float64 only
    # (--precision reads the decimal 1e-12 exactly, a rate just below that float)
    exact_edge = [{"A": {"A": 1.0}}, {"B": {"A": 1.0}}]
    cases["rate_at_margin"] = Case(instance(d1, [1e-12, 0.5], exact_edge), _text(("is 1 to within",)), exact_edge,
                                   precise=False)
    cases["own_radius_at_margin"] = Case(instance(d1, [1e-12, 1e-12], AMPLIFY),
                                         _text(("on the unit circle",), ("coupling",)), AMPLIFY)
    big = [np.diag([1000.0, 1e-10]).tolist()] * 2  # smallest singular value below 1e-12 x the largest
    cases["uninformed_relative"] = Case(instance(big, [1e-3, 1e-3], AMPLIFY), _text(("is informed by no prompt",)),
                                        AMPLIFY)
    weak = [np.diag([0.5, 1.2e-12]).tolist()] * 2  # 1.7e-12 above 1e-12 x max(s_max, 1): informed (weakly)
    cases["weakly_informed"] = Case(instance(weak, [1.0, 1.0], AMPLIFY),
                                    _text(("coupling itself is unstable", "amplify"), ("no prompt",)), AMPLIFY)
    # an off-axis null direction (2, -1)/sqrt(5), by geometries and by prompts whose rows lie along (1, 2)
    u, n = np.array([1.0, 2.0]) / np.sqrt(5.0), np.array([2.0, -1.0]) / np.sqrt(5.0)
    Hu = [np.outer(u, u), 2.0 * np.outer(u, u)]
    cases["uninformed_off_axis"] = Case(instance([h.tolist() for h in Hu], [0.5, 0.5], SELF_HEARING),
                                        _uninformed(Hu, SELF_HEARING, n), SELF_HEARING)
    X = ([[1.0, 2.0], [2.0, 4.0], [-1.0, -2.0]], [[0.5, 1.0], [1.5, 3.0]])
    Hx = [(np.asarray(x).T @ np.asarray(x) / len(x)).tolist() for x in X]
    cases["uninformed_prompts"] = Case(instance(Hx, [0.05, 0.05], SELF_HEARING), _uninformed(Hx, SELF_HEARING, n),
                                       SELF_HEARING, prompts=X)
    # prompts whose H = X^T X / N has e_2 at 6e-13: below UNINFORMED_REL_TOL x max(s_max, 1) of the stacked
    # H_i (s_max = 0.71 < 1), so e_2 is informed by no prompt; the scale of H (1 / N) decides it
    Xs = [[1.0, 0.0], [0.0, WEAK_ROW]]
    Hs = (np.asarray(Xs).T @ np.asarray(Xs) / 2).tolist()
    cases["uninformed_prompt_scale"] = Case(instance([Hs, Hs], [1.0, 1.0], AMPLIFY),
                                            _text(("is informed by no prompt",)), AMPLIFY, prompts=(Xs, Xs))
    # the listening weights alone at rate exactly 1 - MARGIN (A hears itself with that float weight) on a
    # direction no prompt informs: the closed band, so that direction is the cause (float64 only: the
    # decimal 0.999999999999 is below that float, and --precision converges)
    at_margin = [{"A": {"A": 1 - MARGIN}}, {"B": {"A": 1.0}}]
    cases["uninformed_weights_at_margin"] = Case(instance(e2_free, [0.5, 0.5], at_margin),
                                                 _text(("is informed by no prompt",)), at_margin, precise=False)
    # B's prompt is empty (H_B = 0): the stacked H_i's smallest singular value is exactly UNINFORMED_REL_TOL x
    # max(s_max, 1) = 1e-12, an uninformed direction (the bound is inclusive), not B's map on the unit circle
    edge = [np.diag([1.0, 1e-12]).tolist(), [[0.0, 0.0], [0.0, 0.0]]]
    cases["uninformed_at_threshold"] = Case(instance(edge, [0.5, 0.5], AMPLIFY),
                                            _text(("is informed by no prompt",), ("unit circle",)), AMPLIFY)
    # e_3 informed by no prompt, which the listening weights damp (rate 0.81), while the non-normal pair couples
    # e_1 and e_2 unstably: the cause is the coupling off the uninformed direction, not that direction
    H3 = np.diag([1.0, 1.0, 0.0]).tolist()
    G3 = []
    for block in NON_NORMAL:
        g = np.eye(3) * 0.5
        g[:2, :2] = block
        G3.append(g.tolist())
    damp = [{"A": {"B": 0.9}}, {"B": {"A": 0.9}}]
    cases["uninformed_damped_coupling"] = Case(instance([H3, H3], G3, damp), _damped(damp), damp)
    return cases


def _big_dimension(ledger: Ledger) -> None:
    """The coupling cause at d = 257 (beyond CPython's small-int cache, so a dimension compared by identity
    would differ): the non-normal pair in the first two coordinates, 0.5 I elsewhere, every direction
    informed. ``engine.diagnose`` is called directly on the reference's transfers ``I - Gamma`` (H = I):
    the command's parse of two 257 x 257 matrices costs seconds, its diagnosis is this call."""
    from numerics.protocol import engine, spec

    gammas = [np.eye(BIG_D) * 0.5 for _ in range(2)]
    for g, block in zip(gammas, NON_NORMAL):
        g[:2, :2] = block
    inst = instance([np.eye(BIG_D)] * 2, gammas)
    rho = ref.rate(inst)
    M = np.stack([np.eye(BIG_D) - g for g in gammas])
    text = engine.diagnose(rho, spec.round_robin(list(inst.names), inst.initial), M, [np.eye(BIG_D)] * 2,
                           list(inst.names))
    _coupling_radii([own_radius(np.eye(BIG_D), g) for g in gammas], "(C6)")(ledger, text, rho, f"d = {BIG_D}")


def _random_reasons(ledger: Ledger) -> None:
    """The reason of a diverging random protocol (mean-square rate >= 1), float64 and ``--precision``: its
    rates against the probed alternatives' second- and first-moment operators, ``sum_k p_k Phi_k (x) Phi_k``
    and ``sum_k p_k Phi_k``, and whether it says the mean still converges (mean rate < 1)."""
    d1 = [[[1.0]], [[1.0]]]
    cases = [(name, alts, [0.37, 0.61]) for name, alts in RANDOM_CASES.items()] + [("mean_rate_1", RANDOM_EDGE,
                                                                                    [0.5, 0.5])]
    configs, refs = [], []
    for name, alts, gammas in cases:
        rounds = [[{"A": {"B": w}}, {"B": {"A": 1.0}}] for _, w in alts]
        Phis = [ref.probed_round_map(instance(d1, gammas, r))[0] for r in rounds]
        first_moment = np.sum([p * P for (p, _), P in zip(alts, Phis)], axis=0)
        second_moment = np.sum([p * np.kron(P, P) for (p, _), P in zip(alts, Phis)], axis=0)
        refs.append((float(np.max(np.abs(np.linalg.eigvals(second_moment)))) ** 0.5,
                     float(np.max(np.abs(np.linalg.eigvals(first_moment))))))
        cfg = instance(d1, gammas).config()
        cfg["protocol"] = {"random": [{"probability": p, "rounds": r} for (p, _), r in zip(alts, rounds)]}
        configs.append(cfg)
    with cli.scratch() as tmp:
        paths = cli.write_configs(tmp, configs)
        printed = cli.run_commands([["predict", p] for p in paths]
                                   + [["predict", p, "--precision", str(REASON_DIGITS)] for p in paths])
    for k, ((name, _, _), (ms, mean_rate)) in enumerate(zip(cases, refs)):
        for pr in (printed[k], printed[len(cases) + k]):
            label = f"random {name} {' '.join(pr.argv[2:])}"
            ledger.require("exit status", pr.status == 0, f"{label}: exit {pr.status}: {pr.stderr.strip()[:120]}")
            doc = pr.json_or_none()
            reason = doc.get("reason") if isinstance(doc, dict) else None
            ledger.require("random reason", isinstance(reason, str) and doc.get("converges") is False,
                           f"{label}: {str(doc)[:160]}")
            if not isinstance(reason, str):
                continue
            for field, want in (("contraction_rate", ms), ("mean_rate", mean_rate)):
                try:
                    got = float(mp.mpf(doc.get(field)))
                except (TypeError, ValueError):
                    got = math.nan
                ledger.add(f"random {field}", abs(got - want) / max(1.0, want), RATE_BAR)
            _close(ledger, "random reason rate", _number(ledger, r"mean-square rate ([0-9.e+-]+) >= 1", reason, label),
                   ms, SIX_DIGITS)
            still = mean_rate < 1 - MARGIN
            pattern = r"mean still converges \(mean rate ([0-9.e+-]+) < 1\)" if still else \
                r"the mean does not converge either \(mean rate ([0-9.e+-]+) >= 1\)"
            _close(ledger, "random reason mean rate", _number(ledger, pattern, reason, label), mean_rate, SIX_DIGITS)
            for pat in (r"mean-square rate ([0-9.e+-]+) >= 1", pattern):
                _six_digits(ledger, pat, reason, label)


# A random protocol whose float64 mean rate is exactly 1 - MARGIN (the closed band's edge): A hears itself with
# weight 2 or hears nobody (probability 1/2 each), then B hears A; Gamma_A = 1e-12, H = 1, so M_A = 1 - 1e-12 in
# float64 (one rounding) and sum_k p_k Phi_k = [[M_A, 0], [M_B M_A, 0]] (lower triangular: rates M_A and 0); the
# mean-square operator 1/2 Phi_1 (x) Phi_1 is lower triangular too, largest diagonal 2 M_A^2: rate sqrt(2) M_A.
MEAN_EDGE_ROUNDS = ([{"A": {"A": 2.0}}, {"B": {"A": 1.0}}], [{"A": {}}, {"B": {"A": 1.0}}])


def _random_mean_at_margin(ledger: Ledger) -> None:
    """A diverging random protocol whose mean rate sits exactly on the band's edge ``1 - MARGIN`` (float64): the
    mean does not converge (the band is closed), and the reason says so."""
    cfg = instance([[[1.0]], [[1.0]]], [1e-12, 0.5]).config()
    cfg["protocol"] = {"random": [{"probability": 0.5, "rounds": r} for r in MEAN_EDGE_ROUNDS]}
    mean_rate = 1.0 - 1e-12  # M_A, as float64 rounds it once
    with cli.scratch() as tmp:
        pr = cli.run_commands([["predict", cli.write_configs(tmp, [cfg])[0]]])[0]
    label = "random mean rate at the margin"
    doc = pr.json_or_none()
    reason = doc.get("reason") if isinstance(doc, dict) else None
    ledger.require("random reason", pr.status == 0 and isinstance(reason, str) and doc.get("converges") is False,
                   f"{label}: exit {pr.status}: {str(doc)[:160]}")
    if not isinstance(doc, dict) or not isinstance(reason, str):
        return
    ledger.require("random reason", doc.get("mean_rate") == mean_rate,
                   f"{label}: mean_rate {doc.get('mean_rate')!r}, want 1 - 1e-12 exactly")
    got = doc.get("contraction_rate")
    got = float(got) if isinstance(got, (int, float)) else math.nan
    ledger.add("random contraction_rate", abs(got - math.sqrt(2.0) * mean_rate) / math.sqrt(2.0), RATE_BAR)
    _has(ledger, reason, label, ("the mean does not converge either (mean rate 1 >= 1)",), ("still converges",))


def reasons_method(protocol: bool):
    """A VS method: every case of :func:`reason_cases` through ``a2ad predict`` and ``predict --precision``;
    the printed rate against the probed one, null fixed points, and the reason read back."""
    def method(profile: Profile) -> Outcome:
        cases = reason_cases(protocol)
        ledger = Ledger(instances=len(cases))
        with cli.scratch() as tmp:
            paths = cli.write_configs(tmp, [c.config() for c in cases.values()])
            argvs = [["predict", p] for p in paths] + [["predict", p, "--precision", str(REASON_DIGITS)]
                                                       for p in paths]
            printed = cli.run_commands(argvs)
        for k, (label, case) in enumerate(cases.items()):
            rho = ref.rate(replace(case.inst, target=np.zeros_like(case.inst.target)))
            for pr in (printed[k], printed[len(cases) + k]) if case.precise else (printed[k],):
                ledger.require("exit status", pr.status == 0, f"{label}: exit {pr.status}: {pr.stderr.strip()[:120]}")
                doc = pr.json_or_none()
                agents = doc.get("agents") if isinstance(doc, dict) else None
                ledger.require("diverging document", isinstance(agents, dict) and doc.get("converges") is False
                               and all(e.get(f) is None for e in agents.values()
                                       for f in ("fixed_point", "residual", "residual_norm")),
                               f"{label}: converges or a fixed point printed: {str(doc)[:160]}")
                if not isinstance(doc, dict):
                    continue
                try:
                    with mp.workdps(REASON_DIGITS):
                        printed_rate = float(mp.mpf(doc.get("contraction_rate")))
                except (TypeError, ValueError):
                    printed_rate = math.nan
                ledger.add("contraction_rate", abs(printed_rate - rho) / max(1.0, rho), RATE_BAR)
                reason = doc.get("reason")
                ledger.require("reason", isinstance(reason, str), f"{label}: reason {reason!r}")
                if isinstance(reason, str):
                    case.check(ledger, reason, rho, label)
                    _six_digits(ledger, r"contraction rate rho = ([0-9.e+-]+) ", reason, label)
                    printed_rho(ledger, reason, rho, label)  # its value, and the excess when it reads 1
        if not protocol:
            _big_dimension(ledger)
        else:
            _random_reasons(ledger)
            _random_mean_at_margin(ledger)
        if protocol:  # the band's closed edge: this case's probed float64 rate is exactly 1 - MARGIN
            edge = cases["rate_at_margin"].inst
            ledger.require("instance", ref.rate(edge) == 1 - MARGIN, "rate_at_margin: probed rate is not 1 - 1e-12")
        kind = "a protocol (P1)" if protocol else "the round robin (C1, C6 heads)"
        return ledger.outcome(f"the divergence reason of a2ad predict and predict --precision {REASON_DIGITS} "
                              f"under {kind}, {len(cases)} causes, every printed number recomputed from the "
                              "config; the rate vs the probed round map")
    return method
