"""The ``a2ad`` command line.

Subcommands live in ``proofs_check/commands/``; each module defines
``register(subparsers)`` which adds its parser and sets ``func(args) -> int``.
User errors (:class:`numerics.errors.InputError`) print one line on stderr
and exit 2, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

# The package multiplies small matrices, where BLAS threads cost more than they give and
# would oversubscribe the cores `verify` already uses one process each. Set before numpy loads.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from numerics.errors import InputError  # noqa: E402 (after the thread settings)


class _Version(argparse.Action):
    """``--version``: the package version is looked up only when asked for."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest, nargs=0, default=default, help=help or "show the version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        from . import __version__

        parser.exit(0, f"a2a-dynamics {__version__}\n")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse's own convention)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from . import commands

    parser = _Parser(prog="a2ad", description="Verify, reproduce and cite the theory of interacting in-context learners.")
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    modules = sorted(info.name for info in pkgutil.iter_modules(commands.__path__))
    for name in modules:
        importlib.import_module(f"{commands.__name__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors (one line, status 2) and --help / --version (status 0)
        return int(exc.code or 0)
    try:
        return _run(args)
    except InputError as exc:
        print(f"a2ad {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into `head`: not an error of ours
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("a2ad: interrupted", file=sys.stderr)
        return 130


def _run(args) -> int:
    """Run the command with floating-point warnings silenced: every overflow is detected by an
    explicit finiteness check that names the quantity (one line), not by a warning."""
    import warnings

    import numpy as np

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
