"""Shipped-path methods (VS): the object checked is what a user's command prints (issue 22, item 4).

Each method writes configs as a user does, runs the ``a2ad`` command on them
(:mod:`proofs_check.verification.shipped_cli`), parses the printed document and compares EVERY field
with an independent reference (:mod:`proofs_check.verification.shipped_reference`: simulated rounds,
the brute-force probed round map, an mpmath solve of it); nothing on the reference side calls the
package. A method's ``worst_error`` is the worst field's error as a multiple of that field's bar
(so the tolerance is 1); the detail names each field's worst error and bar. A field that is
missing, extra, of the wrong kind or wrong exactly (a key, ``converges``, ``null`` where a number
belongs) counts as :data:`MISMATCH` times its bar.

Package extension: the paper states the theory, not the tool; these methods check the tool's output.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import mpmath as mp
import numpy as np

from proofs_check.verification import shipped_cli as cli, shipped_reference as ref
from proofs_check.verification.registry import Outcome, Profile
from proofs_check.verification.shipped_predict_text import check_predict_text

__all__ = ["Ledger", "documents_method", "precise_method", "kernel_method", "live_cost_method", "joint", "MISMATCH",
           "flat_vector", "residual_rel"]

# Bars (reason each):
# fixed points, residuals and rates of instances with rho <= RHO_MAX, against rounds simulated until
# rho^t < 1e-15: the float64 solve and the simulation agree to ~1e-13; 1e-9 (the V4 bar) leaves headroom.
FLOAT_BAR = 1e-9
# a printed residual e = z - w* is compared relative to max(|e|, RESIDUAL_FLOOR |z|): a residual that vanishes
# (an agent hearing only itself) is known from the simulated z only to ~1e-13 |z|, which the floor turns into
# <= 1e-10 relative (below FLOAT_BAR); an error above 1e-12 |z| still fails.
RESIDUAL_FLOOR = 1e-3
# simulate's messages and norms against the same GD steps iterated here: only rounding order differs
# ((H w - b) vs H (w - w*)), a few ulps grown over the few turns checked.
SIMULATE_BAR = 1e-11
# --precision: >= 40 agreeing digits (docs/theory.rst, V5), the document printed at PRINTED_DIGITS digits,
# the reference computed at REFERENCE_DPS.
PRECISE_BAR = 1e-40
PRINTED_DIGITS = 50
REFERENCE_DPS = 90
# A structural mismatch (a key, a boolean, a null) has no size: it counts as this many bars.
MISMATCH = 1e6
# Instances are kept when the reference rate is in [RHO_MIN, RHO_MAX]: fast enough to simulate to the
# fixed point, and far enough from 0 that a wrong rate is not hidden by a rate near 0.
RHO_MIN, RHO_MAX = 0.05, 0.9
SIMULATE_TURNS = 4
PREDICT_KEYS = {"schema_version", "dimension", "contraction_rate", "converges", "precision", "agents"}
AGENT_KEYS = {"target", "fixed_point", "residual", "residual_norm"}


@dataclass
class Ledger:
    """Per-field worst errors, each against its bar."""

    fields: dict[str, tuple[float, float]] = field(default_factory=dict)  # name -> (worst error, bar)
    problems: list[str] = field(default_factory=list)
    instances: int = 0

    def add(self, name: str, error: float, bar: float) -> None:
        error = float(error) if math.isfinite(float(error)) else math.nan
        old = self.fields.get(name)
        if old is None or math.isnan(error) or (not math.isnan(old[0]) and error > old[0]):
            self.fields[name] = (error, bar)

    def require(self, name: str, ok: bool, what: str, bar: float = 1.0) -> None:
        """An exact field: 0 when ``ok``, :data:`MISMATCH` bars otherwise (``what`` goes in the detail)."""
        self.add(name, 0.0 if ok else MISMATCH * bar, bar)
        if not ok and len(self.problems) < 6:
            self.problems.append(what)

    def outcome(self, what: str) -> Outcome:
        ratios = [e / b if b > 0 else (0.0 if e == 0 else math.inf) for e, b in self.fields.values()]
        worst = max(ratios, default=math.nan)
        if any(math.isnan(r) for r in ratios):
            worst = math.nan
        parts = ", ".join(f"{n} {e:.1e} (bar {b:.0e})" for n, (e, b) in self.fields.items())
        detail = f"{what}; worst per field: {parts}"
        if self.problems:
            detail = "MISMATCH: " + "; ".join(self.problems) + "; " + detail
        return Outcome(worst, 1.0, self.instances, detail,
                       power=f"errors in units of each field's bar: a flipped residual sign is 2 ||e|| (2e9 "
                             f"bars), a wrong rate or key is >= {MISMATCH:.0e} bars")


def flat_vector(v, d: int):
    """A printed vector's value, flattened; a printed ``0`` (a residual that vanishes identically, e.g. of an
    agent that hears only itself with weight 1) is the zero vector of length ``d``. ``None`` (unreadable) stays
    None; any other scalar keeps its shape (1,), so a comparison with a d-vector fails."""
    if v is None:
        return None
    return np.zeros(d) if np.ndim(v) == 0 and v == 0 else np.reshape(v, -1)


def residual_rel(got, z: np.ndarray, offset) -> float:
    """Relative error of a printed ``z - offset`` (``z`` a simulated fixed point; ``offset`` the target for a
    residual, 0 for the fixed point itself), on the scale ``max(|z - offset|, RESIDUAL_FLOOR |z|)``. ``got`` is
    the printed value as evaluated: flattened by :func:`flat_vector` (a printed ``0`` is the zero vector)."""
    want = z - offset
    got = flat_vector(got, want.size)
    if got is None or np.shape(got) != np.shape(want):
        return math.inf
    scale = max(float(np.linalg.norm(want)), RESIDUAL_FLOOR * float(np.linalg.norm(z)), 1e-300)
    return float(np.linalg.norm(np.asarray(got, dtype=float) - want) / scale)


def rel(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return math.inf
    return float(np.linalg.norm(a - b) / max(float(np.linalg.norm(b)), 1e-300))


def _instances(rng: np.random.Generator, n: int, Ks: tuple[int, int], protocol: bool) -> list[tuple]:
    """``n`` random instances with a reference rate in [RHO_MIN, RHO_MAX] (instance, rate)."""
    out: list[tuple[ref.Instance, float]] = []
    for _ in range(200 * n):
        if len(out) == n:
            break
        inst = ref.random_instance(rng, int(rng.integers(Ks[0], Ks[1] + 1)), int(rng.integers(1, 4)), protocol)
        rho = ref.rate(inst)
        if RHO_MIN <= rho <= RHO_MAX:
            out.append((inst, rho))
    if len(out) < n:
        raise RuntimeError(f"only {len(out)} of {n} stable instances drawn")
    return out


def _as_cycle(inst: ref.Instance) -> ref.Instance:
    """The round robin written out as a protocol (every weight 1: the engine's cycle path)."""
    K, n = inst.K, inst.names
    rounds = tuple(((n[i], ((n[(i - 1) % K], 1.0),)),) for i in range(K))
    return ref.Instance(inst.names, inst.H, inst.target, inst.Gamma, inst.scalar_gamma, inst.steps, inst.initial,
                        rounds)


def _divergent(rng: np.random.Generator, Ks: tuple[int, int], protocol: bool) -> tuple:
    """An instance whose reference rate exceeds 1.05 (the preconditioners scaled up)."""
    for _ in range(400):
        inst = ref.random_instance(rng, int(rng.integers(Ks[0], Ks[1] + 1)), int(rng.integers(1, 4)), protocol)
        big = ref.Instance(inst.names, inst.H, inst.target, np.round(inst.Gamma * 3.0, ref.DECIMALS),
                           inst.scalar_gamma, inst.steps, inst.initial, inst.rounds)
        rho = ref.rate(big)
        if 1.05 <= rho <= 1e6:
            return big, rho
    raise RuntimeError("no divergent instance drawn")


def check_predict(ledger: Ledger, doc, inst: ref.Instance, rho: float) -> None:
    """Every field of a float64 ``predict`` document against the references."""
    ledger.require("keys", isinstance(doc, dict) and set(doc) == PREDICT_KEYS | ({"reason"} if rho >= 1 else set()),
                   f"predict keys {sorted(doc) if isinstance(doc, dict) else doc}")
    if not isinstance(doc, dict):
        return
    ledger.require("schema_version", doc.get("schema_version") == 1, "schema_version")
    ledger.require("dimension", doc.get("dimension") == inst.d, f"dimension {doc.get('dimension')} != {inst.d}")
    ledger.require("precision", doc.get("precision") == "float64", f"precision {doc.get('precision')!r}")
    cr = doc.get("contraction_rate")
    ledger.add("contraction_rate", abs(cr - rho) / rho if isinstance(cr, float) else math.inf, FLOAT_BAR)
    ledger.require("converges", doc.get("converges") is (rho < 1), f"converges {doc.get('converges')} at rho {rho:.3f}")
    agents = doc.get("agents")
    ledger.require("agents", isinstance(agents, dict) and list(agents) == list(inst.names),
                   f"agents {list(agents) if isinstance(agents, dict) else agents}")
    if not isinstance(agents, dict) or list(agents) != list(inst.names):
        return
    if rho >= 1:
        reason = doc.get("reason")
        ledger.require("reason", isinstance(reason, str) and len(reason) > 0, f"reason {reason!r}")
        for n in inst.names:
            e = agents[n]
            ledger.require("diverging fields null", all(e.get(k) is None for k in AGENT_KEYS - {"target"}),
                           f"{n}: a fixed point printed at rho {rho:.2f}")
        return
    z = ref.settled(inst, rho)
    scale = max(float(np.linalg.norm(z - inst.target)), 1e-300)
    for k, n in enumerate(inst.names):
        e = agents[n]
        ledger.require("agent keys", set(e) == AGENT_KEYS, f"{n} keys {sorted(e)}")
        ledger.add("target", rel(e.get("target"), inst.target[k]), FLOAT_BAR)
        ledger.add("fixed_point", rel(e.get("fixed_point"), z[k]), FLOAT_BAR)
        # the residual against the joint gap scale: a flipped sign gives 2 ||e_k|| / scale
        res = np.asarray(e.get("residual"), dtype=float)
        ledger.add("residual", float(np.linalg.norm(res - (z[k] - inst.target[k]))) / scale
                   if res.shape == z[k].shape else math.inf, FLOAT_BAR)
        rn = e.get("residual_norm")
        ledger.add("residual_norm", abs(rn - float(np.linalg.norm(z[k] - inst.target[k]))) / scale
                   if isinstance(rn, float) else math.inf, FLOAT_BAR)


def check_simulate(ledger: Ledger, doc, inst: ref.Instance, turns: int) -> None:
    """Every field of a ``simulate`` document against the rounds simulated here."""
    ledger.require("simulate keys", isinstance(doc, dict) and set(doc) == {"schema_version", "turns", "agents"},
                   f"simulate keys {sorted(doc) if isinstance(doc, dict) else doc}")
    if not isinstance(doc, dict):
        return
    ledger.require("simulate schema/turns", doc.get("schema_version") == 1 and doc.get("turns") == turns,
                   f"simulate turns {doc.get('turns')}")
    agents = doc.get("agents")
    ledger.require("simulate agents", isinstance(agents, dict) and list(agents) == list(inst.names),
                   "simulate agents")
    if not isinstance(agents, dict) or list(agents) != list(inst.names):
        return
    m = ref.simulate_rounds(inst, turns)
    for k, n in enumerate(inst.names):
        e = agents[n]
        ledger.require("simulate agent keys", set(e) == {"messages", "residual_norms"}, f"{n} simulate keys")
        ledger.add("messages", rel(e.get("messages"), m[:, k]), SIMULATE_BAR)
        ledger.add("residual_norms", rel(e.get("residual_norms"), np.linalg.norm(m[:, k] - inst.target[k], axis=-1)),
                   SIMULATE_BAR)


def documents_method(seed_offset: int, Ks: tuple[int, int], protocol: bool):
    """A VS method: ``predict`` and ``simulate`` documents of random configs (with a protocol when
    ``protocol``: random phases, weights of any sign not summing to 1, the round robin written as a
    protocol; else the round robin of Ks agents), 1..3 steps per turn, scalar and matrix preconditioners,
    and one divergent config, every field against the independent references."""
    def method(profile: Profile) -> Outcome:
        rng = np.random.default_rng(profile.seed + seed_offset)
        n = max(3, min(profile.instances // 16, 24))  # full: 24 configs per method (each settles by simulation)
        cases = _instances(rng, n, Ks, protocol)
        if protocol:
            cycles = [(c, ref.rate(c)) for c in (_as_cycle(inst) for inst, _ in cases)]
            cases += [c for c in cycles if RHO_MIN <= c[1] <= RHO_MAX][:1]
        cases.append(_divergent(rng, Ks, protocol))
        ledger = Ledger(instances=len(cases))
        with cli.scratch() as tmp:
            paths = cli.write_configs(tmp, [inst.config() for inst, _ in cases])
            argvs = ([["predict", p] for p in paths] + [["simulate", p, "--turns", str(SIMULATE_TURNS)] for p in paths]
                     + [["predict", p, "--text"] for p in paths])
            printed = cli.run_commands(argvs)
        n = len(cases)
        for (inst, rho), pr, text in zip(cases, printed[:n], printed[2 * n:]):
            ledger.require("exit status", pr.status == 0 and text.status == 0,
                           f"predict exit {pr.status}, --text {text.status}: {pr.stderr.strip()[:120]}")
            check_predict(ledger, pr.json_or_none(), inst, rho)
            check_predict_text(ledger, text.stdout, pr.json_or_none())
        for (inst, rho), pr in zip(cases, printed[n:2 * n]):
            if rho >= 1:  # diverging messages may overflow within the turns: only finite runs are compared
                continue
            ledger.require("exit status", pr.status == 0, f"simulate exit {pr.status}: {pr.stderr.strip()[:120]}")
            check_simulate(ledger, pr.json_or_none(), inst, SIMULATE_TURNS)
        kind = "random protocols (and the round robin written as one)" if protocol else f"round robins of {Ks} agents"
        return ledger.outcome(f"a2ad predict / simulate on {len(cases)} configs ({kind}, 1..3 steps per turn, one "
                              f"divergent) vs simulated rounds, the probed round map's rate and its divergence; "
                              f"predict --text line by line against the document")
    return method


# ---------------------------------------------------------------- --precision
def _mp_rel(got, want) -> float:
    with mp.workdps(REFERENCE_DPS):
        try:
            g = mp.matrix([mp.mpf(x) for x in got]) if isinstance(got, list) else mp.mpf(got)
        except (TypeError, ValueError):
            return math.inf
        w = want
        if isinstance(g, mp.matrix):
            if g.rows != w.rows:
                return math.inf
            return float(mp.norm(g - w) / max(mp.norm(w), mp.mpf(10) ** -300))
        return float(abs(g - w) / max(abs(w), mp.mpf(10) ** -300))


def check_precise(ledger: Ledger, doc, inst: ref.Instance) -> None:
    """Every field of a ``predict --precision`` document against the mpmath reference."""
    rho, z = ref.precise_reference(inst, REFERENCE_DPS)
    ledger.require("keys", isinstance(doc, dict) and set(doc) == PREDICT_KEYS, "precise keys")
    if not isinstance(doc, dict) or not isinstance(doc.get("agents"), dict):
        return
    ledger.require("precision", doc.get("precision") == f"mpmath {PRINTED_DIGITS} digits", "precision field")
    ledger.require("converges", doc.get("converges") is True, "converges")
    ledger.require("dimension", doc.get("dimension") == inst.d, "dimension")
    ledger.add("contraction_rate", _mp_rel(doc.get("contraction_rate"), rho), PRECISE_BAR)
    agents = doc["agents"]
    ledger.require("agents", list(agents) == list(inst.names), "agents")
    if list(agents) != list(inst.names):
        return
    with mp.workdps(REFERENCE_DPS):
        for k, n in enumerate(inst.names):
            e = agents[n]
            ws = mp.matrix([mp.mpf(repr(float(x))) for x in inst.target[k]])
            ledger.add("target", _mp_rel(e.get("target"), ws), PRECISE_BAR)
            ledger.add("fixed_point", _mp_rel(e.get("fixed_point"), z[k]), PRECISE_BAR)
            ledger.add("residual", _mp_rel(e.get("residual"), z[k] - ws), PRECISE_BAR)
            ledger.add("residual_norm", _mp_rel(e.get("residual_norm"), mp.norm(z[k] - ws)), PRECISE_BAR)


def precise_method(seed_offset: int):
    """A VS method: ``predict --precision 50`` on configs with a protocol (listening weights not 1, not summing
    to 1) and on a round robin, steps_per_turn up to 3, every field to >= 40 digits against an mpmath
    computation of the probed round map at 90 digits."""
    def method(profile: Profile) -> Outcome:
        rng = np.random.default_rng(profile.seed + seed_offset)
        cases = []
        for k in range(max(2, profile.precise_instances // 4)):
            protocol = k % 2 == 0
            for _ in range(500):
                inst = ref.random_instance(rng, int(rng.integers(2, 4)), 2, protocol)
                if max(inst.steps) < 2 or (inst.rounds is not None and all(w == 1.0 for ph in inst.rounds
                                                                           for _, r in ph for _, w in r)):
                    continue
                if RHO_MIN <= ref.rate(inst) <= RHO_MAX:
                    cases.append(inst)
                    break
        ledger = Ledger(instances=len(cases))
        with cli.scratch() as tmp:
            paths = cli.write_configs(tmp, [inst.config() for inst in cases])
            printed = cli.run_commands([["predict", p, "--precision", str(PRINTED_DIGITS), *text]
                                        for text in ([], ["--text"]) for p in paths])
        for inst, pr, text in zip(cases, printed, printed[len(cases):]):
            ledger.require("exit status", pr.status == 0 == text.status, f"exit {pr.status}, --text {text.status}: "
                                                                         f"{pr.stderr.strip()[:120]}")
            check_precise(ledger, pr.json_or_none(), inst)
            check_predict_text(ledger, text.stdout, pr.json_or_none())
        return ledger.outcome(f"a2ad predict --precision {PRINTED_DIGITS} on a protocol with weights not 1 and a "
                              f"round robin, steps per turn up to 3, vs mpmath at {REFERENCE_DPS} digits on the "
                              "probed round map; its --text line by line against the document")
    return method


# ---------------------------------------------------------------- batched kernels
def _random_batch(rng: np.random.Generator, B: int, K: int, d: int, P: int):
    """Affine agent maps with ||M_i|| = 0.7 and listening rows with sum |W_ij| <= 1.2: every round contracts
    (factor <= 0.84 in the block max norm, every agent listens at least once)."""
    M = rng.standard_normal((B, K, d, d))
    M *= 0.7 / np.linalg.norm(M, ord=2, axis=(-2, -1))[..., None, None]
    c = rng.standard_normal((B, K, d))
    W = rng.uniform(-1.0, 1.0, (P, K, K)) * (rng.random((P, K, K)) < 0.6)
    W *= 1.2 / np.maximum(np.abs(W).sum(axis=-1, keepdims=True), 1e-12)
    mask = rng.random((P, K)) < 0.6
    mask[rng.integers(P, size=K), np.arange(K)] = True
    return M, c, np.broadcast_to(W, (B, P, K, K)).copy(), np.broadcast_to(mask, (B, P, K)).copy()


def simulate_batch(M, c, W, mask, rounds: int) -> np.ndarray:
    """Iterate the affine agent maps under the phases (batched): z_i <- M_i sum_j W_ij z_j + c_i for listeners."""
    z = np.zeros(c.shape)
    for _ in range(rounds):
        for p in range(W.shape[1]):
            heard = np.einsum("bij,bjd->bid", W[:, p], z)
            new = np.einsum("bide,bie->bid", M, heard) + c
            z = np.where(mask[:, p, :, None], new, z)
    return z


KERNEL_ROUNDS = 220  # 0.84^220 < 1e-16
# Systems past the kernel's lane groups: a batch of KERNEL_MIN_BATCH + KERNEL_REMAINDER systems ends in a
# partial group (the kernel runs 64 lanes at a time).
KERNEL_REMAINDER = 37
# docs/protocol.rst: fixed_points on 256 or more systems runs the compiled kernel (fewer: numpy's batched
# solve, no compile); the batch sizes below are read from this statement, not from the package's constant
KERNEL_DOCUMENTED_MIN_BATCH = 256
# Non-normal agents M_i = [[0.3, 4], [0, 0.3]] hearing themselves: rho(Phi) = 0.3 but ||Phi||_F > 1, so the
# kernel's Frobenius certificate does not decide them and the exact test must (every KERNEL_NON_NORMAL-th
# system); after KERNEL_ROUNDS rounds their transient 4 t 0.3^(t-1) is below 1e-100.
KERNEL_NON_NORMAL = 7


def _non_normal(M, c, W, mask) -> None:
    """Every KERNEL_NON_NORMAL-th system of the batch made non-normal and self-hearing (in place); in every
    other of those, agent A's map is [[1, 1], [-0.6, -0.5]] (rate 0.32): ``I - Phi`` has a zero first pivot,
    so the solve must pivot."""
    K, d = M.shape[1], M.shape[2]
    block = 0.3 * np.eye(d)
    block[0, -1] = 4.0
    sel = slice(0, None, KERNEL_NON_NORMAL)
    M[sel] = block
    W[sel] = 0.0
    W[sel, 0] = np.eye(K)
    mask[sel] = False
    mask[sel, 0] = True
    pivot = 0.5 * np.eye(d)
    pivot[:2, :2] = [[1.0, 1.0], [-0.6, -0.5]]
    M[KERNEL_NON_NORMAL::2 * KERNEL_NON_NORMAL, 0] = pivot


def _refused(evaluate, M, c, W, mask) -> str | None:
    """The InputError message when ``fixed_points`` refuses the batch (some system does not contract), else None."""
    from numerics.io.errors import InputError

    try:
        evaluate.fixed_points(M, c, W, mask)
    except InputError as exc:
        return str(exc)
    return None


# The kernel's own contract (kernel.solve, below fixed_points). Systems whose probed ||Phi||_F^2 lies within
# KERNEL_FRO_MARGIN of 1 are not compared for the certificate: the kernel and the reference sum the squares in
# different orders (a few ulps apart); every other system must be undecided exactly when ||Phi||_F >= 1.
KERNEL_FRO_MARGIN = 1e-9
# CPU seconds one compiled solve of the KERNEL_MIN_BATCH + KERNEL_REMAINDER systems (K 3, d 4, P 3) may take:
# compiled it takes ~2 ms, the same loops interpreted (the kernel not compiled) ~0.5 s; the bar sits between.
KERNEL_CPU_BAR = 0.05
# An agent map of this scale heard in two phases overflows float64 in Phi (1e400): the system has no finite
# round map, and fixed_points must refuse it as that system with or without the check.
KERNEL_OVERFLOW = 1e200
# The interpreted run of the kernel's loops: lanes per group and systems (two whole groups and one of a
# single system with spare lanes); numpy's indexing raises on any read or write outside the arrays.
KERNEL_PY_LANES = 4
KERNEL_PY_BATCH = 9


def probe_round_batch(M, c, W, mask) -> tuple[np.ndarray, np.ndarray]:
    """Reference ``(Phi, r)`` (B, K d, K d), (B, K d) of the batched agent maps: one round from the zero state
    gives ``r``; one round of the linear part (``c = 0``) from each unit state gives a column of ``Phi``."""
    B, K, d = c.shape
    n = K * d

    def one_round(z, offset):
        for p in range(W.shape[1]):
            heard = np.einsum("bij,bjd->bid", W[:, p], z)
            z = np.where(mask[:, p, :, None], np.einsum("bide,bie->bid", M, heard) + offset, z)
        return z

    Phi = np.empty((B, n, n))
    with np.errstate(all="ignore"):
        for j in range(n):
            e = np.zeros((B, n))
            e[:, j] = 1.0
            Phi[:, :, j] = one_round(e.reshape(B, K, d), 0.0).reshape(B, n)
        r = one_round(np.zeros((B, K, d)), c).reshape(B, n)
    return Phi, r


def _kernel_solve_contract(ledger: Ledger, M, c, W, mask, want, side: str) -> None:
    """``fixed_points(check=False)`` and ``kernel.solve`` on a batch the kernel takes: the same fixed points
    without the check; with ``want_phi`` the undecided systems are exactly those whose probed ``||Phi||_F`` is
    not < 1, each returned with its round matrix."""
    from numerics.protocol import evaluate, kernel

    B = c.shape[0]
    z = evaluate.fixed_points(M, c, W, mask, check=False)
    err = np.linalg.norm((z - want).reshape(B, -1), axis=1) / np.linalg.norm(want.reshape(B, -1), axis=1)
    ledger.add(f"fixed_points check=False {side}", float(np.max(err)) if np.all(np.isfinite(err)) else math.nan,
               FLOAT_BAR)
    _, undecided, bad = kernel.solve(M, c, W, mask, want_phi=True)
    Phi, _ = probe_round_batch(M, c, W, mask)
    fro2 = np.einsum("bij,bij->b", Phi, Phi)
    clear = np.abs(fro2 - 1.0) > KERNEL_FRO_MARGIN
    idx, Phi_k = undecided
    got = np.zeros(B, dtype=bool)
    got[idx] = True
    ledger.require(f"kernel certificate {side}", bad == -1 and np.array_equal(got[clear], fro2[clear] >= 1.0),
                   f"batch of {B}: undecided systems {np.flatnonzero(got)[:8]} (bad {bad}), want those with "
                   f"||Phi||_F >= 1: {np.flatnonzero(clear & (fro2 >= 1.0))[:8]}")
    if idx.size:
        ledger.add(f"kernel undecided Phi {side}", rel(Phi_k, Phi[idx]), FLOAT_BAR)


def _kernel_refusals(ledger: Ledger, rng: np.random.Generator, B: int, K: int, P: int) -> None:
    """A batch of ``B`` systems (d 4) with one system ``k`` that has no attracting fixed point: rho 1.5 and rho 1
    with ``||Phi||_F = 1`` exactly are solved as they are with ``check=False`` (the unique fixed point of the
    probed map) and the latter is undecided with its round matrix; ``I - Phi`` singular (in the last lane group,
    and as the batch's last system), and a round map that overflows float64 (with or without the check), are
    refused as system ``k``."""
    from numerics.io.errors import InputError
    from numerics.protocol import evaluate, kernel

    d = 4
    M0, c0, W0, mask0 = _random_batch(rng, B, K, d, P)
    for label in ("rho 1.5", "rho 1, ||Phi||_F = 1", "I - Phi singular", "I - Phi singular, last", "Phi overflows"):
        k = B - 1 if label.endswith("last") else B - 3  # in the last lane group
        M, c, W, mask = M0.copy(), c0.copy(), W0.copy(), mask0.copy()
        W[k], mask[k] = 0.0, False
        mask[k, 0] = True
        if label == "rho 1, ||Phi||_F = 1":
            M[k] = 0.0
            M[k, 0, 0, 0], W[k, 0, 0, 0] = 1.0, -1.0
        elif label == "Phi overflows":  # every agent hears itself in the first two phases: Phi = 1e400 I
            M[k], W[k, :2] = KERNEL_OVERFLOW * np.eye(d), np.eye(K)
            mask[k, 1], c[k] = True, 0.0  # c = 0: r stays finite (0), only Phi overflows
        else:
            M[k], W[k, 0] = (1.5 if label == "rho 1.5" else 1.0) * np.eye(d), np.eye(K)
        checks = (False, True) if label == "Phi overflows" else (False,)
        for check in checks:
            try:
                with np.errstate(over="ignore", invalid="ignore"):  # the overflowing map's round_map warns
                    z, refusal = evaluate.fixed_points(M, c, W, mask, check=check), None
            except InputError as exc:
                z, refusal = None, str(exc)
            name = f"{label}, check={check}"
            if label.startswith("I - Phi singular") or label == "Phi overflows":
                ledger.require(f"refuses {name}", refusal is not None and f"system {k})" in refusal,
                               f"batch of {B}: {name}: {refusal or 'accepted'} (want system {k} named)")
                continue
            ledger.require(f"solves {name}", z is not None, f"batch of {B}: {name}: refused: {refusal}")
            if z is not None:
                Phi, r = probe_round_batch(M[k:k + 1], c[k:k + 1], W[k:k + 1], mask[k:k + 1])
                zk = np.linalg.solve(np.eye(K * d) - Phi[0], r[0])
                ledger.add(f"fixed point of {label}, check=False", rel(z[k].reshape(-1), zk), FLOAT_BAR)
                if label == "rho 1.5":  # the other systems contract: their fixed points, as simulated
                    rest = np.arange(B) != k
                    want = simulate_batch(M[rest], c[rest], W[rest], mask[rest], KERNEL_ROUNDS)
                    ledger.add(f"fixed_points check=False, {P} phases of {K} agents", rel(z[rest], want), FLOAT_BAR)
        if label == "rho 1, ||Phi||_F = 1":  # undecided by the certificate: its round matrix goes to the exact test
            _, (idx, Phi_k), _ = kernel.solve(M, c, W, mask, want_phi=True)
            Phi, _ = probe_round_batch(M[k:k + 1], c[k:k + 1], W[k:k + 1], mask[k:k + 1])
            pos = np.flatnonzero(idx == k)
            right = pos.size == 1 and np.array_equal(Phi_k[pos[0]], Phi[0])
            ledger.require("kernel undecided ||Phi||_F = 1", right,
                           f"batch of {B}: the system of ||Phi||_F = 1 exactly undecided {pos.size} times, "
                           f"its round matrix {'right' if right else 'wrong'}")
        if label == "rho 1.5":  # compiled: one solve of the whole batch within KERNEL_CPU_BAR CPU seconds
            import time

            start = time.process_time()
            kernel.solve(M, c, W, mask, want_phi=False)
            spent = time.process_time() - start
            ledger.require("kernel compiled", spent < KERNEL_CPU_BAR,
                           f"one solve of {B} systems took {spent:.3f} s CPU (bar {KERNEL_CPU_BAR} s)")


def _kernel_interpreted(ledger: Ledger, rng: np.random.Generator) -> None:
    """The kernel's loops run interpreted (numpy indexing raises on any access outside an array) on a batch of
    KERNEL_PY_BATCH systems in groups of KERNEL_PY_LANES lanes, the last with spare lanes, one of them non-normal
    and one needing a pivot: the same fixed points as the simulation, nothing refused."""
    from numerics.protocol import kernel

    M, c, W, mask = _random_batch(rng, KERNEL_PY_BATCH, 2, 2, 3)  # 3 phases of 2 agents
    _non_normal(M, c, W, mask)
    B, K, d = c.shape
    z, fro, Phi = np.empty((B, K, d)), np.empty(B), np.empty((B, K * d, K * d))
    loops = getattr(kernel._solve_batch, "py_func", kernel._solve_batch)
    try:
        with np.errstate(all="ignore"):
            bad = loops(M, c, W, mask, z, Phi, fro, True, KERNEL_PY_LANES)
        problem = None if bad == -1 else f"system {bad} refused"
    except Exception as exc:  # noqa: BLE001 - an IndexError (outside an array) or any other: the loops are wrong
        problem = f"{type(exc).__name__}: {exc}"
    ledger.require("kernel interpreted in bounds", problem is None, f"interpreted kernel, batch of {B}: {problem}")
    if problem is None:
        ledger.add("kernel interpreted", rel(z, simulate_batch(M, c, W, mask, KERNEL_ROUNDS)), FLOAT_BAR)


def _unchecked_refusal_names_the_system(evaluate, rng: np.random.Generator, ledger: Ledger) -> None:
    """``fixed_points(..., check=False)`` (what the engine and the protocol attack call) on a kernel batch whose
    FIRST system has ``I - Phi`` singular (every agent hears itself through ``M = I``): refused as that system's
    singular ``I - Phi``, naming system 0, not as a contraction rate (the check was not asked for)."""
    from numerics.io.errors import InputError

    M, c, W, mask = _random_batch(rng, KERNEL_DOCUMENTED_MIN_BATCH, 3, 2, 2)
    z = evaluate.fixed_points(M, c, W, mask, check=False)  # every system contracts: solved, unchecked
    want = simulate_batch(M, c, W, mask, KERNEL_ROUNDS)
    ledger.add("fixed_points unchecked (kernel)", rel(z, want), FLOAT_BAR)
    W[0], mask[0] = 0.0, False
    mask[0, 0] = True
    M[0], W[0, 0] = np.eye(2), np.eye(3)
    try:
        evaluate.fixed_points(M, c, W, mask, check=False)
        refusal = None
    except InputError as exc:
        refusal = str(exc)
    ok = refusal is not None and "I - Phi (round map of system 0)" in refusal and "singular" in refusal
    ledger.require("unchecked refusal names system 0", ok, f"check=False, system 0 singular: {refusal or 'accepted'}")


def _overflow_names_the_system(evaluate, rng: np.random.Generator, ledger: Ledger) -> None:
    """A kernel batch whose systems 5 and 9 have every agent hearing itself through ``M = 0.9 I`` with offsets
    1e308: their fixed points ``c / 0.1`` overflow float64 (no pivot is singular); ``fixed_points`` must refuse
    the batch naming system 5, the first whose fixed point is not finite."""
    from numerics.io.errors import InputError

    k = 5
    M, c, W, mask = _random_batch(rng, KERNEL_DOCUMENTED_MIN_BATCH, 3, 2, 2)
    for j in (k, 9):
        W[j], mask[j] = 0.0, False
        mask[j, 0] = True
        M[j], W[j, 0], c[j] = 0.9 * np.eye(2), np.eye(3), 1e308
    try:
        evaluate.fixed_points(M, c, W, mask)
        refusal = None
    except InputError as exc:
        refusal = str(exc)
    ok = refusal is not None and f"I - Phi (round map of system {k})" in refusal
    ledger.require("overflow names its system", ok, f"system {k}'s fixed point overflows: {refusal or 'accepted'}")


def _reduced_refusal(evaluate, ledger: Ledger) -> None:
    """``fixed_points`` (with its check) on one system below the kernel's batch size whose only live agent, A,
    hears itself through ``M_A = 1.5 I`` (B and C hear A, nobody hears them): the reduced solve on the live
    agents must be refused for its rate 1.5, not solved (``I - Phi_RR = -0.5 I`` is invertible)."""
    K, d = 3, 2
    M, c = np.stack([1.5 * np.eye(d), 0.5 * np.eye(d), 0.5 * np.eye(d)]), np.ones((K, d))
    W, mask = np.zeros((1, K, K)), np.ones((1, K), dtype=bool)
    W[0, :, 0] = 1.0  # every agent hears A
    refusal = _refused(evaluate, M, c, W, mask)
    ok = refusal is not None and "contraction rate rho = 1.5" in refusal
    ledger.require("reduced solve refuses rho 1.5", ok, f"one live agent of rate 1.5: {refusal or 'accepted'}")
    W[0] = np.eye(K)  # every agent hears itself: all live, the joint solve; A's block still has rate 1.5
    refusal = _refused(evaluate, M, c, W, mask)
    ok = refusal is not None and "contraction rate rho = 1.5" in refusal
    ledger.require("joint solve refuses rho 1.5", ok, f"every agent live, A of rate 1.5: {refusal or 'accepted'}")


LIVE_COST_D = 20  # the largest d --precision takes
LIVE_COST_DIGITS = 1000  # the most digits --precision takes


def live_cost_method(profile: Profile) -> Outcome:
    """VS: ``predict --precision 1000`` refused as too long names the live agents of the round map: three
    agents (d = 20, 10^12 GD steps per turn each, so the a-priori cost is far above the limit whatever the
    count) under one phase where A hears itself and B and C hear A. Nobody hears B or C, so A alone is
    live: the sentence must say 1 live agent and a 20 x 20 round map (3 and 60 x 60 if every agent were)."""
    d = LIVE_COST_D
    eye = np.eye(d).tolist()
    config = {"schema_version": 1, "initial_message": [0.0] * d,
              "agents": [{"name": n, "geometry": eye, "target": [0.5] * d, "preconditioner": 0.5,
                          "steps_per_turn": 10 ** 12} for n in "ABC"],
              "protocol": {"rounds": [{"A": {"A": 0.5}, "B": {"A": 1.0}, "C": {"A": 1.0}}]}}
    ledger = Ledger(instances=1)
    with cli.scratch() as tmp:
        path = cli.write_configs(tmp, [config])[0]
        pr = cli.run_commands([["predict", path, "--precision", str(LIVE_COST_DIGITS)]])[0]
    want = f"(1 live agents x d = {d}: a {d} x {d} round map"
    ledger.require("refused as too long", pr.status == 2 and "would take an estimated" in pr.stderr,
                   f"exit {pr.status}: {pr.stderr.strip()[:160]}")
    ledger.require("live agents named", want in pr.stderr, f"want {want!r} in: {pr.stderr.strip()[:200]}")
    return ledger.outcome(f"predict --precision {LIVE_COST_DIGITS} refused as too long on three agents of which "
                          "one is live (the others never heard): the sentence names 1 live agent")


def _solved_by_kernel(evaluate, M, c, W, mask) -> tuple[np.ndarray, bool]:
    """``evaluate.fixed_points(M, c, W, mask)`` and whether it called the compiled kernel (``kernel.solve``)."""
    from numerics.protocol import kernel

    calls, solve = [], kernel.solve

    def spy(*args, **kwargs):
        calls.append(1)
        return solve(*args, **kwargs)

    kernel.solve = spy
    try:
        return evaluate.fixed_points(M, c, W, mask), bool(calls)
    finally:
        kernel.solve = solve


def kernel_method(profile: Profile) -> Outcome:
    """VS: batched ``evaluate.fixed_points`` (and the compiled kernel it uses from KERNEL_MIN_BATCH systems on)
    just below, at and above its size threshold (a partial lane group), with non-normal systems the
    Frobenius certificate does not decide, against the batched simulation of the agent maps; a batch with
    one system that does not contract (rho 1.5, or rho 1 with ``||Phi||_F = 1`` exactly) is refused."""
    from numerics.protocol import evaluate

    rng = np.random.default_rng(profile.seed + 4242)
    ledger = Ledger()
    n0 = KERNEL_DOCUMENTED_MIN_BATCH
    for B, (K, d, P) in ((n0 - 1, (3, 2, 3)), (n0, (3, 2, 3)), (n0 + KERNEL_REMAINDER, (3, 2, 3))):
        M, c, W, mask = _random_batch(rng, B, K, d, P)
        _non_normal(M, c, W, mask)
        z, compiled = _solved_by_kernel(evaluate, M, c, W, mask)
        ledger.require("kernel from 256 systems on", compiled == (B >= n0),
                       f"batch of {B}: the compiled kernel {'ran' if compiled else 'did not run'} (docs/protocol.rst)")
        want = simulate_batch(M, c, W, mask, KERNEL_ROUNDS)
        err = np.linalg.norm((z - want).reshape(B, -1), axis=1) / np.linalg.norm(want.reshape(B, -1), axis=1)
        side = "below" if B < n0 else ("at" if B == n0 else "above")
        ledger.add(f"fixed_points {side} {n0}", float(np.max(err)) if np.all(np.isfinite(err)) else math.nan,
                   FLOAT_BAR)
        ledger.instances += B
        if B < n0:
            continue
        _kernel_solve_contract(ledger, M, c, W, mask, want, side)
        # d = 4: the kernel's round matrices of the batch take > 128 KiB, fresh (zeroed) pages, so a round matrix
        # the kernel failed to write reads as 0 (rho 0, accepted) rather than as leftover memory
        Mb0, cb, Wb0, maskb0 = _random_batch(rng, B, K, 4, P)
        for label in ("rho 1.5", "rho 1, ||Phi||_F = 1", "I - Phi singular"):
            Mb, Wb, maskb = Mb0.copy(), Wb0.copy(), maskb0.copy()
            k = B - 3  # in the last lane group
            Wb[k], maskb[k] = 0.0, False
            maskb[k, 0] = True  # every agent answers in the first phase only
            if label != "rho 1, ||Phi||_F = 1":  # every agent hears itself: Phi = 1.5 I, or I (singular)
                Mb[k], Wb[k, 0] = (1.5 if label == "rho 1.5" else 1.0) * np.eye(4), np.eye(K)
            else:  # A hears itself with weight -1 through M_A = diag(1, 0), the others hear nothing:
                Mb[k] = 0.0  # Phi = diag(-1, 0, ...), I - Phi invertible, rho 1 and ||Phi||_F^2 = 1 exactly
                Mb[k, 0, 0, 0], Wb[k, 0, 0, 0] = 1.0, -1.0
            refusal = _refused(evaluate, Mb, cb, Wb, maskb)
            # the singular system is the one refused (the kernel's first bad pivot indexes it): its own rate,
            # exactly 1, or its index in the batch
            ok = refusal is not None and (label != "I - Phi singular" or f"system {k})" in refusal
                                          or "contraction rate rho = 1.0:" in refusal)
            ledger.require(f"refuses {label}", ok, f"batch of {B}: a system of {label}: {refusal or 'accepted'}")
    rng2 = np.random.default_rng(profile.seed + 4343)
    _kernel_refusals(ledger, rng2, n0 + KERNEL_REMAINDER, 3, 4)  # 4 phases of 3 agents
    _kernel_interpreted(ledger, rng2)
    _unchecked_refusal_names_the_system(evaluate, rng, ledger)
    _reduced_refusal(evaluate, ledger)
    _overflow_names_the_system(evaluate, rng, ledger)
    return ledger.outcome(f"batched protocol fixed points at batch sizes {n0 - 1}, {n0} and {n0 + KERNEL_REMAINDER} "
                          f"(K 3, phases 3, weights of any sign, every {KERNEL_NON_NORMAL}th system non-normal) vs "
                          f"{KERNEL_ROUNDS} simulated rounds; a system with rho 1.5, rho 1 (||Phi||_F = 1) or "
                          "I - Phi singular refused")


def joint(*methods):
    """One VS method running several (a claim has one VS slot): the worst in bars, details joined."""
    def method(profile: Profile) -> Outcome:
        outs = [m(profile) for m in methods]
        ratios = [o.worst_error / o.tolerance for o in outs]
        worst = math.nan if any(math.isnan(r) for r in ratios) else max(ratios)
        return Outcome(worst, 1.0, sum(o.instances for o in outs), " || ".join(o.detail for o in outs),
                       power=outs[0].power)
    method.__doc__ = " Then: ".join(m.__doc__.strip() for m in methods if m.__doc__) or None  # what the parts do
    return method
