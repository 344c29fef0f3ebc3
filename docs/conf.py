"""Sphinx configuration: built by ``make docs`` with warnings as errors."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

project = "a2a-dynamics"
author = "The a2a-dynamics developers"
extensions = ["sphinx.ext.autodoc"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
autodoc_member_order = "bysource"
autodoc_typehints = "none"


def _literal_docstrings(app, what, name, obj, options, lines):
    """The docstrings are plain text for the terminal (``w_A*``, ``||x||``): show them verbatim."""
    if lines:
        body = ["    " + line for line in lines]
        lines[:] = ["::", ""] + body + [""]


def setup(app):
    app.connect("autodoc-process-docstring", _literal_docstrings)
