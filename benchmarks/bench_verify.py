"""Wall time of `a2ad verify` as a user runs it (a subprocess): quick with a cold and a warm
proof cache, and full; medians over REPEATS runs."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPEATS = 3


def _wall(cmd, env) -> tuple[float, int]:
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    return time.perf_counter() - t, proc.returncode


def main(repeats: int = REPEATS) -> dict:
    a2ad = str(Path(sys.executable).with_name("a2ad"))
    out, codes = {"cold": [], "warm": [], "full": []}, []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(repeats):
            env = dict(os.environ, A2AD_CACHE_DIR=str(Path(tmp) / f"cache{k}"), A2AD_NO_PROGRESS="1")
            for kind in ("cold", "warm"):  # a fresh cache directory, then the same one again
                seconds, code = _wall([a2ad, "verify", "--profile", "quick", "--json"], env)
                out[kind].append(seconds)
                codes.append(code)
        env = dict(os.environ, A2AD_CACHE_DIR=str(Path(tmp) / "cache0"), A2AD_NO_PROGRESS="1")
        seconds, code = _wall([a2ad, "verify", "--profile", "full", "--json"], env)
        out["full"].append(seconds)
        codes.append(code)
    med = {k: statistics.median(v) for k, v in out.items()}
    print(f"a2ad verify --profile quick: cold cache {med['cold']:.1f} s, warm cache {med['warm']:.1f} s "
          f"(medians of {repeats}; target <= 10 s); --profile full (warm) {med['full']:.1f} s (target <= 60 s); "
          f"exit codes {sorted(set(codes))}")
    return {"quick_cold_seconds": out["cold"], "quick_warm_seconds": out["warm"], "full_seconds": out["full"],
            "medians": med, "exit_codes": codes}


if __name__ == "__main__":
    main()
