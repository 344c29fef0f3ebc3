"""Sphinx configuration: built by ``make docs`` with warnings as errors.

Math is rendered offline: MathJax comes from the ``sphinx-mathjax-offline`` package and is copied
into ``_static``; nothing is fetched from the network. The symbol macros of the LaTeX output
(``\\aadDelta``) are defined for MathJax too.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from theory.core.notation import SYMBOL_MACROS  # noqa: E402

project = "a2a-dynamics"
author = "The a2a-dynamics developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax", "sphinx-mathjax-offline"]
# The public API (numerics/api.py, numerics/results.py, theory/api.py) has numpydoc docstrings: napoleon
# turns their sections into reStructuredText; the plain-text docstrings elsewhere are escaped below.
napoleon_google_docstring = False
napoleon_numpy_docstring = True
exclude_patterns = ["_build"]
html_theme = "alabaster"
autodoc_member_order = "bysource"
autodoc_typehints = "none"
mathjax3_config = {"tex": {"macros": dict(SYMBOL_MACROS)}}

# ``code``, :role:`target` and ``*emphasis*``-free text: everything else in a docstring is escaped.
_KEEP = re.compile(r"(``.+?``|:[a-z:]+:`[^`]+`)")


def _escape(segment: str) -> str:
    return (segment.replace("\\", "\\\\").replace("*", r"\*").replace("|", r"\|")
            .replace("`", r"\`").replace("_", r"\_"))


def _rst_line(line: str) -> str:
    return "".join(p if k % 2 else _escape(p) for k, p in enumerate(_KEEP.split(line)))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def render_docstring(lines: list[str]) -> list[str]:
    """A plain-text docstring (``w_A*``, ``||x||``, indented formulas) as safe reStructuredText.

    Roles and ``literals`` render; other text is escaped; an indented block becomes a literal block.
    """
    out: list[str] = []
    literal_indent = None
    for line in lines:
        if literal_indent is not None:
            if line.strip() and _indent(line) < literal_indent:
                out.append("")
                literal_indent = None
            else:
                out.append(line)
                continue
        prev = next((x for x in reversed(out) if x.strip()), None)
        if line.strip() and prev is not None and _indent(line) > _indent(prev) and not line.lstrip().startswith("- "):
            if out[-1].strip():
                out[-1] = out[-1] + "::" if not out[-1].endswith("::") else out[-1]
            else:
                out.append("::") if not prev.endswith("::") else None
            out.append("")
            out.append(line)
            literal_indent = _indent(line)
            continue
        out.append(_rst_line(line))
    return out


# A numpydoc section heading ("Examples" over a dashed line): the docstring is reStructuredText already.
_NUMPYDOC = re.compile(r"^\s*(Parameters|Returns|Raises|Examples|Attributes)\n\s*-{3,}\s*$", re.M)


def is_numpydoc(doc) -> bool:
    return bool(doc) and bool(_NUMPYDOC.search(doc))


def _docstrings(app, what, name, obj, options, lines):
    if is_numpydoc(getattr(obj, "__doc__", None)):
        return  # napoleon has rendered it
    lines[:] = render_docstring(lines) + [""]


def setup(app):
    app.connect("autodoc-process-docstring", _docstrings)
