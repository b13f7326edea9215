"""The README's references match the code: the CLI reference is click's `--help`, the config reference loads."""

from __future__ import annotations

import dataclasses
import re
import runpy
from pathlib import Path

from wws.config.loader import load_worker_config
from wws.config.model import HttpRequests, Limits, Mount, WorkerConfig

REPOSITORY = Path(__file__).resolve().parent.parent.parent
README = (REPOSITORY / "README.md").read_text()


def test_the_cli_reference_is_what_click_prints() -> None:
    script = runpy.run_path(str(REPOSITORY / "scripts" / "cli-reference.py"))
    current = script["replace_block"](README, script["render"]())
    assert current == README, "README.md's CLI reference is out of date: run python scripts/cli-reference.py"
    for command in ("wws new --help", "wws run --help", "wws serve --help"):
        assert f"$ {command}\n" in README


def test_the_config_reference_is_a_valid_config_that_names_every_setting(tmp_path: Path) -> None:
    section = README.split("## Worker config", 1)[1]
    block = re.search(r"```toml\n(.*?)```", section, re.DOTALL)
    assert block is not None
    reference = block.group(1)
    (tmp_path / "worker.js").write_text("export default { fetch() { return new Response('') } }")
    (tmp_path / "_assets").mkdir()
    (tmp_path / "worker.toml").write_text(reference)
    config = load_worker_config(tmp_path / "worker.js", project_root=tmp_path)
    assert config.kv_namespace is not None
    assert config.http_requests.allowed_hosts
    settings = {field.name for kind in (Limits, HttpRequests) for field in dataclasses.fields(kind)}
    settings |= {"name", "version", "isolation", "max_requests", "compatibility_flags", "[vars]", "[data.kv]"}
    settings |= {"namespace", "binding"}
    settings |= {"[[folders]]", "from", "to", "writable", "[features.http_requests]", "[limits]"}
    missing = sorted(
        setting for setting in settings if not re.search(rf"^\s*{re.escape(setting)}(?=[\s=]|$)", reference, re.M)
    )
    assert not missing, f"the config reference does not show: {missing}"
    assert {field.name for field in dataclasses.fields(WorkerConfig)} - {"file"} <= {
        "name", "version", "isolation", "max_requests", "compatibility_flags", "vars", "kv_namespace", "kv_binding",
        "folders", "http_requests", "limits",
    }  # fmt: skip
    assert {field.name for field in dataclasses.fields(Mount)} == {"source", "guest", "writable"}
