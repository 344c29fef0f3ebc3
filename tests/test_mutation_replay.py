"""mutation/replay.py applies a recorded mutant whose neighbouring lines changed by the text of its
changed lines, and refuses (never guesses) when that text is gone or ambiguous."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "mutation"))
from replay import apply_by_text, patch_of  # noqa: E402

DIFF = """--- mutation diff ---
--- a/theory/k.py
+++ b/theory/k.py
@@ -1,4 +1,4 @@
 def J(K, i):
-    return P(K, i, i + 1) * M[(i + 1) % K]
+    return P(K, i, i + 1) * M[(i + 1) - K]
 
"""


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
