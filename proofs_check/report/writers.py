"""Report writers: terminal table, JSON and Markdown.

The table fits 80 columns on any output (a pipe, ``make``, CI): each claim's title
on its own line, then one line per method. Every error is printed with its unit
(:func:`unit`): ``exact`` for the symbolic methods (V1-V3: the difference must
cancel to 0), agreeing ``digits`` for the 60-digit witnesses (V5), ``std errors``
for Monte Carlo comparisons, ``rel. error`` for float64 witnesses, and the few
methods with their own scale named in :data:`UNITS`.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from numerics.io.outputs import write_text
from numerics.io.schema import versioned

STYLE = {"passed": "green", "failed": "bold red", "skipped": "yellow"}
WIDTH = 80
EXACT_METHODS = ("V1", "V2", "V3", "VD")
# Methods whose error is not a relative error; read their detail lines in docs/theory.rst.
UNITS = {
    ("C1", "V4"): "rate diff",   # observed decay/growth rate minus rho
    ("C1", "V6"): "rate diff",
    ("C6", "V4"): "abs. excess",  # rho(M_A M_B) - rho(M_A) rho(M_B), must stay <= 0 up to rounding
    ("C6", "V6"): "abs. excess",
    ("C15", "V8"): "x bar",      # relative error / (FORWARD_ERROR_FACTOR u kappa), kappa the Stein condition
    ("C18", "V4"): "x bar",      # max of (error / its bar, miss rate / its bar)
}
UNIT_NAMES = {"exact": "difference must cancel to exactly 0 (symbolic)",
              "digits": "agreeing significant digits, -log10(rel. error); higher is better",
              "std errors": "Monte Carlo deviation in standard errors",
              "rel. error": "relative error ||a - b|| / ||b||",
              "rate diff": "difference of contraction rates",
              "abs. excess": "absolute excess over the bound",
              "x bar": "worst ratio to the method's own bars",
              "failures": "counterexamples (VF) or failed necessity witnesses (VN); bar 0"}


def unit(claim_id: str, m: dict) -> str:
    """The unit of method result ``m``'s worst error and tolerance (see the module docstring)."""
    if m["method"] in EXACT_METHODS:
        return "exact"
    if m["method"] in ("VF", "VN"):
        return "failures"  # counterexamples found (VF) or witnesses that do not witness (VN), bar 0
    if (claim_id, m["method"]) in UNITS:
        return UNITS[(claim_id, m["method"])]
    if "standard errors" in m.get("detail", ""):
        return "std errors"
    if m["method"] == "V5":
        return "digits"
    if m["method"] == "VS":  # shipped-path methods: every field against its own bar
        return "x bar"
    return "rel. error"


def _digits(x: float) -> str:
    return "all" if x == 0 else f"{-math.log10(x):.1f}"


def values(claim_id: str, m: dict) -> tuple[str, str, str]:
    """(worst error, tolerance, unit) as printed."""
    u = unit(claim_id, m)
    err, tol = m["worst_error"], m["tolerance"]
    if err is None or tol is None:
        return "-", "-", u
    if u == "exact":
        return ("0" if err == 0 else f"{err:g} left"), "0", u
    if u == "digits":
        return _digits(err), f">= {_digits(tol)}", u
    if u == "failures":
        return f"{err:g}", f"<= {tol:g}", u
    fmt = (lambda x: f"{x:.2f}") if u in ("std errors", "x bar") else (lambda x: f"{x:.1e}")
    return fmt(err), f"<= {fmt(tol)}", u


HEADER = f"{'claim  method':<14}{'status':<9}{'worst error':>11}  {'tolerance':<11}{'unit':<12}{'n':>6}{'s':>7}"


def lines(report: dict, markup: bool = False) -> list[str]:
    """The table as lines of at most :data:`WIDTH` characters (rich markup on the status when ``markup``)."""
    s = report["summary"]
    out = [f"a2a-dynamics {report['package_version']} - verify ({report['profile']}): {s['passed']} passed, "
           f"{s['failed']} failed, {s['skipped']} skipped in {s['seconds']:.1f} s"[:WIDTH], HEADER]
    for claim in report["claims"]:
        title = f"{claim['id']:<6} {claim['title']}"
        out.append(title if len(title) <= WIDTH else title[: WIDTH - 3] + "...")
        for m in claim["methods"]:
            err, tol, u = values(claim["id"], m)
            status = f"{m['status']:<9}"
            if markup:
                status = f"[{STYLE[m['status']]}]{m['status']}[/]" + " " * (9 - len(m["status"]))
            secs = "cache" if m.get("cached") else f"{m['seconds']:.2f}"
            out.append(f"{'':7}{m['method']:<7}{status}{err:>11}  {tol:<11}{u:<12}{m['instances']:>6}{secs:>7}")
    used = sorted({unit(c["id"], m) for c in report["claims"] for m in c["methods"]})
    out += ["units:"] + [f"  {u:<12}{UNIT_NAMES[u]}" for u in used]
    return out


def print_table(report: dict, console=None) -> None:
    from rich.console import Console

    console = console or Console(width=max(WIDTH, Console().width))
    for line in lines(report, markup=True):
        console.print(line, highlight=False, soft_wrap=True)
    for claim in report["claims"]:
        for m in claim["methods"]:
            if m["status"] != "passed":
                console.print(f"[{STYLE[m['status']]}]{claim['id']} {m['method']} {m['status']}[/]: {m['detail']}",
                              highlight=False)


def markdown(report: dict) -> str:
    lines_ = ["# a2a-dynamics verification report", "",
              f"Package version {report['package_version']}, profile `{report['profile']}`.", "",
              "| claim | title | method | status | worst error | tolerance | unit | instances | seconds | detail |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for claim in report["claims"]:
        for m in claim["methods"]:
            detail = m["detail"].replace("|", "\\|").replace("\n", " ")
            err, tol, u = values(claim["id"], m)
            lines_.append(f"| {claim['id']} | {claim['title']} | {m['method']} | {m['status']} | {err} | "
                          f"{tol.replace('<', '&lt;').replace('>', '&gt;')} | {u} | {m['instances']} | "
                          f"{m['seconds']:.2f} | {detail} |")
    lines_ += ["", "## Provenance", "",
               "Only the paper's abstract is public: 'paper abstract' means the abstract states the result in "
               "words and the formula is this package's formalisation.", "",
               "| claim | kind | citation | why |", "|---|---|---|---|"]
    for claim in report["claims"]:
        prov = claim.get("provenance") or {}
        justification = prov.get('justification', '-').replace('|', '/')
        justification = justification.replace(chr(92) + 'aadDelta', chr(92) + 'Delta')
        lines_.append(f"| {claim['id']} | {prov.get('kind', '-')} | {prov.get('citation', '-')} | {justification} |")
    s = report["summary"]
    used = sorted({unit(c["id"], m) for c in report["claims"] for m in c["methods"]})
    lines_ += ["", f"**{s['passed']} passed, {s['failed']} failed, {s['skipped']} skipped** in {s['seconds']:.1f} s.",
               "", "Units: " + "; ".join(f"*{u}*: {UNIT_NAMES[u]}" for u in used) + ".", ""]
    return "\n".join(lines_)


def write(report: dict, out_dir) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json", out / "report.md"]
    write_text(paths[0], json.dumps(versioned(report), indent=2, allow_nan=False) + "\n")  # atomic: temp + rename
    write_text(paths[1], markdown(report))
    return paths
