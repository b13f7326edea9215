"""The project's `wws.toml`: defaults for every worker, which a worker's own config overrides key by key."""

from __future__ import annotations

from pathlib import Path

import pytest

from wws.config.loader import load_worker_config
from wws.config.model import Isolation
from wws.errors import ConfigError

PROJECT = """
isolation = "instance"
[vars]
REGION = "eu"
LEVEL = "info"
[limits]
timeout_ms = 5000
memory_mb = 64
[features.http_requests]
allowed_hosts = ["api.example.com"]
[[folders]]
from = "shared"
to = "/shared"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "wws.toml").write_text(PROJECT)
    (tmp_path / "shared").mkdir()
    (tmp_path / "api").mkdir()
    return tmp_path


def test_project_defaults_apply_to_a_worker_without_config(project: Path) -> None:
    config = load_worker_config(project / "api" / "x.wasm", environ={}, project_root=project)
    assert config.isolation is Isolation.INSTANCE
    assert dict(config.vars) == {"REGION": "eu", "LEVEL": "info"}
    assert (config.limits.timeout_ms, config.limits.memory_mb) == (5000, 64)
    assert config.http_requests.allowed_hosts == ("api.example.com",)
    assert [(mount.source, mount.guest) for mount in config.folders] == [((project / "shared").resolve(), "/shared")]


def test_worker_config_overrides_the_project_key_by_key(project: Path) -> None:
    override = 'isolation = "request"\n[vars]\nLEVEL = "debug"\n[limits]\nmemory_mb = 32\n'
    (project / "api" / "x.toml").write_text(override)
    config = load_worker_config(project / "api" / "x.wasm", environ={}, project_root=project)
    assert config.isolation is Isolation.REQUEST
    assert dict(config.vars) == {"REGION": "eu", "LEVEL": "debug"}
    assert (config.limits.timeout_ms, config.limits.memory_mb) == (5000, 32)


def test_a_malformed_project_config_names_wws_toml(project: Path) -> None:
    (project / "wws.toml").write_text('[limits]\ntimeout_ms = "soon"\n')
    with pytest.raises(ConfigError) as caught:
        load_worker_config(project / "api" / "x.wasm", environ={}, project_root=project)
    assert caught.value.file == project / "wws.toml"
    assert (caught.value.line, caught.value.field) == (2, "limits.timeout_ms")


def test_without_a_project_root_only_the_worker_config_counts(project: Path) -> None:
    config = load_worker_config(project / "api" / "x.wasm", environ={})
    assert config.isolation is Isolation.REQUEST
    assert dict(config.vars) == {}
