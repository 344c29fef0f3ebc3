"""Training LSA agents on in-context linear regression (docs/theory.rst, L2), in numpy.

Tasks: ``x ~ N(0, Sigma)`` (context and query), ``w ~ N(0, tau^2 I)``,
``y = <w, x> + eps``, ``eps ~ N(0, sigma^2)``; the agent hears the message 0, so its
residual tokens carry the labels. Loss: ``mean (yhat(x_q) - <w, x_q>)^2``.
Hand-derived gradients (checked against SymPy and finite differences in the tests):
with ``C = Z^T Z / N`` and ``yhat = p^T C Q z_q``,
``d yhat / d p = C Q z_q`` and ``d yhat / d Q = (C p) z_q^T``.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from numerics.io import validate
from numerics.io.errors import InputError
from numerics.lsa.agent import LSAWeights, read_weights

PARAMETERISATIONS = ("sparse", "full")
ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8
INIT_SCALE = 0.01  # small random start for every trainable entry (p_y starts at 1)
# A run whose Gamma_eff is further than this from Gamma* at the end is reported as stalled.
STALL_REL_ERROR = 0.05
TARGET_REL_ERROR = 0.01  # issue 3: "within 1% relative Frobenius error of Gamma*"
DIVERGENCE_FACTOR = 1e6  # a loss this many times the first one means the step size is too large
SIGMA_PRESETS = {"isotropic": lambda d: np.ones(d), "anisotropic": lambda d: np.geomspace(0.5, 2.0, d)}


def covariance(spec, d: int) -> np.ndarray:
    """Sigma from a named preset, a list of diagonal entries, or a full SPD matrix."""
    if isinstance(spec, str):
        if spec not in SIGMA_PRESETS:
            raise InputError("Sigma", spec, f"must be a list of variances or one of {sorted(SIGMA_PRESETS)}")
        return np.diag(SIGMA_PRESETS[spec](d))
    arr = validate.finite_array("Sigma", spec)
    if arr.ndim == 1:
        if arr.size != d:
            raise InputError("Sigma", arr, f"needs d = {d} diagonal entries, got {arr.size}")
        arr = np.diag(arr)
    return validate.spd("Sigma", arr, d)


# Memory a run may take (the arrays of one step, estimated before any is drawn): an eighth of this
# machine's 24 GiB leaves room for the rest of a session; the estimate is in the refusal.
MAX_TRAINING_BYTES = 3 * 2**30
# Float options: outside these the model's own quantities leave float64 (tau^2 and sigma^2 under- or
# overflow in Gamma*'s sigma^2/tau^2, the labels y = <w, x> + sigma eps overflow in the loss).
TAU_RANGE = (1e-6, 1e6)
SIGMA_MAX = 1e6
LR_MAX = 10.0  # Adam's step is about lr per entry: beyond 10 the first step already leaves every scale


def training_bytes(d: int, N: int, batch: int, agents: int, loss_kind: str) -> int:
    """Peak bytes of one training step's arrays (float64), from the shapes the step allocates.

    ``sampled`` (:func:`train`): the contexts X, their tokens Z and the GEMM's temporaries, about four
    ``batch x N x (d+1)`` arrays, plus the queries and the per-task moments. ``query-averaged``
    (:func:`train_together`): per agent and task, the Bartlett factor, ``L_z``, G, its transpose and
    C, about six ``(d+1) x (d+1)`` arrays (measured with tracemalloc in tests/test_hostile_inputs.py).
    """
    k = d + 1
    if loss_kind == "sampled":
        per_task = 4 * N * k + 3 * QUERIES_PER_TASK * k + 2 * k * k
    else:
        per_task = 6 * k * k + 2 * k
    return 8 * agents * batch * per_task


def check_training_options(d: int, N: int, batch: int, agents: int, loss_kind: str, tau: float, sigma: float,
                           lr: float) -> None:
    """Refuse, before any array is drawn, options whose run would not fit in memory or in float64."""
    for name, value, low, high in (("tau", tau, *TAU_RANGE), ("lr", lr, 0.0, LR_MAX)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) \
                or not low < value <= high:
            raise InputError(name, value, f"must be a number in ({low:g}, {high:g}]")
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not np.isfinite(sigma) \
            or not 0 <= sigma <= SIGMA_MAX:
        raise InputError("sigma", sigma, f"must be a number in [0, {SIGMA_MAX:g}]")
    need = training_bytes(d, N, batch, agents, loss_kind)
    if need > MAX_TRAINING_BYTES:
        raise InputError("batch", batch, f"with d = {d}, N = {N} needs about {need / 2**30:.3g} GiB per step "
                         f"(limit {MAX_TRAINING_BYTES / 2**30:g} GiB): lower --batch, --N or --d")


def gamma_star(Sigma: np.ndarray, N: int, tau: float, sigma: float) -> np.ndarray:
    """L2: ``Gamma* = [((N+1)/N) Sigma + ((tr Sigma + sigma^2/tau^2)/N) I]^{-1}``."""
    d = Sigma.shape[0]
    return np.linalg.inv((N + 1) / N * Sigma + (np.trace(Sigma) + sigma**2 / tau**2) / N * np.eye(d))


@dataclass(frozen=True)
class TaskBatch:
    X: np.ndarray   # (B, N, d)
    y: np.ndarray   # (B, N)
    xq: np.ndarray  # (B, q, d): q queries per task share its context (cheap variance reduction)
    yq: np.ndarray  # (B, q) noise-free query labels <w, x_q>


QUERIES_PER_TASK = 16


def sample_tasks(rng: np.random.Generator, B: int, N: int, Sigma: np.ndarray, tau: float, sigma: float,
                 queries: int = QUERIES_PER_TASK) -> TaskBatch:
    d = Sigma.shape[0]
    L = np.linalg.cholesky(Sigma)
    X = (rng.standard_normal((B * N, d)) @ L.T).reshape(B, N, d)  # one GEMM, not B small ones
    xq = (rng.standard_normal((B * queries, d)) @ L.T).reshape(B, queries, d)
    w = tau * rng.standard_normal((B, d))
    y = np.einsum("bnd,bd->bn", X, w) + sigma * rng.standard_normal((B, N))
    return TaskBatch(X, y, xq, np.einsum("bqd,bd->bq", xq, w))


def loss_and_grad(p: np.ndarray, Q: np.ndarray, batch: TaskBatch) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean squared in-context loss and its gradients in ``p`` (d+1) and ``Q`` ((d+1) x (d+1))."""
    Z = np.concatenate([batch.X, batch.y[..., None]], axis=-1)  # tokens at message 0: r_j = y_j
    B, N, _ = Z.shape
    C = np.einsum("bni,bnj->bij", Z, Z) / N
    zq = np.concatenate([batch.xq, np.zeros(batch.xq.shape[:2] + (1,))], axis=-1)  # (B, q, d+1)
    Cp = C @ p                   # (B, d+1)
    Qz = zq @ Q.T                # (B, q, d+1): Q z_q
    err = np.einsum("bi,bqi->bq", Cp, Qz) - batch.yq
    g = 2 * err / err.size
    grad_p = np.einsum("bij,bj->i", C, np.einsum("bq,bqj->bj", g, Qz))
    grad_Q = np.einsum("bi,bj->ij", Cp, np.einsum("bq,bqj->bj", g, zq))
    return float(np.mean(err**2)), grad_p, grad_Q


def masks(d: int, parameterisation: str) -> tuple[np.ndarray, np.ndarray]:
    """Trainable entries: ``full`` = all of p and W_KQ; ``sparse`` = p_y and Q_xx (Ahn et al.)."""
    if parameterisation not in PARAMETERISATIONS:
        raise InputError("parameterisation", parameterisation, f"must be one of {list(PARAMETERISATIONS)}")
    if parameterisation == "full":
        return np.ones(d + 1), np.ones((d + 1, d + 1))
    mp_, mQ = np.zeros(d + 1), np.zeros((d + 1, d + 1))
    mp_[d], mQ[:d, :d] = 1.0, 1.0
    return mp_, mQ


@dataclass
class TrainingResult:
    weights: LSAWeights
    Gamma_eff: np.ndarray
    Gamma_star: np.ndarray
    rel_error: float           # ||Gamma_eff - Gamma*||_F / ||Gamma*||_F
    p_x_norm: float
    q_yx_norm: float
    stalled: bool
    seconds: float
    seconds_per_step: float
    steps_to_target: int | None  # first checked step with rel_error <= TARGET_REL_ERROR
    losses: np.ndarray
    metadata: dict = field(default_factory=dict)

    def report(self) -> str:
        lines = [f"Gamma_eff vs Gamma*: relative Frobenius error {self.rel_error:.3e}"
                 f" (target {TARGET_REL_ERROR:g})",
                 f"off-block sizes: |p_x| = {self.p_x_norm:.3e}, |q_yx| = {self.q_yx_norm:.3e}",
                 f"training: {self.metadata['steps']} steps in {self.seconds:.2f} s "
                 f"({1e3 * self.seconds_per_step:.2f} ms/step), final loss {self.losses[-1]:.4g}"]
        if self.stalled:
            par = self.metadata["parameterisation"]
            hint = "try --parameterisation sparse, more steps or another seed" if par == "full" else \
                "try more steps or another learning rate"
            lines.append(f"STALLED: Gamma_eff is {self.rel_error:.1%} from Gamma* (> {STALL_REL_ERROR:.0%}); the "
                         f"{par} parameterisation did not reach the optimum ({hint})")
        return "\n".join(lines)


def train(d: int, N: int, Sigma, tau: float, sigma: float, *, steps: int, batch: int, seed: int, lr: float,
          parameterisation: str, progress: bool, check_every: int) -> TrainingResult:
    """Adam with cosine learning-rate decay on fresh task batches; returns weights and the L2 comparison.

    Start: ``p_y = 1``, every other trainable entry ``N(0, INIT_SCALE^2)``. Every option is
    required: the caller (CLI, experiment, check) owns its choice, so no default value can
    change a result unseen. ``steps_to_target`` is the first multiple of
    ``check_every`` at which ``||p_y Q_xx^T - Gamma*||_F <= TARGET_REL_ERROR ||Gamma*||_F``.
    """
    d = validate.positive_int("d", d)
    N = validate.positive_int("N", N)
    check_training_options(d, N, validate.positive_int("batch", batch), 1, "sampled", tau, sigma, lr)
    S = covariance(Sigma, d)
    rng = np.random.default_rng(seed)
    draw = lambda: sample_tasks(rng, batch, N, S, tau, sigma)

    def step(p, Q, tasks):  # one agent: add the leading agent axis _adam works with
        loss, gp, gQ = loss_and_grad(p[0], Q[0], tasks)
        return np.array([loss]), gp[None], gQ[None]
    return _adam([S], N, tau, sigma, steps, batch, seed, lr, parameterisation, rng, draw, step, progress,
                 check_every, "sampled")[0]


def train_together(d: int, N: int, Sigmas, tau: float, sigma: float, *, steps: int, batch: int, seed: int,
                   lr: float, parameterisation: str, check_every: int) -> list[TrainingResult]:
    """Train one agent per Sigma in one batched run (same optimiser and schedule as :func:`train`).

    Each agent has its own tasks (drawn from its own Sigma) and its own parameters; the
    arrays are stacked along a leading agent axis so one numpy call serves all agents.
    The loss is the query-averaged risk of :func:`expected_query_loss_and_grad` (the
    query is integrated exactly instead of sampled), which has the same minimiser
    (L2's ``Gamma*``) and less gradient noise.
    """
    d = validate.positive_int("d", d)
    N = validate.positive_int("N", N)
    check_training_options(d, N, validate.positive_int("batch", batch), len(Sigmas), "query-averaged", tau, sigma,
                           lr)
    S = np.stack([covariance(s, d) for s in Sigmas])
    L = np.linalg.cholesky(S)
    rng = np.random.default_rng(seed)
    draw = lambda: sample_contexts(rng, batch, N, L, tau, sigma)
    step = lambda p, Q, b: expected_query_loss_and_grad(p, Q, b, S)
    return _adam(list(S), N, tau, sigma, steps, batch, seed, lr, parameterisation, rng, draw, step, False,
                 check_every, "query-averaged")


@lru_cache(maxsize=None)
def _bartlett_places(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat positions of the diagonal and of the strictly lower entries of a k x k matrix."""
    r, c = np.tril_indices(k, -1)
    return np.arange(k) * (k + 1), r * k + c


def bartlett_factor(rng: np.random.Generator, shape: tuple, N: int, k: int) -> np.ndarray:
    """``F`` (``shape + (k, k)``) with ``F F^T ~ Wishart_k(N, I)``, the law of ``G^T G`` for G (N x k) iid N(0, 1).

    Bartlett's decomposition (N >= k): F lower triangular, ``F_ii^2 ~ chi^2(N - i)``
    (i = 0..k-1), ``F_ij ~ N(0, 1)`` below the diagonal: k(k+1)/2 draws per matrix
    instead of N k. For N < k, F = G^T (k x N) is drawn explicitly.
    """
    if N < k:
        return np.swapaxes(rng.standard_normal(shape + (N, k)), -1, -2)
    diagonal, lower = _bartlett_places(k)
    F = np.zeros(shape + (k * k,))
    F[..., diagonal] = np.sqrt(rng.chisquare(N - np.arange(k), size=shape + (k,)))
    F[..., lower] = rng.standard_normal(shape + (lower.size,))
    return F.reshape(shape + (k, k))


def sample_contexts(rng: np.random.Generator, B: int, N: int, L: np.ndarray, tau: float,
                    sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Per agent (leading axis; ``L L^T = Sigma``): context moments C (A, B, d+1, d+1) and tasks w (A, B, d).

    At message 0 the LSA output depends on the context only through ``C = Z^T Z / N``
    (rows ``z_j = (x_j, y_j)``). With ``w`` fixed, ``z = L_z g``, ``g ~ N(0, I)``,
    ``L_z = [[L, 0], [w^T L, sigma]]`` (so ``x = L g_x``, ``y = <w, x> + sigma g_y``), hence
    ``N C = L_z F F^T L_z^T`` with ``F F^T ~ Wishart(N, I)``: exact in distribution (Bartlett).
    """
    A, d = L.shape[0], L.shape[-1]
    w = tau * rng.standard_normal((A, B, d))
    Lz = np.zeros((A, B, d + 1, d + 1))
    Lz[..., :d, :d] = L[:, None]
    Lz[..., d, :d] = w @ L  # w^T L for every task of agent a: one (B x d) (d x d) product per agent
    Lz[..., d, d] = sigma
    G = Lz @ bartlett_factor(rng, (A, B), N, d + 1)
    C = G @ np.ascontiguousarray(np.swapaxes(G, -1, -2))  # a contiguous G^T: the fast batched product
    C /= N
    return C, w


def expected_query_loss_and_grad(p: np.ndarray, Q: np.ndarray, batch, Sigma: np.ndarray):
    """Risk averaged exactly over the query ``x_q ~ N(0, Sigma)``, per agent (leading axis).

    ``batch = (C, w)`` from :func:`sample_contexts`. The prediction is
    ``yhat = p^T C Q z_q = a^T x_q`` with ``a = Q_x^T C p`` (``Q_x``: the first d columns
    of Q; the query's label slot is 0), so ``E_{x_q} (yhat - <w, x_q>)^2 = r^T Sigma r``
    with ``r = a - w``. Gradients: ``d/dp = C Q_x (2 Sigma r)``, ``d/dQ_x = (C p) (2 Sigma r)^T``,
    ``d/dQ_{:,d} = 0``. Returns per-agent mean losses (A,), gradients (A, d+1) and (A, d+1, d+1).

    The batched products run as one matrix-vector product per agent over the stacked
    ``(B (d+1)) x (d+1)`` rows of C; ``sum_b C_b u_b`` uses that every C_b is symmetric.
    """
    C, w = batch
    A, B, d = w.shape
    C_rows = C.reshape(A, B * (d + 1), d + 1)
    Cp = (C_rows @ p[..., None]).reshape(A, B, d + 1)    # C_b p for every task b
    Qx = Q[..., :d]                                      # (A, d+1, d)
    r = Cp @ Qx - w                                      # (A, B, d)
    Sr = r @ Sigma                                       # Sigma symmetric
    losses = np.einsum("abi,abi->a", r, Sr) / B
    g = 2 * Sr / B
    grad_Q = np.zeros_like(Q)
    grad_Q[..., :d] = np.swapaxes(Cp, -1, -2) @ g
    u = (g @ np.swapaxes(Qx, -1, -2)).reshape(A, 1, B * (d + 1))  # Q_x g_b for every task b
    grad_p = (u @ C_rows)[:, 0]                          # sum_b u_b^T C_b = sum_b C_b u_b (C_b = C_b^T)
    return losses, grad_p, grad_Q


def _adam(Sigmas, N, tau, sigma, steps, batch, seed, lr, parameterisation, rng, draw, step, progress,
          check_every, loss_kind) -> list[TrainingResult]:
    """Adam with cosine decay for A agents at once (parameters stacked on a leading axis)."""
    d, A = Sigmas[0].shape[0], len(Sigmas)
    steps = validate.positive_int("steps", steps)
    batch = validate.positive_int("batch", batch)
    check_every = validate.positive_int("check_every", check_every)
    for name, value in (("tau", tau), ("lr", lr)):
        if not np.isfinite(value) or value <= 0:
            raise InputError(name, value, "must be a positive finite number")
    if not np.isfinite(sigma) or sigma < 0:
        raise InputError("sigma", sigma, "must be a finite number >= 0")
    mask_p, mask_Q = masks(d, parameterisation)
    p = INIT_SCALE * rng.standard_normal((A, d + 1)) * mask_p
    p[:, d] = 1.0
    Q = INIT_SCALE * rng.standard_normal((A, d + 1, d + 1)) * mask_Q
    G_star = [gamma_star(S, N, tau, sigma) for S in Sigmas]
    params, moments = [p, Q], [[np.zeros_like(p), np.zeros_like(p)], [np.zeros_like(Q), np.zeros_like(Q)]]
    losses = np.empty((steps, A))
    reached: list[int | None] = [None] * A  # per agent, the first step within TARGET_REL_ERROR of Gamma*
    start = time.perf_counter()
    bar = _progress(progress, steps)
    for t in range(1, steps + 1):
        loss, gp, gQ = step(params[0], params[1], draw())
        losses[t - 1] = loss
        rate = lr * 0.5 * (1 + np.cos(np.pi * (t - 1) / steps))  # cosine decay to 0
        for x, g, m, (m1, m2) in zip(params, (gp, gQ), (mask_p, mask_Q), moments):
            m1 *= ADAM_BETAS[0]
            m1 += (1 - ADAM_BETAS[0]) * g
            m2 *= ADAM_BETAS[1]
            m2 += (1 - ADAM_BETAS[1]) * g * g
            step_x = (m1 / (1 - ADAM_BETAS[0] ** t)) / (np.sqrt(m2 / (1 - ADAM_BETAS[1] ** t)) + ADAM_EPS)
            x -= (rate * m) * step_x  # frozen entries (mask 0) never move; their moments are never read
        if not np.all(np.isfinite(loss)) or np.any(loss > DIVERGENCE_FACTOR * losses[0]):
            raise InputError("lr", lr, f"training diverged at step {t} (loss {np.max(loss):.3g} from "
                                       f"{np.max(losses[0]):.3g}); lower the learning rate")
        if t % check_every == 0:
            for a in range(A):
                if reached[a] is None and _rel_error(params[1][a, :d, :d].T * params[0][a, d], G_star[a]) \
                        <= TARGET_REL_ERROR:
                    reached[a] = t
        bar(t, float(np.max(loss)))
    seconds = time.perf_counter() - start
    out = []
    for a, S in enumerate(Sigmas):
        weights = LSAWeights.from_pQ(params[0][a], params[1][a])
        r = read_weights(weights)
        err = _rel_error(r.Gamma_eff, G_star[a])
        meta = {"d": d, "N": N, "Sigma": S.tolist(), "tau": tau, "sigma": sigma, "steps": steps, "batch": batch,
                "seed": seed, "lr": lr, "schedule": "cosine", "optimizer": "adam",
                "parameterisation": parameterisation, "loss": loss_kind, "trained_together": A}
        out.append(TrainingResult(weights, r.Gamma_eff, G_star[a], err, r.p_x_norm, r.q_yx_norm,
                                  err > STALL_REL_ERROR, seconds / A, seconds / steps / A, reached[a],
                                  losses[:, a].copy(), meta))
    return out


def _rel_error(G, G_star) -> float:
    return float(np.linalg.norm(G - G_star) / np.linalg.norm(G_star))


def _progress(enabled: bool, steps: int):
    if not enabled:
        return lambda t, loss: None
    from rich.progress import Progress

    prog = Progress(transient=True)
    prog.start()
    task = prog.add_task("training LSA", total=steps)

    def update(t, loss):
        prog.update(task, completed=t, description=f"training LSA (loss {loss:.4g})")
        if t == steps:
            prog.stop()
    return update


def save(result: TrainingResult, path) -> Path:
    """Weights and metadata in one ``.npz`` (metadata as a JSON string: loads without pickle).

    The metadata is a versioned document (docs/config.rst): the training settings, then
    ``gamma_rel_error`` ``||Gamma_eff - Gamma*||_F / ||Gamma*||_F`` (a sweep's
    ``lsa_gamma_rel_error_<agent>``), ``p_x_norm``, ``q_yx_norm``, ``stalled`` and ``seconds``.
    """
    from numerics.io.outputs import atomic
    from numerics.io.schema import versioned

    path = Path(path)
    meta = versioned(dict(result.metadata, gamma_rel_error=result.rel_error, p_x_norm=result.p_x_norm,
                          q_yx_norm=result.q_yx_norm, stalled=result.stalled, seconds=result.seconds))
    with atomic(path) as tmp:  # np.savez appends .npz to other names: write to an open file
        with open(tmp, "wb") as fh:
            np.savez(fh, W_PV=result.weights.W_PV, W_KQ=result.weights.W_KQ, Gamma_star=result.Gamma_star,
                     losses=result.losses, metadata=json.dumps(meta))
    return path


def load(path) -> tuple[LSAWeights, dict]:
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            return LSAWeights(data["W_PV"], data["W_KQ"]), json.loads(str(data["metadata"]))
    except (OSError, KeyError, ValueError) as exc:
        raise InputError("weights file", str(path), f"is not an a2ad LSA weights file ({exc})") from None
