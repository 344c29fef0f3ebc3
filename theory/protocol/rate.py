"""The contraction rate per round reduced to small blocks (P2, P3, P5).

``rho(Phi) = rho(Phi_RR)`` (the other block columns are 0). The least power q with ``Phi_RR^q``
block triangular gives ``rho = max_k rho(D_k)^{1/q}`` over its diagonal blocks, each kept once up
to cyclic rotation of a word (``rho(XY) = rho(YX)``): ``rho(M_B M_A)`` for round robin,
``rho(M_A M_B)^{1/2}`` for a simultaneous pair. When ``Phi_RR`` maps each of the q connected
components of ``Phi_RR^q`` into the next, around one cycle, the components share their nonzero
spectrum and the smallest one is reduced again (a ring of four: ``rho(M_A M_D M_C M_B)^{1/4}``).
"""
from __future__ import annotations

import sympy as sp

from theory.core.algebra import from_poly, to_poly
from theory.protocol.round_map import pmatmul

# Powers of Phi_RR whose entries grow past this many words are not examined: the reductions
# exist for structured protocols, whose powers stay small; others keep rho(Phi_RR) itself.
MAX_RATE_WORDS = 400


def rate_reduction(Phi, R) -> tuple[int, list]:
    """``(q, blocks)``: ``rho(Phi) = rho(Phi_RR) = max_k rho(blocks_k)^{1/q}``."""
    return _reduce_rate([[Phi[i][j] for j in R] for i in R])


def cyclic_key(expr):
    """Canonical form of a single word up to rotation (rho(XY) = rho(YX)); None for sums."""
    coeff, word = expr.args_cnc() if expr.is_Mul or expr.is_Symbol or expr.is_Pow else (None, None)
    if word is None or not word or not isinstance(expr, (sp.Mul, sp.Symbol, sp.Pow)):
        return None
    letters = []
    for f in word:
        letters.extend([f.base] * int(f.exp) if f.is_Pow else [f])
    names = [sp.sstr(x) for x in letters]
    return (sp.sstr(sp.Mul(*coeff)), min(tuple(names[k:] + names[:k]) for k in range(len(names))))


def _reduce_rate(B) -> tuple[int, list]:
    """``(q, blocks)`` with ``rho(B) = max_k rho(blocks_k)^{1/q}``; blocks are square block matrices.

    - ``B^q`` block triangular: its diagonal blocks (distinct up to cyclic rotation of a word);
    - ``B`` cyclic over the q components of ``B^q``: those components share the nonzero
      spectrum (``rho(XY) = rho(YX)``), so the smallest one is kept and reduced again.
    """
    n = len(B)
    Bp = [[to_poly(x) for x in row] for row in B]
    Pp = Bp
    for q in range(1, n + 1):
        P = [[from_poly(x) for x in row] for row in Pp]
        if _block_triangular(P):
            blocks, keys = [], set()
            for k in range(n):
                key = cyclic_key(P[k][k])
                if key is not None and key in keys:
                    continue
                keys.add(key)
                blocks.append([[P[k][k]]])
            return q, blocks
        comps = _components(P)
        if q > 1 and len(comps) == q and _cyclic(B, comps):
            small = min(comps, key=len)
            sub = [[P[a][b] for b in small] for a in small]
            q2, blocks = _reduce_rate(sub)
            return q * q2, blocks
        Pp = pmatmul(Pp, Bp)
        if sum(len(x) for row in Pp for x in row) > MAX_RATE_WORDS:
            break
    return 1, [B]


def _block_triangular(B) -> bool:
    n = len(B)
    upper = all(B[i][j] == 0 for i in range(n) for j in range(i))
    lower = all(B[i][j] == 0 for i in range(n) for j in range(i + 1, n))
    return upper or lower


def _components(P) -> list[list[int]]:
    """Connected components of the nonzero block pattern of P (as an undirected graph)."""
    n, seen, comps = len(P), set(), []
    for start in range(n):
        if start in seen:
            continue
        stack, comp = [start], []
        seen.add(start)
        while stack:
            a = stack.pop()
            comp.append(a)
            for b in range(n):
                if b not in seen and (P[a][b] != 0 or P[b][a] != 0):
                    seen.add(b)
                    stack.append(b)
        comps.append(sorted(comp))
    return comps


def _cyclic(B, comps) -> bool:
    """B maps component g only into one other component, and these maps form one cycle over all of them."""
    label = {a: g for g, comp in enumerate(comps) for a in comp}
    into: dict[int, set[int]] = {}  # the components each component is mapped into
    for i in range(len(B)):
        for j in range(len(B)):
            if B[i][j] != 0:
                into.setdefault(label[j], set()).add(label[i])
    if len(into) != len(comps) or any(len(s) != 1 or g in s for g, s in into.items()):
        return False
    succ = {g: next(iter(s)) for g, s in into.items()}
    g, seen = 0, set()
    while g not in seen:
        seen.add(g)
        g = succ[g]
    return len(seen) == len(comps)
