"""Native WebAssembly workers: any WASI preview-1 module speaking the wws JSON protocol over stdin/stdout.

Two shapes are accepted:
- a command (exports `_start`), as the original Wasm Workers Server ran them: one run per instance, so always a fresh
  instance per request (under `isolation = "instance"` wws says so at load and still runs fresh instances);
- a reactor (exports `wws_handle`, and `_initialize` if it has one): `_initialize` runs once per instance, then
  `wws_handle` once per request, reading the request from stdin and writing the response to stdout. Reactors can be
  kept warm and reused in `instance` isolation.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import wasmtime

from wws.errors import BadGuestOutput, LoadError
from wws.messages import StepAnswer, StepCall, WorkerRequest, WorkerResponse
from wws.runtimes.base import BaseRuntime, PreparedWorker
from wws.runtimes.wws_protocol import decode_response, encode_request
from wws.sandbox.store import GuestStore
from wws.sandbox.traps import cannot_load

log = logging.getLogger(__name__)

COMMAND_ENTRY = "_start"
REACTOR_ENTRY = "wws_handle"
REACTOR_INIT = "_initialize"


class NativeRuntime(BaseRuntime):
    """`.wasm` files."""

    language = "native"
    extensions: tuple[str, ...] = (".wasm",)

    def fingerprint(self) -> str:
        return "native-wws-protocol-1"

    def load(self, worker: PreparedWorker) -> NativeProgram:
        path = worker.folder / worker.source_name
        try:
            module = worker.sandbox.cache.load(path.read_bytes())
        except OSError as exc:
            raise LoadError(worker.handler, f"cannot read the module: {exc}") from exc
        except wasmtime.WasmtimeError as exc:
            raise cannot_load(worker.handler, "not a valid WebAssembly module", exc) from exc
        exports = {export.name for export in module.exports}
        if REACTOR_ENTRY in exports:
            entry, init = REACTOR_ENTRY, REACTOR_INIT if REACTOR_INIT in exports else None
        elif COMMAND_ENTRY in exports:
            entry, init = COMMAND_ENTRY, None
        else:
            raise LoadError(worker.handler, f"the module exports neither '{COMMAND_ENTRY}' nor '{REACTOR_ENTRY}'")
        try:
            pre = worker.sandbox.linker.instantiate_pre(module)
        except wasmtime.WasmtimeError as exc:
            raise cannot_load(worker.handler, "imports something wws does not provide", exc) from exc
        return NativeProgram(worker, pre, entry, init)


class NativeProgram:
    """A loaded module: an InstancePre shared by every instance of this worker version."""

    def __init__(self, worker: PreparedWorker, pre: wasmtime.InstancePre, entry: str, init: str | None):
        self.worker = worker
        self.pre = pre
        self.entry = entry
        self.init = init
        self.reusable = entry == REACTOR_ENTRY
        self.kv_snapshot = True
        self.speculates = True
        """The wws JSON protocol sends the worker's KV namespace with each request (the original wws's `Cache`)."""

    def new_instance(self) -> NativeInstance:
        return NativeInstance(self)

    def close(self) -> None:
        """Nothing is kept between requests."""


class NativeInstance:
    """One Store + Instance. A command serves one request; a reactor as many as its pool allows."""

    def __init__(self, program: NativeProgram):
        self._program = program
        self._guest = GuestStore(program.worker.sandbox, program.worker.spec)
        try:
            instance = self._guest.instantiate(program.pre)
            self._entry: Any = self._guest.export(instance, program.entry)
            if program.init is not None:
                self._guest.begin()
                self._guest.call(self._guest.export(instance, program.init))
        except BaseException:
            self._guest.close()
            raise

    def handle(self, request: WorkerRequest) -> WorkerResponse:
        self._guest.begin(request.request_id, request.deadline, stdin=encode_request(request))
        self._guest.call(self._entry)
        return collect_response(self._guest, self._program.worker.handler)

    def run_step(self, call: StepCall) -> StepAnswer:
        """A step: its state on stdin, the new state on stdout (a non-zero exit or a trap fails it); its secrets
        are environment variables."""
        if call.secrets:
            self._guest.extend_env(call.secrets.items())
        self._guest.begin(call.request_id, call.deadline, call.interrupt, stdin=call.state.encode())
        self._guest.call(self._entry)
        return StepAnswer(bytes(self._guest.streams.stdout), self._guest.streams.log_bytes())

    def memory_bytes(self) -> int:
        return self._guest.memory_bytes()

    def close(self) -> None:
        self._guest.close()


def collect_response(guest: GuestStore, handler: Path, output: bytes | None = None) -> WorkerResponse:
    """The response a guest answered (wws protocol): `output`, or else what it wrote to stdout; with what it logged
    to stderr."""
    try:
        response = decode_response(bytes(guest.streams.stdout) if output is None else output, handler)
    except BadGuestOutput as exc:
        raise BadGuestOutput(exc.worker, exc.cause, stderr_tail=guest.stderr_tail()) from None
    log_bytes = guest.streams.log_bytes()
    if log_bytes:
        return WorkerResponse(response.status, response.headers, response.body, response.kv, log_bytes)
    return response
