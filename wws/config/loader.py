"""Read a worker's `<basename>.toml` into a `WorkerConfig`, validating every field before anything is served.

Errors name the file, the line of the offending key when it can be found, and the field. `[vars]` values may
reference the host environment as `$NAME` or `${NAME:-default}`; this is the only place (with the CLI) that reads it.
"""

from __future__ import annotations

import copy
import functools
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from wws.config.model import (
    COMPATIBILITY_FLAGS,
    DEFAULT_KV_BINDING,
    HttpLimits,
    HttpRequests,
    Isolation,
    Limits,
    Mount,
    PipelinesSettings,
    WorkerConfig,
)
from wws.errors import ConfigError

T = TypeVar("T")

_TOP_LEVEL = {
    "name",
    "version",
    "isolation",
    "max_requests",
    "compatibility_flags",
    "vars",
    "data",
    "folders",
    "features",
    "limits",
}
_LIMITS = {
    "timeout_ms",
    "memory_mb",
    "max_body_bytes",
    "max_response_bytes",
    "max_log_bytes",
    "fetch_timeout_ms",
    "max_fetch_bytes",
    "max_concurrent_requests",
    "max_queued_requests",
}
_LIMITS_MAY_BE_ZERO = {"idle_ms"}
"""Limits where 0 means "never" rather than nothing at all."""
_TOML_POSITION = re.compile(r"at line (\d+)")
_KIND_NAMES = {int: "an integer", str: "a string", bool: "a boolean (true or false)"}
_VAR_REF = re.compile(
    r"^\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>.*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))$"
)


PROJECT_CONFIG = "wws.toml"
"""The optional project config: the same settings as a worker config, as defaults for every worker."""


def config_path_for(handler: Path) -> Path:
    """Where a handler's config lives: beside it, same basename, `.toml`."""
    return handler.with_suffix(".toml")


def load_worker_config(
    handler: Path, environ: Mapping[str, str] | None = None, project_root: Path | None = None, text: str | None = None
) -> WorkerConfig:
    """The config of `handler`: its `.toml` over the project's `wws.toml` (when `project_root` has one), over the
    defaults. Tables merge key by key (`[limits]`, `[vars]`…); arrays and values of the worker replace the project's.
    `text`, when given, stands for the `.toml`'s content ("": none), e.g. as it was when a version loaded."""
    environ = os.environ if environ is None else environ
    defaults = _project_defaults(project_root / PROJECT_CONFIG, environ) if project_root else {}
    path = config_path_for(handler)
    if text is None:
        text = read_worker_config(handler)
    if not text and not defaults:
        return WorkerConfig()
    return parse_worker_config(path, text, environ, defaults)


def read_worker_config(handler: Path) -> str:
    """The text of `handler`'s `.toml` ("" when it has none)."""
    path = config_path_for(handler)
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def parse_worker_config(
    path: Path, text: str, environ: Mapping[str, str] | None = None, defaults: Mapping[str, Any] | None = None
) -> WorkerConfig:
    """Validate a worker config's text (over the raw `defaults` of its project); `path` is used for messages and to
    resolve relative folders."""
    raw = _merge(defaults or {}, _read_toml(path, text))
    return _Parser(path, text, os.environ if environ is None else environ).parse(raw)


def _read_toml(path: Path, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        position = _TOML_POSITION.search(str(exc))
        raise ConfigError(path, f"invalid TOML: {exc}", line=int(position[1]) if position else None) from exc


def _project_defaults(path: Path, environ: Mapping[str, str]) -> dict[str, Any]:
    """The raw settings of a project's `wws.toml`, validated on their own first so its errors name it."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return {}
    cached = _cached_project_defaults(path, stat.st_mtime_ns, stat.st_size, tuple(sorted(environ.items())))
    return copy.deepcopy(cached)  # the cache must not share tables with the configs built from it


@functools.lru_cache(maxsize=8)
def _cached_project_defaults(
    path: Path, _mtime_ns: int, _size: int, environ: tuple[tuple[str, str], ...]
) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    raw = _read_toml(path, text)
    parser = _Parser(path, text, dict(environ))
    parser.http_limits(raw.pop("http", {}))  # the server's, not a worker's: only wws.toml has it
    parser.secrets(raw.pop("secrets", {}))  # the pipelines' steps', never a worker's
    parser.pipelines(raw.pop("pipelines", {}))  # the server's
    parser.parse(raw)
    for folder in raw.get("folders", []):
        # Relative to wws.toml, not to the worker that inherits it.
        folder["from"] = str((path.parent / folder["from"]).resolve())
    return raw


def load_http_limits(project_root: Path, environ: Mapping[str, str] | None = None) -> HttpLimits:
    """The `[http]` table of the project's `wws.toml` (defaults without one), validated."""
    path = project_root / PROJECT_CONFIG
    if not path.is_file():
        return HttpLimits()
    text = path.read_text(encoding="utf-8")
    parser = _Parser(path, text, os.environ if environ is None else environ)
    return parser.http_limits(_read_toml(path, text).get("http", {}))


def load_pipelines_settings(project_root: Path) -> PipelinesSettings:
    """The `[pipelines]` table of the project's `wws.toml` (defaults without one), validated."""
    path = project_root / PROJECT_CONFIG
    if not path.is_file():
        return PipelinesSettings()
    text = path.read_text(encoding="utf-8")
    parser = _Parser(path, text, os.environ)
    return parser.pipelines(_read_toml(path, text).get("pipelines", {}))


def load_secrets(project_root: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The `[secrets]` table of the project's `wws.toml` (NAME = "value", "$VAR" or "${VAR:-default}"): values the
    pipeline steps that name them receive. Empty without one."""
    path = project_root / PROJECT_CONFIG
    if not path.is_file():
        return {}
    text = path.read_text(encoding="utf-8")
    parser = _Parser(path, text, os.environ if environ is None else environ)
    return parser.secrets(_read_toml(path, text).get("secrets", {}))


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def check_database_url(url: str, refuse: Callable[[str], Exception]) -> None:
    """A database for the runs: `postgresql://…` or `sqlite:///…`; raises `refuse(reason)` for anything else."""
    if not url.startswith(("postgresql://", "postgres://", "sqlite:///")):
        raise refuse("must be a postgresql://user:password@host:port/database URL (or sqlite:///path)")


class _Parser:
    def __init__(self, path: Path, text: str, environ: Mapping[str, str]):
        self.path = path
        self.lines = text.splitlines()
        self.environ = environ

    def error(self, field: str, reason: str) -> ConfigError:
        return ConfigError(self.path, reason, field=field, line=self._line_of(field))

    def _line_of(self, field: str) -> int | None:
        key = field.rsplit(".", maxsplit=1)[-1].split("[", maxsplit=1)[0]
        pattern = re.compile(rf"^\s*\[*\s*(\"?{re.escape(key)}\"?)\s*[=\]]")
        return next((number for number, line in enumerate(self.lines, 1) if pattern.match(line)), None)

    def parse(self, raw: dict[str, Any]) -> WorkerConfig:
        self._no_unknown(raw, _TOP_LEVEL, "")
        isolation_text = self._typed(raw, "isolation", str, Isolation.REQUEST.value)
        try:
            isolation = Isolation(isolation_text)
        except ValueError:
            raise self.error("isolation", f"must be 'request' or 'instance', not {isolation_text!r}") from None
        kv_namespace, kv_binding = self._kv(raw.get("data", {}))
        return WorkerConfig(
            name=self._typed(raw, "name", str, None),
            version=self._version(raw),
            isolation=isolation,
            max_requests=self._positive(raw, "max_requests", 1000),
            compatibility_flags=self._flags(raw.get("compatibility_flags", [])),
            vars=self._vars(raw.get("vars", {})),
            kv_namespace=kv_namespace,
            kv_binding=kv_binding,
            folders=self._folders(raw.get("folders", [])),
            http_requests=self._http(raw.get("features", {})),
            limits=self._limits(raw.get("limits", {})),
            file=self.path,
        )

    def _no_unknown(self, table: Mapping[str, Any], known: set[str], prefix: str) -> None:
        for key in table:
            if key not in known:
                allowed = ", ".join(sorted(known))
                raise self.error(prefix + key, f"unknown setting (known here: {allowed})")

    def _typed(self, table: Mapping[str, Any], key: str, kind: type[T], default: T, prefix: str = "") -> T:
        value = table.get(key, default)
        if value is default:
            return default
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            expected = _KIND_NAMES.get(kind, kind.__name__)
            raise self.error(prefix + key, f"must be {expected}, not {type(value).__name__}")
        return value

    def _positive(self, table: Mapping[str, Any], key: str, default: int, prefix: str = "") -> int:
        value = self._typed(table, key, int, default, prefix)
        if value <= 0:
            raise self.error(prefix + key, f"must be a positive integer, not {value}")
        return value

    def _not_negative(self, table: Mapping[str, Any], key: str, default: int, prefix: str = "") -> int:
        value = self._typed(table, key, int, default, prefix)
        if value < 0:
            raise self.error(prefix + key, f"must be 0 or a positive integer, not {value}")
        return value

    def _version(self, raw: Mapping[str, Any]) -> str | None:
        value = raw.get("version")
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise self.error("version", f"must be a string, not {type(value).__name__}")

    def _flags(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(flag, str) for flag in value):
            raise self.error("compatibility_flags", "must be an array of strings")
        for flag in value:
            if flag not in COMPATIBILITY_FLAGS:
                known = ", ".join(sorted(COMPATIBILITY_FLAGS))
                raise self.error("compatibility_flags", f"unknown flag {flag!r} (wws knows: {known})")
        return tuple(dict.fromkeys(value))

    def _table(self, value: Any, field: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.error(field, f"must be a table, not {type(value).__name__}")
        return value

    def _vars(self, value: Any) -> Mapping[str, str]:
        table = self._table(value, "vars")
        resolved: dict[str, str] = {}
        for name, raw in table.items():
            if not isinstance(raw, str | int | float | bool):
                raise self.error(f"vars.{name}", f"must be a string or number, not {type(raw).__name__}")
            resolved[name] = self._expand(f"vars.{name}", raw if isinstance(raw, str) else str(raw))
        return MappingProxyType(resolved)

    def _expand(self, field: str, value: str) -> str:
        match = _VAR_REF.match(value)
        if not match:
            return value
        name = match["braced"] or match["bare"]
        if name in self.environ:
            return self.environ[name]
        if match["default"] is not None:
            return match["default"]
        raise self.error(
            field,
            f"refers to ${name}, which is not set in the environment (give a default: '${{{name}:-value}}')",
        )

    def _kv(self, value: Any) -> tuple[str | None, str]:
        """(namespace, binding): the namespace, and the name under which JavaScript's `env` holds it."""
        data = self._table(value, "data")
        self._no_unknown(data, {"kv"}, "data.")
        if "kv" not in data:
            return None, DEFAULT_KV_BINDING
        kv = self._table(data["kv"], "data.kv")
        self._no_unknown(kv, {"namespace", "binding"}, "data.kv.")
        namespace = self._typed(kv, "namespace", str, "", "data.kv.")
        if not namespace:
            raise self.error("data.kv.namespace", "is required and must not be empty")
        binding = self._typed(kv, "binding", str, DEFAULT_KV_BINDING, "data.kv.")
        if not binding.isidentifier():
            raise self.error("data.kv.binding", f"must be a JavaScript identifier, not {binding!r}")
        return namespace, binding

    def _folders(self, value: Any) -> tuple[Mount, ...]:
        if not isinstance(value, list):
            raise self.error("folders", "must be an array of tables ([[folders]])")
        mounts = []
        for index, item in enumerate(value):
            prefix = f"folders[{index}]."
            entry = self._table(item, f"folders[{index}]")
            self._no_unknown(entry, {"from", "to", "writable"}, prefix)
            source = self._typed(entry, "from", str, "", prefix)
            guest = self._typed(entry, "to", str, "", prefix)
            if not source or not guest:
                raise self.error(prefix + ("from" if not source else "to"), "is required")
            if not guest.startswith("/") or ".." in guest.split("/"):
                raise self.error(prefix + "to", f"must be an absolute guest path without '..', not {guest!r}")
            host = (self.path.parent / source).resolve()
            if not host.is_dir():
                raise self.error(prefix + "from", f"folder {source!r} does not exist")
            mounts.append(Mount(host, guest.rstrip("/") or "/", self._typed(entry, "writable", bool, False, prefix)))
        return tuple(mounts)

    def _http(self, value: Any) -> HttpRequests:
        features = self._table(value, "features")
        self._no_unknown(features, {"http_requests"}, "features.")
        table = self._table(features.get("http_requests", {}), "features.http_requests")
        prefix = "features.http_requests."
        self._no_unknown(table, {"allowed_hosts", "allowed_methods", "allow_http"}, prefix)
        defaults = HttpRequests()
        return HttpRequests(
            allowed_hosts=self._strings(table, "allowed_hosts", defaults.allowed_hosts, prefix, str.lower),
            allowed_methods=self._strings(table, "allowed_methods", defaults.allowed_methods, prefix, str.upper),
            allow_http=self._typed(table, "allow_http", bool, False, prefix),
        )

    def _strings(
        self,
        table: Mapping[str, Any],
        key: str,
        default: tuple[str, ...],
        prefix: str,
        normalise: Callable[[str], str],
    ) -> tuple[str, ...]:
        if key not in table:
            return default
        value = table[key]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.error(prefix + key, "must be an array of strings")
        return tuple(normalise(item) for item in value)

    def secrets(self, value: Any) -> dict[str, str]:
        table = self._table(value, "secrets")
        resolved = {}
        for name, raw in table.items():
            if not isinstance(raw, str):
                raise self.error(f"secrets.{name}", f"must be a string, not {type(raw).__name__}")
            resolved[name] = self._expand(f"secrets.{name}", raw)
        return resolved

    def http_limits(self, value: Any) -> HttpLimits:
        table = self._table(value, "http")
        known = {item.name for item in fields(HttpLimits)}
        self._no_unknown(table, known, "http.")
        defaults = HttpLimits()
        return HttpLimits(**{key: self._positive(table, key, getattr(defaults, key), "http.") for key in known})

    def pipelines(self, value: Any) -> PipelinesSettings:
        table = self._table(value, "pipelines")
        self._no_unknown(table, {"token", "database", "large_output_bytes", "runs_per_process"}, "pipelines.")
        defaults = PipelinesSettings()
        token = self._typed(table, "token", str, "", "pipelines.")
        match = _VAR_REF.match(token)
        if token and (match is None or match["default"] is not None):
            raise self.error(
                "pipelines.token",
                'must name the environment variable that holds the token ("$NAME"): a token does not belong in a file',
            )
        database = self._typed(table, "database", str, "", "pipelines.")
        if database:
            database = self._expand("pipelines.database", database)
            check_database_url(database, lambda reason: self.error("pipelines.database", reason))
        return PipelinesSettings(
            token_env=(match["braced"] or match["bare"]) if match else None,
            database=database or None,
            large_output_bytes=self._positive(table, "large_output_bytes", defaults.large_output_bytes, "pipelines."),
            runs_per_process=self._positive(table, "runs_per_process", defaults.runs_per_process, "pipelines."),
        )

    def _limits(self, value: Any) -> Limits:
        table = self._table(value, "limits")
        self._no_unknown(table, _LIMITS | _LIMITS_MAY_BE_ZERO, "limits.")
        defaults = Limits()
        settings = {key: self._positive(table, key, getattr(defaults, key), "limits.") for key in _LIMITS}
        for key in _LIMITS_MAY_BE_ZERO:
            settings[key] = self._not_negative(table, key, getattr(defaults, key), "limits.")
        return Limits(**settings)
