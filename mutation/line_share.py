"""Share of the package's computing lines that ``make mutation`` has measured.

``python mutation/line_share.py [--json]``. A *computing line* is a physical line of a ``.py`` file
under ``theory/`` or ``numerics/`` that holds code: not blank, not only a comment, not part of a
docstring (the first string statement of a module, class or function). A continued statement counts
each of its lines. A module is *covered* when docs/mutation.rst's results table has a row for it
(a session ran it to the end with its killer) and ``mutation/targets.toml`` does not mark it
``stale`` (its code changed after the session in a way the session did not measure) or ``partial``
(its session was stopped before every mutant ran); the share is the covered modules' computing lines
over all computing lines. Modules of ``mutation/targets.toml``
without a row are listed as not run (unmeasured: a module not run is not clean).
"""
from __future__ import annotations

import argparse
import ast
import io
import json
import re
import sys
import tokenize
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("theory", "numerics")
NOT_CODE = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENCODING, tokenize.ENDMARKER}


def docstring_lines(tree: ast.AST) -> set[int]:
    """Line numbers covered by the docstrings of the module and of every class and function."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return lines


def computing_lines(path: Path) -> int:
    """How many physical lines of ``path`` hold code (see the module docstring)."""
    text = path.read_text()
    code: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type not in NOT_CODE:
            code.update(range(tok.start[0], tok.end[0] + 1))
    return len(code - docstring_lines(ast.parse(text)))


def table_modules(rst: str) -> list[str]:
    """Modules with a row in docs/mutation.rst's results table (``* - ``module``'' rows), but not a row whose
    next cell says fewer mutants ran than exist (``0 of 313``): a module listed as not run is not covered."""
    rows = re.findall(r"^   \* - ``((?:theory|numerics)/[\w/]+\.py)``.*\n(?:     - (\d+) of (\d+)\b)?", rst, re.M)
    return [m for m, run, total in rows if not run or run == total]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args(argv)
    lines = {str(p.relative_to(ROOT)): computing_lines(p)
             for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}
    targets = tomllib.loads((ROOT / "mutation" / "targets.toml").read_text())["modules"]
    covered = sorted(m for m in set(table_modules((ROOT / "docs" / "mutation.rst").read_text())) & set(lines)
                     if not targets.get(m, {}).get("stale") and not targets.get(m, {}).get("partial"))
    not_run = sorted(m for m in targets if m not in covered and not targets[m].get("partial"))
    total, done = sum(lines.values()), sum(lines[m] for m in covered)
    out = {"computing_lines": total, "covered_lines": done, "share": round(done / total, 4),
           "covered": {m: lines[m] for m in covered}, "not_run": {m: lines.get(m) for m in not_run},
           "outside_targets": sum(n for m, n in lines.items() if m not in targets),
           "partial": {m: [lines[m], t["partial"]] for m, t in targets.items() if t.get("partial")}}
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        print(f"computing lines of {'/, '.join(PACKAGES)}/: {total}; covered by a mutation session: {done} "
              f"({done / total:.1%}) in {len(covered)} modules")
        print(f"in targets.toml, not run ({sum(n or 0 for n in out['not_run'].values())} lines): "
              + ", ".join(f"{m} ({n})" for m, n in out["not_run"].items()))
        print(f"not in targets.toml at all: {out['outside_targets']} lines")
        for m, (n, why) in out["partial"].items():
            print(f"partially run, not counted: {m} ({n} lines): {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
