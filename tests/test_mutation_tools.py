"""The mutation tools: replay.py applies a recorded mutant whose neighbouring lines changed by the
text of its changed lines, and refuses (never guesses) when that text is gone or ambiguous;
run.py --since keeps only the mutants on lines changed since a commit."""
import sqlite3
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "mutation"))
from replay import apply_by_text, patch_of  # noqa: E402
from run import changed_lines, keep_only_lines, timed_out  # noqa: E402

DIFF = """--- mutation diff ---
--- a/theory/k.py
+++ b/theory/k.py
@@ -1,4 +1,4 @@
 def J(K, i):
-    return P(K, i, i + 1) * M[(i + 1) % K]
+    return P(K, i, i + 1) * M[(i + 1) - K]
""" + " \n"  # the context line of an empty line is one space


def test_patch_of_names_the_module():
    module, patch = patch_of(DIFF)
    assert module == "theory/k.py" and patch.startswith("--- a/theory/k.py")


def test_moved_context_is_applied_by_the_changed_line():
    text = "def J(K: int, i: int):\n    \"\"\"new docstring\"\"\"\n    return P(K, i, i + 1) * M[(i + 1) % K]\n"
    out = apply_by_text(text, patch_of(DIFF)[1])
    assert out == text.replace("% K]", "- K]")


@pytest.mark.parametrize("text", [
    "def J(K, i):\n    return P(K, i, i + 1) * M[(i + 1) % K] @ X\n",  # the line was changed
    "    return P(K, i, i + 1) * M[(i + 1) % K]\n" * 2,  # two candidates: ambiguous
    "        return P(K, i, i + 1) * M[(i + 1) % K]\n",  # only as the tail of a deeper line
])
def test_gone_or_ambiguous_line_is_not_applied(text):
    assert apply_by_text(text, patch_of(DIFF)[1]) is None


def test_removed_block_is_found_by_its_text():
    diff = ("--- a/m.py\n+++ b/m.py\n@@ -1,5 +1,2 @@\n x = 1\n-\n-\n-@lru_cache(maxsize=None)\n def f():\n")
    text = "import y\nx = 1\n\n\n@lru_cache(maxsize=None)\ndef f():\n    pass\n"
    assert apply_by_text(text, patch_of(diff)[1]) == "import y\nx = 1\ndef f():\n    pass\n"


def test_changed_lines_of_a_zero_context_diff():
    diff = ("@@ -132,4 +132,9 @@ class TrainingResult:\n-a\n+b\n"
            "@@ -248,0 +253 @@ def _adam(\n+c\n"
            "@@ -255 +259,0 @@ def _adam(\n-d\n")  # a pure deletion adds no line
    assert changed_lines(diff) == set(range(132, 141)) | {253}


def test_keep_only_lines_drops_the_other_mutants(tmp_path):
    session = tmp_path / "s.sqlite"
    with sqlite3.connect(session) as db:
        db.execute("CREATE TABLE work_items (job_id VARCHAR PRIMARY KEY)")
        db.execute("CREATE TABLE mutation_specs (job_id VARCHAR PRIMARY KEY, start_pos_row INTEGER)")
        db.execute("CREATE TABLE work_results (job_id VARCHAR PRIMARY KEY, worker_outcome VARCHAR)")
        for job, row in (("a", 10), ("b", 11), ("c", 12)):
            db.execute("INSERT INTO work_items VALUES (?)", (job,))
            db.execute("INSERT INTO mutation_specs VALUES (?, ?)", (job, row))
        db.execute("INSERT INTO work_results VALUES ('c', 'SKIPPED')")  # filtered by operator
    assert keep_only_lines(session, {11, 12}) == 2
    with sqlite3.connect(session) as db:
        assert [r[0] for r in db.execute("SELECT job_id FROM work_items ORDER BY job_id")] == ["b", "c"]
        assert db.execute("SELECT count(*) FROM mutation_specs").fetchone()[0] == 2


def test_since_an_unknown_commit_is_a_clear_error():
    from run import diff_since
    with pytest.raises(SystemExit, match="--since no-such-commit: git diff failed"):
        diff_since("no-such-commit", "theory/lsa/agent.py")


def test_a_kill_with_no_output_is_a_time_out_not_a_kill():
    # eighth round: five endless loops of canonical.py were stored by cosmic-ray as killed with empty output
    assert timed_out({"test_outcome": "killed", "output": ""})
    assert timed_out({"test_outcome": "killed", "output": None})
    assert timed_out({"test_outcome": "killed", "output": "timeout"})
    assert timed_out({"test_outcome": "killed", "output": "x\nKILLER-CPU-LIMIT-EXCEEDED\n"})
    assert not timed_out({"test_outcome": "killed", "output": "C2 V4: failed"})
    assert not timed_out({"test_outcome": "survived", "output": ""})
