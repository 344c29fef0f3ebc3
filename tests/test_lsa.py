"""LSA agents and their training: gradients, K-agent use, saved weights, stall detection, bad input."""
import numpy as np
import pytest
import sympy as sp

from numerics.agents.gd import GDAgent
from numerics.agents.prompts import from_prompt
from numerics.io.errors import InputError
from numerics.lsa import agent as lsa, training as lsa_training
from numerics.protocol import simulate
from proofs_check.cli import main as cli
from test_bad_input import cli_error

FD_STEP = 1e-6
TRAIN_OPTIONS = dict(steps=1500, batch=256, seed=0, lr=0.02, parameterisation="sparse", progress=False, check_every=50)
FD_REL_TOL = 1e-6  # central differences: O(h^2) truncation plus O(eps/h) round-off


def small_batch(seed=0, B=4, N=3, d=2, q=2):
    rng = np.random.default_rng(seed)
    return lsa_training.sample_tasks(rng, B, N, np.diag(np.linspace(0.5, 2, d)), 1.0, 0.1, queries=q), rng


def test_gradient_matches_finite_differences():
    batch, rng = small_batch()
    d = batch.X.shape[-1]
    p, Q = rng.standard_normal(d + 1), rng.standard_normal((d + 1, d + 1))
    _, gp, gQ = lsa_training.loss_and_grad(p, Q, batch)
    for x, g in ((p, gp), (Q, gQ)):
        fd = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            old = x[idx]
            x[idx] = old + FD_STEP
            up = lsa_training.loss_and_grad(p, Q, batch)[0]
            x[idx] = old - FD_STEP
            down = lsa_training.loss_and_grad(p, Q, batch)[0]
            x[idx] = old
            fd[idx] = (up - down) / (2 * FD_STEP)
        assert np.linalg.norm(g - fd) <= FD_REL_TOL * max(1.0, np.linalg.norm(fd))


def test_gradient_matches_sympy_derivative():
    """The loss written token by token in SymPy, differentiated by SymPy, at the same numbers."""
    batch, rng = small_batch(seed=1, B=2, N=2, d=2, q=1)
    d = 2
    ps = sp.Matrix(sp.symbols(f"p0:{d + 1}"))
    Qs = sp.Matrix(d + 1, d + 1, lambda i, j: sp.Symbol(f"q{i}{j}"))
    loss = 0
    for b in range(2):
        Z = [sp.Matrix(list(batch.X[b, j]) + [batch.y[b, j]]) for j in range(2)]
        zq = sp.Matrix(list(batch.xq[b, 0]) + [0])
        yhat = sum((ps.T * z)[0] * (z.T * Qs * zq)[0] for z in Z) / 2
        loss += (yhat - batch.yq[b, 0]) ** 2 / 2
    p, Q = rng.standard_normal(d + 1), rng.standard_normal((d + 1, d + 1))
    values = dict(zip(list(ps) + list(Qs), list(p) + list(Q.ravel())))
    sym_gp = np.array([float(sp.diff(loss, s).subs(values)) for s in ps])
    sym_gQ = np.array([float(sp.diff(loss, s).subs(values)) for s in Qs]).reshape(d + 1, d + 1)
    _, gp, gQ = lsa_training.loss_and_grad(p, Q, batch)
    assert np.allclose(gp, sym_gp, rtol=1e-10, atol=1e-12)
    assert np.allclose(gQ, sym_gQ, rtol=1e-10, atol=1e-12)


def test_lsa_agents_in_k_agent_conversation():
    rng = np.random.default_rng(2)
    d, agents_lsa, agents_gd = 3, [], []
    for name in "ABC":
        X, y = rng.standard_normal((6, d)), rng.standard_normal(6)
        G = 0.2 * np.eye(d) + 0.05 * rng.standard_normal((d, d))
        agents_lsa.append(lsa.LSAAgent(name, lsa.gd_weights(G), X, y, steps=2))
        agents_gd.append(GDAgent(name, from_prompt(X, y), G, 2))
    a = simulate.run(agents_lsa, np.ones(d), 40)
    b = simulate.run(agents_gd, np.ones(d), 40)
    assert np.max(np.abs(a - b)) <= 1e-12 * max(1.0, np.max(np.abs(b)))


def test_weights_round_trip_and_stall_is_reported(tmp_path):
    res = lsa_training.train(3, 10, "anisotropic", 1.0, 0.0, **dict(TRAIN_OPTIONS, steps=30, parameterisation="full",
                                                                          seed=1))
    assert res.stalled and "STALLED" in res.report() and "full" in res.report()
    path = lsa_training.save(res, tmp_path / "w.npz")
    W, meta = lsa_training.load(path)
    assert np.array_equal(W.W_KQ, res.weights.W_KQ) and meta["steps"] == 30 and meta["stalled"]


def test_sparse_training_reaches_gamma_star():
    res = lsa_training.train(5, 20, "anisotropic", 1.0, 0.1, **TRAIN_OPTIONS)
    assert res.rel_error <= lsa_training.TARGET_REL_ERROR
    assert res.p_x_norm == 0 and res.q_yx_norm == 0 and not res.stalled


def test_train_lsa_cli(tmp_path, capsys):
    out = tmp_path / "w.npz"
    assert cli.main(["train-lsa", "--d", "2", "--N", "8", "--steps", "200", "--no-progress",
                     "--sigma-x", "[0.5, 2.0]", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Gamma_eff vs Gamma*" in text and "|q_yx|" in text and out.exists()


# ---- bad input --------------------------------------------------------------
W2 = lsa.gd_weights(np.eye(2))


@pytest.mark.parametrize("call, quantity", [
    (lambda: lsa.forward(W2, np.ones((3, 3)), np.ones(3), np.ones(3)), "prompt dimension"),
    (lambda: lsa.forward(W2, np.zeros((0, 2)), np.zeros(0), np.ones(2)), "N"),
    (lambda: lsa.forward(W2, np.ones((3, 2)), np.ones(4), np.ones(2)), "y"),
    (lambda: lsa.readout(W2, np.ones((3, 2)), np.eye(2)), "tokens"),
    (lambda: lsa.LSAWeights(np.full((3, 3), np.nan), np.eye(3)), "W_PV"),
    (lambda: lsa.LSAWeights(np.eye(3), np.eye(4)), "W_KQ"),
    (lambda: lsa.LSAAgent("A", W2, np.ones((4, 3)), np.ones(4)), "A.prompt dimension"),
    (lambda: lsa_training.train(2, 0, "isotropic", 1.0, 0.0, **TRAIN_OPTIONS), "N"),
    (lambda: lsa_training.train(2, 5, [1.0, -1.0], 1.0, 0.0, **TRAIN_OPTIONS), "Sigma"),
    (lambda: lsa_training.train(2, 5, [[1.0, 2.0], [2.0, 1.0]], 1.0, 0.0, **TRAIN_OPTIONS), "Sigma"),
    (lambda: lsa_training.train(2, 5, "isotropic", 1.0, 0.0, **dict(TRAIN_OPTIONS, parameterisation="dense")),
     "parameterisation"),
    (lambda: lsa_training.train(2, 5, "isotropic", 0.0, 0.0, **TRAIN_OPTIONS), "tau"),
])
def test_bad_lsa_input_api(call, quantity):
    with pytest.raises(InputError) as info:
        call()
    assert quantity in str(info.value)


@pytest.mark.parametrize("args, quantity", [
    (["--N", "0"], "N"),
    (["--d", "-1"], "d"),
    (["--sigma-x", "[1.0, -1.0]", "--d", "2"], "Sigma"),
    (["--sigma-x", "[1.0, 2.0, 3.0]", "--d", "2"], "Sigma"),
    (["--sigma-x", "nope"], "--sigma-x"),
    (["--lr", "1e9", "--steps", "20"], "lr"),
    (["--sigma", "nan"], "sigma"),
])
def test_bad_train_lsa_cli(tmp_path, capsys, args, quantity):
    line = cli_error(capsys, ["train-lsa", "--no-progress", "--out", str(tmp_path / "w.npz"), *args])
    assert quantity in line


def test_bad_weights_file(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="weights file"):
        lsa_training.load(bad)
