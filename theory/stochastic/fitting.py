"""C18: least-squares fit of an agent's affine map from its (incoming, outgoing) messages.

Stack the incoming messages with a row of ones, ``Z = [W; 1^T]`` ((d+1) x n), and the
replies in ``Y`` (d x n). Least squares gives ``[Mhat | chat] = Y Z^T (Z Z^T)^{-1}``,
unique iff ``Z Z^T`` is invertible (n >= d + 1 affinely independent messages). For an
exact affine agent ``Y = [M | c] Z``, so the fit returns ``[M | c]``. The implied
target is ``w_hat* = Khat^{-1} chat`` with ``Khat = I - Mhat``; the predicted plateau
then follows from C2 and C3 with the fitted maps.
"""
from __future__ import annotations

import sympy as sp

from theory.core.formulas import Formula
from theory.core.model import I, d, matrix

n = sp.Symbol("n", integer=True, positive=True)
Z = sp.MatrixSymbol("Z", d + 1, n)
Y = sp.MatrixSymbol("Y", d, n)
Theta = sp.MatrixSymbol("[M | c]", d, d + 1)  # the true map of an exact affine agent
Theta_hat = Y * Z.T * sp.Inverse(Z * Z.T)
M_hat, c_hat = matrix("Mhat"), sp.MatrixSymbol("chat", d, 1)
target_hat = sp.Inverse(I - M_hat) * c_hat

FORMULAS = [
    Formula("C18", "least_squares_map", sp.MatrixSymbol("[\\hat{M} | \\hat{c}]", d, d + 1), Theta_hat,
            r"Least-squares affine map from a transcript ($Z$: incoming messages with a row of ones)."),
    Formula("C18", "implied_target", sp.MatrixSymbol("what^*", d, 1), target_hat,
            r"Target implied by the fitted map: $\hat{K}^{-1} \hat{c}$ with $\hat{K} = I - \hat{M}$."),
]
