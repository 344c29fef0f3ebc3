"""Replay recorded mutants on the current code: ``python mutation/replay.py SESSION.sqlite``.

Takes the surviving (and, with ``--timeouts``, the timed-out) mutants of a cosmic-ray session (e.g.
``build/mutation/theory_lsa.sqlite``), applies each one's diff to this tree, runs the module's
killer (``mutation/targets.toml``) and restores the file. This is how a survivor is shown killed
after a check was strengthened, also when the module itself changed (cosmic-ray's own rerun needs
the unchanged module: it finds a mutant by its position). A diff whose context moved is applied by
the text of its changed lines when that text occurs exactly once in the module; a diff that applies
neither way (its line was changed or removed) is reported as such, never as killed.

``--not-by-verify`` also replays the mutants the session counted as killed by a test rather than by a
verify method (the killer's output names no failed method): after checks moved from tests into
verify methods, this shows which of those kills verify now makes itself. A kill is reported as
``killed by verify`` when the killer names a failed method, ``killed by a test`` otherwise.

Prints one line per mutant and ends with the counts; exit status 0. Do not edit the tree while it runs.
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path

from killer import CPU_LIMIT_MARK  # mutation/ (this script's folder) is on sys.path
from run import VERIFY_KILL

ROOT = Path(__file__).resolve().parent.parent
# CPU seconds a replayed killer may use before it counts as timed out (not as killed): the killers
# use 2-8 s of CPU on unmutated code; the run.py limit is 10 times the baseline.
CPU_LIMIT = 90


def recorded(session: Path, timeouts: bool, not_by_verify: bool = False) -> list[str]:
    """The diffs of the session's survivors (and timed-out mutants, with ``timeouts``; and the mutants
    killed by a test rather than a verify method, with ``not_by_verify``)."""
    with sqlite3.connect(session) as db:
        rows = db.execute("SELECT test_outcome, output, diff FROM work_results").fetchall()
    out = []
    for outcome, output, diff in rows:
        outcome = (outcome or "").lower()
        timed_out = outcome == "killed" and (output == "timeout" or CPU_LIMIT_MARK in (output or ""))
        by_test = outcome == "killed" and not timed_out and not VERIFY_KILL.search(output or "")
        if outcome == "survived" or (timeouts and timed_out) or (not_by_verify and by_test):
            out.append(diff)
    return out


def patch_of(diff: str) -> tuple[str, str]:
    """(module path, unified diff for ``patch -p1``) from a cosmic-ray diff."""
    lines = diff.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("--- a/"))
    return lines[start][len("--- a/"):], "\n".join(lines[start:]) + "\n"


def apply_by_text(text: str, patch: str) -> str | None:
    """``text`` with the patch's removed lines replaced by its added lines, found by their text
    (whole lines, exactly one occurrence) rather than by position; None when that is ambiguous or
    the lines are gone. For a diff whose neighbouring lines changed since the session ran."""
    body = [line for line in patch.splitlines()[2:] if line[:1] in "+-"]
    old = [line[1:] for line in body if line[0] == "-"]
    new = [line[1:] for line in body if line[0] == "+"]
    lines = text.splitlines()
    at = [k for k in range(len(lines) - len(old) + 1) if lines[k:k + len(old)] == old]
    if not old or len(at) != 1:
        return None
    k = at[0]
    return "\n".join(lines[:k] + new + lines[k + len(old):]) + "\n"


def killer_args(module: str) -> list[str]:
    spec = tomllib.loads((ROOT / "mutation" / "targets.toml").read_text())["modules"][module]
    return ["--cpu-limit", str(CPU_LIMIT), *spec["claims"], *spec.get("tests", [])]


def replay(diff: str) -> tuple[str, str]:
    """(outcome, changed line) for one mutant: killed, survived, timed out or does not apply."""
    module, patch = patch_of(diff)
    changed = " | ".join(line for line in patch.splitlines()[2:] if line[:1] in "+-")
    path = ROOT / module
    original = path.read_bytes()
    applied = subprocess.run(["patch", "-p1", "--forward", "--silent"], input=patch, text=True,
                             cwd=ROOT, capture_output=True)
    if applied.returncode != 0:
        path.write_bytes(original)
        by_text = apply_by_text(original.decode(), patch)
        if by_text is None:
            return "does not apply", changed
        path.write_text(by_text)
    try:
        run = subprocess.run([sys.executable, str(ROOT / "mutation" / "killer.py"), *killer_args(module)],
                             cwd=ROOT, capture_output=True, text=True)
    finally:
        path.write_bytes(original)
        for leftover in (path.with_suffix(".py.orig"), path.with_suffix(".py.rej")):
            leftover.unlink(missing_ok=True)
    if CPU_LIMIT_MARK in run.stdout:
        return "timed out", changed
    if run.returncode == 0:
        return "survived", changed
    return ("killed by verify" if VERIFY_KILL.search(run.stdout) else "killed by a test"), changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("session", type=Path)
    parser.add_argument("--timeouts", action="store_true", help="replay the timed-out mutants too")
    parser.add_argument("--not-by-verify", action="store_true",
                        help="replay the mutants a test (not a verify method) killed too")
    args = parser.parse_args(argv)
    counts: dict[str, int] = {}
    for diff in recorded(args.session, args.timeouts, args.not_by_verify):
        outcome, changed = replay(diff)
        counts[outcome] = counts.get(outcome, 0) + 1
        print(json.dumps({"outcome": outcome, "mutant": changed}), flush=True)
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
