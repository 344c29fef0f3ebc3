"""Residuals written in the gaps between targets (P1, P4): ``e_i = z_i* - w_i*`` with every other
target rewritten as ``w_j* = w_i* + (w_j* - w_i*)``.

Then ``e_i = sum_{j != i} G_ij (w_j* - w_i*) + D_i w_i*``; ``D_i`` reduces to 0 when every
listener's weights sum to 1 (the plateau depends on the targets only through their gaps).
Vectors (targets, gaps) only ever end a word.
"""
from __future__ import annotations

from theory.core.algebra import letter, padd, psubs
from theory.protocol.symbols import gap, w_star


def gap_poly(z: dict, names, i: int) -> dict:
    """``z - w_i*`` with ``w_j* = w_i* + (w_j* - w_i*)`` (word polynomials)."""
    n = names[i]
    sub = {w_star(m): padd(letter(w_star(n)), letter(gap(m, n))) for m in names if m != n}
    return padd(psubs(z, sub), letter(w_star(n)), signs=(1, -1))


def by_last(poly: dict) -> dict:
    """``{vector: coefficient poly}``: ``poly = sum_v C_v v`` split by each word's last letter."""
    out: dict = {}
    for w, c in poly.items():
        out.setdefault(w[-1], {})[w[:-1]] = c
    return out


def split_gaps(poly: dict, names, i: int) -> tuple[dict, dict]:
    """``(D_i, {j: G_ij})`` of a residual ``e_i`` already written in the gaps (see the module text)."""
    n = names[i]
    parts = by_last(poly)
    return parts.pop(w_star(n), {}), {names.index(m): parts[gap(m, n)] for m in names
                                      if m != n and parts.get(gap(m, n))}
