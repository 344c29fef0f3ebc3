"""Run ``a2ad`` commands as a user does and read back what they print (the shipped-path methods' input).

Each command goes through the ``a2ad`` console script's entry point (``proofs_check.cli.main:main``,
pyproject.toml) with its argv, stdout and stderr captured: what is checked is the document the
user's command prints, parsed from its text, and its exit status. The entry point is loaded by
name, as the console script loads it: verify sits below the command line that runs it, so an
import of the command line here would be a cycle (tests/test_layering.py), while a command run
is not one.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from numerics.io import outputs

__all__ = ["ENTRY_POINT", "Printed", "run_commands", "scratch", "write_configs"]

ENTRY_POINT = ("proofs_check.cli.main", "main")  # = [project.scripts] a2ad in pyproject.toml


@dataclass(frozen=True)
class Printed:
    """One command's exit status and what it printed."""

    argv: tuple[str, ...]
    status: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """The printed JSON document (ValueError when it is not one)."""
        return json.loads(self.stdout)

    def json_or_none(self) -> Any:
        """The printed JSON document, or None when the output is not one (the checks then report it)."""
        try:
            return self.json()
        except ValueError:
            return None


def run_commands(argvs: Sequence[Sequence[str]]) -> list[Printed]:
    """Run every ``a2ad`` command line of ``argvs`` (without the leading ``a2ad``) through the entry point."""
    module, name = ENTRY_POINT
    main = getattr(importlib.import_module(module), name)
    out = []
    for argv in argvs:
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            status = main(list(argv))
        out.append(Printed(tuple(argv), int(status), stdout.getvalue(), stderr.getvalue()))
    return out


def write_configs(directory: str | Path, configs: Sequence[dict]) -> list[str]:
    """Write each config as ``config_<k>.json`` in ``directory``; returns the paths."""
    paths = []
    for k, config in enumerate(configs):
        path = Path(directory) / f"config_{k}.json"
        outputs.write_text(path, json.dumps(config), durable=False)
        paths.append(str(path))
    return paths


def scratch() -> tempfile.TemporaryDirectory:
    """A scratch directory for the configs a method writes (removed when the method ends)."""
    return tempfile.TemporaryDirectory(prefix="a2ad-shipped-")
