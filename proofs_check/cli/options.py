"""Options shared by several commands."""
from __future__ import annotations

from numerics.io.outputs import FIGURE_FORMATS


def add_figure_format(parser, default: str | None = "png", what: str = "figures") -> None:
    """``--figure-format png|pdf|svg``: the format (and file extension) of the command's figures."""
    shown = f"default {default}" if default else "default: the --figure extension, else png"
    parser.add_argument("--figure-format", default=default, choices=FIGURE_FORMATS, metavar="{png,pdf,svg}",
                        help=f"format of the {what} ({shown}; pdf and svg are vector formats for papers)")
