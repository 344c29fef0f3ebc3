"""Numeric evaluation of a protocol's derived round map (P1), batched, and in mpmath.

The compiler (``theory.protocol.compiler``) derives, for phases p = 1..P with listeners ``S_p``
and weights ``W_p``: block row i of ``Phi_p`` is ``M_i [W_i1 ... W_iK]`` for i in
``S_p`` and the identity row otherwise; ``r_p`` holds ``c_i`` in the rows of ``S_p``;
the round is ``z <- Phi z + r`` with ``Phi = Phi_P ... Phi_1``. Only the *live* agents
(those whose message is read before it is overwritten) have nonzero columns in
``Phi``, so ``rho(Phi) = rho(Phi_RR)`` and ``(I - Phi_RR) z_R* = r_R`` is the only
solve; every other agent follows as ``z_o* = Phi_oR z_R* + r_o``. Tests tie this code
to the SymPy object (``tests/test_protocol_theory.py``). This is the general path of the one engine
(:mod:`numerics.protocol.engine`), which every document goes through.

Shapes: ``M`` (..., K, d, d) per-turn transfers ``M_i^{s_i}``, ``c`` (..., K, d),
``W`` (P, K, K) or (..., P, K, K), ``mask`` (P, K) or (..., P, K).
"""
from __future__ import annotations

from typing import NoReturn

import numpy as np

from numerics.dynamics import closed_forms
from numerics.io.errors import InputError
from numerics.protocol.spec import Protocol

# rho within this of 1 is reported as not converging (by every command): at 1 - 1e-12 a float64
# fixed point has lost most digits and the iteration needs ~1e13 rounds.
CONVERGENCE_MARGIN = 1e-12


def live_agents(W: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Boolean (K,): agents whose start-of-round message the round map reads (nonzero columns of Phi).

    Structural: block (i, j) of Phi is nonzero only if j reaches i through the listening
    weights of the phases; ``W`` and ``mask`` may carry batch axes (their union is taken).
    """
    W = np.asarray(W).reshape((-1,) + W.shape[-3:])
    mask = np.asarray(mask).reshape((-1,) + mask.shape[-2:])
    P, K = mask.shape[-2], mask.shape[-1]
    reach = np.eye(K, dtype=bool)  # reach[i, j]: row i of the running Phi depends on column j
    for p in range(P):
        listens = np.any(W[:, p] != 0, axis=0)  # (K, K)
        listener = np.any(mask[:, p], axis=0)
        new = (listens.astype(int) @ reach.astype(int)) > 0
        reach = np.where(listener[:, None], new | (reach & ~np.all(mask[:, p], axis=0)[:, None]), reach)
    return np.any(reach, axis=0)


def round_map(M: np.ndarray, c: np.ndarray, W: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``Phi`` (..., K*d, K*d) and ``r`` (..., K*d) of one round (P1), by block-row updates:
    for a listener i of phase p, row i becomes ``M_i sum_j W_ij (row j)`` and ``r_i`` becomes
    ``M_i sum_j W_ij r_j + c_i``; other rows are kept."""
    K, d = M.shape[-3], M.shape[-1]
    batch = M.shape[:-3]
    Phi = np.zeros(batch + (K, d, K, d))
    for i in range(K):
        Phi[..., i, :, i, :] = np.eye(d)
    Phi = Phi.reshape(batch + (K, d * K * d))
    r = np.zeros(batch + (K, d))
    for p in range(W.shape[-3]):
        Wp, listeners = W[..., p, :, :], mask[..., p, :, None]
        heard = (Wp @ Phi).reshape(batch + (K, d, K * d))  # sum_j W_ij Phi[j], one matmul per system
        new = (M @ heard).reshape(batch + (K, d * K * d))
        new_r = (M @ (Wp @ r)[..., None])[..., 0] + c
        Phi = np.where(listeners, new, Phi)
        r = np.where(listeners, new_r, r)
    return Phi.reshape(batch + (K * d, K * d)), r.reshape(batch + (K * d,))


def live_index(live: np.ndarray, d: int) -> np.ndarray:
    """Joint-state indices (agent-major) of the live agents' d coordinates."""
    return (np.flatnonzero(live)[:, None] * d + np.arange(d)).ravel()


def rate(Phi: np.ndarray, live: np.ndarray, d: int) -> np.ndarray:
    """``rho(Phi) = rho(Phi_RR)`` over the live agents R (the other columns of Phi are 0).

    With no live agent the round map is constant (Phi = 0), so the rate is 0. A round map that
    overflowed float64 is refused (:func:`numerics.dynamics.closed_forms.require_finite_map`).
    """
    idx = live_index(live, d)
    if idx.size == 0:
        return np.zeros(Phi.shape[:-2])
    PRR = Phi[..., idx[:, None], idx]
    closed_forms.require_finite_map(PRR)
    return closed_forms.spectral_radius(PRR)


# From this many systems on, fixed_points uses the compiled kernel (numerics.protocol.kernel):
# below it the numba import and call overhead exceed what the kernel saves (``predict`` is one system).
KERNEL_MIN_BATCH = 256


def fixed_points(M: np.ndarray, c: np.ndarray, W: np.ndarray, mask: np.ndarray, check: bool = True) -> np.ndarray:
    """Every agent's message at the end of a round at the fixed point, (..., K, d) (P1).

    One solve on the live agents, ``(I - Phi_RR) z_R* = r_R``, then ``z* = Phi_{:,R} z_R* + r``.
    From ``KERNEL_MIN_BATCH`` systems on, the compiled kernel builds ``[Phi | r]`` and solves
    ``(I - Phi) z = r`` per system instead (the same fixed point: ``I - Phi`` is block triangular
    over live and other agents, with the identity on the others).
    Hypothesis (``check``): ``rho(Phi) < 1``, else InputError.
    """
    K, d = M.shape[-3], M.shape[-1]
    batch = M.shape[:-3]
    if int(np.prod(batch)) >= KERNEL_MIN_BATCH:
        return _fixed_points_kernel(M, c, W, mask, check)
    with np.errstate(all="ignore"):  # an overflowing round map is refused below, by name
        Phi, r = round_map(M, c, W, mask)
    live = live_agents(W, mask)
    if live.all():  # nothing to reduce: one solve on the joint system, no copies
        z = _solve_or_refuse(Phi, r[..., None], Phi, check)[..., 0]
        return z.reshape(batch + (K, d))
    idx = live_index(live, d)
    A = Phi[..., :, idx]
    zR = _solve_or_refuse(A[..., idx, :], r[..., idx, None], Phi, check and bool(idx.size))
    with np.errstate(all="ignore"):
        z = (A @ zR)[..., 0] + r
    if not np.all(np.isfinite(z)):
        _refuse(Phi, int(np.flatnonzero(~np.all(np.isfinite(z.reshape(-1, K * d)), axis=1))[0]))
    return z.reshape(batch + (K, d))


def _refuse(Phi: np.ndarray, k: int, system: int | None = None) -> NoReturn:
    """The refusal of a system with no unique fixed point: system ``k`` of the batch ``Phi``, named as
    ``system`` of the caller's batch (default ``k``). Both fixed-point paths raise it."""
    raise InputError(f"I - Phi (round map of system {k if system is None else system})",
                     Phi.reshape((-1,) + Phi.shape[-2:])[k],
                     "is singular or not finite: the protocol has no unique fixed point (P1)")


def _solve_or_refuse(P: np.ndarray, rhs: np.ndarray, Phi: np.ndarray, check: bool) -> np.ndarray:
    """``(I - P)^{-1} rhs`` per system (``P``: the live block of the round map ``Phi``). ``check``: ``rho(P) < 1``
    first (C1's InputError). A system whose ``P`` or ``rhs`` is not finite, or whose ``I - P`` is singular
    (only possible unchecked) or gives a non-finite solution, is refused by name, as on the kernel path."""
    n = P.shape[-1]
    if n == 0:  # no live agent (every weight 0): nothing to contract or solve, z* = r
        return np.zeros(rhs.shape)
    flatP, flatb = P.reshape((-1, n, n)), rhs.reshape((-1, n, 1))
    finite = np.all(np.isfinite(flatP), axis=(1, 2)) & np.all(np.isfinite(flatb), axis=(1, 2))
    if finite.all():
        if check:
            closed_forms.require_contraction(P)
        try:
            with np.errstate(all="ignore"):
                z = np.linalg.solve(np.eye(n) - P, rhs)
            if np.all(np.isfinite(z)):
                return z
        except np.linalg.LinAlgError:
            pass
    for k in range(flatP.shape[0]):  # the first system that is not finite or not solvable
        if not finite[k]:
            _refuse(Phi, k)
        try:
            with np.errstate(all="ignore"):
                zk = np.linalg.solve(np.eye(n) - flatP[k], flatb[k])
        except np.linalg.LinAlgError:
            _refuse(Phi, k)
        if not np.all(np.isfinite(zk)):
            _refuse(Phi, k)
    raise AssertionError("unreachable: the batched solve failed but every system solves")


def _fixed_points_kernel(M, c, W, mask, check: bool) -> np.ndarray:
    from numerics.protocol import kernel as protocol_kernel
    K, d = M.shape[-3], M.shape[-1]
    batch = M.shape[:-3]
    P = W.shape[-3]
    flat = lambda x, tail, dtype: (np.ascontiguousarray(np.broadcast_to(x, batch + tail), dtype=dtype)
                                   .reshape((-1,) + tail))
    Mf, cf = flat(M, (K, d, d), np.float64), flat(c, (K, d), np.float64)
    Wf, maskf = flat(W, (P, K, K), np.float64), flat(mask, (P, K), np.bool_)
    z, undecided, bad = protocol_kernel.solve(Mf, cf, Wf, maskf, want_phi=check)
    if bad >= 0 or not np.all(np.isfinite(z)):
        # the lowest system that is singular or not finite, as on the path below the threshold (z is written up to
        # the refused system's group)
        nonfinite = np.flatnonzero(~np.all(np.isfinite(z[:bad if bad >= 0 else len(z)]), axis=(1, 2)))
        bad = int(nonfinite[0]) if nonfinite.size else bad
        with np.errstate(all="ignore"):  # an overflowing round map is the refusal's subject
            Phi1, _ = round_map(Mf[bad], cf[bad], Wf[bad], maskf[bad])
        if check and np.all(np.isfinite(Phi1)):
            closed_forms.require_contraction(Phi1)
        _refuse(Phi1[None], 0, bad)
    if check and undecided[0].size:  # the others are certified by ||Phi||_F < 1 in the kernel
        closed_forms.require_contraction(undecided[1])
    return z.reshape(batch + (K, d))


def stacked_finite(system) -> tuple[np.ndarray, np.ndarray]:
    """``system.stacked()``, or an InputError naming the agent whose ``M^s`` or ``c`` overflows float64."""
    with np.errstate(all="ignore"):
        M, c = system.stacked()
    for agent, Mi, ci in zip(system.agents, M, c):
        if not (np.all(np.isfinite(Mi)) and np.all(np.isfinite(ci))):
            raise InputError(f"{agent.name} per-turn transfer M^s", agent.steps,
                             "overflows float64 (the agent's own GD steps diverge); --precision computes it exactly")
    return M, c


def system_arrays(system) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``M`` (K, d, d), ``c`` (K, d) and the protocol's ``W``, ``mask`` for a config System with a protocol."""
    M, c = stacked_finite(system)
    W, mask = system.protocol.weights()
    return M, c, W, mask


def stationary_covariance(M: np.ndarray, S: np.ndarray, W: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Every agent's stationary end-of-round covariance (K, d, d) under the protocol (``rho < 1``).

    ``M`` (K, d, d) per-turn transfers, ``S`` (K, d, d) per-turn noise covariances. The end-of-round
    state obeys ``Sigma = Phi Sigma Phi^T + Q`` with ``Q = sum_p Phi_P ... Phi_(p+1) D_p (...)^T``,
    where ``D_p`` holds ``S_i`` in the blocks of the agents that speak in phase p. Only the live
    agents R have nonzero columns in ``Phi``, so ``Sigma_RR`` solves the reduced equation and
    ``Sigma = Phi_:R Sigma_RR Phi_:R^T + Q``.
    """
    from numerics.dynamics import lyapunov

    K, d = M.shape[0], M.shape[-1]
    zero = np.zeros((K, d))
    Q = np.zeros((K * d, K * d))
    for p in range(W.shape[0]):
        Phi_p, _ = round_map(M, zero, W[p:p + 1], mask[p:p + 1])
        D = np.zeros((K, d, K, d))
        for i in np.flatnonzero(mask[p]):
            D[i, :, i, :] = S[i]
        Q = Phi_p @ Q @ Phi_p.T + D.reshape(K * d, K * d)
    Phi, _ = round_map(M, zero, W, mask)
    idx = live_index(live_agents(W, mask), d)
    A = Phi[:, idx]
    if idx.size:
        Sigma = A @ lyapunov.discrete_lyapunov(A[idx], Q[np.ix_(idx, idx)]) @ A.T + Q  # O(n^3) Schur solve
    else:  # no message survives a round: only the round's own noise
        Sigma = Q
    Sigma = (Sigma + Sigma.T) / 2
    return np.stack([Sigma[i * d:(i + 1) * d, i * d:(i + 1) * d] for i in range(K)])


def precise_round_map(Ms, cs, protocol: Protocol):
    """``Phi`` and ``r`` as mpmath matrices at the current precision (same block-row updates)."""
    import mpmath as mp  # only here: keeps float64 evaluation fast to start

    from numerics.dynamics import precise

    K, d = len(Ms), Ms[0].rows
    rows = [[mp.eye(d) if j == i else mp.zeros(d, d) for j in range(K)] for i in range(K)]
    r = [mp.matrix(d, 1) for _ in range(K)]
    for phase in protocol.phases:
        new_rows, new_r = list(rows), list(r)
        for i, row in phase:
            heard = [mp.zeros(d, d) for _ in range(K)]
            heard_r = mp.matrix(d, 1)
            for j, w in row:
                wm = precise.to_mpf(w)  # a JSON decimal from its text
                heard = [heard[k] + wm * rows[j][k] for k in range(K)]
                heard_r = heard_r + wm * r[j]
            new_rows[i] = [Ms[i] * h for h in heard]
            new_r[i] = Ms[i] * heard_r + cs[i]
        rows, r = new_rows, new_r
    Phi = mp.zeros(K * d, K * d)
    rv = mp.matrix(K * d, 1)
    for i in range(K):
        for j in range(K):
            for a in range(d):
                for b in range(d):
                    Phi[i * d + a, j * d + b] = rows[i][j][a, b]
        for a in range(d):
            rv[i * d + a] = r[i][a]
    return Phi, rv
