"""Worker and project configuration: TOML files → frozen dataclasses, validated before serving."""

from wws.config.loader import config_path_for, load_http_limits, load_worker_config, parse_worker_config
from wws.config.model import HttpLimits, HttpRequests, Isolation, Limits, Mount, WorkerConfig
from wws.config.paths import cache_dir

__all__ = [
    "HttpLimits",
    "HttpRequests",
    "Isolation",
    "Limits",
    "Mount",
    "WorkerConfig",
    "cache_dir",
    "config_path_for",
    "load_http_limits",
    "load_worker_config",
    "parse_worker_config",
]
