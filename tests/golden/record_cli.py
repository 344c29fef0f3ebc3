"""Record the golden ``llm-run``/``fit``/``attack`` outputs for configs and transcripts without a ``protocol``.

Run once with the CLI of the commit *before* these commands accepted protocols (516526c), e.g.
``python tests/golden/record_cli.py /path/to/old/checkout/.venv/bin/a2ad``; the test
``tests/test_cli_golden.py`` then requires today's CLI to print (and write) the same bytes.
Every command runs in a scratch directory so the paths it prints are relative.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
TRANSCRIPT = "text_agents.local.jsonl"  # written by the first case, read by the fit cases
# (golden file, arguments; "{examples}" is the examples directory)
CASES = (
    ("text_agents.llm_run.out", ["llm-run", "{examples}/text_agents.json", "--turns", "40", "--out", TRANSCRIPT,
                                 "--backend", "local", "--local-noise", "0.01", "--seed", "3"]),
    ("text_agents.fit_json.out", ["fit", TRANSCRIPT, "--json", "--bootstrap", "40", "--figure", "fit.png"]),
    ("text_agents.fit_text.out", ["fit", TRANSCRIPT, "--bootstrap", "40", "--seed", "2", "--figure", "fit2.png"]),
    ("two_agents.attack_full.out", ["attack", "{examples}/two_agents.json", "--kind", "full"]),
    ("two_agents.attack_rank_one.out", ["attack", "{examples}/two_agents.json", "--kind", "rank-one",
                                        "--attacker", "B"]),
    ("two_agents.attack_steer.out", ["attack", "{examples}/two_agents.json", "--kind", "steer",
                                     "--point", "[0.5, -0.5]", "--seed", "4"]),
)


def run_all(a2ad: list[str], workdir: Path) -> dict[str, bytes]:
    """Every case's stdout, and the transcript the llm-run case wrote, by golden file name."""
    out = {}
    for filename, args in CASES:
        args = [a.replace("{examples}", str(ROOT / "examples")) for a in args]
        out[filename] = subprocess.run([*a2ad, *args], check=True, capture_output=True, cwd=workdir).stdout
    out[TRANSCRIPT] = (workdir / TRANSCRIPT).read_bytes()
    return out


def main(a2ad: str) -> None:
    work = Path(tempfile.mkdtemp())
    try:
        for filename, data in run_all([a2ad], work).items():
            (HERE / filename).write_bytes(data)
            print(f"wrote {filename} ({len(data)} bytes)")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main(sys.argv[1])
