"""Run claims' methods, time them, and assemble the report dict (the JSON shape documented in README.md)."""
from __future__ import annotations

import math
import time
import traceback
from typing import Callable

from . import __version__
from .registry import Claim, Profile


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


def run(claims: list[Claim], profile: Profile, on_method: Callable | None = None) -> dict:
    """Run every method of every claim; returns the report dict."""
    start = time.perf_counter()
    entries = []
    for claim in claims:
        methods = []
        for name, fn in claim.methods.items():
            result = run_method(name, fn, profile)
            methods.append(result)
            if on_method:
                on_method(claim, result)
        entries.append({"id": claim.id, "title": claim.title, "relation": claim.relation,
                        "hypotheses": list(claim.hypotheses), "reference": claim.reference,
                        "provenance": claim.provenance.as_dict() if claim.provenance else None,
                        "status": claim_status(methods), "methods": methods})
    summary = {s: sum(1 for e in entries if e["status"] == s) for s in ("passed", "failed", "skipped")}
    summary["seconds"] = round(time.perf_counter() - start, 3)
    return {"package_version": __version__, "profile": profile.name, "claims": entries, "summary": summary}
