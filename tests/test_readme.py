"""The README works as written: its Python block and its command lines run from a fresh directory
holding the examples, its two commands are make targets, every link points at a file of the
repository, and it stays a two-minute read. ``docs/theory.rst`` reads in the repository: it is
plain reStructuredText and equals what ``docs/generate.py`` produces now; the Python in
``docs/getting_started.rst`` runs too."""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from docutils.core import publish_doctree
from docutils.utils import Reporter

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"
MAX_README_LINES = 80  # about two minutes of reading; details belong in docs/
CLI_PREFIX = ".venv/bin/a2ad "
TIMEOUT = 600  # seconds per command; verify --claims C2,C3 on a cold cache is the slowest


def fenced(text: str, language: str) -> list[str]:
    """The bodies of the Markdown code blocks opened with ```language (exactly)."""
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.S | re.M)


def rst_python_blocks(text: str) -> list[str]:
    """The bodies of ``.. code-block:: python`` directives, dedented."""
    blocks = []
    for match in re.finditer(r"^\.\. code-block:: python\n\n((?:(?: {4}.*)?\n)+)", text, flags=re.M):
        blocks.append("\n".join(line[4:] for line in match.group(1).splitlines()))
    return blocks


def cli_lines(text: str) -> list[list[str]]:
    """Every README line that runs the CLI, as arguments (the comment after ``#`` dropped)."""
    return [shlex.split(line[len(CLI_PREFIX):], comments=True)
            for block in fenced(text, "") for line in block.splitlines() if line.startswith(CLI_PREFIX)]


@pytest.fixture
def fresh(tmp_path) -> Path:
    """A working directory like a clone's root: the examples, nothing built yet."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return tmp_path


def _env(tmp: Path) -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT), A2AD_NO_PROGRESS="1", A2AD_CACHE_DIR=str(tmp / "cache"),
                MPLBACKEND="Agg")


def _run(args, cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, env=_env(cwd), capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, f"{args} exited {proc.returncode}: {proc.stderr[-2000:]}"
    return proc


def test_readme_python_block_runs(fresh):
    (block,) = fenced(README, "python")
    out = _run([sys.executable, "-c", block], fresh).stdout
    assert "contraction_rate" in out  # the last line prints the JSON document


def _option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def promised(args: list[str], out: str, cwd: Path) -> None:
    """What a README line promises beyond printing something (raises AssertionError otherwise)."""
    if args[0] == "predict":
        doc = json.loads(out)
        assert doc["converges"] is True and 0 <= doc["contraction_rate"] < 1
        if "random" in args[1]:  # a random protocol: the mean's rate and each agent's covariance too
            assert "mean_rate" in doc and all(a["covariance"] is not None for a in doc["agents"].values())
    if args[0] == "simulate":
        doc = json.loads(out)
        turns = int(_option(args, "--turns"))
        if "--seed" in args:  # a random protocol: one drawn alternative per round, from that seed
            assert doc["seed"] == int(_option(args, "--seed")) and len(doc["schedule"]) == turns
    if args[0] == "check":
        assert out.startswith(f"{args[1]}: applies"), out[:200]
    if args[0] == "derive" and "--out" in args:
        tex = (cwd / _option(args, "--out")).read_text()
        assert "\\begin{document}" in tex and "\\end{document}" in tex
    if "--figure-format" in args:
        fmt = _option(args, "--figure-format")
        figures = [f for f in cwd.rglob(f"*.{fmt}") if f.is_file()]
        assert figures, f"no .{fmt} figure written"
        if fmt == "pdf":
            assert all(f.read_bytes()[:5] == b"%PDF-" for f in figures)


@pytest.mark.parametrize("args", cli_lines(README), ids=lambda a: " ".join(a[:2]))
def test_readme_cli_line_runs(fresh, args):
    out = _run([sys.executable, "-m", "proofs_check.cli", *args], fresh).stdout
    assert out.strip()
    promised(args, out, fresh)


def test_the_promises_check_has_power(tmp_path):
    """Planted: a schedule one round short, a check that does not apply, a 'PDF' that is a PNG."""
    sim = {"seed": 1, "schedule": [0] * 19}
    with pytest.raises(AssertionError):
        promised(["simulate", "examples/random_group_chat.json", "--turns", "20", "--seed", "1"],
                 json.dumps(sim), tmp_path)
    with pytest.raises(AssertionError):
        promised(["check", "C3", "examples/two_agents.json"], "C3: does not apply (rate)", tmp_path)
    (tmp_path / "fig.pdf").write_bytes(b"\x89PNG\r\n")
    with pytest.raises(AssertionError):
        promised(["experiment", "helper", "--figure-format", "pdf"], "written", tmp_path)
    with pytest.raises(AssertionError):  # no figure at all
        promised(["experiment", "helper", "--figure-format", "svg"], "written", tmp_path)


def test_readme_shows_the_cli_lines_and_the_two_commands_are_make_targets():
    shown = [" ".join(args[:2]) for args in cli_lines(README)]
    assert len(shown) == 10
    # the capabilities the README promises a line for (issues 23 and 26)
    for needle in ("check C3", "predict examples/random_group_chat.json", "simulate examples/random_group_chat.json",
                   "derive --protocol"):
        assert needle in shown, needle
    assert any("--figure-format" in args for args in cli_lines(README))
    commands = [line.split("#")[0].strip() for block in fenced(README, "") for line in block.splitlines()
                if line.startswith("make ")]
    assert commands == ["make verify", "make test"]
    targets = set(re.findall(r"^([a-z]+):", (ROOT / "Makefile").read_text(), flags=re.M))
    assert {"verify", "test"} <= targets


def test_readme_links_point_at_files_and_it_stays_short():
    links = [target for target in re.findall(r"\]\(([^)]+)\)", README) if "://" not in target]
    assert links and [t for t in links if not (ROOT / t).is_file()] == []
    assert len(README.splitlines()) <= MAX_README_LINES


def test_readme_names_the_paper_and_its_provenance():
    for needle in ("arXiv:2511.08710", "Cosentino", "Shekkizhar", "Earle", "abstract"):
        assert needle in README


@pytest.mark.parametrize("block", rst_python_blocks((DOCS / "getting_started.rst").read_text()))
def test_getting_started_python_runs(fresh, block):
    _run([sys.executable, "-c", block], fresh)


def _generate():
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_theory_page_is_what_generate_writes_now():
    assert (DOCS / "theory.rst").read_text() == _generate().theory_page(), \
        "docs/theory.rst is stale: run docs/generate.py --theory and commit it"


def test_theory_page_check_catches_a_changed_statement(monkeypatch):
    """Power: the page follows the statements, so an edited statement makes the committed page stale."""
    generate = _generate()
    real = generate.statements.of

    def edited(claim_id):
        st = real(claim_id)
        return dataclasses.replace(st, statement=st.statement + " (edited)") if claim_id == "C3" else st

    monkeypatch.setattr(generate.statements, "of", edited)
    assert (DOCS / "theory.rst").read_text() != generate.theory_page()


def _docutils_messages(rst: str) -> list[str]:
    doc = publish_doctree(rst, settings_overrides={"report_level": Reporter.INFO_LEVEL, "halt_level": 5,
                                                   "warning_stream": False})
    return [node.astext() for node in doc.findall() if node.tagname == "system_message"
            and int(node["level"]) >= Reporter.WARNING_LEVEL]


def test_theory_page_is_plain_restructuredtext():
    """It renders without Sphinx (as a repository viewer shows it): no unknown role or directive."""
    assert _docutils_messages((DOCS / "theory.rst").read_text()) == []


def test_plain_rst_check_catches_a_sphinx_role():
    assert _docutils_messages("Details: :doc:`claims/claim_C3`.\n")
