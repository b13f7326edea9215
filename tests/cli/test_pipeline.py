"""`wws pipeline`: `validate` exits 0 for a valid plan, 2 with every problem on stderr, one per line; `run` checks
its options before anything starts."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from wws.cli.main import cli


def plan_folder(tmp_path: Path) -> Path:
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "a.py").write_text("def step(state, env):\n    return state\n")
    (tmp_path / "h" / "b.js").write_text("export default { step(state) { return state; } };\n")
    return tmp_path


def test_validate_accepts_a_valid_plan_and_shows_its_order(tmp_path: Path) -> None:
    plan = plan_folder(tmp_path) / "p.json"
    plan.write_text(json.dumps({"steps": [{"id": "a", "handler": "h/a.py", "next": {"b": True}},
                                          {"id": "b", "handler": "h/b.js"}]}))  # fmt: skip
    result = CliRunner().invoke(cli, ["pipeline", "validate", str(plan)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{plan}: valid: pipeline 'p', 2 steps (a -> b)\n"


def test_validate_lists_every_problem_on_stderr_and_exits_2(tmp_path: Path) -> None:
    plan = plan_folder(tmp_path) / "p.toml"
    plan.write_text('[[steps]]\nid = "a"\nhandler = "h/a.py"\nnext = { b = true }\n\n'
                    '[[steps]]\nid = "b"\nhandler = "h/b.rb"\nnext = { a = "always" }\n')  # fmt: skip
    result = CliRunner().invoke(cli, ["pipeline", "validate", str(plan)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{plan}: step 'b': handler h/b.rb: no runtime for '.rb' files (supported: .js, .mjs, .py, .wasm)",
        f"{plan}: step 'b': handler h/b.rb: no such file ({tmp_path / 'h' / 'b.rb'})",
        f"{plan}: plan: cycle: a -> b -> a",
    ]


def test_pipeline_help_names_its_commands() -> None:
    result = CliRunner().invoke(cli, ["pipeline", "--help"])
    assert result.exit_code == 0
    assert "validate" in result.output
    validate = CliRunner().invoke(cli, ["pipeline", "validate", "--help"])
    assert "exit 2, with every problem on stderr" in validate.output


def test_run_refuses_a_run_id_that_is_not_a_plain_name(tmp_path: Path) -> None:
    plan = plan_folder(tmp_path) / "p.json"
    plan.write_text(json.dumps({"steps": [{"id": "b", "handler": "h/b.js"}]}))
    result = CliRunner().invoke(cli, ["pipeline", "run", str(plan), "--run-id", "mine~1", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "--run-id" in result.output
    assert not (tmp_path / ".wws").exists(), "refused before anything starts"
