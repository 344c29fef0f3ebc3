"""The package's errors: one root, one class per kind of failure the CLI reports.

::

    A2ADError                  root: the CLI prints one line "a2ad CMD: <prefix>: <message>"
    |-- InputError             bad user input (a file, an option, a config field); prefix "error"
    |-- ServiceError           a service failed (the LLM HTTP endpoint, a Dask cluster); prefix "service error"
    `-- DerivationRefused      a derivation step did not verify, so nothing is printed; prefix "refused"

Each class carries the exit status the CLI returns (:attr:`A2ADError.exit_status`): 2 ("an error")
for all of them, a refused derivation included; 1 is kept for a verification or check that ran
and failed. :class:`InputError` and :class:`ServiceError` name the quantity
and the offending value: their message reads ``"<quantity> = <value>: <problem>"``.
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


class A2ADError(Exception):
    """Root of every error the package reports to a user (never a traceback)."""

    prefix = "error"  # the CLI line reads "a2ad CMD: <prefix>: <message>"
    exit_status = 2   # the CLI's exit status for this kind of failure


class _Named(A2ADError):
    """``Cls(quantity, value, problem)`` with the message ``"<quantity> = <value>: <problem>"``."""

    def __init__(self, quantity: str, value, problem: str):
        self.quantity = quantity
        self.value = value
        self.problem = problem
        super().__init__(f"{quantity} = {_short(value)}: {problem}")

    def __reduce__(self):  # re-raised intact from sweep worker processes (process pool, Dask)
        return (type(self), (self.quantity, self.value, self.problem))

    def amended(self, note: str):
        """The same error (same class, quantity and value) with ``note`` appended to its problem."""
        return type(self)(self.quantity, self.value, f"{self.problem}{note}")


class InputError(_Named, ValueError):
    """Invalid input: ``InputError(quantity, value, problem)``.

    The message reads ``"<quantity> = <value>: <problem>"``. Also a :class:`ValueError`, so
    callers that validate with ``except ValueError`` keep working.

    Examples
    --------
    >>> err = InputError("A.preconditioner", -1.0, "must be positive")
    >>> str(err), err.quantity
    ('A.preconditioner = -1.0: must be positive', 'A.preconditioner')
    """


class ServiceError(_Named):
    """A service the run depends on failed: ``ServiceError(service, address, problem)``.

    Not the user's input: the same command may succeed when the service answers.
    """

    prefix = "service error"


class DerivationRefused(A2ADError):
    """A derivation whose step did not verify (or shows nothing): it is refused, never printed."""

    prefix = "refused"
