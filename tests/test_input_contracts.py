"""Bad input to the numeric modules verify does not feed bad input to (it checks mathematics):
each refusal raises InputError naming the quantity. Part of the mutation killers
(mutation/targets.toml), so a mutant that drops a validation is caught."""
import numpy as np
import pytest

from numerics.dynamics import lyapunov
from numerics.io.errors import InputError

M = np.stack([0.5 * np.eye(2), 0.4 * np.eye(2)])
S = np.stack([0.1 * np.eye(2), 0.2 * np.eye(2)])


def test_lyapunov_accepts_good_input():
    P = lyapunov.stationary_covariances(M, S)
    J = M[1] @ M[0]
    assert np.allclose(P[1], J @ P[1] @ J.T + M[1] @ S[0] @ M[1].T + S[1], atol=1e-14)


@pytest.mark.parametrize("bad_S, quantity", [
    (np.stack([np.diag([0.1, -0.1]), 0.2 * np.eye(2)]), "noise covariance S[0]"),  # not PSD
    (np.stack([0.1 * np.eye(2), np.diag([0.1, -0.2])]), "noise covariance S[1]"),  # the last one too
    (np.stack([0.1 * np.eye(3), 0.2 * np.eye(3)]), "noise covariances S"),  # wrong shape (larger)
    (np.stack([0.1 * np.eye(1), 0.2 * np.eye(1)]), "noise covariances S"),  # (smaller)
    (0.1 * np.eye(2)[None], "noise covariances S"),  # one agent's noise for two agents
    (np.stack([np.full((2, 2), np.nan), 0.2 * np.eye(2)]), "noise covariances S"),  # NaN
])
def test_lyapunov_refuses_bad_noise(bad_S, quantity):
    with pytest.raises(InputError, match=quantity.replace("[", r"\[").replace("]", r"\]")):
        lyapunov.stationary_covariances(M, bad_S)


def test_lyapunov_refuses_bad_transfers():
    with pytest.raises(InputError, match="transfers M"):
        lyapunov.stationary_covariances(np.full((2, 2, 2), np.inf), S)
    with pytest.raises(InputError, match="contraction rate"):
        lyapunov.stationary_covariances(np.stack([2.0 * np.eye(2), np.eye(2)]), S)
    with pytest.raises(InputError, match="noise input Q"):
        lyapunov.discrete_lyapunov(0.5 * np.eye(2), np.eye(3))
