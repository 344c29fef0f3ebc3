"""Run claims' methods, time them, and assemble the report dict (the JSON shape documented in README.md).

``run(..., workers=2)`` spreads the methods over a process pool (forked, so the
workers inherit the imported claims); the report is assembled in registry order
and is the same as a serial run's apart from the ``seconds`` fields. Methods that
share per-process state or imports (:data:`GROUPED_METHODS`) run as one job in one worker. With a
:class:`proofs_check.verification.proof_cache.ProofCache`, symbolic methods (V1-V3) whose
fingerprint is unchanged are read back instead of rerun; numeric methods always run.
"""
from __future__ import annotations

import math
import multiprocessing
import os
import time
import traceback
from typing import Callable

from proofs_check import __version__
from proofs_check.verification.registry import Claim, Profile

# Methods with these names run as one job (in one worker): the V7 methods share one training
# (v7_trained.pair), the V8 methods share python-control's import (~1 s, paid once per process),
# the V6 methods Hypothesis' import and engine set-up (paid in one worker instead of both).
GROUPED_METHODS = ("V7", "V8", "V6")


def run_method(method: str, fn, profile: Profile) -> dict:
    start = time.perf_counter()
    try:
        out = fn(profile)
    except Exception as exc:  # a crashing method is a failed claim, reported loudly
        tb = traceback.format_exc(limit=3).strip().splitlines()[-1]
        return {"method": method, "status": "failed", "worst_error": None, "tolerance": None,
                "instances": 0, "seconds": round(time.perf_counter() - start, 4),
                "detail": f"raised {type(exc).__name__}: {exc} [{tb}]"}
    seconds = time.perf_counter() - start
    if out.skipped:
        status = "skipped"
    else:
        ok = (not math.isnan(out.worst_error)) and out.worst_error <= out.tolerance
        status = "passed" if ok else "failed"
    return {"method": method, "status": status,
            # JSON has no NaN/inf: a non-finite error is null (its status already says failed)
            "worst_error": float(out.worst_error) if math.isfinite(out.worst_error) else None,
            "tolerance": float(out.tolerance) if math.isfinite(out.tolerance) else None,
            "instances": int(out.instances), "seconds": round(seconds, 4), "detail": out.detail,
            "power": out.power}


def claim_status(methods: list[dict]) -> str:
    statuses = [m["status"] for m in methods]
    if "failed" in statuses:
        return "failed"
    if statuses and all(s == "skipped" for s in statuses):
        return "skipped"
    return "passed"


def default_workers() -> int:
    """Both cores of a two-core machine (every core of a bigger one); 1 where fork is unavailable."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


# Seconds of the longest methods (quick profile, measured on a 2-core machine): the order of a run
# with no timings of its own yet (a cold proof cache), so the long symbolic proofs do not end up
# at the tail. Scheduling only: a stale value costs tail time, never a different result.
DEFAULT_EXPECTED = {"L2 V7": 1.4, "C1 V8": 1.0, "C17 V1": 1.4, "L2 V2": 1.2, "C2 V2": 1.1, "C15 V4": 0.9,
                    "C3 V2": 0.8, "C18 V4": 0.8, "C10 V2": 0.7, "P1 V1": 0.6, "C7 V4": 0.5, "C4 V6": 0.4,
                    "C1 V6": 0.3, "P1 V4": 0.3, "P1 V6": 0.2}


def jobs(claims: list[Claim], expected: dict | None = None) -> list[list[tuple[int, str]]]:
    """Methods as jobs ``[(claim index, method), ...]``, the longest expected first.

    ``expected`` maps ``"C2 V4"`` to last run's seconds (missing methods: :data:`DEFAULT_EXPECTED`,
    else 0); without it the grouped jobs (the V7 training first) go first, since they are the longest.
    """
    shared: dict[str, list[tuple[int, str]]] = {}
    out: list[list[tuple[int, str]]] = []
    for i, claim in enumerate(claims):
        for name in claim.methods:
            if name in GROUPED_METHODS:
                shared.setdefault(name, []).append((i, name))
            else:
                out.append([(i, name)])
    out = [shared[name] for name in GROUPED_METHODS if name in shared] + out  # V7's training first
    if expected is not None:
        known = dict(DEFAULT_EXPECTED, **expected)
        cost = lambda job: sum(known.get(f"{claims[i].id} {m}", 0.0) for i, m in job)
        out.sort(key=cost, reverse=True)  # stable: ties keep the order above
    return out


_STATE: dict = {}  # set before forking; the workers inherit it (lambdas cannot be pickled)


def _execute(claims, profile, job: list[tuple[int, str]]) -> list[tuple[int, str, dict]]:
    return [(i, m, run_method(m, claims[i].methods[m], profile)) for i, m in job]


def _run_job(job: list[tuple[int, str]]) -> list[tuple[int, str, dict]]:
    return _execute(_STATE["claims"], _STATE["profile"], job)


def run(claims: list[Claim], profile: Profile, on_method: Callable | None = None, workers: int = 1,
        cache=None) -> dict:
    """Run every method of every claim; returns the report dict (registry order).

    ``on_method(claim, result)`` is called as each method finishes (completion order
    when ``workers > 1``). ``cache``: a ProofCache, or None to run everything.
    """
    start = time.perf_counter()
    results: dict[tuple[int, str], dict] = {}

    def done(i: int, m: str, result: dict, store: bool = True) -> None:
        results[(i, m)] = result
        if store and cache is not None:
            cache.put(claims[i], m, profile, result)
        if on_method:
            on_method(claims[i], result)

    todo = []
    for job in jobs(claims, cache.timings(profile.name) if cache is not None else {}):
        if cache is not None and len(job) == 1:
            i, m = job[0]
            hit = cache.get(claims[i], m, profile)
            if hit is not None:
                done(i, m, hit, store=False)
                continue
        todo.append(job)
    workers = max(1, min(workers, len(todo)))
    if workers == 1:
        for job in todo:
            for i, m, result in _execute(claims, profile, job):
                done(i, m, result)
    else:
        _STATE.update(claims=claims, profile=profile)
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for batch in pool.imap_unordered(_run_job, todo, chunksize=1):
                    for i, m, result in batch:
                        done(i, m, result)
        finally:
            _STATE.clear()
    entries = []
    for i, claim in enumerate(claims):
        methods = [results[(i, m)] for m in claim.methods]
        entries.append({"id": claim.id, "title": claim.title, "relation": claim.relation,
                        "hypotheses": list(claim.hypotheses), "reference": claim.reference,
                        "provenance": claim.provenance.as_dict() if claim.provenance else None,
                        "status": claim_status(methods), "methods": methods})
    summary: dict[str, float] = {s: sum(1 for e in entries if e["status"] == s)
                                 for s in ("passed", "failed", "skipped")}
    summary["seconds"] = round(time.perf_counter() - start, 3)
    if cache is not None:
        cache.record_timings(profile.name, {f"{claims[i].id} {m}": r["seconds"] for (i, m), r in results.items()
                              if not r.get("cached")})
        cache.save_import_index()
    return {"package_version": __version__, "profile": profile.name, "claims": entries, "summary": summary}
