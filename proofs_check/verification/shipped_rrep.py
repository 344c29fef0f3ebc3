"""More of what ``a2ad derive --protocol`` writes for a random protocol, read by R1's and R3's VS in every profile
(:func:`proofs_check.verification.shipped_derive_random.check_random_derivation` calls :func:`check_rrep`).

- The LaTeX hypotheses: a pivot a few symbols long (at most ``SHORT_PIVOT_CHARS`` characters of LaTeX, as the
  deterministic report's check :mod:`shipped_tyd` reads it) is written out in its hypothesis, ``$<pivot>$ is
  invertible (its inverse is $Q_k$)``, never pointed at as ``the pivot $Q_k^{-1}$ above`` (the hypotheses are
  in the order of the inverses: shipped_randa). The quick cases have such pivots (17 to 24 characters: ``I - c
  M_A`` and the named chain's Schur blocks ``U``), and longer ones, which may take either form.
- The LaTeX checks list puts agent names in math mode outside mathematics only (``random_report._math_names``):
  the document is rendered again (``random_report.as_latex``, what ``--format latex`` writes for it) with two
  checks of its own labels added, as a reader of the JSON could hold them: ``block (A, B)``, which the check
  typesetter writes as mathematics, ``block $(A, B)$`` (left as it is: no ``$`` inside it), and ``cost $1 for
  A``, whose dollar is text (``\\$``: the agent after it is still outside mathematics, so in math mode).
"""
from __future__ import annotations

import re

from proofs_check.verification.shipped import Ledger
from proofs_check.verification.shipped_tyd import SHORT_PIVOT_CHARS

__all__ = ["check_rrep"]


def check_rrep(ledger: Ledger, label: str, doc: dict, files: dict) -> None:
    """The checks of the module text on the LaTeX document written for ``doc`` (when the VS wrote one)."""
    if "latex" not in files:
        return
    para = re.findall(r"^\\textbf\{Hypotheses\.\} (.*)\.$", files["latex"], re.M)
    parts = para[0].split("; ") if len(para) == 1 else []
    invs = doc.get("inverses", [])
    short = [e for e in invs if len(e["latex"]) <= SHORT_PIVOT_CHARS]
    written = {e["name"] for e, p in zip(invs, parts)
               if p == f"${e['latex']}$ is invertible (its inverse is ${e['name']}$)"}
    bad = [e["name"] for e in short if e["name"] not in written]
    ledger.require("latex hypotheses: short pivots written out", not bad,
                   f"{label}: LaTeX points at the short pivot(s) {bad[:2]} instead of writing them out")
    _check_math_names(ledger, label, doc)


def _check_math_names(ledger: Ledger, label: str, doc: dict) -> None:
    """The checks list of the document with two labels added (module text)."""
    from theory.protocol import random_report as RR

    a, b = doc["agents"][:2]
    labels = {f"block ({a}, {b})": rf"\item block $({a}, {b})$: proved.",
              f"cost $1 for {a}": rf"\item cost \$1 for ${a}$: proved."}
    tex = RR.as_latex(dict(doc, checks=[*doc["checks"], *({"label": x, "method": "V1", "holds": True}
                                                            for x in labels)]))
    items = re.findall(r"^\\item .*$", tex, re.M)
    missing = [want for want in labels.values() if want not in items]
    ledger.require("latex check items: agent names in math mode outside mathematics only", not missing,
                   f"{label}: LaTeX check items lack {missing[:1]}")
