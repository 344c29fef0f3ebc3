"""Batched simulation (numerics.protocol.simulate.run_batch) vs a bare numpy loop: 10^4 systems, d = 8, 200 turns."""
from __future__ import annotations

import time

import numpy as np

from numerics.protocol import simulate

BATCH, D, TURNS = 10_000, 8, 200


def systems(rng):
    X = rng.standard_normal((BATCH, 2, 16, D))
    H = np.swapaxes(X, -1, -2) @ X / 16
    Gamma = np.eye(D) / np.trace(H, axis1=-2, axis2=-1)[..., None, None] * D / 2
    b = rng.standard_normal((BATCH, 2, D))
    return Gamma, H, b, rng.standard_normal((BATCH, D))


def bare(Gamma, H, b, v0):
    """The plain loop a user would write: w <- w - Gamma (H w - b), agents alternating."""
    w = v0.copy()
    out = np.empty((BATCH, TURNS, 2, D))
    for t in range(TURNS):
        for i in range(2):
            w = w - (Gamma[:, i] @ ((H[:, i] @ w[..., None])[..., 0] - b[:, i])[..., None])[..., 0]
            out[:, t, i] = w
    return out


def main() -> dict:
    Gamma, H, b, v0 = systems(np.random.default_rng(1))
    t = time.perf_counter()
    ref = bare(Gamma, H, b, v0)
    t_bare = time.perf_counter() - t
    t = time.perf_counter()
    got = simulate.run_batch(Gamma, H, b, [1, 1], v0, TURNS)
    t_pkg = time.perf_counter() - t
    assert np.allclose(got, ref, rtol=1e-9, atol=1e-9)
    print(f"simulation, {BATCH} systems, d={D}, {TURNS} turns: bare loop {t_bare:.2f} s; run_batch {t_pkg:.2f} s "
          f"-> {t_bare / t_pkg:.2f}x the bare throughput")
    return {"bare_seconds": t_bare, "package_seconds": t_pkg, "speedup": t_bare / t_pkg}


if __name__ == "__main__":
    main()
