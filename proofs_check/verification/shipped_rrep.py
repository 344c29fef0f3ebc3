"""More of what ``a2ad derive --protocol`` writes for a random protocol, read by R1's and R3's VS in every profile
(:func:`proofs_check.verification.shipped_derive_random.check_random_derivation` calls :func:`check_rrep`).

- The LaTeX written by the command is the one ``random_report.as_latex`` renders from the printed JSON document (as a
  reader holds it, whose strings are not the module's literals), but for its title.
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
- A pivot wider than a line (``typeset.LINE_UNITS``, a parameter of the layout, in the units of
  ``typeset.width``) is pointed at in its hypothesis, not written out inline: the document is rendered again with
  one such pivot added to its inverses.
- The round maps of the LaTeX that the command wrote (not rendered again: the command's own strings) in their
  documented form, exactly (as ``shipped_randa.check_small`` reads its small config's): each nonzero coefficient
  before its message (none for 1, bare when one product, in ``\\left( \\right)`` when a sum), joined by ``+``,
  then the offset when it is not 0 (``+ r`` or ``- r``); and in the document rendered again with its first
  coefficient replaced by 1 (a string built at run time), which is written as no coefficient.
"""
from __future__ import annotations

import re

from proofs_check.verification.shipped import Ledger
from proofs_check.verification.shipped_derive import _latex_block
from proofs_check.verification.shipped_randa import round_map_line, round_map_section
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
    # the JSON document as a reader holds it renders the same LaTeX as the command wrote (but the title, which
    # names the config): every string test of as_latex decides alike on the command's strings and the JSON's
    from theory.protocol import random_report as RR

    ledger.require("latex rendered from the JSON is the written one", _body(RR.as_latex(doc)) == _body(files["latex"]),
                   f"{label}: the LaTeX rendered from the printed JSON differs from the written LaTeX")
    _check_wide_pivot(ledger, label, doc)
    _check_round_maps(ledger, label, doc, files["latex"])


def _body(tex: str) -> list[str]:
    """The lines of a LaTeX document but its title."""
    return [ln for ln in tex.splitlines() if not ln.startswith("\\section*{")]


def _check_round_maps(ledger: Ledger, label: str, doc: dict, tex: str) -> None:
    """Each ``m_x^new`` line of each alternative's round map in the written LaTeX (module text)."""
    from theory.protocol import random_report as RR

    # once more with a coefficient 1 (a string built at run time, as a reader's program may build one)
    one = {"latex": str(1), "text": str(1), "terms": [str(1)]}
    first = doc["alternatives"][0]
    phi = [[one if (i, j) == (0, 0) else c for j, c in enumerate(row)]
           for i, row in enumerate(first["round_map"]["Phi"])]
    alt = dict(first, round_map=dict(first["round_map"], Phi=phi))
    _round_map_lines(ledger, label + " (a coefficient 1)", {**doc, "alternatives": [alt]},
                     RR.as_latex({**doc, "alternatives": [alt]}))
    _round_map_lines(ledger, label, doc, tex)


def _round_map_lines(ledger: Ledger, label: str, doc: dict, tex: str) -> None:
    names = doc["agents"]
    for k, a in enumerate(doc["alternatives"]):
        section = round_map_section(tex, k)
        for i, x in enumerate(names):
            line = round_map_line(names, a, i)
            got = _latex_block(section, f"m_{{{x}}}^{{\\text{{new}}}} &= ")
            ledger.require("latex round maps in their documented form", got == " ".join(line.split()),
                           f"{label}: alternative {k + 1}, m_{x}: {str(got)[:80]!r} (want {line[:80]!r})")


def _check_wide_pivot(ledger: Ledger, label: str, doc: dict) -> None:
    """A pivot wider than a line, added to the document's inverses, is pointed at (module text)."""
    from theory.protocol import random_report as RR, typeset

    a, b = doc["agents"][:2]
    wide = " + ".join(f"M_{{{a}}} M_{{{b}}}" for _ in range(40))
    name = r"\mathcal{Q}_{99}"
    inv = {"name": name, "text_name": "Q99", "latex": wide, "text": wide, "terms": [wide]}
    tex = RR.as_latex(dict(doc, inverses=[*doc["inverses"], inv]))
    para = re.findall(r"^\\textbf\{Hypotheses\.\} (.*)\.$", tex, re.M)
    parts = para[0].split("; ") if len(para) == 1 else []
    ok = typeset.width(wide) > typeset.LINE_UNITS and len(parts) > len(doc["inverses"]) \
        and parts[len(doc["inverses"])] == f"the pivot ${name}^{{-1}}$ above is invertible"
    ledger.require("latex hypotheses: a pivot wider than a line pointed at", ok,
                   f"{label}: the hypothesis of a pivot {typeset.width(wide):.0f} units wide: "
                   f"{parts[len(doc['inverses'])][:60] if len(parts) > len(doc['inverses']) else parts}")


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
