"""CLI start-up: `a2ad --help`, `--version` and `a2ad predict examples/two_agents.json` against
`python -c "import numpy"` on the same machine (medians of REPEATS interleaved runs; target <= 1.5x)."""
from __future__ import annotations

import os
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
    # a2ad sets OPENBLAS_NUM_THREADS=1 before numpy loads (proofs_check/cli/main.py), which also makes
    # numpy's own import cheaper; the second baseline shows the ratio without that advantage.
    one_thread = "import numpy, 1 BLAS thread"
    cmds[one_thread] = cmds["import numpy"]
    envs = {one_thread: dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")}
    times = {k: [] for k in cmds}
    for _ in range(repeats):  # interleaved, so load changes hit every command alike
        for k, cmd in cmds.items():
            t = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True, env=envs.get(k))
            times[k].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    base, base1 = med["import numpy"], med[one_thread]
    names = [k for k in cmds if not k.startswith("import numpy")]
    ratios = {k: med[k] / base for k in names}
    ratios_one_thread = {k: med[k] / base1 for k in names}
    print(f"CLI start-up (medians of {repeats}), python -c 'import numpy' {1e3 * base:.0f} ms "
          f"({1e3 * base1:.0f} ms with one BLAS thread): " +
          "; ".join(f"{k} {1e3 * med[k]:.0f} ms = {ratios[k]:.2f}x ({ratios_one_thread[k]:.2f}x)" for k in names) +
          " (target <= 1.5x)")
    return {"median_seconds": med, "ratio_to_numpy_import": ratios,
            "ratio_to_one_thread_numpy_import": ratios_one_thread}


if __name__ == "__main__":
    main()
