"""The one error type for bad user input.

Every check in the package raises :class:`InputError`, which names the
quantity and the offending value, so the CLI can print one line and exit 2.
"""
from __future__ import annotations

import numpy as np


def _short(value) -> str:
    """A compact, single-line rendering of a value for an error message."""
    if isinstance(value, np.ndarray):
        with np.printoptions(precision=4, threshold=12, edgeitems=2, linewidth=10_000):
            text = np.array2string(value, separator=", ")
    else:
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= 160 else text[:157] + "..."


class InputError(ValueError):
    """Invalid input: ``InputError(quantity, value, problem)``.

    The message reads ``"<quantity> = <value>: <problem>"``.

    Examples
    --------
    >>> err = InputError("A.preconditioner", -1.0, "must be positive")
    >>> str(err), err.quantity
    ('A.preconditioner = -1.0: must be positive', 'A.preconditioner')
    """

    def __init__(self, quantity: str, value, problem: str):
        self.quantity = quantity
        self.value = value
        self.problem = problem
        super().__init__(f"{quantity} = {_short(value)}: {problem}")

    def __reduce__(self):  # re-raised intact from sweep worker processes (process pool, Dask)
        return (type(self), (self.quantity, self.value, self.problem))
