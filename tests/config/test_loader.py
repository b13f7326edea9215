"""Worker config: every field parsed and validated; errors name the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from wws.config import Isolation, Limits, WorkerConfig, load_worker_config, parse_worker_config
from wws.errors import ConfigError

FULL = """\
name = "counter"
version = "1"
isolation = "instance"
max_requests = 50

[vars]
MESSAGE = "hi"
PORT = 8080
TOKEN = "$API_TOKEN"
REGION = "${REGION:-eu}"

[data.kv]
namespace = "counter"

[[folders]]
from = "./_assets"
to = "/assets"

[[folders]]
from = "./_out"
to = "/out"
writable = true

[features.http_requests]
allowed_hosts = ["API.example.com", "*.example.org"]
allowed_methods = ["get", "POST"]
allow_http = true

[limits]
timeout_ms = 500
memory_mb = 32
"""


def test_config_absent_gives_the_defaults(tmp_path: Path) -> None:
    config = load_worker_config(tmp_path / "handler.wasm")
    assert config == WorkerConfig()
    assert config.isolation is Isolation.REQUEST
    assert config.limits == Limits(timeout_ms=30_000, memory_mb=128, max_body_bytes=10 * 1024 * 1024)


def test_idle_ms_defaults_to_a_minute_and_0_keeps_workers_forever(tmp_path: Path) -> None:
    assert Limits().idle_ms == 60_000
    config = parse_worker_config(tmp_path / "w.toml", "[limits]\nidle_ms = 0\n", {})
    assert config.limits.idle_ms == 0


def test_config_every_field_is_read(tmp_path: Path) -> None:
    (tmp_path / "_assets").mkdir()
    (tmp_path / "_out").mkdir()
    config = parse_worker_config(tmp_path / "counter.toml", FULL, {"API_TOKEN": "s3cret"})
    assert (config.name, config.version, config.isolation, config.max_requests) == (
        "counter",
        "1",
        Isolation.INSTANCE,
        50,
    )
    assert dict(config.vars) == {"MESSAGE": "hi", "PORT": "8080", "TOKEN": "s3cret", "REGION": "eu"}
    assert config.kv_namespace == "counter"
    assert [(m.source, m.guest, m.writable) for m in config.folders] == [
        (tmp_path / "_assets", "/assets", False),
        (tmp_path / "_out", "/out", True),
    ]
    assert config.http_requests.allowed_hosts == ("api.example.com", "*.example.org")
    assert config.http_requests.allowed_methods == ("GET", "POST")
    assert config.http_requests.allow_http is True
    assert (config.limits.timeout_ms, config.limits.memory_mb) == (500, 32)
    assert config.limits.max_body_bytes == Limits().max_body_bytes


@pytest.mark.parametrize(
    ("text", "field", "line", "reason"),
    [
        ('name = "x"\nisolaton = "request"\n', "isolaton", 2, "unknown setting"),
        ('isolation = "process"\n', "isolation", 1, "must be 'request' or 'instance'"),
        ('\n\n[limits]\ntimeout_ms = "soon"\n', "limits.timeout_ms", 4, "must be an integer"),
        ("[limits]\nmemory_mb = -1\n", "limits.memory_mb", 2, "positive integer"),
        ("[limits]\nidle_ms = -1\n", "limits.idle_ms", 2, "must be 0 or a positive integer"),
        ("[limits]\nfuel = 3\n", "limits.fuel", 2, "unknown setting"),
        ('compatibility_flags = ["streams_enable"]\n', "compatibility_flags", 1, "unknown flag 'streams_enable'"),
        ('compatibility_flags = "nodejs_compat"\n', "compatibility_flags", 1, "must be an array of strings"),
        ('[vars]\nKEY = "$MISSING_VAR"\n', "vars.KEY", 2, "not set in the environment"),
        ('[[folders]]\nfrom = "./nope"\nto = "/x"\n', "folders[0].from", 2, "does not exist"),
        ('[[folders]]\nfrom = "."\nto = "relative"\n', "folders[0].to", 3, "absolute guest path"),
        ("[data.kv]\n", "data.kv.namespace", None, "is required"),
        (
            '[features.http_requests]\nallowed_hosts = "*"\n',
            "features.http_requests.allowed_hosts",
            2,
            "array of strings",
        ),
    ],
)
def test_config_error_names_file_line_and_field(
    tmp_path: Path, text: str, field: str, line: int | None, reason: str
) -> None:
    path = tmp_path / "handler.toml"
    with pytest.raises(ConfigError) as failure:
        parse_worker_config(path, text, {})
    assert failure.value.field == field
    assert failure.value.line == line
    assert reason in str(failure.value)
    assert str(path) in str(failure.value)


def test_config_invalid_toml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as failure:
        parse_worker_config(tmp_path / "h.toml", 'name = "ok"\nversion = \n', {})
    assert failure.value.line == 2
    assert "invalid TOML" in str(failure.value)


def test_config_fingerprint_changes_with_settings_not_with_the_file(tmp_path: Path) -> None:
    first = parse_worker_config(tmp_path / "a.toml", "[limits]\ntimeout_ms = 5\n", {})
    same = parse_worker_config(tmp_path / "b.toml", "[limits]\ntimeout_ms = 5\n", {})
    other = parse_worker_config(tmp_path / "a.toml", "[limits]\ntimeout_ms = 6\n", {})
    assert first.fingerprint() == same.fingerprint() != other.fingerprint()
