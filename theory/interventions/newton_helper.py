"""Adaptive helper (docs/theory.rst): C12, C13.

The helper relabels its prompt every turn, ``y_B(t) = X_B w_B(t)``, so its message is
``v_t = M_B u_t + K_B w_B(t)``; with ``K_B`` invertible it emits any ``n`` via
``w_B(t) = K_B^{-1}(n - M_B u_t)``. The oracle Newton message
``n_t = u_t - alpha (u_t - w_A*)`` gives ``u_{t+1} - w_A* = (1 - alpha) M_A (u_t - w_A*)``
(C12); with a curvature estimate ``Hhat``, ``n_t = u_t - alpha Hhat^{-1} H_A (u_t - w_A*)``
gives ``u_{t+1} - w_A* = M_A (I - alpha Hhat^{-1} H_A)(u_t - w_A*)`` (C13).
"""
from __future__ import annotations

import sympy as sp

from theory.core.formulas import Formula
from theory.core.model import I, matrix
from theory.round_robin import two_agents as ta

A, B = ta.A, ta.B
u = ta.u
alpha = sp.Symbol("alpha")
H_A = A.H
Hhat = matrix("Hhat")

w_B_relabel = lambda n: sp.Inverse(B.K) * (n - B.M * u)  # noqa: E731 - the helper's relabelled target

newton_message = u - alpha * (u - A.w_star)
inexact_message = u - alpha * sp.Inverse(Hhat) * H_A * (u - A.w_star)

newton_error_next = A.T(newton_message) - A.w_star
newton_error_rate = (1 - alpha) * A.M * (u - A.w_star)
inexact_error_next = A.T(inexact_message) - A.w_star
inexact_error_rate = A.M * (I - alpha * sp.Inverse(Hhat) * H_A) * (u - A.w_star)

FORMULAS = [
    Formula("C12", "helper_relabel", sp.MatrixSymbol("w_{B}(t)", *u.shape),
            w_B_relabel(sp.MatrixSymbol("n_t", *u.shape)),
            r"Helper's relabelled target that makes it emit $n_t$."),
    Formula("C12", "newton_error", sp.MatrixSymbol("u_{t+1} - w^*_A", *u.shape), newton_error_rate,
            "Main agent's error after one round with the oracle Newton helper."),
    Formula("C13", "inexact_newton_error", sp.MatrixSymbol("u_{t+1} - w^*_A", *u.shape), inexact_error_rate,
            "Main agent's error after one round with an inexact Newton helper."),
]
