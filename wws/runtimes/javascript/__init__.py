"""JavaScript workers: Cloudflare Workers-style handlers on QuickJS-NG, started from a pre-initialised image.

Per worker version, once: the engine starts, runs the glue (`wws/glue/javascript/`) and the worker's top-level code,
and its memory becomes the version's *image*. Every instance is an instance of the one engine module (compiled once
per machine, shared by all workers) whose memory holds that image. A new version therefore costs its start-up (about
20 ms), never a compile: a saved file serves at once, and a thousand workers share one copy of the engine's code.
Per request: an instance in the image's state (see `JavaScriptProgram`), or a warm one in `instance` isolation, reads
the request JSON (the wws protocol plus `env` and `kv_binding`), runs the handler, and leaves the response JSON; both
cross in the guest's memory (see `exchange`).

Nothing per-request is frozen in the image: `Math.random` is reseeded and `performance.now()` restarts in every
request, `crypto` reads the host's entropy, and `env` (the worker's `[vars]`, which may hold secrets) is passed with
each request, never captured. Top-level code may not call the host (KV, fetch): as in Workers, I/O belongs in the
handler.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path

import wasmtime

from wws.config.model import NODEJS_COMPAT
from wws.errors import BadGuestOutput, GuestTrap, LoadError, MemoryLimitExceeded, SnapshotError, WorkerError
from wws.messages import StepAnswer, StepCall, WorkerRequest, WorkerResponse
from wws.runtimes.base import BaseRuntime, PreparedWorker
from wws.runtimes.javascript import engine
from wws.runtimes.javascript.exchange import IoArea
from wws.runtimes.javascript.modules import local_imports
from wws.runtimes.native import collect_response
from wws.runtimes.wws_protocol import encode_request
from wws.sandbox.pages import SharedImage
from wws.sandbox.store import GuestStore
from wws.sandbox.traps import cannot_load, uncaught
from wws.sandbox.waits import MONOTONIC
from wws.wasm import reader as snapshot
from wws.wasm.reader import PAGE

GLUE_DESTINATION = "glue"
NODE_GLOBALS = f"{GLUE_DESTINATION}/node-globals.js"
"""Run before the worker's module when its config has `nodejs_compat` (engine.c loads argv[1…] first)."""
INIT_EXPORTS = ("_initialize", "wws_init")
HANDLE_EXPORT = "wws_handle"
IO_EXPORT = "wws_io"
MAX_RECYCLED = 16
"""Reset instances kept per worker version (each holds its image's pages resident, about 1.6 MiB). A new instance
costs about 0.9 ms against 0.05 ms for a recycled one; at 2 kept, 16 concurrent requests made new instances for most
of them and halved the requests/s of the HTTP load benchmark. A worker keeps only as many as its requests overlapped."""


class JavaScriptRuntime(BaseRuntime):
    """`.js` and `.mjs` files (ES modules)."""

    language = "javascript"
    extensions: tuple[str, ...] = (".js", ".mjs")

    def fingerprint(self) -> str:
        return f"javascript-{engine.fingerprint()}"

    def sources(self, handler: Path, exclude: Sequence[Path] = ()) -> list[Path]:
        """The handler and the local modules it imports; none may lie in a folder of `exclude` (code the worker
        could rewrite)."""
        try:
            files = local_imports(handler)
        except ValueError as exc:
            raise LoadError(handler, str(exc)) from None
        writable = [folder.resolve() for folder in exclude]
        for file in files:
            if any(folder in file.resolve().parents for folder in writable):
                name = file.relative_to(handler.parent).as_posix()
                raise LoadError(handler, f"imports {name}, from a folder it may write to ([[folders]] writable)")
        return files

    def prepare(self, handler: Path, folder: Path, exclude: Sequence[Path] = ()) -> str:
        """Copy the handler and its local imports (keeping their relative paths) and the glue into `folder`."""
        for source in self.sources(handler, exclude):
            target = folder / source.relative_to(handler.parent)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        glue = folder / GLUE_DESTINATION
        glue.mkdir(exist_ok=True)
        for path in engine.glue_files():
            shutil.copyfile(path, glue / path.name)
        return handler.name

    def load(self, worker: PreparedWorker) -> JavaScriptProgram:
        try:
            pre = worker.sandbox.linker.instantiate_pre(worker.sandbox.cache.load(engine.engine_bytes()))
        except wasmtime.WasmtimeError as exc:
            raise cannot_load(worker.handler, "the JavaScript engine cannot be linked", exc) from exc
        image, io = _initialise(worker, pre)
        return JavaScriptProgram(worker, pre, image, io)


def _initialise(worker: PreparedWorker, pre: wasmtime.InstancePre) -> tuple[bytes, IoArea]:
    """Run the engine's start-up, the glue and the worker's top-level code; return the memory they leave (the
    stack zeroed: it is dead between calls) and where in it requests and responses cross."""
    preloads = (NODE_GLOBALS,) if NODEJS_COMPAT & set(worker.config.compatibility_flags) else ()
    guest = GuestStore(worker.sandbox, dataclasses.replace(worker.spec, host=None, argv=(*worker.spec.argv, *preloads)))
    try:
        instance = guest.instantiate(pre)
        guest.begin()
        guest.call(guest.export(instance, INIT_EXPORTS[0]))
        if guest.call_status(guest.export(instance, INIT_EXPORTS[1])) != 0:
            raise LoadError(worker.handler, guest.stderr_tail() or "the engine failed to start")
        io_address = guest.call_status(guest.export(instance, IO_EXPORT)) & 0xFFFFFFFF
        stack = engine.stack_size()
        image = bytes(stack) + guest.read_memory(guest.export(instance, "memory"), stack)
    except WorkerError as exc:
        raise LoadError(worker.handler, f"its top-level code failed: {exc.cause}\n{exc.stderr_tail}".strip()) from exc
    finally:
        guest.close()
    try:
        snapshot.check_capturable(engine.engine_bytes(), len(image))
        io = IoArea.of_image(image, io_address)
    except (SnapshotError, ValueError) as exc:
        raise LoadError(worker.handler, f"the JavaScript engine cannot be pre-initialised: {exc}") from exc
    return image, io


class JavaScriptProgram:
    """A pre-initialised worker version: every instance starts with the glue and the worker's module loaded.

    A new instance is the engine module's, grown to the image's size and overwritten with it. An instance that
    finished its request normally is *recycled*: its memory is overwritten with the image again, so it serves the
    next request as a new instance would, byte for byte: same memory, same globals (the stack pointer is back at its
    initial value when a call returns), same table. An instance that trapped, timed out or grew its memory is dropped
    instead. At most `MAX_RECYCLED` instances wait per worker version.
    """

    reusable = True
    kv_snapshot = False
    speculates = True
    """`Cache` and the KV binding reach the namespace through host calls."""

    def __init__(self, worker: PreparedWorker, pre: wasmtime.InstancePre, image: bytes, io: IoArea):
        self.worker = worker
        self.pre = pre
        self.io = io
        binding = worker.config.kv_binding if worker.config.kv_namespace is not None else None
        self.extra = {"env": dict(worker.config.vars), "kv_binding": binding}
        self.image_size = len(image)
        self._stack = min(engine.stack_size(), len(image))
        """The image's first bytes, the engine's stack: zeros (see `_initialise`), so not kept."""
        self._image = SharedImage(self._stack, memoryview(image)[self._stack :], f"wws-js-{worker.handler.name}")
        """Its stack (zeros) and the rest, mapped copy-on-write by every instance."""
        self._recycled: list[JavaScriptInstance] = []
        self._lock = threading.Lock()
        self._closed = False

    def new_instance(self) -> JavaScriptInstance:
        with self._lock:
            if self._recycled:
                return self._recycled.pop()
        return JavaScriptInstance(self)

    def restore(self, address: int, *, fresh: bool = False) -> None:
        """Make the memory at `address` (`image_size` bytes) the image: a `fresh` instance's maps it (its stack is
        zeros already), a recycled one's gets back the pages its request wrote (see `SharedImage`)."""
        if fresh:
            self._image.map_at(address)
        else:
            self._image.restore(address)

    def recycle(self, instance: JavaScriptInstance) -> bool:
        """Reset `instance` to the image and keep it for the next request; False when it must be dropped."""
        if not instance.clean or instance.memory_bytes() != self.image_size:
            return False
        with self._lock:
            if self._closed or len(self._recycled) >= MAX_RECYCLED:
                return False
            self.restore(instance.base)
            self._recycled.append(instance)
        return True

    def close(self) -> None:
        with self._lock:
            self._closed = True
            waiting, self._recycled = self._recycled, []
        for instance in waiting:
            instance.drop()
        self._image.close()


class JavaScriptInstance:
    """One instance of the image: one request (request isolation) or many in turn (instance isolation)."""

    def __init__(self, program: JavaScriptProgram):
        self._program = program
        self._guest = GuestStore(program.worker.sandbox, program.worker.spec)
        try:
            instance = self._guest.instantiate(program.pre)
            self._entry = self._guest.export(instance, HANDLE_EXPORT)
            self._memory = self._guest.export(instance, "memory")
            self.base = self._start_from_image(program.image_size)
            """The memory's address in this process, fixed for its life (see `GuestStore.memory_size`)."""
            program.restore(self.base, fresh=True)
        except BaseException:
            self._guest.close()
            raise
        self.clean = True
        """False from the start of a call until it returns: an instance whose call failed is never recycled."""

    def _start_from_image(self, image_size: int) -> int:
        """Grow the new instance's memory to the image's size; return its address."""
        store = self._guest.store
        try:
            self._memory.grow(store, -(-image_size // PAGE) - self._memory.size(store))
        except wasmtime.WasmtimeError as exc:
            cap = self._program.worker.spec.limits.memory_mb
            raise MemoryLimitExceeded(self._program.worker.handler, f"its image does not fit in {cap} MiB") from exc
        address, size = self._guest.memory_region(self._memory)
        if size != image_size:
            raise GuestTrap(self._program.worker.handler, f"its memory is {size} bytes, not its image's {image_size}")
        return address

    def handle(self, request: WorkerRequest) -> WorkerResponse:
        output = self._call(encode_request(request, self._program.extra, cf=True), request.request_id, request.deadline)
        return collect_response(self._guest, self._program.worker.handler, output)

    def run_step(self, call: StepCall) -> StepAnswer:
        """A step: the glue calls the module's `step(state, env)` and answers the new state as JSON."""
        extra = self._program.extra
        env = {**self._program.worker.config.vars, **call.secrets}
        message = json.dumps({"step": json.loads(call.state), **extra, "env": env}).encode()
        output = self._call(message, call.request_id, call.deadline, call.interrupt)
        return StepAnswer(output, self._guest.streams.log_bytes())

    def _call(
        self, message: bytes, request_id: str, deadline: float, interrupt: threading.Event | None = None
    ) -> bytes:
        """Run the engine's entry on `message`; return the response it left (see `exchange`)."""
        guest, io, handler, base = self._guest, self._program.io, self._program.worker.handler, self.base
        fits = io.send(base, message, self._program.worker.sandbox.waits.now_ns(MONOTONIC) or 0)
        guest.begin(request_id, deadline, interrupt, stdin=b"" if fits else message)
        self.clean = False
        status = guest.call_status(self._entry)
        self.clean = True
        if status != 0:
            tail = guest.stderr_tail()
            first_line = tail.splitlines()[0] if tail else "the handler failed"
            raise uncaught(handler, f"threw {first_line}", tail)
        output = io.response(base, self.memory_bytes())
        if output is None:
            raise BadGuestOutput(
                handler, "invalid response: it lies outside the guest's memory", stderr_tail=guest.stderr_tail()
            )
        cap = guest.spec.limits.max_response_bytes
        if len(output) > cap:
            raise BadGuestOutput(handler, f"response exceeded {cap} bytes", stderr_tail=guest.stderr_tail())
        return output

    def memory_bytes(self) -> int:
        return self._guest.memory_size(self._memory)

    def close(self) -> None:
        """Done with this instance: recycled when it can be, else dropped."""
        if not self._program.recycle(self):
            self.drop()

    def drop(self) -> None:
        self._guest.close()


__all__ = ["JavaScriptRuntime"]
