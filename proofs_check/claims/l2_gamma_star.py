"""L2: the risk-optimal LSA preconditioner ``Gamma*`` and the Gaussian fourth moment.

V2: the stationarity condition solved exactly (d = 1, then 2, diagonal Sigma, symbols N,
tau, sigma; the method stops at the first size that fails), checked as a matrix identity
for a general symmetric 2 x 2 Sigma, and
the fourth-moment identity by exact Gaussian expectation (Isserlis); the registered
formulas (what the docs render) equal Gamma* (d = 1, 2, 3), uniqueness under the
hypotheses, and the printed derivation's steps. V4: Monte
Carlo of the fourth moment and of the risk. V7: trained LSA agents.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import sympy as sp
from sympy.solvers.solveset import NonlinearError

from numerics.lsa import training as lsa_training
from proofs_check.statements.provenance import cite
from proofs_check.verification.methods import EXACT, explicit_zero, finite_max, worst
from proofs_check.verification.registry import Claim, Outcome, Profile
from proofs_check.verification.v7_trained import v7_gamma_star
from theory.core.formulas import all_formulas
from theory.lsa import agent as lsa

# Monte Carlo agreement in standard errors: a correct formula fails one entry with
# probability ~2e-9 at 6 sigma, so a failure means the formula is wrong.
MC_SIGMAS = 6.0
MC_SAMPLES = {"quick": 20_000, "full": 200_000}


def _symmetric(name: str, dim: int) -> sp.Matrix:
    return sp.Matrix(dim, dim, lambda i, j: sp.Symbol(f"{name}_{min(i, j)}{max(i, j)}"))


def l2_v2(profile: Profile) -> Outcome:
    cases = []
    for dim in (1, 2):
        S = sp.diag(*[sp.Symbol(f"s_{k}", positive=True) for k in range(dim)])
        G = sp.Matrix(dim, dim, lambda i, j: sp.Symbol(f"g_{i}{j}"))
        R = lsa.risk(G, S)
        stationarity = [sp.diff(R, g) for g in G]
        try:  # R is quadratic in Gamma, so stationarity is a linear system (and solving it is fast)
            sp.linear_eq_to_matrix(stationarity, list(G))
        except NonlinearError:
            return Outcome(1.0, EXACT, dim, f"stationarity is not linear in Gamma for d={dim}: R is not quadratic")
        solution = sp.solve(stationarity, list(G), dict=True)
        if len(solution) != 1:
            return Outcome(1.0, EXACT, dim, f"stationarity has {len(solution)} solutions for d={dim}")
        cases.append((f"argmin R = Gamma* (d={dim}, diagonal Sigma)", G.subs(solution[0]) - lsa.gamma_star(S)))
        so_far = explicit_zero(cases)
        if so_far.worst_error != 0:
            return so_far  # wrong at a smaller size already: larger ones repeat it, far more slowly
    S = _symmetric("s", 2)
    G_star = lsa.gamma_star(S)
    E2 = lsa.fourth_moment(S, sp.eye(2))
    cases.append(("S G* (tau^2 E[Hhat^2] + sigma^2/N S) = tau^2 S^2 (general symmetric 2x2 Sigma)",
                  S * G_star * (lsa.tau**2 * E2 + lsa.sigma**2 / lsa.Ns * S) - lsa.tau**2 * S * S))
    G = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"g_{i}{j}"))
    grad = sp.Matrix(2, 2, lambda i, j: sp.diff(lsa.risk(G, S), G[i, j])).subs(dict(zip(list(G), list(G_star))))
    cases.append(("grad R(Gamma*) = 0 (general symmetric 2x2 Sigma)", grad))
    cases += registered_cases()
    out = explicit_zero(cases)
    from theory import derivations  # on demand: it loads every chain, the protocol ones too

    problems = hypothesis_problems() + derivations.failed_steps("L2")
    if problems:
        return Outcome(max(1.0, out.worst_error), EXACT, out.instances, "; ".join(problems), power=out.power)
    return Outcome(out.worst_error, EXACT, out.instances, out.detail + "; R strictly convex in d = 1 and the inverted "
                   "matrix of registered L2.gamma_star positive definite for diagonal Sigma, under the symbols' "
                   "hypotheses; every step of the printed L2 derivation holds", power=out.power)


def _registered_matrix(S: sp.Matrix) -> sp.Matrix:
    """Registered L2.gamma_star at an explicit Sigma (its d and N made the explicit size and lsa.Ns)."""
    f = all_formulas()["L2.gamma_star"]
    dim = S.rows
    inner = f.rhs.arg if isinstance(f.rhs, sp.Inverse) else None
    if inner is None:
        raise ValueError(f"registered L2.gamma_star is not an inverse: {f.rhs}")
    explicit = inner.xreplace({lsa.Sigma: sp.ImmutableMatrix(S), lsa.d: sp.Integer(dim), lsa.N: lsa.Ns})
    return sp.Matrix(explicit.as_explicit()), f


def registered_cases() -> list:
    """Registered L2.gamma_star (the d x d symbolic form) is Gamma* for symbolic diagonal Sigma at
    d = 1, 2, 3, and registered L2.gamma_star_scalar is its d = 1 case."""
    cases = []
    for dim in (1, 2, 3):
        S = sp.diag(*[sp.Symbol(f"s_{k}", positive=True) for k in range(dim)])
        inner, f = _registered_matrix(S)
        cases.append((f"registered L2.gamma_star = Gamma* (d={dim}, diagonal Sigma)", inner.inv() - lsa.gamma_star(S)))
    inner, _ = _registered_matrix(sp.Matrix([[lsa.s_1]]))
    cases.append(("registered L2.gamma_star_scalar = registered L2.gamma_star at d = 1",
                  sp.Matrix([[all_formulas()["L2.gamma_star_scalar"].rhs]]) - inner.inv()))
    return cases


def hypothesis_problems() -> list[str]:
    """The uniqueness of Gamma* under the claim's hypotheses (Sigma = s > 0, tau > 0, N >= 1),
    decided by SymPy from the assumptions the theory's symbols carry: d^2 R / d gamma^2 > 0 in d = 1,
    and the matrix the registered formula inverts is positive definite for diagonal SPD Sigma."""
    gamma = sp.Symbol("gamma", real=True)
    curvature = sp.expand(sp.diff(lsa.risk(sp.Matrix([[gamma]]), sp.Matrix([[lsa.s_1]])), gamma, 2))
    problems = [] if curvature.is_positive else [f"d^2 R / d gamma^2 = {curvature} not positive under the hypotheses"]
    f = all_formulas()["L2.gamma_star"]
    S = sp.diag(*[sp.Symbol(f"s_{k}", positive=True) for k in range(2)])
    if not isinstance(f.rhs, sp.Inverse):
        return problems + [f"registered L2.gamma_star is not an inverse: {f.rhs}"]
    # its own N is kept: the sign comes from N's assumptions
    M = sp.Matrix(f.rhs.arg.xreplace({lsa.Sigma: sp.ImmutableMatrix(S), lsa.d: sp.Integer(2)}).as_explicit())
    if not all(sp.simplify(M[i, i]).is_positive for i in range(2)):  # diagonal: PD iff its entries are > 0
        problems.append(f"registered L2.gamma_star inverts {list(M.diagonal())}, not positive under the hypotheses")
    return problems


def fourth_moment_v2(profile: Profile) -> Outcome:
    cases = []
    for dim, n in ((1, 1), (1, 2), (1, 3), (2, 2)):
        S, A = _symmetric("s", dim), _symmetric("a", dim)
        Hhat, xs = lsa.empirical_geometry(n, dim)
        index = {v: divmod(i, dim) for i, v in enumerate(xs)}  # variable -> (sample, coordinate)

        def cov(u, v):
            (j, k), (l, m) = index[u], index[v]
            return S[k, m] if j == l else 0

        M = Hhat * A * Hhat
        E = sp.Matrix(dim, dim, lambda i, j: lsa.wick_expectation(M[i, j], xs, cov))
        cases.append((f"E[Hhat A Hhat] (d={dim}, N={n})", E - lsa.fourth_moment(S, A, sp.Integer(n))))
    return explicit_zero(cases)


# Where the label-noise term sigma^2/tau^2 of Gamma* matters: sigma/tau = 2 and N = 2 (at the
# first instance's sigma/tau = 0.375 and N = 5 the term moves the risk by 0.3 standard errors).
# sigma = 0.5 (not 1) so that a wrong power of sigma (sigma^1/tau^2 = 8, not 4) changes Gamma* too.
class NoiseCase(NamedTuple):
    Sigma: tuple[float, ...]  # diagonal
    N: int
    tau: float
    sigma: float


NOISE_CASE = NoiseCase(Sigma=(0.5, 1.5), N=2, tau=0.25, sigma=0.5)


def risk_gradient_z(rng, samples: int, S: np.ndarray, n: int, tau: float, sigma: float, G: np.ndarray):
    """Monte Carlo gradient of the in-context risk at ``G``: per entry ``|mean| / SE`` and the SE.

    ``dR/dG = E[2 (x_q^T G b - y_q) x_q b^T]`` with ``b = X^T y / N``; at the minimiser it is 0."""
    batch = lsa_training.sample_tasks(rng, samples, n, S, tau, sigma, queries=1)
    b = np.einsum("bni,bn->bi", batch.X, batch.y) / n
    xq = batch.xq[:, 0]
    r = np.einsum("bi,ij,bj->b", xq, G, b) - batch.yq[:, 0]
    grad = 2 * r[:, None, None] * xq[:, :, None] * b[:, None, :]
    se = grad.std(0) / np.sqrt(samples)
    return np.abs(grad.mean(0)) / se, se


def exact_risk_gradient(S: np.ndarray, n: int, tau: float, sigma: float, G: np.ndarray) -> np.ndarray:
    """``dR/dG`` from the SymPy risk formula (used only to state the power of the check)."""
    d = S.shape[0]
    Gs = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"g_{i}{j}"))
    R = lsa.risk(Gs, sp.Matrix(S.tolist()), sp.Integer(n), sp.Float(tau), sp.Float(sigma))
    at = dict(zip(list(Gs), G.ravel().tolist()))
    return np.array([[float(sp.diff(R, Gs[i, j]).subs(at)) for j in range(d)] for i in range(d)])


def l2_v4(profile: Profile) -> Outcome:
    """Monte Carlo: E[Hhat A Hhat] and the risk R(Gamma) against the formulas, and the risk's gradient
    at Gamma* (numpy and SymPy formulas) where label noise matters, all in standard errors."""
    rng = np.random.default_rng(profile.seed + 1200)
    samples = MC_SAMPLES.get(profile.name, MC_SAMPLES["quick"])
    z = []
    d, n, tau, sigma = 3, 5, 0.8, 0.3
    S = np.diag([0.5, 1.0, 2.0])
    A = rng.standard_normal((d, d))
    A = A + A.T
    batch = lsa_training.sample_tasks(rng, samples, n, S, tau, sigma, queries=1)
    Hhat = np.einsum("bni,bnj->bij", batch.X, batch.X) / n
    F = Hhat @ A @ Hhat
    expected = (n + 1) / n * S @ A @ S + np.trace(A @ S) / n * S
    z += list((np.abs(F.mean(0) - expected) / (F.std(0) / np.sqrt(samples))).ravel())
    G = lsa_training.gamma_star(S, n, tau, sigma) + 0.1 * rng.standard_normal((d, d))
    bvec = np.einsum("bni,bn->bi", batch.X, batch.y) / n
    loss = (np.einsum("bi,ij,bj->b", batch.xq[:, 0], G, bvec) - batch.yq[:, 0]) ** 2
    Ss = sp.Matrix(S.tolist())
    R = float(lsa.risk(sp.Matrix(G.tolist()), Ss, sp.Integer(n), sp.Float(tau), sp.Float(sigma)))
    z.append(abs(loss.mean() - R) / (loss.std() / np.sqrt(samples)))
    # Stationarity of the risk at Gamma* where sigma^2/tau^2 matters: both the numpy formula (what
    # training and V7 use) and the SymPy one (what the report prints) must zero the MC gradient.
    Sn, nn, tn, sn = np.diag(NOISE_CASE.Sigma), NOISE_CASE.N, NOISE_CASE.tau, NOISE_CASE.sigma
    sym = np.array(lsa.gamma_star(sp.Matrix(Sn.tolist()), sp.Integer(nn), sp.Float(tn), sp.Float(sn)).evalf(),
                   dtype=float)
    se = None
    for G_star in (lsa_training.gamma_star(Sn, nn, tn, sn), sym):
        zg, se = risk_gradient_z(rng, samples, Sn, nn, tn, sn, G_star)
        z += list(zg.ravel())
    # Power: the exact gradient at the formula without the noise term, in these standard errors.
    wrong = float(np.max(np.abs(exact_risk_gradient(Sn, nn, tn, sn, lsa_training.gamma_star(Sn, nn, tn, 0.0))) / se))
    return worst(z, MC_SIGMAS, f"{samples} Gaussian samples: |MC mean - formula| in standard errors, for the fourth "
                               f"moment (d={d}, N={n}, 9 entries), the risk at a perturbed Gamma*, and the risk "
                               f"gradient at Gamma* (numpy and SymPy formulas; sigma/tau = {sn / tn:g}, N = {nn})",
                 power=f"Gamma* without sigma^2/tau^2 leaves a risk gradient of {wrong:.0f} standard errors "
                       f"({wrong / MC_SIGMAS:.1f} times the bar)")


CLAIMS = [
    Claim("L2", "Optimal trained preconditioner Gamma*",
          ("x ~ N(0, Sigma), w ~ N(0, tau^2 I), y = <w, x> + N(0, sigma^2)", "Sigma SPD", "A symmetric"),
          cite("L2"), "equal",
          {"V2": lambda p: _combine(l2_v2(p), fourth_moment_v2(p)), "V4": l2_v4, "V7": v7_gamma_star},
          formulas=("L2.gamma_star",)),
]


def _combine(*outcomes: Outcome) -> Outcome:
    bad = [o for o in outcomes if not o.worst_error <= o.tolerance]
    return Outcome(finite_max([o.worst_error for o in outcomes]), EXACT, sum(o.instances for o in outcomes),
                   power=outcomes[0].power,
                   detail="; ".join(o.detail for o in (bad or outcomes)))
