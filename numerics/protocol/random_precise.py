"""The moments of a random protocol in mpmath (``predict --precision`` on ``random``; issue 26).

The same equations as :mod:`numerics.protocol.random_moments` (see there), with every input number
taken exactly as written (JSON decimals by their text: agents' data, listening weights and the
probabilities) and the operators formed densely at the working precision: the first-moment
operator (``modes K d`` square) and the second-moment operator (``modes (K d)^2`` square, one mode for
independent draws, one per alternative for a chain). mpmath's eigenvalues and LU solve are pure
Python, so the size is bounded (:data:`MAX_PRECISE_UNKNOWNS`) and a larger instance is refused with
its size. An instance within the bound is refused when its estimated mpmath time
``SECONDS_PER_DIGIT x digits x (N / 36)^4`` (``N = modes (K d)^2`` unknowns; 0.0185 s per digit at 36
unknowns) is above :data:`MAX_PRECISE_SECONDS` (30 s), the error naming the estimate; docs/config.rst
("When ``--precision`` refuses") states this contract.
"""
from __future__ import annotations

from numerics.io.errors import InputError
from numerics.protocol import evaluate
from numerics.protocol.evaluate import CONVERGENCE_MARGIN

__all__ = ["MAX_PRECISE_UNKNOWNS", "check_size", "moments"]

# mp.eig and the LU solve of the second-moment operator are pure Python. Measured (user time, 2-core
# box): 36 unknowns take 1.0 s at 50 digits and 18.5 s at 1000; 64 unknowns 10.5 s at 50 digits. The
# fit SECONDS_PER_DIGIT * digits * (N / 36)^4 matches these; an instance above MAX_PRECISE_SECONDS of
# estimate, or above MAX_PRECISE_UNKNOWNS, is refused (float64 predict has no such bound).
MAX_PRECISE_UNKNOWNS = 64
SECONDS_PER_DIGIT = 0.0185
MAX_PRECISE_SECONDS = 30.0


def check_size(rp, d: int, digits: int) -> int:
    """The second-moment unknowns ``modes (K d)^2``, or an InputError naming them when above the bound
    or when their estimated mpmath time at ``digits`` exceeds :data:`MAX_PRECISE_SECONDS`."""
    modes = rp.n_alt if rp.markov else 1
    n = rp.K * d
    size = modes * n * n
    if size > MAX_PRECISE_UNKNOWNS:
        raise InputError("--precision", f"{size} second-moment unknowns",
                         f"a random protocol's moments in mpmath support modes x (K d)^2 <= {MAX_PRECISE_UNKNOWNS} "
                         f"(here {modes} x {n}^2); use predict without --precision")
    seconds = SECONDS_PER_DIGIT * digits * (size / 36) ** 4
    if seconds > MAX_PRECISE_SECONDS:
        raise InputError("--precision", digits, f"would take an estimated {seconds:.3g} s of mpmath work "
                                                f"({size} second-moment unknowns); the limit is "
                                                f"{MAX_PRECISE_SECONDS:g} s: use fewer digits")
    return size


def _law(rp):
    """``P`` (n x n mp matrix) from the probabilities as written, and the stationary law ``pi``."""
    import mpmath as mp

    from numerics.dynamics import precise

    n = rp.n_alt
    P = mp.matrix(n, n)
    for j in range(n):
        for l in range(n):
            P[j, l] = precise.to_mpf(rp.P_raw[j][l])
    if not rp.markov:
        return P, [P[0, l] for l in range(n)]
    A = mp.matrix(n, n)  # pi^T (P - I) = 0 with the last equation replaced by sum pi = 1
    for i in range(n - 1):
        for j in range(n):
            A[i, j] = P[j, i] - (1 if i == j else 0)
    for j in range(n):
        A[n - 1, j] = mp.mpf(1)
    b = mp.matrix(n, 1)
    b[n - 1] = mp.mpf(1)
    pi = mp.lu_solve(A, b)
    return P, [pi[k] for k in range(n)]


def moments(Ms, cs, rp):
    """``(mean_rate, ms_rate, mean, covariance)`` at the current mpmath precision: ``mean`` a list of K
    mp vectors (None unless the mean converges), ``covariance`` a list of K d x d mp matrices (None unless
    the second moment converges). ``Ms``, ``cs``: mp per-turn transfers and offsets in list order."""
    import mpmath as mp

    from numerics.dynamics import precise

    K, d = len(Ms), Ms[0].rows
    n = K * d
    P, pi = _law(rp)
    maps = [evaluate.precise_round_map(Ms, cs, alt) for alt in rp.alternatives]
    m = rp.n_alt if rp.markov else 1
    # terms (l, j, k, w): alternative k run from mode j feeds mode l with weight w (random_moments.operators)
    if rp.markov:
        terms = [(l, j, j, P[j, l]) for j in range(m) for l in range(m) if P[j, l] != 0]
        mass = pi
    else:
        terms = [(0, 0, k, pi[k]) for k in range(rp.n_alt) if pi[k] != 0]
        mass = [mp.mpf(1)]
    A1 = mp.zeros(m * n, m * n)
    A2 = mp.zeros(m * n * n, m * n * n)
    for l, j, k, w in terms:
        Phi = maps[k][0]
        for a in range(n):
            for b in range(n):
                A1[l * n + a, j * n + b] += w * Phi[a, b]
        for a in range(n):  # row-major vec: (Phi X Phi^T)[a, c] = sum Phi[a, b] Phi[c, e] X[b, e]
            for c in range(n):
                row = l * n * n + a * n + c
                for b in range(n):
                    wab = w * Phi[a, b]
                    if wab == 0:
                        continue
                    for e in range(n):
                        A2[row, j * n * n + b * n + e] += wab * Phi[c, e]
    mean_rate = precise.spectral_radius(A1)
    ms_rate = mp.sqrt(precise.spectral_radius(A2))
    if not mean_rate < 1 - CONVERGENCE_MARGIN:
        return mean_rate, ms_rate, None, None
    f = mp.matrix(m * n, 1)
    for l, j, k, w in terms:
        psi = maps[k][1]
        for a in range(n):
            f[l * n + a] += w * mass[j] * psi[a]
    q = mp.lu_solve(mp.eye(m * n) - A1, f)
    mu = [sum((q[l * n + a] for l in range(m)), mp.mpf(0)) for a in range(n)]
    mean = [mp.matrix(mu[i * d:(i + 1) * d]) for i in range(K)]
    if not ms_rate < 1 - CONVERGENCE_MARGIN:
        return mean_rate, ms_rate, mean, None
    # centred: e_k = Phi_k mu + psi_k - mu, qc_j = q_j - mass_j mu (as in random_moments)
    e = []
    for Phi, psi in maps:
        e.append([sum((Phi[a, b] * mu[b] for b in range(n)), mp.mpf(0)) + psi[a] - mu[a] for a in range(n)])
    qc = [[q[j * n + a] - mass[j] * mu[a] for a in range(n)] for j in range(m)]
    C = mp.matrix(m * n * n, 1)
    for l, j, k, w in terms:
        Phi = maps[k][0]
        Pq = [sum((Phi[a, b] * qc[j][b] for b in range(n)), mp.mpf(0)) for a in range(n)]
        for a in range(n):
            for c in range(n):
                C[l * n * n + a * n + c] += w * (Pq[a] * e[k][c] + e[k][a] * Pq[c] + mass[j] * e[k][a] * e[k][c])
    Q = mp.lu_solve(mp.eye(m * n * n) - A2, C)
    cov = []
    for i in range(K):
        block = mp.matrix(d, d)
        for a in range(d):
            for c in range(d):
                block[a, c] = sum((Q[l * n * n + (i * d + a) * n + (i * d + c)] for l in range(m)), mp.mpf(0))
        cov.append(block)
    return mean_rate, ms_rate, mean, cov
