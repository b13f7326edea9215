"""The WebAssembly sandbox: one shared engine, compiled-module cache, limits, host stdio, pools, error translation."""

from wws.sandbox.context import GuestContext
from wws.sandbox.engine import Sandbox, default_sandbox
from wws.sandbox.guest import Guest, SandboxSpec

__all__ = ["Guest", "GuestContext", "Sandbox", "SandboxSpec", "default_sandbox"]
