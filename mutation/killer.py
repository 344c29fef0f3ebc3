"""The mutation killer: ``a2ad verify --profile quick`` restricted to the claims (and, for speed,
the methods) that reach one module. Exit status 1 when any selected method fails, as ``a2ad verify``.

Usage: ``python mutation/killer.py C1:V4,V6 C2:V4 [tests/test_x.py ...]`` (a claim without ``:methods``
runs all its methods, in the order given; the killer stops at the first failed method). Arguments
ending in ``.py`` are pytest files run after verify passed: the input contracts (InputError on bad
input) that verify, which checks mathematics, never exercises.
Methods left out are those that never execute the mutated module (e.g. the symbolic V1/V2 for a
float64 module), so they cannot kill its mutants; docs/mutation.rst lists the map.

The proof cache is never read: methods run through ``runner.run_method``, which has no cache, and
``A2AD_CACHE_DIR`` points at a fresh empty directory for this run (removed at exit), so that nothing
the tests run (e.g. an ``a2ad verify`` subprocess) reads a result stored by an earlier run, or leaves
one that a mutant produced for a later run to read.

``--tests-first`` (after ``--cpu-limit``, if any): the pytest files run before the verify methods (targets.toml's
``tests_first``): the same mutants are killed, cheaper for a module whose tests kill most of them.

``--cpu-limit SECONDS`` (first argument): a run that uses more CPU time than this (e.g. a mutant
that turns a loop into an endless one) stops with exit status 1 and prints CPU_LIMIT_MARK, so that
``mutation/run.py`` reports it apart as a time-out, never as a kill. CPU time, unlike wall time,
does not grow when other jobs load the machine.
"""
from __future__ import annotations

import sys
from pathlib import Path

# Import the tree this file sits in (the one cosmic-ray mutates), not an installed copy.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


CPU_LIMIT_MARK = "KILLER-CPU-LIMIT-EXCEEDED"


def _limit_cpu(seconds: float) -> None:
    import os
    import resource
    import signal

    def stop(signum, frame):
        print(CPU_LIMIT_MARK, flush=True)
        os._exit(1)

    signal.signal(signal.SIGXCPU, stop)
    used = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(used.ru_utime + used.ru_stime + seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.getrlimit(resource.RLIMIT_CPU)[1]))


def main(argv: list[str]) -> int:
    import os
    import tempfile

    if argv[:1] == ["--cpu-limit"]:
        _limit_cpu(float(argv[1]))
        argv = argv[2:]
    tests_first = argv[:1] == ["--tests-first"]
    argv = argv[1:] if tests_first else argv

    with tempfile.TemporaryDirectory(prefix="a2ad-killer-cache-") as cache:
        os.environ["A2AD_CACHE_DIR"] = cache
        return _main(argv, tests_first)


def _main(argv: list[str], tests_first: bool = False) -> int:
    from proofs_check.claims import select
    from proofs_check.verification import registry, runner

    if not argv:
        print("usage: killer.py CLAIM[:METHODS] ...", file=sys.stderr)
        return 2

    profile = registry.Profile.named("quick")
    tests = [a for a in argv if a.endswith(".py")]
    if tests_first and _pytest(tests):
        return 1
    for spec in (a for a in argv if not a.endswith(".py")):
        cid, _, methods = spec.partition(":")
        claim = select([cid])[0]
        names = methods.split(",") if methods else list(claim.methods)
        for name in names:
            result = runner.run_method(name, claim.methods[name], profile)
            if result["status"] != "passed":
                # one failed (or skipped: the baseline ran it) method decides the outcome, killed:
                # the rest would only cost time
                print(f"{cid} {name}: {result['detail'][:200]}")
                return 1
    return 0 if tests_first else _pytest(tests)


def _pytest(tests: list[str]) -> int:
    """1 when a test of ``tests`` fails (pytest in this process, from the tree's root), else 0."""
    import os

    if not tests:
        return 0
    import pytest
    os.chdir(Path(__file__).resolve().parent.parent)
    return 1 if pytest.main(["-q", "-x", "-p", "no:cacheprovider", *tests]) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
