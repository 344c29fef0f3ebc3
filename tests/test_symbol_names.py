"""derive --protocol prints agent names as subscripts: a name that would make two symbols print
alike (``xy`` and ``x y`` -> ``M_xy``) or a subscript ambiguous (``a,b`` -> ``Phi_{a,b,C}``) is refused
by name, from the API and the CLI, for fixed and random protocols; any name still works in predict."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from numerics import api
from numerics.io.errors import InputError
from proofs_check.cli.main import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _renamed(example: str, old: str, new: str) -> dict:
    text = (EXAMPLES / example).read_text().replace(f'"{old}"', json.dumps(new))
    return json.loads(text)


@pytest.mark.parametrize("bad", ["x y", "a,b", "A_1", "1A", "{A}", "A^T", "Ä"])
def test_the_api_refuses_a_name_that_is_not_a_subscript(bad):
    with pytest.raises(InputError) as err:
        api.derive_protocol(_renamed("two_agents.json", "A", bad))
    assert err.value.quantity == "agents[0].name" and repr(bad) in str(err.value)


@pytest.mark.parametrize("example", ["two_agents.json", "random_group_chat.json"])
def test_the_cli_refuses_it_in_one_line_for_fixed_and_random_protocols(tmp_path, capsys, example):
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(_renamed(example, "B", "x y")))
    assert main(["derive", "--protocol", str(path), "--format", "text"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "agents[1].name = 'x y'" in err and "Traceback" not in err


def test_two_names_that_would_print_alike_are_refused_but_predict_accepts_them(tmp_path, capsys):
    cfg = _renamed("three_agents.json", "A", "xy")
    cfg = json.loads(json.dumps(cfg).replace('"B"', '"x y"'))
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(cfg))
    assert main(["derive", "--protocol", str(path), "--format", "text"]) == 2
    assert "'x y'" in capsys.readouterr().err
    assert main(["predict", str(path)]) == 0
    assert set(json.loads(capsys.readouterr().out)["agents"]) == {"xy", "x y", "C"}


def test_letters_and_digits_still_derive():
    derived = api.derive_protocol(_renamed("two_agents.json", "A", "helper2"))
    assert "M_helper2" in derived.to_text()
