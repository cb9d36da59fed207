"""The evalkit command line: help everywhere, clear exits, the same work as the Python API."""

from __future__ import annotations

import subprocess
import sys

import pytest

from evalkit import cli

from conftest import BASE

COMMANDS = ["synth", "validate", "indicators", "import", "codebook", "batch", "render", "scores", "framework", "plant", "scan",
            "audit"]


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


def test_audit_is_a_command_and_passes_options_after_a_double_dash_to_each_batch(monkeypatch, tmp_path):
    """``evalkit audit`` (what ``make audit`` runs): its own options before ``--``, the batch's after it, and the exit
    status says whether every expectation held."""
    import evalkit.audit as audit

    calls = []

    class Result:
        ok = True

    def fake(data_dir, work, **kwargs):
        calls.append((str(data_dir), str(work), kwargs))
        return Result()

    monkeypatch.setattr(audit, "run_audit", fake)
    args = [str(tmp_path / "data"), str(tmp_path / "work"), "--seed", "3", "--markdown", str(tmp_path / "a.md")]
    assert cli.main(["audit", *args, "--", "--prefecture", "0901", "--lang", "zh"]) == 0
    assert cli.main(["audit", *args[:2], "--values", "600"]) == 0
    Result.ok = False
    assert cli.main(["audit", *args[:2]]) == 1
    assert calls[0] == (args[0], args[1], {"seed": 3, "batch_args": ["--prefecture", "0901", "--lang", "zh"],
                                           "n": None, "markdown": tmp_path / "a.md"})
    assert calls[1][2] == {"seed": 1, "batch_args": [], "n": 600, "markdown": None}
    assert len(calls) == 3


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


def test_scores_grades_every_county_and_matches_the_python_api(tmp_path):
    import pandas as pd

    from evalkit.framework import score_counties
    from evalkit.results import indicator_table as cached_indicator_table

    out = tmp_path / "scores.csv"
    r = _run("scores", str(BASE), "--year", "2025", "-o", str(out))
    assert r.returncode == 0, r.stderr
    written = pd.read_csv(out, dtype={"code": str})
    table, _ = cached_indicator_table(BASE)
    expected = score_counties(table, year=2025).counties
    assert list(written["code"]) == list(expected["code"])
    assert written["grade"].tolist() == expected["grade"].tolist()
    assert written["score"].round(6).tolist() == expected["score"].round(6).tolist()
    assert f"{int(expected['graded'].sum())} graded" in r.stdout


def test_framework_check_names_the_key_and_the_rule(tmp_path):
    ok = _run("framework")
    assert ok.returncode == 0 and "valid" in ok.stdout
    from evalkit.paths import ROOT

    default = ROOT / "evalkit" / "framework.toml"
    bad = tmp_path / "bad.toml"
    text = open(default, encoding="utf-8").read()
    assert "max_missing_weight = 0.25" in text
    bad.write_text(text.replace("max_missing_weight = 0.25", "max_missing_weight = 7"), encoding="utf-8")
    r = _run("framework", str(bad))
    assert r.returncode == 1
    assert "bad.toml, key 'max_missing_weight': must be from 0 to 0.99; got 7." in r.stderr
    assert "Traceback" not in r.stderr
