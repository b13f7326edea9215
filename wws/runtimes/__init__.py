"""Language runtimes and the registry that maps file extensions to them."""

from wws.runtimes.base import BaseRuntime, GuestInstance, PreparedWorker, Program, Runtime
from wws.runtimes.registry import ENTRY_POINT_GROUP, RuntimeRegistry, default_registry, init_runtime

__all__ = [
    "ENTRY_POINT_GROUP",
    "BaseRuntime",
    "GuestInstance",
    "PreparedWorker",
    "Program",
    "Runtime",
    "RuntimeRegistry",
    "default_registry",
    "init_runtime",
]
