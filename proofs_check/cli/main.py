"""The ``a2ad`` command line.

Subcommands live beside this module in ``proofs_check/cli/``; each module defines
``register(subparsers)`` which adds its parser and sets ``func(args) -> int``.
Every reported failure is a :class:`numerics.io.errors.A2ADError`: it prints one line on
stderr, ``a2ad CMD: <prefix>: <message>`` (prefix ``error`` for bad input, ``service error`` for
a failed service, ``refused`` for a derivation that did not verify), never a traceback, and
exits with the class's status (:data:`EXIT_STATUSES`).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

# The package multiplies small matrices, where BLAS threads cost more than they give and
# would oversubscribe the cores `verify` already uses one process each. Set before numpy loads.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from numerics.io.errors import A2ADError  # noqa: E402 (after the thread settings)

# The documented exit statuses (docs/cli.rst); `check` adds 3, "the claim does not apply".
EXIT_STATUSES = {0: "success", 1: "a verification or check failed (also a refused derivation)",
                 2: "an error: bad input, a failed service, a busy output (one line on stderr)",
                 3: "check only: the claim does not apply to the instance", 130: "interrupted (Ctrl-C)"}


class _Version(argparse.Action):
    """``--version``: the package version is looked up only when asked for."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest, nargs=0, default=default, help=help or "show the version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        from proofs_check import __version__

        parser.exit(0, f"a2a-dynamics {__version__}\n")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse's own convention)
        self.exit(2, f"{self.prog}: error: {message}\n")


# Command name -> (module in proofs_check/cli, one-line help). Only the invoked command's
# module is imported, so `a2ad --help` and light commands start without the heavy ones' imports;
# tests/test_cli_table.py checks this table against what each module registers.
COMMANDS = {
    "attack": ("attack", "build an attack prompt (C9 full, C10 rank-one, C11 steer) for two agents, "
                         "or under a protocol where it applies"),
    "check": ("check", "evaluate a claim's hypotheses and conclusions on a config (3: does not apply)"),
    "derive": ("derive", "derivations as LaTeX (every step verified), formula macros, text or JSON"),
    "experiment": ("experiment", None),  # its help lists the experiments: the module is imported for it
    "fit": ("fit", "fit each agent's affine map from a JSONL transcript (C18, any protocol); text, JSON, figure"),
    "llm-run": ("llm_run", "run text (LLM) agents on the config's prompts; write a JSONL transcript"),
    "predict": ("predict", "closed-form fixed points, residuals and rate for a config (JSON)"),
    "simulate": ("simulate", "run the agents for T rounds; messages and errors (JSON)"),
    "sweep": ("sweep", "evaluate a grid of configs (closed forms, simulation, trained LSA) -> Parquet + phase.png"),
    "train-lsa": ("train_lsa", "train an LSA agent on in-context regression; report Gamma_eff vs Gamma*"),
    "verify": ("verify", "run every registered claim's verification methods"),
}


STUB_HELP = "see a2ad --help"  # a dynamic help's stand-in, never displayed (only the chosen command's parser runs)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The full parser of the command named in ``argv`` (every command when ``argv`` is None);
    the other commands get a stub parser with the same name and help."""
    parser = _Parser(prog="a2ad",
                     description="Verify, reproduce and cite the theory of interacting in-context learners.")
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    chosen = None if argv is None else next((a for a in argv if not a.startswith("-")), "")
    for name, (module, summary) in COMMANDS.items():
        # A module without a static summary builds its help itself: imported only when that help is
        # shown (no command named, e.g. `a2ad --help`), never when another command runs.
        if argv is None or name == chosen or (summary is None and not chosen):
            importlib.import_module(f"{__package__}.{module}").register(sub)
        else:
            sub.add_parser(name, help=summary or STUB_HELP)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors (one line, status 2) and --help / --version (status 0)
        return int(exc.code or 0)
    try:
        return _run(args)
    except A2ADError as exc:
        print(f"a2ad {args.command}: {exc.prefix}: {exc}", file=sys.stderr)
        return exc.exit_status
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
