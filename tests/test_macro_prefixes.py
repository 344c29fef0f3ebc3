"""Macro files a paper can ``\\input`` side by side (issue 23, "Macros"): ``derive --format macros
--prefix NAME`` starts every macro a file defines with NAME (symbol macros and a protocol's formal
inverses included), protocol files carry the formulas file's header comments, bad prefixes exit 2,
and the verification run leaves nothing in the working directory but the file asked for."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from proofs_check.cli import main as cli
from proofs_check.report import latex
from test_latex import need_pdflatex

ROOT = Path(__file__).resolve().parents[1]
RING, PAIR = ROOT / "examples" / "protocol_ring.json", ROOT / "examples" / "protocol_simultaneous.json"
DEFINED = re.compile(r"^\\(?:newcommand|providecommand)\{\\([A-Za-z]+)\}", re.M)


def defined(source: str) -> list[str]:
    """Every macro name a file defines (read from its text, not from the code that wrote it)."""
    return DEFINED.findall(source)


def foreign(source: str, prefix: str) -> list[str]:
    """Macros the file defines that do not start with ``prefix``: each one could clash with another file."""
    return [n for n in defined(source) if not n.startswith(prefix)]


def protocol_macros(tmp_path: Path, config: Path, name: str, *prefix: str) -> str:
    out = tmp_path / name
    assert cli.main(["derive", "--protocol", str(config), "--format", "macros", "--out", str(out),
                     *(("--prefix", *prefix) if prefix else ())]) == 0
    return out.read_text()


def paper(tmp_path: Path, files: list[str], sources: list[str]) -> Path:
    """A minimal amsmath paper that inputs ``files`` and uses every macro each defines."""
    uses = "\n".join(f"\\[\\{n}\\]" for s in sources for n in defined(s))
    tex = tmp_path / "paper.tex"
    tex.write_text("\\documentclass{article}\\usepackage{amsmath,amssymb}\n"
                   + "".join(f"\\input{{{f}}}\n" for f in files)
                   + f"\\begin{{document}}\n{uses}\n\\end{{document}}\n")
    return tex


def test_default_prefix_from_the_config_name_and_every_macro_carries_it(tmp_path, capsys):
    source = protocol_macros(tmp_path, RING, "ring.tex")
    # the documented example: protocol_ring.json -> aadProtocolRing
    assert defined(source) and foreign(source, "aadProtocolRing") == []
    assert "\\aadProtocolRingRate" in source and "\\aadProtocolRingFixedPointA" in source
    # each Q_k (the ring's canonical residuals use one per agent) is defined as a prefixed symbol with its
    # definition, never used bare
    q_lines = [line for line in source.splitlines() if "\\mathcal{Q}" in line]
    words = ["One", "Two", "Three", "Four"]
    assert q_lines == [f"\\newcommand{{\\aadProtocolRingQ{w}}}{{\\mathcal{{Q}}_{{{k + 1}}}}}"
                       for k, w in enumerate(words)]
    assert "\\newcommand{\\aadProtocolRingQOneDefinition}{\\aadProtocolRingQOne = \\left(" in source


def test_the_prefix_check_has_power():
    planted = "\\newcommand{\\StarRate}{\\rho}\n\\newcommand{\\aadProtocolRate}{\\rho}\n"  # one unprefixed
    assert foreign(planted, "Star") == ["aadProtocolRate"]


def test_protocol_file_header_matches_the_formulas_file(tmp_path, capsys):
    from proofs_check import __version__
    from theory.protocol import report

    source = protocol_macros(tmp_path, RING, "ring.tex", "Ring")
    head = "\n".join(line for line in source.splitlines() if line.startswith("%"))
    assert f"a2a-dynamics {__version__}" in head
    assert "provenance: extension in this package" in head
    assert "hypotheses: Q1 invertible" in head  # the ring's one hypothesis (its text doc says the same)
    fp = re.search(r"fingerprint ([0-9a-f]{16})", head)
    assert fp is not None
    # the fingerprint tracks the formulas: a changed residual changes it
    from numerics import api
    doc = api.derive_protocol(str(RING)).to_dict()
    assert report.fingerprint(doc) == fp.group(1)
    doc["residuals"]["A"] = {**doc["residuals"]["A"], "latex": doc["residuals"]["A"]["latex"].replace("+", "-", 1)}
    assert report.fingerprint(doc) != fp.group(1)


def test_main_file_prefix_renames_the_symbol_macros(tmp_path, capsys):
    out = tmp_path / "m.tex"
    assert cli.main(["derive", "--format", "macros", "--claims", "C3", "--prefix", "paper", "--out", str(out)]) == 0
    source = out.read_text()
    assert foreign(source, "paper") == [] and "paperDelta" in defined(source)
    assert "\\aad" not in source.replace("\\aad-", "")  # no default-prefixed name left, used or defined


@pytest.mark.parametrize("prefix", ["a1", "a_b", "ab c", "", "\u00e9t\u00e9", "x\\y"])
@pytest.mark.parametrize("protocol", [False, True])
def test_a_prefix_that_is_not_letters_exits_2_naming_it(tmp_path, capsys, prefix, protocol):
    args = ["derive", "--format", "macros", "--prefix", prefix, "--out", str(tmp_path / "m.tex")]
    assert cli.main(args + (["--protocol", str(RING)] if protocol else [])) == 2
    err = capsys.readouterr().err
    assert "--prefix" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.tex").exists()


def test_prefix_outside_macros_exits_2(capsys):
    assert cli.main(["derive", "--format", "text", "--claims", "C2", "--prefix", "abc"]) == 2
    assert "--prefix" in capsys.readouterr().err


def test_three_files_input_together_compile_and_a_clash_does_not(tmp_path, capsys):
    need_pdflatex()
    main = tmp_path / "a2ad-formulas.tex"
    assert cli.main(["derive", "--format", "macros", "--out", str(main)]) == 0
    sources = [main.read_text(), protocol_macros(tmp_path, RING, "ring.tex"),
               protocol_macros(tmp_path, PAIR, "pair.tex", "Pair")]
    assert foreign(sources[0], "aad") == [] and foreign(sources[2], "Pair") == []
    tex = paper(tmp_path, ["a2ad-formulas.tex", "ring.tex", "pair.tex"], sources)
    latex.compile_pdf(tex)
    assert "Undefined control sequence" not in tex.with_suffix(".log").read_text(errors="replace")
    # planted clash: the second protocol file with the first one's prefix
    clash = protocol_macros(tmp_path, PAIR, "clash.tex", "aadProtocolRing")
    bad = paper(tmp_path, ["a2ad-formulas.tex", "ring.tex", "clash.tex"], [sources[0], sources[1], clash])
    with pytest.raises(RuntimeError, match="already defined"):
        latex.compile_pdf(bad)


def run_macros(cwd: Path, code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


MAIN = ("from proofs_check.cli import main as cli; "
        "raise SystemExit(cli.main(['derive', '--format', 'macros', '--claims', 'C3', '--out', 'm.tex']))")


def test_macros_write_nothing_but_the_file_and_say_what_they_run(tmp_path):
    proc = run_macros(tmp_path, MAIN)
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(tmp_path)) == ["m.tex"]
    assert "verifying 1 claims with the quick profile (C3)" in proc.stdout


def test_the_working_directory_check_has_power(tmp_path):
    # planted: Hypothesis left at its default home, ./.hypothesis, as before the fix
    planted = ("from proofs_check.cli import derive; derive.set_hypothesis_home = lambda d: None; " + MAIN)
    proc = run_macros(tmp_path, planted)
    assert proc.returncode == 0, proc.stderr
    assert ".hypothesis" in os.listdir(tmp_path)
