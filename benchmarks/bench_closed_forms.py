"""Batched closed forms vs a bare numpy.linalg.solve on the same batch (10^5 systems, d = 8, K = 2)."""
from __future__ import annotations

import time

import numpy as np

from numerics.dynamics import closed_forms

BATCH, D, REPEATS = 100_000, 8, 3


def batch(rng):
    """Random transfers with rho well below 1."""
    M = rng.standard_normal((BATCH, 2, D, D)) * (0.5 / np.sqrt(D))
    return M, rng.standard_normal((BATCH, 2, D))


def gd_batch(rng, N: int = 16):
    """GD agents on Gaussian prompts: M_i = I - H_i / tr(H_i) (slow directions, rho near 1)."""
    X = rng.standard_normal((BATCH, 2, N, D))
    H = np.swapaxes(X, -1, -2) @ X / N
    M = np.eye(D) - H / np.trace(H, axis1=-2, axis2=-1)[..., None, None]
    return M, rng.standard_normal((BATCH, 2, D))


def bare(M, c):
    """What a user would write: J = M_A M_B, r = M_A c_B + c_A, one solve; v* = M_B u* + c_B."""
    MA, MB = M[:, 0], M[:, 1]
    J = MA @ MB
    r = (MA @ c[:, 1, :, None])[..., 0] + c[:, 0]
    u = np.linalg.solve(np.eye(D) - J, r[..., None])[..., 0]
    v = (MB @ u[..., None])[..., 0] + c[:, 1]
    return np.stack([u, v], axis=1)


def best_time(fn, *args) -> float:
    times = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> dict:
    out = {}
    for name, make in (("random transfers", batch), ("GD prompts", gd_batch)):
        M, c = make(np.random.default_rng(0))
        assert np.allclose(closed_forms.fixed_points(M, c), bare(M, c), rtol=1e-8, atol=1e-10)
        t_bare = best_time(bare, M, c)
        t_checked = best_time(closed_forms.fixed_points, M, c)
        t_unchecked = best_time(lambda M, c: closed_forms.fixed_points(M, c, check=False), M, c)
        out[name] = {"bare_seconds": t_bare, "package_seconds": t_checked, "package_unchecked_seconds": t_unchecked,
                     "throughput_ratio": t_bare / t_checked, "throughput_ratio_unchecked": t_bare / t_unchecked}
        print(f"closed forms ({name}), {BATCH} systems, d={D}: bare solve {t_bare:.3f} s; package {t_checked:.3f} s "
              f"with the rho < 1 check -> {100 * t_bare / t_checked:.0f}% of bare throughput; "
              f"check=False {t_unchecked:.3f} s -> {100 * t_bare / t_unchecked:.0f}%")
    return out


if __name__ == "__main__":
    main()
