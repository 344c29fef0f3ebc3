"""mutation/line_share.py: what a computing line is, and which table rows count as covered."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "mutation"))

import line_share  # noqa: E402  (mutation/ is not a package)

SOURCE = '''"""Module docstring,
on two lines."""
import math  # a comment after code counts

# a comment line does not


def f(x):
    """Function docstring."""
    y = (x +
         1)
    return math.sqrt(y)


class C:
    """Class docstring
    over two lines."""

    z = "a string that is not a docstring"
    w = """a string on
    two lines"""
'''


def test_computing_lines_leave_out_blank_comment_and_docstring_lines(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(SOURCE)
    # counted by hand: import, def f, y = (x + / 1), return, class C, z = ..., w = """ / two lines""" -> 9
    assert line_share.computing_lines(path) == 9


def test_table_rows_are_read_from_the_list_table():
    rst = "\n".join(["   * - module", "     - run", "   * - ``numerics/protocol/engine.py``", "     - 1",
                     "   * - ``theory/protocol/rate.py``", "text ``theory/x.py`` elsewhere"])
    assert line_share.table_modules(rst) == ["numerics/protocol/engine.py", "theory/protocol/rate.py"]


def test_a_row_with_fewer_mutants_run_than_exist_is_not_covered():
    rst = "\n".join(["   * - ``theory/protocol/a.py``", "     - 0 of 313", "   * - ``theory/protocol/b.py`` (partial)",
                     "     - 308 of 515", "   * - ``theory/protocol/c.py``", "     - 239 of 239",
                     "   * - ``theory/protocol/d.py``", "     - 403 (397 by verify)"])
    assert line_share.table_modules(rst) == ["theory/protocol/c.py", "theory/protocol/d.py"]
