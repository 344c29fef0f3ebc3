"""Checks added for the mutation round of issue 22 item 5 (helper "small": theory/protocol/evaluation.py).

``theory.protocol.evaluation.evaluate`` turns a derived expression into numbers: a vector expression (a fixed
point, ending in ``w_i*``) must come back as a ``d x 1`` column and a matrix expression (a block of the round
map) as ``d x d``. P1's V4 reads only the first column of an evaluated fixed point, so a ``d x d`` result whose
columns all repeat the fixed point passed it. Here the gallery's fixed points and round-map blocks are
evaluated at d = 2 (d = 1 cannot tell a column from a square) and compared, shape and value, with a joint
affine map composed phase by phase with numpy from the protocol's definition (theory.protocol.round_map's
text: listener i's new message is ``M_i sum_j W_ij m_j + (I - M_i) w_i*``), never with the compiler's objects.
The two-agent entries' noisy round (the Lyapunov right sides, ``Phi V Phi^T + Q``) is evaluated too, with the
noise covariances and the covariance blocks given through ``extra`` (no other caller passes it): against the same
sum in numpy, ``Q`` from theory.protocol.noise's text. And the named Schur path (named letters defined in order,
which no gallery protocol takes). Costs ~0.1 s after P1's V4 warmed the evaluator.

:func:`printed_rho` (numerics/protocol/engine.py's ``diagnose``, read by shipped_reasons for C17's and P1's VS):
the rate a divergence reason prints, read back with its excess.
"""
from __future__ import annotations

import re

import numpy as np
import sympy as sp

# The gallery evaluated at this dimension (> 1: a d x 1 column and a d x d square differ in shape).
DIM = 2
# Transfers are scaled to this operator norm: with listening weights >= 0 summing to 1 the joint map contracts
# in the block-max norm, so I - Phi is invertible and the joint solve below is well conditioned.
NORM = 0.8
# P4's anchoring weight at which the symbolic entry is evaluated (through ``scalars``).
OMEGA = 0.3


def _reference(names, phases, Ms, ws) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """``(Phi, z, tails)``: the joint affine round map from its definition, its fixed point ``(I - Phi)^{-1} r``,
    and per phase ``T_p`` (the linear maps of the phases after p, composed: how a message emitted in phase p
    reaches the end of the round)."""
    K, d = len(names), Ms[0].shape[0]
    idx = {n: k for k, n in enumerate(names)}
    A = np.eye(K * d + 1)  # the affine map on (m_1, ..., m_K, 1)
    linear = []
    for phase in phases:
        new = A.copy()
        L = np.eye(K * d)
        for lst, row in phase:
            i = idx[lst]
            heard = sum(w * A[idx[src] * d:(idx[src] + 1) * d] for src, w in row)
            new[i * d:(i + 1) * d] = Ms[i] @ heard
            new[i * d:(i + 1) * d, -1] += (np.eye(d) - Ms[i]) @ ws[i]
            L[i * d:(i + 1) * d] = 0.0
            for src, w in row:
                L[i * d:(i + 1) * d, idx[src] * d:(idx[src] + 1) * d] += w * Ms[i]
        A = new
        linear.append(L)
    tails = []
    for p in range(len(phases)):
        T = np.eye(K * d)
        for L in linear[p + 1:]:
            T = L @ T
        tails.append(T)
    Phi, r = A[:-1, :-1], A[:-1, -1]
    return Phi, np.linalg.solve(np.eye(K * d) - Phi, r), tails


def _drawn(rng, names, phases) -> tuple:
    """Random transfers (spectral norm ``NORM``) and targets for ``names``, the reference (``Phi``, fixed point,
    noise tails) of ``phases`` at them, and the evaluator's environment ``{name: (M, w*)}``."""
    Ms = []
    for _ in names:
        X = rng.standard_normal((DIM, DIM))
        Ms.append(NORM * X / np.linalg.norm(X, 2))
    ws = [rng.standard_normal(DIM) for _ in names]
    Phi, z, tails = _reference(names, phases, Ms, ws)
    return Phi, z, tails, {n: (Ms[k], ws[k]) for k, n in enumerate(names)}


def evaluation_errors(rng, compiled) -> list[float]:
    """Relative errors of the gallery's evaluated fixed points and round-map blocks (``compiled(key)``: the
    compiled gallery protocol) against :func:`_reference`; 1.0 for a result of the wrong shape."""
    from theory.protocol import compiler as P, gallery

    errors: list[float] = []
    for e in gallery.entries():
        cp = compiled(e.key)
        names = list(e.spec.names)
        symbols = {s for ph in e.spec.phases for _, row in ph for _, w in row for s in getattr(w, "free_symbols", ())}
        scalars = {str(s): OMEGA for s in symbols}
        phases = [[(lst, [(src, float(sp.sympify(w).subs({s: OMEGA for s in symbols}))) for src, w in row])
                   for lst, row in ph] for ph in e.spec.phases]
        Phi, z, tails, env = _drawn(rng, names, phases)
        for i in range(len(names)):
            got = P.evaluate(cp, cp.fixed_point[i], env, scalars=scalars)
            want = z[i * DIM:(i + 1) * DIM].reshape(DIM, 1)
            errors.append(float(np.linalg.norm(got - want) / np.linalg.norm(want)) if got.shape == want.shape
                          else 1.0)
        for ka, kb in ((0, 0), (len(names) - 1, 0)):  # two blocks per protocol (every block costs ~3 ms)
            got = P.evaluate(cp, cp.Phi[ka][kb], env, scalars=scalars)
            want = Phi[ka * DIM:(ka + 1) * DIM, kb * DIM:(kb + 1) * DIM]
            errors.append(float(np.linalg.norm(got - want)) / max(float(np.linalg.norm(want)), 1.0)
                          if got.shape == want.shape else 1.0)
        if len(names) == 2 and cp.lyapunov:  # the noisy round, through ``extra`` (S_i, V blocks)
            errors += _lyapunov_errors(rng, cp, env, phases, Phi, tails, scalars)
    return errors + _named_errors(rng)


def _named_errors(rng) -> list[float]:
    """The named Schur path (letters defined in order, formal inverses; theory.protocol.schur): a four-agent
    protocol of P1's V2 compiled with its noisy round, its fixed points evaluated with no noise covariance given
    (the noise letters ``N_{a,b}`` cannot be evaluated and are left out) and its Lyapunov right sides with every
    ``S_i``, then with all but ``S_B``: the entries whose ``Q`` block does not involve ``S_B`` (read off the
    reference's ``T_p``) must still evaluate, though ``N_{B,B}``, defined before them, cannot."""
    from proofs_check.verification.named_schur import SPARSE_COLUMN
    from theory.protocol import compiler as P, description

    names = sorted({n for ph in SPARSE_COLUMN for lst, row in ph.items() for n in (lst, *row)})
    cp = P.compile_protocol(description.spec(names, SPARSE_COLUMN))
    if cp.named is None:
        return [1.0]  # not the named path: this check would read nothing
    phases = [[(lst, [(src, float(w)) for src, w in row.items()]) for lst, row in ph.items()] for ph in SPARSE_COLUMN]
    Phi, z, tails, env = _drawn(rng, names, phases)
    errors = []
    for i in range(len(names)):
        got = P.evaluate(cp, cp.fixed_point[i], env)
        want = z[i * DIM:(i + 1) * DIM].reshape(DIM, 1)
        errors.append(float(np.linalg.norm(got - want) / np.linalg.norm(want)) if got.shape == want.shape else 1.0)
    errors += _lyapunov_errors(rng, cp, env, phases, Phi, tails, {})
    errors += _lyapunov_errors(rng, cp, env, phases, Phi, tails, {}, without="B")
    return errors


def _lyapunov_errors(rng, cp, env, phases, Phi, tails, scalars, without: str | None = None) -> list[float]:
    """``cp.lyapunov[(a, b)]`` (the right side ``(Phi V Phi^T + Q)_ab``) evaluated with noise covariances
    ``S_i`` and a covariance ``V`` (both symmetric: ``S_i^T = S_i``, ``V_{i,j}^T = V_{j,i}``) given through
    ``extra``, against the same sum in numpy, ``Q = sum_p sum_{i in S_p} T_p[:, i] S_i T_p[:, i]^T``.
    ``without``: that agent's ``S_i`` is not given; only the entries whose ``Q`` block does not involve it are
    evaluated (at least one must be: else 1.0)."""
    from theory.protocol import compiler as P
    from theory.protocol.symbols import cov_block, noise_cov, phi_letter, transpose_letter

    names = list(env)
    K, d, idx = len(names), DIM, {n: k for k, n in enumerate(names)}
    S = []
    for _ in names:
        X = rng.standard_normal((d, d))
        S.append(X @ X.T)
    X = rng.standard_normal((K * d, K * d))
    V = X @ X.T
    Q = np.zeros((K * d, K * d))
    involved = np.zeros((K, K), dtype=bool)  # Q block (a, b) involves S_without
    for phase, T in zip(phases, tails):
        for lst, _ in phase:
            i = idx[lst]
            col = T[:, i * d:(i + 1) * d]
            Q += col @ S[i] @ col.T
            if lst == without:
                reach = np.array([np.any(col[a * d:(a + 1) * d]) for a in range(K)])
                involved |= np.outer(reach, reach)
    want = Phi @ V @ Phi.T + Q
    extra = {noise_cov(n).name: S[k] for k, n in enumerate(names) if n != without}
    extra |= {cov_block(a, b).name: V[ka * d:(ka + 1) * d, kb * d:(kb + 1) * d]
              for ka, a in enumerate(names) for kb, b in enumerate(names)}
    # the named path's equations read Phi_{a,b}^T, which evaluate() does not form: given from the reference
    extra |= {transpose_letter(phi_letter(a, b)).name: Phi[ka * d:(ka + 1) * d, kb * d:(kb + 1) * d].T
              for ka, a in enumerate(names) for kb, b in enumerate(names)}
    errors = []
    for (a, b), rhs in cp.lyapunov.items():
        if involved[a, b]:
            continue
        got = P.evaluate(cp, rhs, env, extra=extra, scalars=scalars)
        block = want[a * d:(a + 1) * d, b * d:(b + 1) * d]
        errors.append(float(np.linalg.norm(got - block) / np.linalg.norm(block)) if got.shape == block.shape
                      else 1.0)
    return errors or [1.0]


# The printed rate's head: ``rho = TEXT > 1`` or ``rho = TEXT is 1 to within``, TEXT a number rounded to 6
# significant digits, followed (only when the rate exceeds 1 but reads 1) by `` + EXCESS`` (numerics/protocol/
# engine.py's diagnose: "rho = 1 > 1" would read as a contradiction).
_HEAD = re.compile(r"contraction rate rho = (?P<a>[0-9.e+-]+)(?: \+ (?P<b>[0-9.e+-]+))? (?P<rel>>|is) 1")
# The excess is printed to 2 significant digits: within 5% of ``rho - 1`` (the reference rate is probed on
# simulated rounds, ~1e-16 from the package's, far below 5% of an excess of 1e-13 or more).
EXCESS_DIGITS = 5e-2
# TEXT is rho to 6 significant digits (docs/config.rst).
SIX_DIGITS = 5e-6


def printed_rho(ledger, text: str, rho: float, label: str) -> None:
    """The rate a divergence ``reason`` prints (``a2ad predict``; VS of C17 and P1 through shipped_reasons) read
    back against the probed rate ``rho``: its value (with the excess, when printed) to the printed digits; the
    excess printed exactly when the rate exceeds 1 but its 6 digits read 1 or less, and never with "is 1 to
    within" (a rate below 1 that rounds to 1 reads "rho = 1 is 1 to within", no excess)."""
    m = _HEAD.search(text)
    ledger.require("reason rate", m is not None, f"{label}: no printed rate in {text[:160]!r}")
    if m is None:
        return
    try:
        a, b = float(m.group("a")), float(m.group("b")) if m.group("b") else None
    except ValueError:
        ledger.require("reason rate", False, f"{label}: {m.group(0)!r} is no number")
        return
    above = m.group("rel") == ">"
    ledger.require("reason rate", (b is not None) == (above and a <= 1),
                   f"{label}: {m.group(0)!r}: an excess is printed exactly when a rate above 1 reads 1")
    if b is not None:
        ledger.add("reason rate excess", abs(b - (rho - 1)) / (EXCESS_DIGITS * abs(rho - 1)), 1.0)
    else:
        ledger.add("reason rate", abs(a - rho) / (SIX_DIGITS * rho), 1.0)
