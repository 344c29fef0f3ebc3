"""Record the golden ``predict``/``simulate`` outputs for configs without a ``protocol``.

Run once with the CLI of the commit *before* the protocol compiler was added, e.g.
``python tests/golden/record.py /path/to/old/checkout/.venv/bin/a2ad``; the test
``tests/test_protocol_golden.py`` then requires today's CLI to print the same bytes.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
CONFIGS = ("two_agents", "three_agents")
# (file suffix, arguments after the config path)
COMMANDS = (
    ("predict", ["predict"]),
    ("predict_p40", ["predict", "--precision", "40"]),
    ("simulate_t7", ["simulate", "--turns", "7"]),
)


def cases():
    for name in CONFIGS:
        for suffix, args in COMMANDS:
            yield f"{name}.{suffix}.out", [args[0], str(ROOT / "examples" / f"{name}.json"), *args[1:]]


def main(a2ad: str) -> None:
    for filename, args in cases():
        out = subprocess.run([a2ad, *args], check=True, capture_output=True).stdout
        (HERE / filename).write_bytes(out)
        print(f"wrote {filename} ({len(out)} bytes)")


if __name__ == "__main__":
    main(sys.argv[1])
