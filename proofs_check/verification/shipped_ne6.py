"""VS, R1: ``a2ad derive --protocol`` on a second small chain on the named-elimination path, its corners filled.

:data:`shipped_randb.NAMED_SMALL` checks the named elimination (:mod:`theory.protocol.named_elimination`) on a
sparse reduced system whose first row has no block in the last column and whose last row none in the first.
The elimination's wrap-around slips (an index ``k - 1`` read at ``k = 0`` as the last row or column) then change
nothing there. :data:`NE6` is the same two agents and alternatives with ``b`` also leading back to ``a`` and the
alternatives listed as ``a, c, d, b``: the reduced system's first row has a block in the last column and its
last row one in the first (7 written messages, ~0.2 s CPU in all, warm).

The case runs (through :func:`shipped.joint`, in R1's VS) ``derive --protocol --format json`` on a random
instance (GD agents, d in {2, 3}; the full comparison of the mean, residuals and second moments with the probed-map
reference is NAMED_SMALL's, whose cost this case does not repeat) and checks:

- the document is printed (exit 0) and every check in it holds;
- the back-substituted messages ``y^{s}_{ja}`` are exactly the reference's written messages (the named path was
  taken), each evaluated through its printed definitions equal to the reference's
  (:func:`shipped_randb._written`, from the probed maps);
- the named Schur blocks ``U^(k)_(i,j)`` and eliminated right-side entries ``h^(k),s_i`` are exactly those that
  the same elimination, done numerically on the reduced system built from the probed maps
  (:func:`shipped_randb._elimination`), leaves nonzero, each evaluated through its printed definitions equal to
  that block;
- the document lists them in the elimination's order: step by step, within a step row by row (the rows of that
  step's system) and within a row column by column, the order in which the elimination (module text) makes them
  and the reference names them; the right-side entries likewise, per target. A reader meets each block where the
  elimination makes it (a variant that lists the last row's blocks of a step first prints the same set).
"""
from __future__ import annotations

import numpy as np

from proofs_check.verification import shipped_randb as rb
from proofs_check.verification.registry import Outcome, Profile
from proofs_check.verification.shipped import Ledger
from proofs_check.verification.shipped_derive import Evaluator, _transfers

__all__ = ["NE6", "ne6_outcome"]

# Two agents, four alternatives: a -> {a, b}, b -> {c, a}, c -> d -> a (irreducible; aperiodic by a's self-loop),
# listed a, c, d, b. Written messages 1Ann, 1Bo (a), 2Ann, 2Bo (c), 3Ann (d), 4Ann, 4Bo (b). Ann in a listens to
# Bo, whose last message before a can be b's (b -> a): row 1Ann has a block in column 4Bo; Bo in b listens to Ann,
# written last in a (a -> b): row 4Bo has one in column 1Ann. No noise: the elimination is the same with it, and
# NAMED_SMALL checks the noisy second moments.
NE6 = ("markov chain, named blocks, corners filled (K=2, 7 written messages)", 2,
       [{"name": "a", "rounds": [{"Ann": {"Bo": 1.0}, "Bo": {"Ann": 1.0}}], "next": {"a": "p", "b": "p"}},
        {"name": "c", "rounds": [{"Ann": {"Bo": 1.0}, "Bo": {"Ann": 0.6, "Bo": 0.4}}], "next": {"d": 1.0}},
        {"name": "d", "rounds": [{"Ann": {"Bo": 1.0}}], "next": {"a": 1.0}},
        {"name": "b", "rounds": [{"Ann": {"Bo": 0.5, "Ann": 0.5}, "Bo": {"Ann": 1.0}}], "next": {"c": "p", "a": "p"}}],
       ())
SEED_OFFSET = 8870  # its own stream (shipped_randb: 8807, 8808; random_derive_method: 8800 + its offset); d = 2 drawn


def _order(names: list[str], prefix: str) -> list[tuple[str, ...]]:
    """The ``prefix`` letters' keys (``U_k_row_col`` -> ``(k, row, col)``) in the order the document lists them."""
    return [tuple(t.split("_")[1:]) for t in names if t.startswith(prefix)]


def ne6_outcome(profile: Profile) -> Outcome:
    """The case :data:`NE6` (module text), derived in json and checked."""
    rng = np.random.default_rng(profile.seed + SEED_OFFSET)
    base, drawn, want, printed, where = rb.derived_case(rng, NE6)
    label, K = NE6[0], base.K
    d, names = base.d, list(base.names)
    ledger = Ledger(instances=1)
    doc = printed.json_or_none()
    ledger.require("document printed", printed.status == 0 and isinstance(doc, dict),
                   f"{where}: exit {printed.status}, {(printed.stderr or printed.stdout)[:300]}")
    if not isinstance(doc, dict):
        return ledger.outcome("derive --protocol on a chain with its corners filled")
    failed = [c["label"] for c in doc.get("checks", []) if c.get("holds") is not True]
    ledger.require("every check holds", bool(doc.get("checks")) and not failed, f"{where}: {failed[:3]}")
    listed = [e["text_name"] for e in doc.get("definitions", [])]
    texts = {e["text_name"]: e["text"] for e in doc.get("definitions", [])}
    texts.update({e["text_name"]: e["text"] for e in doc.get("inverses", [])})
    inverse = {e["text_name"] for e in doc.get("inverses", [])}
    Uref, Href = rb._elimination(want, K, d, names)
    want_u = [(str(k), r, c) for k, r, c in Uref]
    want_h = [(str(k), x, r) for k, x, r in Href]
    got_u, got_h = _order(listed, "U_"), _order(listed, "h_")
    ledger.require("named blocks U", set(got_u) == set(want_u),
                   f"{where}: U letters {sorted(set(got_u) ^ set(want_u))[:4]} in one of document and reference only")
    ledger.require("eliminated right sides h", set(got_h) == set(want_h),
                   f"{where}: h letters {sorted(set(got_h) ^ set(want_h))[:4]} in one of document and reference only")
    ledger.require("definitions in the elimination's order", got_u == want_u and got_h == want_h,
                   f"{where}: the document lists U {got_u[:6]}..., h {got_h[:3]}...; the elimination makes U "
                   f"{want_u[:6]}..., h {want_h[:3]}...")
    ys = {(x, int(j) - 1, a): t for t in listed if (mt := rb._Y.fullmatch(t)) for x, j, a in [mt.groups()]}
    refs = {(x, j, a): v for s, x in enumerate(names) for (j, a), v in rb._written(want, K, d, names, s).items()}
    ledger.require("written messages y", set(ys) == set(refs),
                   f"{where}: y letters {sorted(set(ys) ^ set(refs))[:4]} in one of document and reference only")
    M = _transfers(base)
    env = {f"M_{z}": M[k] for k, z in enumerate(names)}
    rb.compare_letters(ledger, where, Evaluator, (d, env, texts, inverse), names,
                       [*[(f"U_{k}_{r}_{c}", v, None) for (k, r, c), v in Uref.items()],
                        *[(f"h_{k}_{x}_{r}", v, x) for (k, x, r), v in Href.items()],
                        *[(ys[key], v, key[0]) for key, v in refs.items() if key in ys]])
    return ledger.outcome(f"a2ad derive --protocol (json) on a chain with named blocks ({label}): the document vs "
                          "the probed-map reference: every named block U, eliminated right side h and back-substituted "
                          "message y vs the elimination done numerically, U and h listed in its order")
