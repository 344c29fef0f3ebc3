"""Run every benchmarks/bench_*.py in one process and print the measured figures side by side."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path


def main() -> int:
    here = Path(__file__).parent
    from numerics.io import progress

    results = {}
    paths = sorted(here.glob("bench_*.py"))
    with progress.bar(len(paths), "make bench") as advance:
        for path in paths:
            advance(0, path.stem)
            spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            print(f"== {path.stem}", flush=True)
            results[path.stem] = module.main()
            advance()
    out = Path("build") / "benchmarks.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
