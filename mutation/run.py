"""Mutation testing driver for ``make mutation`` (cosmic-ray; see docs/mutation.rst).

For each module of ``mutation/targets.toml``: write a cosmic-ray config whose test command is
``a2ad verify --profile quick`` on the claims the module serves (``mutation/killer.py``), initialise a session,
drop the excluded operators (docs/mutation.rst says why), run every mutant, and write
``build/mutation/summary.json`` with the score and each surviving mutant's diff.

cosmic-ray mutates the files in place and restores them after each mutant: do not edit the
tree while it runs. Usage: ``python mutation/run.py [--modules numerics/dynamics/closed_forms.py ...]``.
"""
from __future__ import annotations

import argparse
import json
import re
import shlex
import sqlite3
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from killer import CPU_LIMIT_MARK  # mutation/ (this script's folder) is on sys.path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "mutation"
# Operators excluded (regexes over cosmic-ray operator names), see docs/mutation.rst:
# bitwise/shift replacements of arithmetic on float arrays only raise TypeError (killed by any run,
# no information); VariableInserter/VariableReplacer are random-name mutations cosmic-ray marks
# experimental; replacing an operator by // or % on float arrays gives the same kind of wrong
# number as replacing it by / (kept: every other pair among + - * / **, and // and % as sources).
EXCLUDE = [
    r"core/ReplaceBinaryOperator_.*_(BitOr|BitAnd|BitXor|LShift|RShift)",
    r"core/ReplaceBinaryOperator_(BitOr|BitAnd|BitXor|LShift|RShift)_.*",
    r"core/VariableInserter", r"core/VariableReplacer",
    r"core/ReplaceBinaryOperator_.*_(FloorDiv|Mod)$",
]
# Per-mutant timeout (s): TIMEOUT_FACTOR times the killer's measured time on the unmutated code
# (the baseline; 2-5 s for most modules, ~40 s for L2 with training on a loaded 2-core machine),
# at least MIN_TIMEOUT; a mutant that makes verify loop hits it.
TIMEOUT_FACTOR = 10
MIN_TIMEOUT = 60.0
# The baseline run itself (unmutated code) may take longer than MIN_TIMEOUT on a loaded machine (59 s
# seen at load 10): it gets this limit, and the mutants' timeout is derived from what it measured.
BASELINE_TIMEOUT = 1800.0
# The killer also stops itself after CPU_LIMIT_FACTOR times the baseline's CPU time (at least
# MIN_CPU_LIMIT): CPU time does not grow with the machine's load, so such a stop (e.g. an endless
# loop) is a time-out on any machine; it is reported apart, not counted as killed, and not retried.
CPU_LIMIT_FACTOR = 10
MIN_CPU_LIMIT = 30.0
# cosmic-ray counts a timeout as a kill (its output is the string "timeout"). Under load a slow but
# passing killer can time out, so a timed-out mutant is not counted as killed: it is run again once
# with RETRY_TIMEOUT_FACTOR times the timeout, and if it times out again it is reported apart.
TIMEOUT_OUTPUT = "timeout"
RETRY_TIMEOUT_FACTOR = 2
# How killer.py reports a failed verify method (a kill by verify, not by the module's tests).
VERIFY_KILL = re.compile(r"^[CLPR]\d+b? V\w+: ", re.M)


def config_text(module: str, claims: list[str], tests: tuple[str, ...] | list[str] = (), timeout: float = MIN_TIMEOUT,
                cpu_limit: float | None = None, tests_first: bool = False) -> str:
    limit = [] if cpu_limit is None else ["--cpu-limit", f"{cpu_limit:.0f}"]
    order = ["--tests-first"] if tests_first else []
    cmd = f"nice -n 19 {shlex.quote(sys.executable)} mutation/killer.py {' '.join([*limit, *order, *claims, *tests])}"
    return "\n".join([
        "[cosmic-ray]",
        f"module-path = {json.dumps(module)}",
        f"timeout = {timeout}",
        "excluded-modules = []",
        f"test-command = {json.dumps(cmd)}",  # split by shlex, no shell: no redirections
        "",
        "[cosmic-ray.distributor]",
        'name = "local"',
        "",
        "[cosmic-ray.filters.operators-filter]",
        f"exclude-operators = {json.dumps(EXCLUDE)}",
        "",
    ])


def changed_lines(diff: str) -> set[int]:
    """Line numbers, in the new file, of the lines a ``git diff -U0`` adds or changes."""
    lines: set[int] = set()
    for m in re.finditer(r"^@@ -\S+ \+(\d+)(?:,(\d+))? @@", diff, re.M):
        start, count = int(m.group(1)), int(m.group(2) or 1)
        lines.update(range(start, start + count))
    return lines


def diff_since(commit: str, module: str) -> str:
    """``git diff -U0 COMMIT -- module`` (to the working tree); SystemExit naming a bad commit."""
    out = subprocess.run(["git", "diff", "-U0", commit, "--", module], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"--since {commit}: git diff failed: {out.stderr.strip()}")
    return out.stdout


def keep_only_lines(session: Path, lines: set[int]) -> int:
    """Drop the session's mutants outside ``lines`` (before any ran); return how many are kept."""
    with sqlite3.connect(session) as db:
        drop = [(job,) for job, row in db.execute("SELECT job_id, start_pos_row FROM mutation_specs")
                if row not in lines]
        for table in ("work_results", "mutation_specs", "work_items"):
            db.executemany(f"DELETE FROM {table} WHERE job_id = ?", drop)
        return db.execute("SELECT count(*) FROM work_items").fetchone()[0]


def run(cmd: list[str]) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True)


def tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def forget_survivors(session: Path) -> None:
    """Drop the results of surviving mutants so that ``cosmic-ray exec`` runs them again."""
    import sqlite3

    with sqlite3.connect(session) as db:
        db.execute("DELETE FROM work_results WHERE lower(test_outcome) = 'survived'")


def children_cpu() -> float:
    """CPU seconds used so far by this process's finished (waited-for) descendants."""
    import resource

    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def forget_timeouts(session: Path) -> int:
    """Drop the results of wall-clock timed-out mutants (cosmic-ray stored them as killed); return how
    many. Those stopped by the CPU limit are kept: CPU time does not depend on the load."""
    import sqlite3

    with sqlite3.connect(session) as db:
        cur = db.execute("DELETE FROM work_results WHERE lower(test_outcome) = 'killed' AND output = ?",
                         (TIMEOUT_OUTPUT,))
        return cur.rowcount


def timed_out(result: dict) -> bool:
    """A run that counts as a time-out, not a kill: cosmic-ray's wall-clock time-out, the killer's CPU limit, or a
    kill with no output at all (a killer stopped from outside, e.g. an endless loop in a verify worker process)."""
    output = result.get("output") or ""
    return (output == TIMEOUT_OUTPUT or CPU_LIMIT_MARK in output
            or (str(result.get("test_outcome")).lower() == "killed" and not output.strip()))


def results(session: Path) -> tuple[list[dict], int]:
    """One row per mutant run, and the number of mutants not run yet (one ``cosmic-ray dump``)."""
    out = subprocess.run([tool("cosmic-ray"), "dump", str(session)], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    rows, pending = [], 0
    for line in out.splitlines():
        item, result = json.loads(line)
        if result is None:
            pending += 1
            continue
        m = item["mutations"][0]
        rows.append({"module": m["module_path"], "operator": m["operator_name"], "occurrence": m["occurrence"],
                     "line": m["start_pos"][0], "outcome": result.get("test_outcome"),
                     "worker_outcome": result.get("worker_outcome"), "diff": result.get("diff", ""),
                     "timeout": timed_out(result),
                     # killer.py prints "C2 V4: <detail>" when a verify method fails; else a test killed it
                     "by_verify": bool(VERIFY_KILL.search(result.get("output") or ""))})
    return rows, pending


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", nargs="*", help="only these modules (paths as in targets.toml)")
    parser.add_argument("--fresh", action="store_true", help="start new sessions (default: resume)")
    parser.add_argument("--report-only", action="store_true", help="summarise existing sessions, run nothing")
    parser.add_argument("--retry-survivors", action="store_true",
                        help="run the survivors again (after a killer was strengthened)")
    parser.add_argument("--since", metavar="COMMIT",
                        help="only the mutants on lines changed since COMMIT (a module changed after its "
                             "session), in a session of their own: <module>-since-<COMMIT>.sqlite")
    args = parser.parse_args(argv)
    targets = tomllib.loads((ROOT / "mutation" / "targets.toml").read_text())["modules"]
    modules = args.modules or list(targets)
    OUT.mkdir(parents=True, exist_ok=True)
    summary = {}
    for module in modules:
        name = module.replace("/", "_").removesuffix(".py") + (f"-since-{args.since}" if args.since else "")
        cfg, session = OUT / f"{name}.toml", OUT / f"{name}.sqlite"
        if targets[module].get("staged"):  # no method executes it: every mutant would survive
            print(f"{module}: staged, not run ({targets[module]['staged']})", flush=True)
            summary[module] = {"staged": targets[module]["staged"]}
            continue
        spec = targets[module]["claims"], targets[module].get("tests", [])
        first = bool(targets[module].get("tests_first"))  # the same kills, cheaper when the tests kill most
        clock = OUT / f"{name}.seconds"  # wall seconds of the sessions so far (baseline, exec, retry)
        # the baseline's own limit: generous
        cfg.write_text(config_text(module, *spec, BASELINE_TIMEOUT, tests_first=first))
        if args.report_only and not session.exists():
            continue
        if not args.report_only:
            if args.fresh or not session.exists():
                session.unlink(missing_ok=True)
                run([tool("cosmic-ray"), "init", str(cfg), str(session)])
                run([tool("cr-filter-operators"), str(session), str(cfg)])
                if args.since:
                    kept = keep_only_lines(session, changed_lines(diff_since(args.since, module)))
                    print(f"{kept} mutants on the lines of {module} changed since {args.since}", flush=True)
            began = time.perf_counter()
            # baseline: cosmic-ray runs the exact test command on the unmutated code; it must pass,
            # else every mutant would count as killed
            start, cpu = time.perf_counter(), children_cpu()
            base = subprocess.run([tool("cosmic-ray"), "baseline", str(cfg)], cwd=ROOT, capture_output=True, text=True)
            if base.returncode != 0:
                print(base.stdout + base.stderr)
                raise SystemExit(f"baseline failed for {module}: the killer does not pass on unmutated code")
            timeout = max(MIN_TIMEOUT, TIMEOUT_FACTOR * (time.perf_counter() - start))
            cpu_limit = max(MIN_CPU_LIMIT, CPU_LIMIT_FACTOR * (children_cpu() - cpu))
            print(f"baseline passed in {time.perf_counter() - start:.1f} s ({children_cpu() - cpu:.1f} s CPU): "
                  f"timeout {timeout:.0f} s, CPU limit {cpu_limit:.0f} s", flush=True)
            cfg.write_text(config_text(module, *spec, timeout, cpu_limit, first))
            if args.retry_survivors:
                forget_survivors(session)
            run([tool("cosmic-ray"), "exec", str(cfg), str(session)])
            if forget_timeouts(session):  # once more, with a longer timeout, before counting
                slow = OUT / f"{name}-retry.toml"
                slow.write_text(config_text(module, *spec, timeout * RETRY_TIMEOUT_FACTOR, cpu_limit, first))
                run([tool("cosmic-ray"), "exec", str(slow), str(session)])
            spent = time.perf_counter() - began + (float(clock.read_text()) if clock.exists() else 0.0)
            clock.write_text(f"{spent:.0f}\n")
        rows, pending = results(session)
        rows = [r for r in rows if r["worker_outcome"] != "skipped"]
        timeouts = [r for r in rows if r["outcome"] == "killed" and r["timeout"]]
        killed = sum(r["outcome"] == "killed" and not r["timeout"] for r in rows)
        by_verify = sum(r["outcome"] == "killed" and not r["timeout"] and r["by_verify"] for r in rows)
        incompetent = sum(r["outcome"] == "incompetent" for r in rows)
        survivors = [r for r in rows if r["outcome"] == "survived"]
        summary[module] = {"claims": targets[module]["claims"], "mutants": len(rows), "killed": killed,
                           "killed_by_verify": by_verify,
                           "timed_out": len(timeouts), "incompetent": incompetent, "survived": len(survivors),
                           "not_run": pending, "survivors": survivors, "timeouts": timeouts,
                           "seconds": float(clock.read_text()) if clock.exists() else None}
        print(f"{module}: {killed} killed ({by_verify} by verify), {len(survivors)} survived, "
              f"{len(timeouts)} timed out (CPU limit, or "
              f"wall clock twice: not counted as killed), {incompetent} incompetent of {len(rows)} run; "
              f"{pending} not run", flush=True)
    (OUT / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    ran = [s for s in summary.values() if "staged" not in s]
    total = sum(s["mutants"] - s["incompetent"] for s in ran)
    killed = sum(s["killed"] for s in ran)
    timed_out = sum(s["timed_out"] for s in ran)
    print(f"mutation score: {killed}/{total} killed ({killed / max(total, 1):.1%}), {timed_out} timed out "
          f"(reported apart); survivors in {OUT / 'summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
