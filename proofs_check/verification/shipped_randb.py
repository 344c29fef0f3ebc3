"""VS, R1: ``a2ad derive --protocol`` on a small Markov chain whose mean takes the named-elimination path.

The compiler solves a Markov chain's first moments through the messages written in each alternative; past
``EXPANDED_UNKNOWNS`` (6) written messages it eliminates them with named Schur blocks
(:mod:`theory.protocol.named_elimination`). The full profile's three-agent chain (``NAMED``, 8 written
messages) is too slow for ``--profile quick``; :data:`NAMED_SMALL` is the cheapest chain found on that path: two
agents, four alternatives on a cycle with one self-loop (7 written messages, a sparse reduced system).

R1's VS runs (through :func:`shipped.joint`) its derive method and then this case: ``derive --protocol
--format json`` on a random mean-square-stable instance (GD agents, d in {2, 3}), checked by
:func:`shipped_derive_random.check_random_derivation` against the reference solved from round maps probed from
GD rounds (stationary mean, its weights ``G_(i,j)``, residuals, deviations, second-moment equations, rates,
every check proved), and here, beyond it:

- the named path was taken (the document defines the back-substituted messages ``y``; otherwise this case
  would test nothing of the named elimination);
- each back-substituted message ``y^{s}_{ja}`` (the message agent a writes in alternative j, as a weight of
  ``w*_s``) evaluated through its printed definitions equals the reference's: with ``w*_s = I`` (the other
  targets 0) and ``q_l`` the conditional first moments, ``y_{ja} = sum_c Phi_j[a,c] q_{j,c}`` over the blocks
  ``c`` of row a of ``Phi_j`` that are not multiples of I (the module text of
  :mod:`theory.protocol.random_markov`), all from the probed maps;
- every named Schur block ``U^(k)_(i,j)`` and eliminated right-side entry ``h^(k),s_i``: the document names
  exactly the blocks that the same elimination, done numerically on the reduced system ``I - F T E`` built from
  the probed maps and the chain, leaves nonzero, and each evaluates to that block (:func:`_elimination`);
- every listener's weights sum to one, so the document must say ``weights_sum_to_one`` for every agent.
"""
from __future__ import annotations

import dataclasses
import math
import re
from fractions import Fraction

import numpy as np

from proofs_check.verification import shipped_cli as cli, shipped_derive_random as sdr
from proofs_check.verification.registry import Outcome, Profile
from proofs_check.verification.shipped import Ledger, rel
from proofs_check.verification.shipped_derive import Evaluator, _transfers

__all__ = ["NAMED_SMALL", "TWO_STATES", "named_small_outcome", "two_states_outcome"]

# Two agents, four alternatives on a cycle a -> {a, b}, b -> c -> d -> a (irreducible; aperiodic by a's self-loop).
# Written messages: a: A, B; b: A, B; c: A, B; d: A (7 > EXPANDED_UNKNOWNS = 6: the named path). Of the chains
# tried, among the cheapest to derive (~0.2 s CPU) in which the blocks below the pivots and the pivots' inverses
# are both non-scalar (a product taken in the wrong order changes the mean; in the chain a -> b -> c -> d ->
# {a, d} it did not). Every listener's weights sum to one, so the mean's weights G_(i,j) sum to I: the document
# must say so (weights_sum_to_one, and the residual without a w*_i term), which the named path decides exactly.
# Both agents noisy: in a, b and c two noisy replies in one round, whose cross terms in the conditional second
# moments must vanish (random_checks' expectation term by term). The noise costs nothing measurable.
NAMED_SMALL = ("markov chain, named blocks (K=2, 7 written messages)", 2,
               [{"name": "a", "rounds": [{"Ann": {"Bo": 1.0}, "Bo": {"Ann": 1.0}}], "next": {"a": "p", "b": "p"}},
                {"name": "b", "rounds": [{"Ann": {"Bo": 0.5, "Ann": 0.5}, "Bo": {"Ann": 1.0}}], "next": {"c": 1.0}},
                {"name": "c", "rounds": [{"Ann": {"Bo": 1.0}, "Bo": {"Ann": 0.6, "Bo": 0.4}}], "next": {"d": 1.0}},
                {"name": "d", "rounds": [{"Ann": {"Bo": 1.0}}], "next": {"a": 1.0}}], ("Ann", "Bo"))
# The agents' names have several letters (as users write them): names are parsed out of letters in places
# (e.g. the noise covariance S_i from a noise letter), which one-letter names would not test.
NAMES = ("Ann", "Bo")
SEED_OFFSET = 8807  # its own stream (random_derive_method uses profile.seed + 8800 + its offset)
# A block of a probed round map is a multiple of I when it is within this of c I (c its mean diagonal):
# probed blocks are exact to ~1e-15; a block holding some M_i is far from scalar at a random instance.
SCALAR_TOL = 1e-9
# A block of the elimination is zero (not named) when below this times the system's scale: a block the algebra
# reduces to 0 is 0 up to rounding (~1e-15) here; a nonzero one is O(0.01) or more at a random instance.
ZERO_TOL = 1e-9
_Y = re.compile(r"y_(\w+)_(\d+)(\w+)")  # y_<target>_<alternative 1-based><agent>


def _written(want: dict, K: int, d: int, names: list[str], unit: int) -> dict[tuple[int, str], np.ndarray]:
    """``{(j, a): y_{ja}}``: the reference written messages as d x d weights of the target ``names[unit]``
    (column c: the message when that target is the unit vector e_c and the others are 0)."""
    P, Phis, m = want["P"], want["Phi"], len(want["Phi"])
    n = K * d
    A1 = np.zeros((m * n, m * n))
    for lo in range(m):
        for j in range(m):
            A1[lo * n:(lo + 1) * n, j * n:(j + 1) * n] = P[j, lo] * Phis[j]
    out: dict[tuple[int, str], np.ndarray] = {}
    cols = []
    for c in range(d):  # q at target names[unit] = e_c, the others 0: psi_k is linear in the targets
        psis = [want["psi_unit"][k][unit][c] for k in range(m)]
        b = np.concatenate([sum(P[j, lo] * want["pi"][j] * psis[j] for j in range(m)) for lo in range(m)])
        cols.append(np.linalg.solve(np.eye(m * n) - A1, b).reshape(m, n))
    for j in range(m):
        for ia, a in enumerate(names):
            row = Phis[j][ia * d:(ia + 1) * d]
            blocks = [c for c in range(K) if not _scalar(row[:, c * d:(c + 1) * d])]
            if blocks:
                out[(j, a)] = np.stack([sum(row[:, c * d:(c + 1) * d] @ q[j][c * d:(c + 1) * d] for c in blocks)
                                        for q in cols], axis=1)
    return out


def _scalar(block: np.ndarray) -> bool:
    c = float(np.trace(block)) / block.shape[0]
    return bool(np.abs(block - c * np.eye(block.shape[0])).max() <= SCALAR_TOL)


def _elimination(want: dict, K: int, d: int, names: list[str]) -> tuple[dict, dict]:
    """The named blocks of the elimination, numerically (module text of :mod:`theory.protocol.random_markov` and
    :mod:`theory.protocol.named_elimination`, at the probed maps): ``({(step, row, col): U}, {(step, target, row):
    h})`` keyed by the written-message labels, the h as d x d weights of the target (w*_target = I, others 0).

    ``B[(l,a),(j,c)] = P[j,l] Phi_j[a][c]`` split into its blocks that are multiples of I (``S``) and the others;
    ``T = (I - S)^-1``; the written messages ``(j, a)`` (a row of ``Phi_j`` with a non-scalar block), ``E[(l,a),
    (j,a)] = P[j,l]``, ``F[(j,a),(j,c)] = Phi_j[a][c]`` (its non-scalar blocks); the system ``I - F T E`` with right
    sides ``F T c_s`` (``c_s``: the coefficient of w*_s in ``b_(l,a) = sum_j P[j,l] pi_j psi_j[a]``). Step k takes
    the first row at or below k with a nonzero block in column k as pivot row; each nonzero updated block
    ``A_ij - A_ik A_kk^-1 A_kj`` is ``U^(k+1)_(row i, col j)``; each nonzero updated right-side entry
    ``h_i - A_ik A_kk^-1 h_k`` (rows with ``A_ik`` and ``h_k`` nonzero) is ``h^(k+1)``, the given ones ``h^(0)``."""
    P, pi, Phis = want["P"], want["pi"], want["Phi"]
    m, n = len(Phis), len(Phis[0]) // d
    blk = lambda X, a, c: X[a * d:(a + 1) * d, c * d:(c + 1) * d]  # noqa: E731
    size = m * n
    S = np.zeros((size, size))
    for l in range(m):
        for a in range(n):
            for j in range(m):
                for c in range(n):
                    if _scalar(blk(Phis[j], a, c)):
                        S[l * n + a, j * n + c] = P[j, l] * float(np.trace(blk(Phis[j], a, c))) / d
    T = np.kron(np.linalg.inv(np.eye(size) - S), np.eye(d))
    wr = [(j, a) for j in range(m) for a in range(n) if any(not _scalar(blk(Phis[j], a, c)) for c in range(n))]
    labels = [f"{j + 1}{names[a]}" for j, a in wr]
    E = np.zeros((size * d, len(wr) * d))
    F = np.zeros((len(wr) * d, size * d))
    for w, (j, a) in enumerate(wr):
        for l in range(m):
            E[(l * n + a) * d:(l * n + a + 1) * d, w * d:(w + 1) * d] = P[j, l] * np.eye(d)
        for c in range(n):
            if not _scalar(blk(Phis[j], a, c)):
                F[w * d:(w + 1) * d, (j * n + c) * d:(j * n + c + 1) * d] = blk(Phis[j], a, c)
    W = len(wr)
    Ared = np.eye(W * d) - F @ T @ E
    A0 = [[Ared[x * d:(x + 1) * d, y * d:(y + 1) * d] for y in range(W)] for x in range(W)]
    scale = 1.0 + max(float(np.abs(Ared).max()), 1.0)
    nz = lambda X: float(np.abs(X).max()) > ZERO_TOL * scale  # noqa: E731
    zero = np.zeros((d, d))
    U: dict = {}
    A, rows, steps = [row[:] for row in A0], list(range(W)), []
    for k in range(W):
        p = next((i for i in range(k, W) if nz(A[i][k])), None)
        if p is None:
            return {}, {}
        A[k], A[p], rows[k], rows[p] = A[p], A[k], rows[p], rows[k]
        Qk = np.linalg.inv(A[k][k])
        steps.append(([row[:] for row in A], p, Qk))
        new = [row[:] for row in A]
        for i in range(k + 1, W):
            new[i][k] = zero
            if not nz(A[i][k]):
                continue
            L = A[i][k] @ Qk
            for j in range(k + 1, W):
                val = A[i][j] - L @ A[k][j]
                new[i][j] = val if nz(val) else zero
                if nz(val):
                    U[(k + 1, labels[rows[i]], labels[j])] = val
        A = new
    H: dict = {}
    for s in range(len(names)):
        b = np.zeros((size * d, d))
        for c in range(d):
            b[:, c] = np.concatenate([sum(P[j, l] * pi[j] * want["psi_unit"][j][s][c] for j in range(m))
                                      for l in range(m)])
        rhs = F @ T @ b
        h = [rhs[x * d:(x + 1) * d] if nz(rhs[x * d:(x + 1) * d]) else zero for x in range(W)]
        for u in range(W):
            if nz(h[u]):
                H[(0, names[s], labels[u])] = h[u]
        rows = list(range(W))
        for k, (Ak, p, Qk) in enumerate(steps):
            h[k], h[p], rows[k], rows[p] = h[p], h[k], rows[p], rows[k]
            for i in range(k + 1, W):
                if nz(Ak[i][k]) and nz(h[k]):
                    val = h[i] - Ak[i][k] @ Qk @ h[k]
                    h[i] = val if nz(val) else zero
                    if nz(val):
                        H[(k + 1, names[s], labels[rows[i]])] = val
    return U, H


def _instance(rng: np.random.Generator, K: int, alts: list[dict], noisy: tuple):
    """:func:`shipped_derive_random._instance` with the agents named :data:`NAMES`."""
    from proofs_check.verification import shipped_reference as ref

    for _ in range(200):
        base = dataclasses.replace(ref.random_instance(rng, K, int(rng.integers(2, 4)), False), names=NAMES[:K])
        noise = {x: sdr._covariance(rng, base.d) for x in noisy}
        drawn = sdr._draw(rng, alts)
        if sdr.RATE_MIN <= sdr.reference(base, drawn, noise, False)["rho_ms"] <= sdr.RATE_MAX:
            return base, drawn, sdr.reference(base, drawn, noise)
    raise RuntimeError("no mean-square stable instance of the random protocol")


def derived_case(rng: np.random.Generator, case: tuple):
    """A random instance of ``case`` (label, K, alternatives, noisy agents), its reference quantities ``want``
    (with ``psi_unit``: each ``psi_k`` at unit targets, one round from 0, ``want["psi_unit"][k][s][c]``) and
    ``a2ad derive --protocol --format json`` on its config: ``(base, drawn, want, printed, where)``."""
    from proofs_check.verification import shipped_reference as ref

    label, K, alts, noisy = case
    base, drawn, want = _instance(rng, K, alts, noisy)
    d = base.d
    want["psi_unit"] = []
    for alt in drawn:
        per = []
        for s in range(K):
            vecs = []
            for c in range(d):
                t = np.zeros((K, d))
                t[s, c] = 1.0
                inst = sdr._with(base, alt["rounds"], t)
                vecs.append(ref._round(inst, np.zeros((K, d)), inst.phases()).reshape(K * d))
            per.append(vecs)
        want["psi_unit"].append(per)
    with cli.scratch() as tmp:
        path = cli.write_configs(tmp, [sdr._config(base, drawn, want["S"])])[0]
        printed = cli.run_commands([["derive", "--protocol", path, "--format", "json"]])[0]
    return base, drawn, want, printed, f"{label} (d={d})"


def compare_letters(ledger: Ledger, where: str, Evaluator, ev_args: tuple, names: list, items: list) -> None:
    """Each printed letter ``key`` of ``items`` (``(key, reference value, src)``) evaluated through its printed
    definitions (``ev_args``: ``(d, env, texts, inverse)`` of ``Evaluator``) against the reference; ``src`` None for
    a named block ``U``, else the agent whose target is the identity (the others 0) for a right side ``h`` or a
    written message ``y``."""
    d, env, texts, inverse = ev_args
    for key, value, src in items:
        extra = {} if src is None else {f"w_{z}_star": (np.eye(d) if z == src else np.zeros((d, d))) for z in names}
        try:
            v = Evaluator(d, {**env, **extra}, texts, inverse).eval(key) if key in texts else None
        except (ValueError, np.linalg.LinAlgError, KeyError, IndexError, TypeError) as exc:
            ledger.require("named blocks evaluated", False, f"{where}: cannot evaluate {key}: {exc}")
            continue
        if isinstance(v, (float, int)):
            v = v * np.eye(d)
        ledger.add("named blocks U" if src is None else "written messages y" if key.startswith("y_")
                   else "eliminated right sides h", rel(v, value) if v is not None else math.inf,
                   sdr.DERIVE_RANDOM_BAR)


def named_small_outcome(profile: Profile) -> Outcome:
    """The case :data:`NAMED_SMALL` (module text), derived in json and checked."""
    rng = np.random.default_rng(profile.seed + SEED_OFFSET)
    base, drawn, want, printed, where = derived_case(rng, NAMED_SMALL)
    label, K = NAMED_SMALL[0], base.K
    d, names = base.d, list(base.names)
    ledger = Ledger(instances=1)
    sdr.check_random_derivation(ledger, where, base, drawn, want, {"json": printed}, {}, rng)
    doc = printed.json_or_none()
    if not isinstance(doc, dict):
        return ledger.outcome("derive --protocol on a small chain")
    texts = {e["text_name"]: e["text"] for e in doc.get("definitions", [])}
    texts.update({e["text_name"]: e["text"] for e in doc.get("inverses", [])})
    inverse = {e["text_name"] for e in doc.get("inverses", [])}
    # every listener's weights sum to one (exact decimals of the config): the printed residuals have no w*_i term
    averaging = all(sum(Fraction(str(w)) for w in row.values()) == 1 for alt in drawn for ph in alt["rounds"]
                    for row in ph.values())
    for x in names:
        flag = doc.get("residuals", {}).get(x, {}).get("weights_sum_to_one")
        ledger.require("weights_sum_to_one (averaging)", not averaging or flag is True,
                       f"{where}: {x}'s weights_sum_to_one {flag} although every listener averages")
    ys = {mt.groups(): t for t in texts if (mt := _Y.fullmatch(t))}
    ledger.require("named path taken", bool(ys), f"{where}: no back-substituted message y defined (notes: "
                   f"{doc.get('notes')})")
    M = _transfers(base)
    for s, src in enumerate(names):
        refs = _written(want, K, d, names, s)
        env = {f"M_{z}": M[k] for k, z in enumerate(names)}
        env.update({f"w_{z}_star": (np.eye(d) if z == src else np.zeros((d, d))) for z in names})
        got_keys = {(int(j) - 1, a) for (t, j, a) in ys if t == src}
        ledger.require("written messages y", got_keys == set(refs),
                       f"{where}: y letters of target {src} {sorted(got_keys)}, reference {sorted(refs)}")
        for (j, a), want_y in refs.items():
            name = f"y_{src}_{j + 1}{a}"
            try:
                v = Evaluator(d, env, texts, inverse).eval(name) if name in texts else None
            except (ValueError, np.linalg.LinAlgError, KeyError, IndexError, TypeError) as exc:
                ledger.require("written messages y", False, f"{where}: cannot evaluate {name}: {exc}")
                continue
            if isinstance(v, (float, int)):
                v = v * np.eye(d)
            ledger.add("written messages y", rel(v, want_y) if v is not None else math.inf, sdr.DERIVE_RANDOM_BAR)
    # every named Schur block U and eliminated right-side entry h: the same names as the reference's nonzero blocks,
    # each evaluated through its printed definitions equal to the reference's
    Uref, Href = _elimination(want, K, d, names)
    env = {f"M_{z}": M[k] for k, z in enumerate(names)}
    got_u = {tuple(t.split("_")[1:]) for t in texts if t.startswith("U_")}
    ledger.require("named blocks U", got_u == {(str(k), r, c) for k, r, c in Uref},
                   f"{where}: U letters {sorted(got_u)[:4]}, reference {sorted(Uref)[:4]}")
    got_h = {tuple(t.split("_")[1:]) for t in texts if t.startswith("h_")}
    ledger.require("eliminated right sides h", got_h == {(str(k), x, r) for k, x, r in Href},
                   f"{where}: h letters {sorted(got_h)[:4]}, reference {sorted(Href)[:4]}")
    compare_letters(ledger, where, Evaluator, (d, env, texts, inverse), names,
                    [*[(f"U_{k}_{r}_{c}", v, None) for (k, r, c), v in Uref.items()],
                     *[(f"h_{k}_{x}_{r}", v, x) for (k, x, r), v in Href.items()]])
    return ledger.outcome(f"a2ad derive --protocol (json) on a small Markov chain with named blocks ({label}): "
                          "the document vs the probed-map reference; every named block U, eliminated right side h "
                          "and back-substituted message y vs the elimination done numerically")


# A chain of two alternatives (K=2, expanded mean): the smallest chain, where the conditional moments' index
# l K + a reaches its last block (3 alternatives or more leave room for an index off by K). Both agents write in
# x: with one writer per alternative the stationary mean is a fixed point of both maps, every deviation d_k
# vanishes there, and the deviations' relative check would compare rounding with rounding.
TWO_STATES = ("markov chain of two alternatives, Bo noisy", 2,
              [{"name": "x", "rounds": [{"Ann": {"Bo": "w", "Ann": "w"}, "Bo": {"Ann": "w"}}],
                "next": {"x": "p", "y": "p"}},
               {"name": "y", "rounds": [{"Bo": {"Ann": "w", "Bo": "w"}}], "next": {"x": "p", "y": "p"}}], ("Bo",))


def two_states_outcome(profile: Profile) -> Outcome:
    """The case :data:`TWO_STATES`, derived in json and checked
    (:func:`shipped_derive_random.check_random_derivation`)."""
    rng = np.random.default_rng(profile.seed + SEED_OFFSET + 1)
    label, K, alts, noisy = TWO_STATES
    base, drawn, want = _instance(rng, K, alts, noisy)
    ledger = Ledger(instances=1)
    with cli.scratch() as tmp:
        path = cli.write_configs(tmp, [sdr._config(base, drawn, want["S"])])[0]
        printed = cli.run_commands([["derive", "--protocol", path, "--format", "json"]])[0]
    sdr.check_random_derivation(ledger, f"{label} (d={base.d})", base, drawn, want, {"json": printed}, {}, rng)
    return ledger.outcome(f"a2ad derive --protocol (json) on a Markov chain of two alternatives ({label})")


