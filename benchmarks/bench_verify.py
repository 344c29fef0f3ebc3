"""Wall time of `a2ad verify --profile quick` (a subprocess, as a user runs it)."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def main() -> dict:
    a2ad = Path(sys.executable).with_name("a2ad")
    cmd = [str(a2ad), "verify", "--profile", "quick", "--json"]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    print(f"a2ad verify --profile quick: {seconds:.1f} s wall time (exit {proc.returncode}; target < 30 s, aim 10 s)")
    return {"seconds": seconds, "exit_code": proc.returncode}


if __name__ == "__main__":
    main()
