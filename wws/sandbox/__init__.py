"""The WebAssembly sandbox: one shared engine, compiled-module cache, limits, host stdio, pools, error translation."""

from wws.sandbox.engine import Sandbox, default_sandbox
from wws.sandbox.store import GuestStore, SandboxSpec

__all__ = ["GuestStore", "Sandbox", "SandboxSpec", "default_sandbox"]
