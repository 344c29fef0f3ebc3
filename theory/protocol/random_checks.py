"""V1 checks of a compiled random protocol (R1-R3): each derived identity reduces to 0 in the free algebra.

- the mean solves the first-moment equation ``mu = E[Phi] mu + E[psi]`` (Markov: every conditional
  first moment solves ``q_l = sum_j P[j,l] (Phi_j q_j + pi_j psi_j)`` and ``mu = sum_l q_l``; when
  derived with named Schur blocks, the chain of :func:`theory.protocol.random_markov.checks` instead);
- each mean residual in the gaps: ``mu_i - w_i* - e_i(gaps)`` with ``w_j* = w_i* + (w_j* - w_i*)``;
- the centred second moment (independent draws): with ``S = C + mu mu^T`` the raw second-moment
  map ``sum_k p_k (Phi_k S Phi_k^T + Phi_k mu psi_k^T + psi_k mu^T Phi_k^T + psi_k psi_k^T + N_k)``
  minus ``mu mu^T`` minus the centred right side equals ``r mu^T + mu r^T`` with
  ``r = E[Phi] mu + E[psi] - mu``, so at the stationary mean (r = 0) the two Stein equations agree;
- Markov, the conditional second moments: ``E[z' z'^T 1{next = l}]`` re-derived from each alternative's
  phases composed on letters (with a noise letter where a noisy agent writes), the expectation taken
  term by term, equals the displayed right side of ``Q_l = ...`` (:func:`second_moment_checks`);
- the per-alternative round maps: each phase composed directly on letters equals ``Phi_k z + psi_k``.
"""
from __future__ import annotations

import sympy as sp

from theory.core.algebra import from_poly, letter, padd, pmul, pscale
from theory.protocol import random_markov
from theory.protocol.random_compiler import RandomCompiled, cond_cov_letter, cond_letter, mean_letter, sandwich
from theory.protocol.residuals import gap_poly
from theory.protocol.result import Check
from theory.protocol.symbols import M, c_poly, cov_block, gap, noise_cov, ptranspose, w_star

__all__ = ["verify", "mean_checks", "named_mean_checks", "residual_checks", "centred_moment_check", "round_map_checks",
           "second_moment_checks", "compose_on_letters"]


def verify(rc: RandomCompiled) -> list[Check]:
    """Every V1 check of the module text (the mean's only when it was expanded)."""
    out = round_map_checks(rc)
    if rc.named is not None:
        out += named_mean_checks(rc)
    elif rc.mean is not None:
        out += mean_checks(rc) + residual_checks(rc)
    if not rc.rspec.is_markov:
        out.append(centred_moment_check(rc))
    else:
        out += second_moment_checks(rc)
    return out


def _check(label: str, poly: dict, rc: RandomCompiled) -> Check:
    res = from_poly(rc.alg.reduce_poly(poly))
    return Check(label, res == 0, sp.sstr(res))


def named_mean_checks(rc: RandomCompiled) -> list[Check]:
    """The Markov mean derived with named Schur blocks: every identity of its chain (random_markov)."""
    out = []
    for label, res in random_markov.checks(rc.alg, rc.named, rc.names, rc.mean_map, rc.mean_offset, rc.law,
                                          rc.mean, rc.residual_self, rc.residual_gaps):
        if isinstance(res, dict):
            out.append(Check(label, not res, sp.sstr(from_poly(res))))
        else:  # an exact matrix identity
            out.append(Check(label, isinstance(res, sp.MatrixBase) and res.is_zero_matrix is True, sp.sstr(res)))
    return out


def mean_checks(rc: RandomCompiled) -> list[Check]:
    """The derived (conditional) mean substituted into its first-moment equation."""
    if rc.mean is None:
        raise ValueError("the mean was not expanded (too large): nothing to substitute")
    K, n, nm, out = rc.rspec.K, rc.rspec.n, rc.names, []
    if not rc.rspec.is_markov:
        for a in range(K):
            diff = padd(rc.mean[a], *[pmul(rc.mean_map[a][b], rc.mean[b]) for b in range(K) if rc.mean_map[a][b]],
                        rc.mean_offset[a], signs=[1] + [-1] * (sum(1 for b in range(K) if rc.mean_map[a][b]) + 1))
            out.append(_check(f"mu_{nm[a]} solves the first-moment equation", diff, rc))
        return out
    q = [x for l in range(n) for x in rc.cond_mean[l]]
    for l in range(n):
        for a in range(K):
            u = l * K + a
            cols = [v for v in range(n * K) if rc.mean_map[u][v]]
            diff = padd(q[u], *[pmul(rc.mean_map[u][v], q[v]) for v in cols], rc.mean_offset[u],
                        signs=[1] + [-1] * (len(cols) + 1))
            out.append(_check(f"q_({l + 1},{nm[a]}) solves the conditional first-moment equation", diff, rc))
    for a in range(K):
        diff = padd(rc.mean[a], *[rc.cond_mean[l][a] for l in range(n)], signs=[1] + [-1] * n)
        out.append(_check(f"mu_{nm[a]} = sum_l q_(l,{nm[a]})", diff, rc))
    return out


def residual_checks(rc: RandomCompiled) -> list[Check]:
    """``mu_i - w_i*`` equals its form in the gaps."""
    nm, out = rc.names, []
    for i in range(rc.rspec.K):
        claimed = padd(*[pmul(G, letter(gap(nm[j], nm[i]))) for j, G in rc.residual_gaps[i].items()],
                       pmul(rc.residual_self[i], letter(w_star(nm[i]))))
        out.append(_check(f"mean residual of {nm[i]} in the gaps", padd(gap_poly(rc.mean[i], nm, i), claimed,
                                                                       signs=(1, -1)), rc))
    return out


def centred_moment_check(rc: RandomCompiled) -> Check:
    """Raw second moment at ``S = C + mu mu^T`` minus ``mu mu^T`` minus the centred right side = ``r mu^T + mu r^T``."""
    K, nm = rc.rspec.K, rc.names
    mu = [letter(mean_letter(x)) for x in nm]
    S = lambda c, e: padd(letter(cov_block(nm[c], nm[e])), pmul(mu[c], ptranspose(mu[e])))  # noqa: E731
    r = [padd(*[pmul(rc.mean_map[a][b], mu[b]) for b in range(K) if rc.mean_map[a][b]], rc.mean_offset[a], mu[a],
              signs=[1] * sum(1 for b in range(K) if rc.mean_map[a][b]) + [1, -1]) for a in range(K)]
    worst = sp.Integer(0)
    for a in range(K):
        for b in range(K):
            raw = []
            for k, p in enumerate(rc.law):
                Pm = [padd(*[pmul(rc.Phi[k][x][y], mu[y]) for y in range(K) if rc.Phi[k][x][y]]) for x in range(K)]
                raw.append(pscale(padd(sandwich(rc.Phi[k], S, a, b), pmul(Pm[a], ptranspose(rc.psi[k][b])),
                                       pmul(rc.psi[k][a], ptranspose(Pm[b])),
                                       pmul(rc.psi[k][a], ptranspose(rc.psi[k][b])), rc.noise[k][a][b]), p))
            lhs = padd(*raw, pmul(mu[a], ptranspose(mu[b])), rc.second_moment[(a, b)],
                       signs=[1] * len(raw) + [-1, -1])
            rhs = padd(pmul(r[a], ptranspose(mu[b])), pmul(mu[a], ptranspose(r[b])))
            res = from_poly(padd(lhs, rhs, signs=(1, -1)))
            if res != 0:
                worst = res
    return Check("centred Stein equation = raw second moment at the stationary mean", worst == 0, sp.sstr(worst))


def compose_on_letters(rs, k: int, noise: bool = False) -> tuple[list, list]:
    """Alternative k's phases composed directly on letters ``x_i`` (not through the compiler's maps):
    ``(x, z')``; with ``noise`` a letter ``eps_{p,i}`` is added where noisy agent i writes in phase p."""
    idx = {x: j for j, x in enumerate(rs.names)}
    x = [letter(sp.Symbol(f"x_{nm}", commutative=False)) for nm in rs.names]
    state = list(x)
    for p, phase in enumerate(rs.alternatives[k].phases):
        new = state[:]
        for listener, row in phase:
            heard = padd(*[pscale(state[idx[src]], wt) for src, wt in row])
            eps = [letter(_eps(p, listener))] if noise and listener in rs.noisy else []
            new[idx[listener]] = padd(pmul(letter(M(listener)), heard), c_poly(listener), *eps)
        state = new
    return x, state


def round_map_checks(rc: RandomCompiled) -> list[Check]:
    """Each alternative's phases composed on letters ``x_i`` equal ``Phi_k x + psi_k``."""
    rs, K, out = rc.rspec, rc.rspec.K, []
    for k in range(rs.n):
        x, state = compose_on_letters(rs, k)
        worst = sp.Integer(0)
        for a in range(K):
            pred = padd(*[pmul(rc.Phi[k][a][b], x[b]) for b in range(K) if rc.Phi[k][a][b]], rc.psi[k][a])
            res = from_poly(padd(state[a], pred, signs=(1, -1)))
            if res != 0:
                worst = res
        out.append(Check(f"{rs.labels[k]}: phases composed = Phi_k z + psi_k", worst == 0, sp.sstr(worst)))
    return out


def _eps(p: int, name: str) -> sp.Symbol:
    return sp.Symbol(f"eps_{{{p + 1},{name}}}", commutative=False)


def _expectation(word: tuple, j: int, pi_j, rs) -> dict:
    """``E[word 1{alternative j}]`` for a word ``A v u^T B`` (v, u a state letter ``x_c``, a target or
    a noise letter): ``x_c x_e^T -> Q_{j,c,e}``, ``x_c u^T -> q_{j,c} u^T``, ``v x_e^T -> v q_{j,e}^T``,
    targets ``-> pi_j v u^T``, ``eps eps^T -> pi_j S_i`` (same phase and agent), other noise terms 0."""
    def kind(sym):
        nm = sym.name[:-2] if sym.name.endswith("^T") else sym.name
        return ("x", nm[2:]) if nm.startswith("x_") else ("eps", nm) if nm.startswith("eps_") else ("w", nm)
    for i in range(len(word) - 1):
        if word[i + 1].name.endswith("^T") and not word[i].name.endswith("^T") and \
                (word[i].name.startswith(("x_", "eps_", "w^*_"))):
            (kv, v), (ku, u) = kind(word[i]), kind(word[i + 1])
            pre, post = word[:i], word[i + 2:]
            if kv == "x" and ku == "x":
                mid, c = letter(cond_cov_letter(j, v, u)), 1
            elif kv == "x" and ku == "w":
                mid, c = pmul(letter(cond_letter(j, v)), letter(word[i + 1])), 1
            elif kv == "w" and ku == "x":
                mid, c = pmul(letter(word[i]), ptranspose(letter(cond_letter(j, u)))), 1
            elif kv == "w" and ku == "w":
                mid, c = pmul(letter(word[i]), letter(word[i + 1])), pi_j
            elif kv == "eps" and ku == "eps" and v == u:
                mid, c = letter(noise_cov(v.split(",")[1][:-1])), pi_j
            else:
                return {}
            return pscale(pmul({pre: 1} if pre else {(): 1}, mid, {post: 1} if post else {(): 1}), c)
    raise ValueError(f"no vector pair in the word {word}")


def second_moment_checks(rc: RandomCompiled) -> list[Check]:
    """Markov: for each l, ``E[z' z'^T 1{next = l}] = sum_j P[j,l] E[z' z'^T 1{alternative j}]`` with
    ``z'`` the phases of alternative j composed on letters (with noise letters) and the expectation taken
    term by term (:func:`_expectation`), equals the displayed right side of ``Q_l = ...``. An independent
    derivation of the conditional second-moment equations (it never reads ``Phi_k``, ``psi_k`` or ``N_k``)."""
    rs, K, out = rc.rspec, rc.rspec.K, []
    per_alt = []
    for j in range(rs.n):
        _, z = compose_on_letters(rs, j, noise=True)
        E = {}
        for a in range(K):
            for b in range(K):
                prod = pmul(z[a], ptranspose(z[b]))
                E[(a, b)] = padd(*[pscale(_expectation(w, j, rc.law[j], rs), c) for w, c in prod.items()])
        per_alt.append(E)
    for l in range(rs.n):
        worst = sp.Integer(0)
        for a in range(K):
            for b in range(K):
                derived = padd(*[pscale(per_alt[j][(a, b)], rs.P[j][l]) for j in range(rs.n) if rs.P[j][l] != 0])
                res = from_poly(padd(derived, rc.second_moment[(l, a, b)], signs=(1, -1)))
                if res != 0:
                    worst = res
        out.append(Check(f"Q_{l + 1}: the conditional second-moment equation re-derived from the phases "
                         "(expectation term by term)", worst == 0, sp.sstr(worst)))
    return out
