"""VS, R1: ``a2ad derive --protocol`` on a small Markov chain whose mean takes the named-elimination path.

The compiler solves a Markov chain's first moments through the messages written in each alternative; past
``EXPANDED_UNKNOWNS`` (6) written messages it eliminates them with named Schur blocks
(:mod:`theory.protocol.named_elimination`). The full profile's three-agent chain (``NAMED``, 8 written
messages) is too slow for ``--profile quick``; :data:`NAMED_SMALL` is the cheapest chain found on that path: two
agents, four alternatives on a cycle with one self-loop (7 written messages, a sparse reduced system).

:func:`with_named_small` runs a VS method and then this case: ``derive --protocol --format json`` on a random
mean-square-stable instance (GD agents, d in {2, 3}), checked by
:func:`shipped_derive_random.check_random_derivation` against the reference solved from round maps probed from
GD rounds (stationary mean, its weights ``G_(i,j)``, residuals, deviations, second-moment equations, rates,
every check proved), and here, beyond it:

- the named path was taken (the document defines the back-substituted messages ``y``; otherwise this case
  would test nothing of the named elimination);
- each back-substituted message ``y^{s}_{ja}`` (the message agent a writes in alternative j, as a weight of
  ``w*_s``) evaluated through its printed definitions equals the reference's: with ``w*_s = I`` (the other
  targets 0) and ``q_l`` the conditional first moments, ``y_{ja} = sum_c Phi_j[a,c] q_{j,c}`` over the blocks
  ``c`` of row a of ``Phi_j`` that are not multiples of I (the module text of
  :mod:`theory.protocol.random_markov`), all from the probed maps.
"""
from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np

from proofs_check.verification import shipped_cli as cli, shipped_derive_random as sdr
from proofs_check.verification.registry import Outcome, Profile
from proofs_check.verification.shipped import Ledger, rel
from proofs_check.verification.shipped_derive import Evaluator, _transfers

__all__ = ["NAMED_SMALL", "with_named_small", "named_small_outcome"]

# Two agents, four alternatives on a cycle a -> {a, b}, b -> c -> d -> a (irreducible; aperiodic by a's self-loop).
# Written messages: a: A, B; b: A, B; c: A, B; d: A (7 > EXPANDED_UNKNOWNS = 6: the named path). Of the chains
# tried, among the cheapest to derive (~0.2 s CPU) in which the blocks below the pivots and the pivots' inverses
# are both non-scalar (a product taken in the wrong order changes the mean; in the chain a -> b -> c -> d ->
# {a, d} it did not). Every listener's weights sum to one, so the mean's weights G_(i,j) sum to I: the document
# must say so (weights_sum_to_one, and the residual without a w*_i term), which the named path decides exactly.
NAMED_SMALL = ("markov chain, named blocks (K=2, 7 written messages)", 2,
               [{"name": "a", "rounds": [{"A": {"B": 1.0}, "B": {"A": 1.0}}], "next": {"a": "p", "b": "p"}},
                {"name": "b", "rounds": [{"A": {"B": 0.5, "A": 0.5}, "B": {"A": 1.0}}], "next": {"c": 1.0}},
                {"name": "c", "rounds": [{"A": {"B": 1.0}, "B": {"A": 0.6, "B": 0.4}}], "next": {"d": 1.0}},
                {"name": "d", "rounds": [{"A": {"B": 1.0}}], "next": {"a": 1.0}}], ())
SEED_OFFSET = 8807  # its own stream (random_derive_method uses profile.seed + 8800 + its offset)
# A block of a probed round map is a multiple of I when it is within this of c I (c its mean diagonal):
# probed blocks are exact to ~1e-15; a block holding some M_i is far from scalar at a random instance.
SCALAR_TOL = 1e-9
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


def named_small_outcome(profile: Profile) -> Outcome:
    """The case :data:`NAMED_SMALL` (module text), derived in json and checked."""
    from proofs_check.verification import shipped_reference as ref

    rng = np.random.default_rng(profile.seed + SEED_OFFSET)
    label, K, alts, noisy = NAMED_SMALL
    base, drawn, want = sdr._instance(rng, K, alts, noisy)
    d, names = base.d, list(base.names)
    # psi_k at unit targets (one round from 0): want["psi_unit"][k][s][c]
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
    ledger = Ledger(instances=1)
    with cli.scratch() as tmp:
        path = cli.write_configs(tmp, [sdr._config(base, drawn, want["S"])])[0]
        printed = cli.run_commands([["derive", "--protocol", path, "--format", "json"]])[0]
    where = f"{label} (d={d})"
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
    return ledger.outcome(f"a2ad derive --protocol (json) on a small Markov chain with named blocks ({label}): "
                          "the document vs the probed-map reference, and every back-substituted message y")


def with_named_small(method):
    """``method`` (a VS method) followed by :func:`named_small_outcome`: fails when either fails."""
    def wrapped(profile: Profile) -> Outcome:
        first, second = method(profile), named_small_outcome(profile)
        if first.skipped is not None or second.skipped is not None:
            return first if first.skipped is not None else second
        worst = (math.nan if math.isnan(first.worst_error) or math.isnan(second.worst_error)
                 else max(first.worst_error / first.tolerance, second.worst_error / second.tolerance))
        return Outcome(worst, 1.0, first.instances + second.instances, f"{first.detail}; {second.detail}",
                       power=first.power)
    wrapped.__doc__ = f"{method.__doc__ or ''} Then {named_small_outcome.__doc__}"
    return wrapped
