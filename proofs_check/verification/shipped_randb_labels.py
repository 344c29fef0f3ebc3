"""The list of proved checks a random protocol's ``derive --protocol`` document prints, against the config.

``a2ad derive --protocol`` prints every identity it proved (``checks``: method, label, holds). The labels name
the objects proved (``q_(l,x)``, ``Q_l``, the elimination steps and rows, the written messages), so a label
with a wrong index, or a check dropped or repeated, misinforms the reader while every number stays right.
:func:`check_labels` derives the expected list from the config alone (the alternatives' labels, the agents, the
number of alternatives) and from the round maps probed from GD rounds (which agent writes in which alternative:
a row of ``Phi_k`` with a block that is not a multiple of I), never from the package:

- every alternative: ``<label>: phases composed = Phi_k z + psi_k``;
- independent draws: ``mu_x solves the first-moment equation``, ``mean residual of x in the gaps`` per agent,
  and the centred Stein equation;
- a Markov chain: ``Q_l: the conditional second-moment equation ...`` for l = 1..m; the mean expanded:
  ``q_(l,x) solves the conditional first-moment equation`` for every l and x, ``mu_x = sum_l q_(l,x)`` and
  the residuals; the mean with named blocks (the document defines back-substituted messages ``y``): the fixed
  identities of the reduction, per target ``right side x is F T c_x``, per written message and target the
  ``h^(0)`` naming and the back substitution (the written messages ``<alternative><agent>`` in order), the
  ``G_(a,j)`` definitions, ``mu_a`` with the list of written messages, ``sum_j c_j`` when the weights sum to
  one (the reference's G), the residuals; the elimination's steps: the row swaps for steps 2..W (rows
  ``k`` and ``p >= k``), and the rows updated at each step, the same (step, row) pairs for the matrix and for
  every right side, each with step < row <= W.

Each check must be listed exactly once and nothing else may be listed. Called from
:func:`shipped_derive_random.check_random_derivation` (R1's and R3's VS).
"""
from __future__ import annotations

import re
from collections import Counter

import numpy as np

from proofs_check.verification.shipped import Ledger

__all__ = ["check_labels", "writers"]

# A block of a probed round map is a multiple of I when within this of c I (c its mean diagonal): probed blocks are
# exact to ~1e-15; a block holding some M_i is O(0.1) away from scalar at a random instance.
SCALAR_TOL = 1e-9
# the largest chain whose mean is always expanded (theory/protocol/random_markov.py's module text: the expanded
# elimination is tried up to 6 written messages, then named blocks); above it the document must be named
EXPANDED_UNKNOWNS = 6

_ROW = re.compile(r"elimination step (\d+): row (\d+) = its update \+ multiple of the pivot row")
_SIDE_ROW = re.compile(r"elimination step (\d+), right side (\w+): row (\d+) = its update \+ multiple of the pivot row")
_SWAP = re.compile(r"elimination step (\d+): the system is step (\d+)'s update with rows (\d+) and (\d+) swapped")


def _scalar(block: np.ndarray) -> bool:
    c = float(np.trace(block)) / block.shape[0]
    return bool(np.abs(block - c * np.eye(block.shape[0])).max() <= SCALAR_TOL)


def writers(Phis: list, K: int, d: int, names: list[str]) -> list[str]:
    """The written messages ``<alternative 1-based><agent>`` in order: agent a writes in alternative j when
    row a of the probed ``Phi_j`` has a block that is not a multiple of I."""
    return [f"{j + 1}{a}" for j, Phi in enumerate(Phis) for ia, a in enumerate(names)
            if any(not _scalar(Phi[ia * d:(ia + 1) * d, c * d:(c + 1) * d]) for c in range(K))]


def check_labels(ledger: Ledger, where: str, doc: dict, alts: list[dict], names: list[str], want: dict,
                 d: int) -> None:
    """The document's check labels against the list expected from the config (module text)."""
    K, m = len(names), len(alts)
    markov = "name" in alts[0]
    got = Counter(c.get("label") for c in doc.get("checks", []))
    expect = [f"{a.get('name', str(k))}: phases composed = Phi_k z + psi_k" for k, a in enumerate(alts)]
    named = any(str(e.get("text_name", "")).startswith("y_") for e in doc.get("definitions", []))
    if not markov:
        expect += [f"mu_{x} solves the first-moment equation" for x in names]
        expect += [f"mean residual of {x} in the gaps" for x in names]
        expect.append("centred Stein equation = raw second moment at the stationary mean")
    else:
        expect += [f"Q_{l}: the conditional second-moment equation re-derived from the phases (expectation term "
                   "by term)" for l in range(1, m + 1)]
        W = writers(want["Phi"], K, d, names)
        ledger.require("check labels: path", named or len(W) <= EXPANDED_UNKNOWNS,
                       f"{where}: {len(W)} written messages but the mean is not derived with named blocks")
        if not named:
            expect += [f"q_({l},{x}) solves the conditional first-moment equation" for l in range(1, m + 1)
                       for x in names]
            expect += [f"mu_{x} = sum_l q_(l,{x})" for x in names]
            expect += [f"mean residual of {x} in the gaps" for x in names]
        else:
            expect += _named_labels(ledger, where, got, names, W, want, d)
    want_count = Counter(expect)
    missing = sorted((want_count - got).elements())
    extra = sorted((got - want_count).elements())
    ledger.require("check labels", not missing and not extra,
                   f"{where}: checks missing {missing[:3]}, unexpected {extra[:3]}")


def _named_labels(ledger: Ledger, where: str, got: Counter, names: list[str], W: list[str], want: dict,
                  d: int) -> list[str]:
    """The labels expected of the named path; the elimination's row labels (which depend on the sparsity) are
    checked here for consistency and returned as found."""
    n = len(W)
    out = ["T (I - S) = I: the scalar blocks inverted exactly",
           "B = S + E F: the operator's blocks are its scalar part plus the written messages",
           "q = T E y + T beta gives q - B q - beta = E (y - F q) for any y, beta (the reduced system is equivalent)",
           "the eliminated matrix is I - F T E (the reduced system's operator)",
           "b = sum_j c_j w*_j: the right side split by target"]
    out += [f"right side {x} is F T c_{x}" for x in names]
    out += [f"right side {x}: h^(0)_{lab} is entry {u + 1} of the given right side" for x in names
            for u, lab in enumerate(W)]
    out += [f"back substitution {k + 1}, right side {x}: y_{lab} solves the pivot row" for x in names
            for k, lab in enumerate(W)]
    out += [f"G_({a},{j}) = sum_l q_(l,{a}) with q = T E y + T c_{j}, y the back substitution for target {j}"
            for a in names for j in names]
    out += [f"mu_{a} = sum_j G_({a},j) w*_j (written messages: {', '.join(W)})" for a in names]
    G, K = want["G"], len(names)
    if all(np.allclose(sum(G[i * d:(i + 1) * d, j * d:(j + 1) * d] for j in range(K)), np.eye(d), atol=1e-9)
           for i in range(K)):
        out.append("sum_j c_j = (I - B)(pi (x) 1), so sum_j G_(i,j) = 1 (the solution for it is pi (x) 1)")
    out += [f"mean residual of {i} in the gaps: sum_(j != {i}) G_({i},j) (w*_j - w*_{i}) + (sum_j G_({i},j) - 1) "
            f"w*_{i}" for i in names]
    # the elimination: swaps at steps 2..n, rows updated with step < row <= n, the same pairs for every right side
    swaps = [tuple(int(g) for g in mt.groups()) for lab in got.elements() if (mt := _SWAP.fullmatch(lab))]
    ledger.require("check labels: elimination swaps",
                   sorted(s for s, *_ in swaps) == list(range(2, n + 1))
                   and all(prev == s - 1 and r == s and s <= p <= n for s, prev, r, p in swaps),
                   f"{where}: row-swap checks {sorted(swaps)[:4]} for {n} unknowns")
    rows = [tuple(int(g) for g in mt.groups()) for lab in got.elements() if (mt := _ROW.fullmatch(lab))]
    ledger.require("check labels: elimination rows",
                   len(set(rows)) == len(rows) and all(1 <= k < i <= n for k, i in rows),
                   f"{where}: row-update checks {sorted(rows)[:4]} for {n} unknowns")
    for x in names:
        side = sorted((int(mt.group(1)), int(mt.group(3))) for lab in got.elements()
                      if (mt := _SIDE_ROW.fullmatch(lab)) and mt.group(2) == x)
        ledger.require("check labels: elimination rows", side == sorted(rows),
                       f"{where}: right side {x}'s row-update checks {side[:4]}, the matrix's {sorted(rows)[:4]}")
    out += [lab for lab in got.elements() if _SWAP.fullmatch(lab) or _ROW.fullmatch(lab) or _SIDE_ROW.fullmatch(lab)]
    return out
