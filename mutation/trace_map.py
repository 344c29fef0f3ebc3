"""Which verify methods execute which module: ``python mutation/trace_map.py [CLAIM ...] > map.json``.

Runs every method of the given claims (default: all) once, quick profile, no proof cache, with a
call-event tracer (``sys.setprofile``) that records the source files under theory/ and numerics/
whose functions the method calls (not the module bodies an import runs), and the method's wall
time. The output (JSON: ``{"C2 V4": {"seconds": ..., "status": ..., "files": [...]}}``) is how
``mutation/targets.toml`` picks, for a module, the methods that can kill its mutants: a method
that never calls into a module cannot.
Module-level code (constants, decorators) runs at import, whichever method imports first; the map
lists the functions called, so a module every method only imports is listed for none.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str]) -> int:
    os.environ["A2AD_CACHE_DIR"] = tempfile.mkdtemp(prefix="a2ad-trace-cache-")
    from proofs_check.claims import all_claims, select
    from proofs_check.verification import registry, runner

    profile = registry.Profile.named("quick")
    claims = select(argv) if argv else all_claims()
    roots = (str(ROOT / "theory"), str(ROOT / "numerics"))
    out: dict[str, dict] = {}
    for claim in claims:
        for name, fn in claim.methods.items():
            seen: set[str] = set()

            def hook(frame, event, arg, seen=seen):
                if event == "call" and frame.f_code.co_name != "<module>":  # not an import
                    f = frame.f_code.co_filename
                    if f.startswith(roots):
                        seen.add(f)

            sys.setprofile(hook)
            threading.setprofile(hook)
            start = time.perf_counter()
            result = runner.run_method(name, fn, profile)
            seconds = time.perf_counter() - start
            sys.setprofile(None)
            threading.setprofile(None)  # type: ignore[arg-type]
            out[f"{claim.id} {name}"] = {"seconds": round(seconds, 2), "status": result["status"],
                                         "files": sorted(str(Path(f).relative_to(ROOT)) for f in seen)}
            print(f"{claim.id} {name} {result['status']} {seconds:.1f}s", file=sys.stderr, flush=True)
    json.dump(out, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
