"""More of what ``a2ad derive --protocol`` writes for a random protocol, read by R1's and R3's VS in every profile
(:func:`proofs_check.verification.shipped_derive_random.check_random_derivation` calls :func:`check_rrep`).

- The LaTeX hypotheses: a pivot a few symbols long (at most ``SHORT_PIVOT_CHARS`` characters of LaTeX, as the
  deterministic report's check :mod:`shipped_tyd` reads it) is written out in its hypothesis, ``$<pivot>$ is
  invertible (its inverse is $Q_k$)``, never pointed at as ``the pivot $Q_k^{-1}$ above`` (the hypotheses are
  in the order of the inverses: shipped_randa). The quick cases have such pivots (17 to 24 characters: ``I - c
  M_A`` and the named chain's Schur blocks ``U``), and longer ones, which may take either form.
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
