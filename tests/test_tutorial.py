"""docs/tutorial.rst is executed: every example line runs and its output is checked, and the
figure it saves is produced (a PNG)."""
import doctest
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "tutorial.rst"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _run(text: str, cwd: Path, monkeypatch) -> doctest.TestResults:
    shutil.copytree(ROOT / "examples", cwd / "examples")
    monkeypatch.chdir(cwd)
    test = doctest.DocTestParser().get_doctest(text, {}, "tutorial", str(TUTORIAL), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    return runner.summarize(verbose=False)


def test_tutorial_runs_and_saves_its_figure(tmp_path, monkeypatch):
    result = _run(TUTORIAL.read_text(), tmp_path, monkeypatch)
    assert result.attempted >= 20 and result.failed == 0, result
    figure = tmp_path / "conversation.png"
    assert figure.read_bytes()[:8] == PNG_MAGIC and figure.stat().st_size > 10_000


def test_a_wrong_tutorial_line_fails(tmp_path, monkeypatch):
    """Power: the tutorial with one expected number changed (0.2304 -> 0.2305) fails."""
    text = TUTORIAL.read_text()
    assert "\n0.2304\n" in text
    assert _run(text.replace("\n0.2304\n", "\n0.2305\n"), tmp_path, monkeypatch).failed == 1


def test_tutorial_is_in_the_index():
    assert "\n   tutorial\n" in (ROOT / "docs" / "index.rst").read_text()


def test_tutorial_uses_only_public_names():
    """The tutorial shows the API, not the engines' module paths that other versions may move."""
    code = [line for line in TUTORIAL.read_text().splitlines() if line.startswith((">>>", "..."))]
    assert code and not any("numerics.dynamics" in line or "numerics.io" in line for line in code)
