"""numerics.dynamics.closed_forms is direct numpy code; these tests tie it to the SymPy objects in theory/."""
import numpy as np
import pytest

from numerics.agents import random_systems
from numerics.dynamics import closed_forms
from numerics.io.errors import InputError
from theory.core import model
from theory.round_robin import k_agents as ka, two_agents as ta

# Both sides are float64 evaluations of the same formula through different code paths
# (solve vs inv, composition order); at cond <= 1e2 they agree to ~1e-13.
TIE_TOL = 1e-11


def env_two(M, w):
    A, B = ta.A, ta.B
    I = np.eye(M.shape[-1])
    return {A.M.name: M[0], B.M.name: M[1], A.K.name: I - M[0], B.K.name: I - M[1],
            A.w_star.name: w[0][:, None], B.w_star.name: w[1][:, None]}


@pytest.mark.parametrize("seed", range(5))
def test_two_agent_closed_forms_match_theory(seed):
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 7))
    Gamma, H = random_systems.stable_gd_pair(rng, d)
    w = rng.standard_normal((2, d))
    M = np.eye(d) - Gamma @ H
    c = ((np.eye(d) - M) @ w[..., None])[..., 0]
    env = env_two(M, w)
    ops = model.numpy_ops()
    u = closed_forms.fixed_points(M, c)
    assert np.allclose(u[0], model.evaluate(ta.u_star, env, ops)[:, 0], rtol=TIE_TOL, atol=TIE_TOL)
    assert np.allclose(u[1], model.evaluate(ta.v_star, env, ops)[:, 0], rtol=TIE_TOL, atol=TIE_TOL)
    G_A, G_B = closed_forms.bias_maps(M[0], M[1])
    assert np.allclose(G_A, model.evaluate(ta.G_A, env, ops), rtol=TIE_TOL, atol=TIE_TOL)
    assert np.allclose(G_B, model.evaluate(ta.G_B, env, ops), rtol=TIE_TOL, atol=TIE_TOL)


@pytest.mark.parametrize("K", [3, 4])
def test_k_agent_fixed_points_match_theory(K):
    rng = np.random.default_rng(K)
    d = 3
    M = np.stack([0.5 * random_systems.orthogonal(rng, d) for _ in range(K)])  # rho = 0.5^K
    w = rng.standard_normal((K, d))
    c = ((np.eye(d) - M) @ w[..., None])[..., 0]
    env = {}
    for k, a in enumerate(ka.agents(K)):
        env.update({a.M.name: M[k], a.K.name: np.eye(d) - M[k], a.w_star.name: w[k][:, None]})
    u = closed_forms.fixed_points(M, c)
    for i in range(K):
        expected = model.evaluate(ka.fixed_point(K, i), env, model.numpy_ops())[:, 0]
        assert np.allclose(u[i], expected, rtol=TIE_TOL, atol=TIE_TOL)


def test_batched_matches_unbatched():
    rng = np.random.default_rng(7)
    M = 0.4 * rng.standard_normal((10, 2, 4, 4)) / 2
    c = rng.standard_normal((10, 2, 4))
    batched = closed_forms.fixed_points(M, c)
    for k in range(10):
        assert np.allclose(batched[k], closed_forms.fixed_points(M[k], c[k]), rtol=1e-13, atol=1e-13)


def test_divergent_pair_refuses_fixed_point():
    M = np.stack([2.0 * np.eye(2), np.eye(2)])
    with pytest.raises(InputError, match="contraction rate rho = 2"):
        closed_forms.fixed_points(M, np.zeros((2, 2)))


@pytest.mark.parametrize("rho, ok, non_normal", [(0.5, True, True), (0.999, True, True), (1.001, False, True),
                                                 (1.0, False, False)])
def test_contraction_check_exact_at_the_boundary(rho, ok, non_normal):
    """Squaring certifies most systems; the rest must still get the exact answer (non-normal J)."""
    rng = np.random.default_rng(3)
    S = rng.standard_normal((4, 4)) * 3 if non_normal else np.eye(4)  # strongly non-normal similarity
    J = S @ np.diag([rho, 0.3, -0.2, 0.1]) @ np.linalg.inv(S)
    batch = np.stack([0.1 * np.eye(4), J, 0.2 * np.eye(4)])
    if ok:
        closed_forms.require_contraction(batch)
    else:
        with pytest.raises(InputError, match="contraction rate rho"):
            closed_forms.require_contraction(batch)
