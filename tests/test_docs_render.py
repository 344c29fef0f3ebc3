"""The docs render offline (MathJax from a local package, the LaTeX symbol macros defined) and
docstrings render as reStructuredText (roles resolve, plain-text math is escaped, indented
formulas become literal blocks)."""
import importlib.util
from pathlib import Path

from docutils.core import publish_doctree
from docutils.utils import Reporter

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _conf():
    spec = importlib.util.spec_from_file_location("docs_conf", DOCS / "conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_math_is_served_locally_with_the_symbol_macros():
    conf = _conf()
    assert "sphinx-mathjax-offline" in conf.extensions
    assert conf.mathjax3_config["tex"]["macros"]["aadDelta"] == r"\Delta"
    assert importlib.util.find_spec("sphinx-mathjax-offline") is not None


def _warnings(rst: str) -> list:
    seen = []
    doc = publish_doctree(rst, settings_overrides={"report_level": Reporter.WARNING_LEVEL, "halt_level": 5,
                                                   "warning_stream": False})
    for node in doc.findall():
        if node.tagname == "system_message":
            seen.append(node.astext())
    return seen


def test_docstring_becomes_clean_rst():
    conf = _conf()
    lines = ["Plateau ``e_A = G_A Delta``; see :func:`theory.core.algebra.prove`.",
             "Errors ||u_t - w_A*|| shrink, w_A* and *x* stay literal, | too:",
             "    e_A,k = (1 - a) b / D * Delta_k",
             "    rate_k = (1 - a)(1 - b).",
             "Back to text."]
    out = conf.render_docstring(lines)
    rst = "\n".join(line.replace(":func:", ":literal:") for line in out)  # plain docutils has no :func:
    assert _warnings(rst) == []
    assert ":func:`theory.core.algebra.prove`" in "\n".join(out)  # the role is kept for Sphinx to resolve
    assert any(line.endswith("::") for line in out)  # the indented formulas became a literal block


def test_unescaped_docstring_would_warn():
    """Power: the same text without the conversion is invalid reStructuredText."""
    raw = "Errors ||u_t - w_A*|| shrink:\n    e_A,k = (1 - a) b / D\nBack."
    assert _warnings(raw)
