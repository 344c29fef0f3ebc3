"""V1 checks of a compiled protocol (P1-P5): every derived object substituted back reduces to 0
in the free algebra (theory.core.algebra), or the result is refused (theory.protocol.report).

- the fixed point: ``z_i* - (Phi z* + r)_i`` for every agent;
- the residual: ``z_i* - w_i* - e_i(gaps)`` with ``w_j* = w_i* + (w_j* - w_i*)``;
- the rate: ``Phi_RR^q`` recomputed and its reduced blocks among its diagonal blocks;
- the noise: one noisy round composed phase by phase equals ``Phi (z - z*) + noise``.

A fixed point derived with named Schur blocks is checked through the local identities of its
elimination chain (theory.protocol.schur.checks) instead of the first two.
"""
from __future__ import annotations

import sympy as sp

from theory.core.algebra import from_poly, letter, padd, pmul, pscale, to_poly
from theory.protocol import schur
from theory.protocol.rate import cyclic_key
from theory.protocol.residuals import gap_poly
from theory.protocol.result import Check, Compiled
from theory.protocol.round_map import matmul, phase_tails
from theory.protocol.symbols import M, c_poly, gap, w_star


def verify(cp: Compiled) -> list[Check]:
    """V1: every derived object substituted back reduces to 0 in the free algebra (see the module text).

    For a fixed point derived with named Schur blocks (``cp.named``), the fixed point and the
    residuals are checked by :func:`named_checks`; the noisy round is then checked with ``z*`` opaque.
    """
    # compile_protocol ran the expanded checks already; they run again here on purpose: verify
    # checks the object as it is now (a changed or planted fixed point must fail)
    out = expanded_checks(cp) if cp.named is None else named_checks(cp)
    if cp.rate_power > 1 or len(cp.rate_blocks[0]) < len(cp.live):
        out.append(rate_check(cp))
    if cp.noise:
        out.append(noisy_round_check(cp))
    return out


def rate_check(cp: Compiled) -> Check:
    """Every reduced rate block is a principal block of ``Phi_RR^q``: a 1 x 1 block up to rotation of a word
    (``rho(XY) = rho(YX)``), a larger one entry by entry on some set of indices; the blocks of ``Phi_RR^q``
    outside the kept ones vanish or belong to components sharing its spectrum."""
    B = [[cp.Phi[a][b] for b in cp.live] for a in cp.live]
    P = B
    for _ in range(cp.rate_power - 1):
        P = matmul(P, B)
    diag = {cyclic_key(P[k][k]) for k in range(len(P))}
    ok = all(_principal(P, b) if len(b) > 1 else cyclic_key(b[0][0]) in diag for b in cp.rate_blocks)
    return Check(f"rate blocks are diagonal blocks of Phi_RR^{cp.rate_power}", ok,
                 "0" if ok else "a rate block is not a diagonal block")


def _principal(P: list, block: list) -> bool:
    """``block == P[S, S]`` for some list ``S`` of distinct indices (word polynomials compared), by extending ``S``
    one index at a time."""
    Pp = [[to_poly(x) for x in row] for row in P]
    bp = [[to_poly(x) for x in row] for row in block]

    def extend(S: list) -> bool:
        k = len(S)
        if k == len(bp):
            return True
        return any(extend(S + [s]) for s in range(len(Pp))
                   if s not in S and Pp[s][s] == bp[k][k]
                   and all(Pp[S[i]][s] == bp[i][k] and Pp[s][S[i]] == bp[k][i] for i in range(k)))
    return extend([])


def expanded_checks(cp: Compiled) -> list[Check]:
    """V1 of the expanded path: ``z* = Phi z* + r`` and each residual in the gaps, reduced to 0."""
    n, alg, out, K = cp.names, cp.alg, [], cp.spec.K
    z = [cp.poly(x) for x in cp.fixed_point]
    Phi = [[cp.poly(x) for x in row] for row in cp.Phi]
    for i in range(K):
        diff = padd(z[i], *[pmul(Phi[i][j], z[j]) for j in range(K)], cp.poly(cp.r[i]), signs=[1] + [-1] * (K + 1))
        res = from_poly(alg.reduce_poly(diff))
        out.append(Check(f"z*_{n[i]} is fixed by the round map", res == 0, sp.sstr(res)))
    for i in range(K):
        claimed = padd(*[pmul(cp.poly(G), letter(gap(n[j], n[i]))) for j, G in cp.residual_gaps[i].items()],
                       pmul(cp.poly(cp.residual_self[i]), letter(w_star(n[i]))))
        res = from_poly(alg.reduce_poly(padd(gap_poly(z[i], n, i), claimed, signs=(1, -1))))
        out.append(Check(f"e_{n[i]} in the gaps", res == 0, sp.sstr(res)))
    return out


def named_checks(cp: Compiled) -> list[Check]:
    """V1 for the named path: every local identity of the chain, then the conclusions they imply."""
    if cp.named is None:
        raise ValueError("named_checks needs a protocol derived with named Schur blocks (cp.named)")
    n = cp.names
    z = [cp.poly(x) for x in cp.fixed_point]
    Phi = [[cp.poly(x) for x in row] for row in cp.Phi]
    chain = schur.checks(cp.alg, cp.named, n, Phi, [cp.poly(x) for x in cp.r], z,
                         [cp.poly(x) for x in cp.residual_self],
                         [{j: cp.poly(G) for j, G in g.items()} for g in cp.residual_gaps])
    out = [Check(label, not res, sp.sstr(from_poly(res))) for label, res in chain]
    ok = all(c.holds for c in out)
    why = "0" if ok else "a step of the chain does not reduce to 0"
    out += [Check(f"z*_{n[i]} is fixed by the round map (from the chain above; pivots invertible)", ok, why)
            for i in range(cp.spec.K)]
    out += [Check(f"e_{n[i]} in the gaps (from the chain above: I - Phi_RR is invertible)", ok, why)
            for i in range(cp.spec.K)]
    return out


def noisy_round_check(cp: Compiled) -> Check:
    """Compose the noisy phases directly and compare the deviation with ``Phi dz + sum tail eta``."""
    s, K = cp.spec, cp.spec.K
    idx = {nm: k for k, nm in enumerate(s.names)}
    x = [letter(sp.Symbol(f"x_{nm}", commutative=False)) for nm in s.names]  # start-of-round deviation from z*
    z = [cp.poly(e) for e in cp.fixed_point]
    Phi = [[cp.poly(e) for e in row] for row in cp.Phi]
    if cp.named is not None:  # z* opaque, and Phi z* + r in place of z* (the fixed point is proved apart)
        zs = [letter(sp.Symbol(f"z^*_{nm}", commutative=False)) for nm in s.names]
        z = zs
        z_after = [padd(*[pmul(Phi[a][b], zs[b]) for b in range(K)], cp.poly(cp.r[a])) for a in range(K)]
    else:
        z_after = z
    state = [padd(z[k], x[k]) for k in range(K)]
    etas = []
    for p, phase in enumerate(s.phases):
        new = state[:]
        for listener, row in phase:
            eta = sp.Symbol(f"eta_{{{listener},{p}}}", commutative=False)
            etas.append((p, listener, eta))
            heard = padd(*[pscale(state[idx[src]], wt) for src, wt in row])
            new[idx[listener]] = padd(pmul(letter(M(listener)), heard), c_poly(listener), letter(eta))
        state = new
    tails = phase_tails(s)
    worst = sp.Integer(0)
    for a in range(K):
        predicted = padd(*[pmul(Phi[a][b], x[b]) for b in range(K)],
                         *[pmul(tails[p][a][idx[listener]], letter(eta)) for p, listener, eta in etas])
        res = cp.alg.reduce_poly(padd(state[a], z_after[a], predicted, signs=(1, -1, -1)))
        if res:
            worst = from_poly(res)
    return Check("noisy round: deviation = Phi (z - z*) + propagated noise", worst == 0, sp.sstr(worst))
