"""wws: serve a folder of JavaScript, Python and WebAssembly handlers, each in a WebAssembly sandbox."""

from wws import errors
from wws.runtimes import Runtime, init_runtime
from wws.sandbox import Sandbox
from wws.server import create_app
from wws.worker import Worker, WorkerRequest, WorkerResponse

__version__ = "0.1.0"

__all__ = [
    "Runtime",
    "Sandbox",
    "Worker",
    "WorkerRequest",
    "WorkerResponse",
    "__version__",
    "create_app",
    "errors",
    "init_runtime",
]
