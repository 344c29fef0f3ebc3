"""The static command table of ``a2ad`` (only the invoked command's module is imported) says
what each command module registers, and a command missing from the table would be unreachable."""
import argparse
import importlib
import pkgutil
from pathlib import Path

import pytest

from proofs_check import cli as cli_package
from proofs_check.cli import main as cli


def _registered(module: str) -> dict[str, str]:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    importlib.import_module(f"proofs_check.cli.{module}").register(sub)
    return {a.dest: a.help for a in sub._choices_actions}


def test_every_command_module_is_in_the_table():
    # a command module is one that defines register(subparsers); main and helpers do not
    folder = Path(cli_package.__path__[0])
    modules = {info.name for info in pkgutil.iter_modules(cli_package.__path__)
               if "\ndef register(" in (folder / f"{info.name}.py").read_text()}
    assert modules == {module for module, _ in cli.COMMANDS.values()}


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_table_help_matches_the_module(name):
    module, summary = cli.COMMANDS[name]
    got = _registered(module)
    assert list(got) == [name]
    if summary is not None:
        assert got[name] == summary


def test_stub_parsers_never_run_a_command(capsys):
    # the chosen command is parsed by its real parser: a stub would have no func and no arguments
    assert cli.main(["predict", "examples/two_agents.json"]) == 0
    assert '"contraction_rate"' in capsys.readouterr().out
    assert cli.main(["simulate"]) == 2  # the real parser's own usage error (missing config)
    assert "required" in capsys.readouterr().err
