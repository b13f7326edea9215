"""The project's `wws.toml`: defaults for every worker, which a worker's own config overrides key by key."""

from __future__ import annotations

from pathlib import Path

import pytest

from wws.config.loader import load_http_limits, load_worker_config
from wws.config.model import HttpLimits, Isolation
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


def test_the_http_table_of_wws_toml_sets_the_server_limits_and_no_worker_setting(project: Path) -> None:
    (project / "wws.toml").write_text(PROJECT + "[http]\nmax_header_bytes = 4096\nkeep_alive_timeout_ms = 1000\n")
    limits = load_http_limits(project, environ={})
    assert limits == HttpLimits(max_header_bytes=4096, keep_alive_timeout_ms=1000)
    config = load_worker_config(project / "api" / "x.wasm", environ={}, project_root=project)
    assert config.limits.timeout_ms == 5000  # the rest of wws.toml still applies to workers


def test_without_wws_toml_the_http_limits_are_the_defaults(tmp_path: Path) -> None:
    assert load_http_limits(tmp_path, environ={}) == HttpLimits()


@pytest.mark.parametrize(
    ("table", "field", "reason"),
    [
        ("[http]\nheader_timeout_ms = 0\n", "http.header_timeout_ms", "must be a positive integer"),
        ("[http]\nmax_header_size = 10\n", "http.max_header_size", "unknown setting"),
        ('[http]\nbody_min_rate = "fast"\n', "http.body_min_rate", "must be an integer"),
    ],
)
def test_a_malformed_http_table_is_refused_with_its_field(project: Path, table: str, field: str, reason: str) -> None:
    (project / "wws.toml").write_text(table)
    with pytest.raises(ConfigError, match=reason) as caught:
        load_http_limits(project, environ={})
    assert caught.value.field == field
    assert caught.value.line == 2


def test_the_http_table_belongs_to_wws_toml_not_to_a_worker(project: Path) -> None:
    (project / "api" / "x.toml").write_text("[http]\nmax_header_bytes = 4096\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_worker_config(project / "api" / "x.wasm", environ={}, project_root=project)
