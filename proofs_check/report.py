"""Report writers: terminal table (rich), JSON and Markdown."""
from __future__ import annotations

import json
from pathlib import Path

from numerics.outputs import write_text

from rich.console import Console
from rich.table import Table

STYLE = {"passed": "green", "failed": "bold red", "skipped": "yellow"}


def _num(x) -> str:
    return "-" if x is None else f"{x:.2e}"


def table(report: dict) -> Table:
    t = Table(title=f"a2a-dynamics {report['package_version']} - verify ({report['profile']})")
    for col in ("claim", "title", "method", "status", "worst error", "tolerance", "n", "seconds"):
        t.add_column(col)
    for claim in report["claims"]:
        for k, m in enumerate(claim["methods"]):
            t.add_row(claim["id"] if k == 0 else "", claim["title"] if k == 0 else "", m["method"],
                      f"[{STYLE[m['status']]}]{m['status']}[/]", _num(m["worst_error"]), _num(m["tolerance"]),
                      str(m["instances"]), f"{m['seconds']:.2f}")
    s = report["summary"]
    t.caption = f"{s['passed']} passed, {s['failed']} failed, {s['skipped']} skipped in {s['seconds']:.1f} s"
    return t


def print_table(report: dict, console: Console | None = None) -> None:
    console = console or Console()
    console.print(table(report))
    for claim in report["claims"]:
        for m in claim["methods"]:
            if m["status"] != "passed":
                console.print(f"[{STYLE[m['status']]}]{claim['id']} {m['method']} {m['status']}[/]: {m['detail']}")


def markdown(report: dict) -> str:
    lines = ["# a2a-dynamics verification report", "",
             f"Package version {report['package_version']}, profile `{report['profile']}`.", "",
             "| claim | title | method | status | worst error | tolerance | instances | seconds | detail |",
             "|---|---|---|---|---|---|---|---|---|"]
    for claim in report["claims"]:
        for m in claim["methods"]:
            detail = m["detail"].replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {claim['id']} | {claim['title']} | {m['method']} | {m['status']} | "
                         f"{_num(m['worst_error'])} | {_num(m['tolerance'])} | {m['instances']} | "
                         f"{m['seconds']:.2f} | {detail} |")
    lines += ["", "## Provenance", "",
              "Only the paper's abstract is public: 'paper abstract' means the abstract states the result in "
              "words and the formula is this package's formalisation.", "",
              "| claim | kind | citation | why |", "|---|---|---|---|"]
    for claim in report["claims"]:
        prov = claim.get("provenance") or {}
        lines.append(f"| {claim['id']} | {prov.get('kind', '-')} | {prov.get('citation', '-')} | "
                     f"{prov.get('justification', '-').replace('|', '/').replace(chr(92) + 'aadDelta', chr(92) + 'Delta')} |")
    s = report["summary"]
    lines += ["", f"**{s['passed']} passed, {s['failed']} failed, {s['skipped']} skipped** in {s['seconds']:.1f} s.", ""]
    return "\n".join(lines)


def write(report: dict, out_dir) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json", out / "report.md"]
    write_text(paths[0], json.dumps(report, indent=2, allow_nan=False) + "\n")  # atomic: temp file + rename
    write_text(paths[1], markdown(report))
    return paths
