"""The evalkit command line: help everywhere, clear exits, the same work as the Python API."""

from __future__ import annotations

import subprocess
import sys

import pytest

from evalkit import cli

from conftest import BASE

COMMANDS = ["synth", "validate", "indicators", "codebook", "batch", "render"]


def _run(*args):
    return subprocess.run([sys.executable, "-m", "evalkit.cli", *args], capture_output=True, text=True)


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_on_every_command(command):
    r = _run(*([command] if command else []), "--help")
    assert r.returncode == 0
    assert "usage: evalkit" in r.stdout
    if command is None:
        for c in COMMANDS:
            assert c in r.stdout


def test_every_subcommand_is_listed_in_tests():
    sub = next(a for a in cli.build_parser()._actions if a.dest == "command")
    assert sorted(sub.choices) == sorted(COMMANDS)


def test_validate_ok_exits_zero():
    r = _run("validate", str(BASE))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK: all tables valid" in r.stdout and "(synthetic data)" in r.stdout


def test_validate_json_lists_problems(tmp_path):
    import json

    (tmp_path / "regions.csv").write_text("", encoding="utf-8")
    r = _run("validate", "--json", str(tmp_path))
    assert r.returncode == 1
    data = json.loads(r.stdout)
    rules = {p["rule"] for p in data["problems"]}
    assert {"empty_file", "missing_table"} <= rules


def test_missing_folder_is_a_message_not_a_traceback(tmp_path):
    r = _run("validate", str(tmp_path / "nowhere"))
    assert r.returncode == 1
    assert "does not exist" in r.stderr and "Traceback" not in r.stderr


def test_synth_then_validate(tmp_path):
    r = _run("synth", str(tmp_path / "p"), "--size", "small", "--format", "csv")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "p" / "survey.csv").is_file()
    r = _run("validate", str(tmp_path / "p"))
    assert r.returncode == 0, r.stdout


def test_unknown_option_is_a_usage_error():
    r = _run("synth", "--size", "huge", "x")
    assert r.returncode == 2 and "invalid choice: 'huge'" in r.stderr
