"""CLI start-up: `a2ad --help`, `--version` and `a2ad predict examples/two_agents.json` against
`python -c "import numpy"` on the same machine (medians of REPEATS interleaved runs; target <= 1.5x)."""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

REPEATS = 7
ROOT = Path(__file__).resolve().parent.parent


def main(repeats: int = REPEATS) -> dict:
    a2ad = str(Path(sys.executable).with_name("a2ad"))
    cmds = {"import numpy": [sys.executable, "-c", "import numpy"],
            "a2ad --help": [a2ad, "--help"],
            "a2ad --version": [a2ad, "--version"],
            "a2ad predict examples/two_agents.json": [a2ad, "predict", str(ROOT / "examples" / "two_agents.json")]}
    times = {k: [] for k in cmds}
    for _ in range(repeats):  # interleaved, so load changes hit every command alike
        for k, cmd in cmds.items():
            t = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True)
            times[k].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    base = med["import numpy"]
    ratios = {k: med[k] / base for k in cmds if k != "import numpy"}
    print(f"CLI start-up (medians of {repeats}), python -c 'import numpy' {1e3 * base:.0f} ms: " +
          "; ".join(f"{k} {1e3 * med[k]:.0f} ms = {r:.2f}x" for k, r in ratios.items()) + " (target <= 1.5x)")
    return {"median_seconds": med, "ratio_to_numpy_import": ratios}


if __name__ == "__main__":
    main()
