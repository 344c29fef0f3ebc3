"""Compiled (numba) kernel for batched protocol fixed points (P1): build the round map and solve.

Systems are processed ``LANES`` at a time with the system index innermost, so every
arithmetic loop runs over the lanes and compiles to SIMD instructions. Per system the
kernel keeps the augmented round map ``[Phi | r]`` (K d x (K d + 1)), applies the phases as
block-row updates (a listener i of phase p gets row ``M_i sum_j W_ij (row j)`` and
``r_i = M_i sum_j W_ij r_j + c_i``; all listeners read the rows as they stood at the
start of the phase, and in the lanes where i does not listen its row is kept), then
solves ``(I - Phi) z = r`` by Gaussian elimination with partial pivoting, pivots chosen
per system (the algorithm of LAPACK's ``gesv``). So the result is the fixed point of
exactly the round map of ``protocol_eval.round_map``, without K d x K d phase matrices,
dense products or einsum.

numba compiles on first call (``cache=True`` keeps the machine code on disk for later
processes); only the batched path of ``protocol_eval.fixed_points`` imports this module.
"""
from __future__ import annotations

import numpy as np
from numba import njit

LANES = 64  # systems per group: the lane loops vectorize (AVX2/AVX-512) with few remainder iterations


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
def _solve_batch(M, c, W, mask, z, Phi_out, fro, want_phi, L):  # pragma: no cover - compiled
    """Fill ``z`` (B, K, d); return the lowest index of a system whose ``I - Phi`` has a zero or
    non-finite pivot (its group finished first, the other lanes' ``z`` written), or -1. With ``want_phi``
    (for the rho < 1 check): ``fro`` (B,) gets
    ``||Phi||_F^2`` and ``Phi_out[s]`` (K d x K d) is written where that is not < 1 (elsewhere
    ``rho(Phi) <= ||Phi||_2 <= ||Phi||_F < 1`` already certifies the contraction)."""
    B, K, d = M.shape[0], M.shape[1], M.shape[2]
    P = W.shape[1]
    n = K * d
    nw = n + 1
    G = np.empty((n, nw, L))  # [Phi | r], lanes innermost
    heard = np.empty((d, nw, L))
    new = np.empty((K, d, nw, L))
    Ml = np.empty((K, d, d, L))
    cl = np.empty((K, d, L))
    Wl = np.empty((P, K, K, L))
    ml = np.empty((P, K, L), dtype=np.bool_)
    inv = np.empty(L)
    f = np.empty(L)
    big = np.empty(L)
    piv = np.empty(L, dtype=np.int64)
    for s0 in range(0, B, L):
        nl = min(L, B - s0)
        for l in range(L):  # gather; spare lanes repeat the chunk's first system
            s = s0 + l if l < nl else s0
            for i in range(K):
                for a in range(d):
                    cl[i, a, l] = c[s, i, a]
                    for e in range(d):
                        Ml[i, a, e, l] = M[s, i, a, e]
            for p in range(P):
                for i in range(K):
                    ml[p, i, l] = mask[s, p, i]
                    for j in range(K):
                        Wl[p, i, j, l] = W[s, p, i, j]
        G[:, :, :] = 0.0
        for a in range(n):
            G[a, a, :] = 1.0
        for p in range(P):
            for i in range(K):
                if p == 0:  # every row is still [0 .. I .. 0 | 0]: row i becomes [W_i1 M_i ... W_iK M_i | c_i]
                    for a in range(d):
                        for j in range(K):
                            for e in range(d):
                                for l in range(L):
                                    new[i, a, j * d + e, l] = Wl[0, i, j, l] * Ml[i, a, e, l]
                        for l in range(L):
                            new[i, a, n, l] = cl[i, a, l]
                    continue
                heard[:, :, :] = 0.0
                for j in range(K):
                    for a in range(d):
                        for b in range(nw):
                            for l in range(L):
                                heard[a, b, l] += Wl[p, i, j, l] * G[j * d + a, b, l]
                for a in range(d):
                    new[i, a, :, :] = 0.0
                    for e in range(d):
                        for b in range(nw):
                            for l in range(L):
                                new[i, a, b, l] += Ml[i, a, e, l] * heard[e, b, l]
                    for l in range(L):
                        new[i, a, n, l] += cl[i, a, l]
            for i in range(K):  # all listeners write at once; the others keep their row
                for a in range(d):
                    for b in range(nw):
                        for l in range(L):
                            if ml[p, i, l]:
                                G[i * d + a, b, l] = new[i, a, b, l]
        if want_phi:
            f[:] = 0.0
            for a in range(n):
                for b in range(n):
                    for l in range(L):
                        f[l] += G[a, b, l] * G[a, b, l]
            for l in range(nl):
                fro[s0 + l] = f[l]
                if not f[l] < 1.0:
                    for a in range(n):
                        for b in range(n):
                            Phi_out[s0 + l, a, b] = G[a, b, l]
        for a in range(n):  # I - Phi
            for b in range(n):
                for l in range(L):
                    G[a, b, l] = -G[a, b, l]
            for l in range(L):
                G[a, a, l] += 1.0
        first = -1  # the group's lowest refused system: a later lane may meet its zero pivot at an earlier step
        for k in range(n):
            for l in range(L):  # partial pivoting, per system
                big[l] = abs(G[k, k, l])
                piv[l] = k
            for a in range(k + 1, n):
                for l in range(L):
                    v = abs(G[a, k, l])
                    if v > big[l]:
                        big[l] = v
                        piv[l] = a
            for l in range(L):
                if not (big[l] > 0.0 and big[l] < np.inf):
                    if l < nl and (first < 0 or s0 + l < first):
                        first = s0 + l
                    G[k, k, l] = 1.0  # a refused or spare lane: keep it finite (its result is not used)
                pl = piv[l]
                if pl != k:
                    for b in range(k, nw):
                        t = G[k, b, l]
                        G[k, b, l] = G[pl, b, l]
                        G[pl, b, l] = t
                inv[l] = 1.0 / G[k, k, l]
            for a in range(k + 1, n):
                for l in range(L):
                    f[l] = G[a, k, l] * inv[l]
                for b in range(k + 1, nw):
                    for l in range(L):
                        G[a, b, l] -= f[l] * G[k, b, l]
        for k in range(n - 1, -1, -1):  # back substitution into the last column
            for b in range(k + 1, n):
                for l in range(L):
                    G[k, n, l] -= G[k, b, l] * G[b, n, l]
            for l in range(L):
                G[k, n, l] = G[k, n, l] / G[k, k, l]
        for l in range(nl):
            for i in range(K):
                for a in range(d):
                    z[s0 + l, i, a] = G[i * d + a, n, l]
        if first >= 0:
            return first
    return -1


def solve(M: np.ndarray, c: np.ndarray, W: np.ndarray, mask: np.ndarray, want_phi: bool = False):
    """``(z, undecided, lowest bad index or -1)`` for flat batches (``z`` NaN for systems not computed):
    ``M`` (B, K, d, d), ``c`` (B, K, d), ``W`` (B, P, K, K) float64, ``mask`` (B, P, K) bool.

    ``undecided`` (with ``want_phi``, else None): ``(index, Phi)`` of the systems whose
    ``||Phi||_F`` does not certify ``rho(Phi) < 1``, with their round matrices.
    """
    B, K, d = M.shape[0], M.shape[1], M.shape[2]
    z = np.full((B, K, d), np.nan)  # systems after a refused one's group are not computed: NaN, never stale memory
    Phi = np.empty((B, K * d, K * d)) if want_phi else np.empty((0, 0, 0))  # pages touched only where written
    fro = np.empty(B if want_phi else 0)
    bad = _solve_batch(M, c, W, mask, z, Phi, fro, want_phi, LANES)
    if not want_phi:
        return z, None, int(bad)
    idx = np.flatnonzero(~(fro < 1.0)) if bad < 0 else np.zeros(0, dtype=int)
    return z, (idx, Phi[idx]), int(bad)
