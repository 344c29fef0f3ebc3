"""VS for ``a2ad predict --text``: every line of the summary against the JSON document of the same config
(issue 22, item 4: the text is what a user reads; its numbers are the document's, rounded as stated).

The summary (``numerics.results.Prediction.to_text``) states, in this order: the contraction rate (for a
random protocol the mean-square rate, then the mean rate), whether it converges and at what precision, the
reason when it does not, and per agent its fixed point (a random protocol's stationary mean) with its
residual norm, then its covariance where the document has one. Floats are printed to 6 significant
digits, ``--precision`` decimal strings as they are.
"""
from __future__ import annotations

import math
import re
from typing import Any, Protocol

import numpy as np

__all__ = ["check_predict_text", "printed_rel", "TEXT_BAR"]

# 6 significant digits ({:.6g}): a relative error of at most half a unit of the sixth digit, 5e-6.
TEXT_BAR = 5.01e-6
_FLOAT = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|[-+]?inf|nan")


class Ledger(Protocol):
    """What this module needs of :class:`proofs_check.verification.shipped.Ledger` (which calls it: no import)."""

    def add(self, name: str, error: float, bar: float) -> None: ...

    def require(self, name: str, ok: bool, what: str, bar: float = 1.0) -> None: ...


def printed_rel(printed: str, value: Any) -> float:
    """Largest relative error of the numbers in ``printed`` against ``value`` (a number, a decimal string or
    nested lists of them); inf when the counts differ."""
    got = np.array([float(x) for x in _FLOAT.findall(printed)])
    want = np.reshape(np.asarray(value, dtype=float), -1)
    if got.shape != want.shape:
        return math.inf
    return float(np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-300), initial=0.0))


def check_predict_text(ledger: Ledger, text: str, doc: Any) -> None:
    """The lines of ``predict --text`` against ``doc`` (``predict``'s JSON for the same config)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("agents"), dict):
        ledger.require("text: document", False, "no predict document to compare the text with")
        return
    lines = text.splitlines()
    rnd = doc.get("mean_rate") is not None
    head = ["contraction rate (mean-square, per round): " if rnd else "contraction rate: "]
    values = [doc.get("contraction_rate")]
    if rnd:
        head.append("mean rate (first moment, per round):       ")
        values.append(doc["mean_rate"])
    for i, (label, value) in enumerate(zip(head, values)):
        ok = len(lines) > i and lines[i].startswith(label)
        ledger.require("text: rate lines", ok, f"line {i + 1} {lines[i] if len(lines) > i else None!r}")
        if ok:
            ledger.add("text: rates", printed_rel(lines[i][len(label):], value), TEXT_BAR)
    at = len(head)
    converges = f"converges: {'yes' if doc.get('converges') else 'no'} ({doc.get('precision')})"
    ledger.require("text: converges", lines[at:at + 1] == [converges], f"{lines[at:at + 1]!r}, want {converges!r}")
    at += 1
    if doc.get("reason"):
        ledger.require("text: reason", lines[at:at + 1] == [f"reason: {doc['reason']}"], f"{lines[at:at + 1]!r}")
        at += 1
    what = "stationary mean" if rnd else "fixed point"
    for name, e in doc["agents"].items():
        line = lines[at] if at < len(lines) else ""
        m = re.fullmatch(re.escape(f"{name}: {what} ") + r"(null|\[.*\])  residual norm (\S+)", line)
        ledger.require("text: agent line", m is not None, f"{name}: {line!r}")
        if m is None:
            return
        for field, printed in (("fixed_point", m.group(1)), ("residual_norm", m.group(2))):
            if e.get(field) is None:
                ledger.require(f"text: {field}", printed == "null", f"{name}: {printed!r} for a null {field}")
            else:
                ledger.add(f"text: {field}", printed_rel(printed, e[field]), TEXT_BAR)
        at += 1
        if e.get("covariance") is not None:
            label = " " * len(name) + "  covariance "
            ok = at < len(lines) and lines[at].startswith(label)
            ledger.require("text: covariance line", ok, f"{name}: {lines[at] if at < len(lines) else None!r}")
            if ok:
                ledger.add("text: covariance", printed_rel(lines[at][len(label):], e["covariance"]), TEXT_BAR)
            at += 1
    ledger.require("text: nothing more", at == len(lines), f"lines after the last agent: {lines[at:]!r}")
