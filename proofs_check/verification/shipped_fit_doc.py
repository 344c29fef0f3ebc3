"""VS for ``a2ad fit``: every field of its document and every number of its text, re-computed from the
transcript (C18; issue 22, items 4 and 5).

:mod:`proofs_check.verification.shipped_fit` checks the fitted maps, the rate, the fixed point and the spread.
This module checks the rest of what ``fit`` prints, each against a computation from the transcript's own
(incoming, outgoing) pairs and its end-of-round messages, with no package code:

- the key sets (top level and per agent, as docs/config.rst lists them), ``claim``, ``converges`` (rate < 1),
  ``reason`` (only when it does not converge), ``mean_rate`` (only for a random protocol), ``bootstrap``,
  ``level`` and ``tail_start_round``;
- per agent: ``message_count``; ``target`` solving ``(I - M_hat) w = c_hat``; ``residual = fixed_point -
  target`` and its norm; ``noise_covariance`` (the residuals' ``R^T R / (n - d - 1)``), ``r2`` and
  ``design_condition`` of the least-squares design ``[incoming, 1]``; ``map_interval`` (the t-interval, from
  SciPy's t distribution); ``observed_tail_mean`` and ``observed_tail_covariance`` (the last half of the
  end-of-round messages); the tail mean's interval inside the tail's range;
- the text (``fit`` without ``--json``): each number it shows against the document, to its printed digits.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from proofs_check.verification.shipped import FLOAT_BAR, Ledger, rel
from proofs_check.verification.shipped_predict_text import printed_rel

__all__ = ["check_fields", "check_text", "design_fit", "TOP_KEYS", "AGENT_KEYS", "TEXT_BAR"]

TOP_KEYS = {"schema_version", "claim", "contraction_rate", "converges", "tail_start_round", "bootstrap", "level",
            "agents", "warnings", "protocol"}
AGENT_KEYS = {"message_count", "M_hat", "c_hat", "map_interval", "target", "noise_covariance", "r2",
              "design_condition", "fixed_point", "fixed_point_interval", "residual", "residual_norm",
              "observed_tail_mean", "observed_tail_mean_interval", "predicted_covariance", "predicted_std_interval",
              "observed_tail_covariance"}
TAIL_FRACTION = 0.5  # fit's default --tail (a2ad fit --help): the tail is the last half of the complete rounds
LEVEL = 0.95  # fit's default --level (a2ad fit --help)
# The text prints numbers with 4 significant digits ({: .4g}): a relative error of at most half a unit of the
# fourth digit, 5e-4 (the bar adds rounding of the document's float); R^2 has 6 decimals, the condition 3 digits.
TEXT_BAR = 5.01e-4
R2_DECIMALS_BAR = 5.01e-7
CONDITION_BAR = 5.01e-3
# The t-interval's half width from SciPy's t quantile against the printed one: both are double precision
# (rounding of the Gram matrix's inverse on these designs, condition <= ~1e3): ~1e-12 relative.
INTERVAL_BAR = 1e-8


def design_fit(pairs: list) -> dict[str, Any]:
    """Least squares of the outgoing on ``[incoming, 1]`` (LAPACK's, no package code): ``theta = [M | c]``, the
    residuals' covariance, R^2, the design's condition number and the t-interval's half widths at :data:`LEVEL`."""
    from scipy import stats

    H, Y = np.array([h for h, _ in pairs]), np.array([o for _, o in pairs])
    Z = np.hstack([H, np.ones((len(H), 1))])
    theta, *_ = np.linalg.lstsq(Z, Y, rcond=None)
    R = Y - Z @ theta
    n, p = Z.shape
    s = np.linalg.svd(Z, compute_uv=False)
    half = stats.t.ppf(0.5 + LEVEL / 2, n - p) * np.sqrt(np.outer(np.sum(R ** 2, axis=0) / (n - p),
                                                                 np.diag(np.linalg.inv(Z.T @ Z))))
    return {"theta": theta.T, "S": R.T @ R / (n - p), "r2": 1 - np.sum(R ** 2) / np.sum((Y - Y.mean(axis=0)) ** 2),
            "condition": s[0] / s[-1], "half": half}


def _number(v) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan


def check_fields(ledger: Ledger, doc, pairs: dict[str, list], ends: np.ndarray, names: list[str],
                 random: bool, drawn: bool) -> None:
    """Every field of a fit document that :mod:`shipped_fit` does not check, from the transcript: ``pairs``
    (each agent's (incoming, outgoing)), ``ends`` (rounds, K, d: the messages at the end of every round).
    ``drawn``: the command drew its figure (the document then has ``figure``)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("agents"), dict):
        ledger.require("fit document", False, "fit printed no agents")
        return
    rate = _number(doc.get("contraction_rate"))
    converges = rate < 1
    want_keys = (TOP_KEYS | ({"mean_rate"} if random else set()) | (set() if converges else {"reason"})
                 | ({"figure"} if drawn else set()))
    ledger.require("fit keys", set(doc) == want_keys, f"fit keys {sorted(doc)}")
    ledger.require("fit claim, converges", doc.get("claim") == "C18" and doc.get("converges") is converges,
                   f"claim {doc.get('claim')!r}, converges {doc.get('converges')!r} at rate {rate}")
    ledger.require("fit bootstrap, level", doc.get("bootstrap") == 0 and doc.get("level") == LEVEL,
                   f"bootstrap {doc.get('bootstrap')!r}, level {doc.get('level')!r}")
    start = int(len(ends) * (1 - TAIL_FRACTION))
    ledger.require("tail_start_round", doc.get("tail_start_round") == start,
                   f"tail_start_round {doc.get('tail_start_round')!r}, want {start}")
    tail = ends[start:]
    for k, n in enumerate(names):
        e = doc["agents"].get(n)
        if not isinstance(e, dict) or set(e) != AGENT_KEYS:
            ledger.require("fit agent keys", False, f"{n}: {sorted(e) if isinstance(e, dict) else e}")
            continue
        ref = design_fit(pairs[n])
        d = len(ref["S"])
        ledger.require("message_count", e["message_count"] == len(pairs[n]),
                       f"{n}: message_count {e['message_count']!r}, {len(pairs[n])} pairs")
        M, c = np.asarray(e["M_hat"], dtype=float), np.asarray(e["c_hat"], dtype=float)
        ledger.add("target: (I - M_hat) w = c_hat", rel(e["target"], np.linalg.solve(np.eye(d) - M, c)), FLOAT_BAR)
        if e["fixed_point"] is None or e["target"] is None:
            ledger.require("residual", e["residual"] is None and e["residual_norm"] is None and not converges,
                           f"{n}: residual {e['residual']!r} with fixed point {e['fixed_point']!r}")
        else:
            r = np.asarray(e["fixed_point"], dtype=float) - np.asarray(e["target"], dtype=float)
            ledger.add("residual = fixed_point - target", rel(e["residual"], r), FLOAT_BAR)
            ledger.add("residual_norm", rel(_number(e["residual_norm"]), np.linalg.norm(r)), FLOAT_BAR)
        ledger.add("noise_covariance (residuals / (n - d - 1))", rel(e["noise_covariance"], ref["S"]), 1e-8)
        ledger.add("r2", abs(_number(e["r2"]) - float(ref["r2"])), 1e-10)
        ledger.add("design_condition", rel(_number(e["design_condition"]), ref["condition"]), 1e-8)
        iv: Any = e["map_interval"]
        theta = np.hstack([M, c[:, None]])
        ok = isinstance(iv, dict) and np.shape(iv["low"]) == theta.shape == np.shape(iv["high"])
        ledger.require("map_interval", ok, f"{n}: map_interval {iv!r}")
        if ok:
            ledger.add("map_interval (t-interval)", max(rel(np.asarray(iv["high"]) - theta, ref["half"]),
                                                        rel(theta - np.asarray(iv["low"]), ref["half"])),
                       INTERVAL_BAR)
        ledger.add("observed_tail_mean", rel(e["observed_tail_mean"], tail[:, k].mean(axis=0)), FLOAT_BAR)
        ledger.add("observed_tail_covariance", rel(e["observed_tail_covariance"], np.atleast_2d(np.cov(tail[:, k].T))),
                   1e-8)
        iv = e["observed_tail_mean_interval"]
        inside = isinstance(iv, dict) and np.shape(iv["low"]) == (d,) == np.shape(iv["high"]) and bool(
            np.all(tail[:, k].min(axis=0) <= iv["low"]) and np.all(np.asarray(iv["low"]) <= iv["high"])
            and np.all(np.asarray(iv["high"]) <= tail[:, k].max(axis=0)))
        ledger.require("observed_tail_mean_interval", inside,
                       f"{n}: the tail mean's interval {iv!r} is not inside the tail's range")
        # no bootstrap resample (--bootstrap 0): no interval for what needs a refit
        ledger.require("intervals without resamples",
                       e["fixed_point_interval"] is None and e["predicted_std_interval"] is None,
                       f"{n}: intervals {e['fixed_point_interval']!r}, {e['predicted_std_interval']!r}")


def check_text(ledger: Ledger, text: str, doc, names: list[str], random: bool, count: int) -> None:
    """The numbers of ``fit``'s text against its document (same fit), each line by its label; its first line
    names the protocol the transcript was recorded under: ``count`` phases per round, or for a random
    protocol ``count`` alternatives drawn independently."""
    lines = text.splitlines()
    first = (f"random protocol: {count} alternatives (independent draws) over agents {', '.join(names)}; "
             if random else f"protocol: {count} phase(s) per round over agents {', '.join(names)}; ")
    ledger.require("text: protocol line", bool(lines) and lines[0].startswith(first),
                   f"first line {lines[0] if lines else None!r}, want {first!r}...")
    rate = _number(doc.get("contraction_rate"))
    head = next((ln for ln in lines if ln.startswith("fitted contraction rate")), "")
    ledger.require("text: rate line", bool(head) and head.count("(mean-square)") == random
                   and ("diverges" in head) is (rate >= 1) and ("mean rate" in head) is random,
                   f"rate line {head!r} at rate {rate}")
    if head:
        rates = [rate] + ([_number(doc.get("mean_rate"))] if random else [])
        ledger.add("text: rates", printed_rel(head.split("=", 1)[1], rates), TEXT_BAR)
    tail = next((ln for ln in lines if ln.startswith("tail: rounds")), "")
    ledger.require("text: tail line", tail.startswith(f"tail: rounds {doc.get('tail_start_round')}+;")
                   and tail.endswith(f"others: {doc.get('bootstrap')} bootstrap resamples"), f"tail line {tail!r}")
    for n in names:
        e = doc["agents"][n]
        try:
            at = lines.index(f"agent {n}: {e['message_count']} messages, R^2 = {e['r2']:.6f}, design condition "
                             f"{e['design_condition']:.3g}")
        except (ValueError, TypeError, KeyError):
            ledger.require("text: agent line", False, f"no agent line for {n} matching the document")
            continue
        block = lines[at + 1:]
        block = block[:next((i for i, ln in enumerate(block) if not ln.startswith(" ")), len(block))]
        conv = e.get("fixed_point") is not None
        want: list[tuple[str, Any]] = [
            ("  Mhat = ", e["M_hat"]), ("  chat = ", e["c_hat"]), ("  implied target w_hat* = ", e["target"]),
            ("  noise std (residuals) = ", np.sqrt(np.diag(e["noise_covariance"]))),
            ("  observed tail mean = ", e["observed_tail_mean"]),
            ("  observed std  = ", np.sqrt(np.diag(e["observed_tail_covariance"])))]
        if conv:
            want += [("  predicted fixed point = ", e["fixed_point"]),
                     ("  predicted std = ", np.sqrt(np.diag(e["predicted_covariance"])))]
        for label, value in want:
            hits = [i for i, ln in enumerate(block) if ln.startswith(label)]
            if len(hits) != 1:
                ledger.require("text: labels", False, f"{n}: {len(hits)} lines {label.strip()!r}")
                continue
            i = hits[0]
            rows = [block[i][len(label):]]
            while i + 1 < len(block) and block[i + 1].startswith(" " * 9 + "["):  # Mhat's further rows
                i += 1
                rows.append(block[i])
            ledger.add(f"text: {label.strip(' =')}", printed_rel(" ".join(rows), value), TEXT_BAR)
        ledger.require("text: converging lines", any(ln.startswith("  predicted fixed point") for ln in block) is conv,
                       f"{n}: a predicted fixed point line with converges {conv}")
        iv = e["observed_tail_mean_interval"]
        line = next((ln for ln in block if ln.startswith("      interval       = ")), "")
        if isinstance(iv, dict):
            ledger.add("text: tail mean interval", printed_rel(line, iv["low"] + iv["high"]), TEXT_BAR)
    warned = [ln[len("warning: "):] for ln in lines if ln.startswith("warning: ")]
    ledger.require("text: warnings", warned == list(doc.get("warnings", [])), f"warnings {warned!r}")
