"""Python workers: handlers in the style of the original wws or of Cloudflare's Python Workers, on CPython 3.14.

The engine (see `engine.py`) is a component that starts with CPython and the glue already initialised. Per worker
version, once: every `.py` file of the prepared folder is compiled (by the engine itself, so the bytecode matches)
and written beside it as a `.pyc`, and the handler's code object is kept by the host. Per request: a fresh instance
(or a warm one, in `instance` isolation) receives the handler's code with the request, runs its top level and the
handler, and answers the response JSON; an exception becomes a traceback for the operator.

The guest sees `/src` (the prepared folder: the handler, its `_`-folders and `libs/`) and `/python` (the standard
library), both read-only, plus the config's `[[folders]]`. `hash()` of str and bytes uses a seed fixed when the
engine is built (CPython computes it once, before the snapshot); `random`, `os.urandom`, `uuid4` and `secrets`
differ in every instance.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path

from wws.config.model import Limits, Mount
from wws.errors import (
    EngineBuildError,
    GuestTrap,
    LoadError,
    RequirementsError,
    WorkerError,
)
from wws.messages import StepAnswer, StepCall, WorkerRequest, WorkerResponse
from wws.runtimes.base import GUEST_ROOT, BaseRuntime, PreparedWorker
from wws.runtimes.python import engine
from wws.runtimes.python.libs import install_libs, requirements_of
from wws.runtimes.wws_protocol import decode_response, encode_request
from wws.sandbox.components import ComponentGuest, ComponentLinker
from wws.sandbox.engine import Sandbox
from wws.sandbox.guest import SandboxSpec
from wws.sandbox.traps import uncaught

STDLIB_ROOT = "/python"
LIBS_FOLDER = "libs"
MAX_HELPER_FILES = 1000
PYC_FOLDER = "__pycache__"
CACHE_TAG = "cpython-314"
ERROR_ANSWER = '{"error"'
"""How the glue's answer starts when the handler raised (see `_wws_app.py`)."""
"""`sys.implementation.cache_tag` of the engine's CPython: names the `.pyc` files it reads (checked at build)."""


class PythonRuntime(BaseRuntime):
    """`.py` files."""

    language = "python"
    extensions: tuple[str, ...] = (".py",)

    def __init__(self) -> None:
        self._engines: weakref.WeakKeyDictionary[Sandbox, PythonEngine] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def fingerprint(self) -> str:
        return f"python-{engine.fingerprint()[:32]}"

    def sources(self, handler: Path, exclude: Sequence[Path] = ()) -> list[Path]:
        """The handler, the files of the `_`-prefixed folders beside it (but those it may write to), and the
        `requirements.txt` beside it."""
        skipped = {path.resolve() for path in exclude}
        files = [handler]
        for folder in sorted(handler.parent.glob("_*/")):
            for path in _files_under(folder, skipped):
                files.append(path)
                if len(files) > MAX_HELPER_FILES:
                    raise LoadError(handler, f"its _-prefixed folders hold over {MAX_HELPER_FILES} files")
        requirements = requirements_of(handler)
        if requirements is not None:
            files.append(requirements)
        return files

    def prepare(self, handler: Path, folder: Path, exclude: Sequence[Path] = ()) -> str:
        for source in self.sources(handler, exclude):
            target = folder / source.relative_to(handler.parent)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        requirements = requirements_of(handler)
        if requirements is not None:
            try:
                install_libs(requirements, folder / LIBS_FOLDER)
            except RequirementsError as exc:
                raise LoadError(handler, f"{requirements.name}: {exc}") from None
        return handler.name

    def preopens(self, folder: Path) -> tuple[Mount, ...]:
        return (Mount(folder, GUEST_ROOT), Mount(engine.stdlib_folder(), STDLIB_ROOT))

    def load(self, worker: PreparedWorker) -> PythonProgram:
        try:
            python = self.engine(worker.sandbox)
        except EngineBuildError as exc:
            raise LoadError(worker.handler, f"the Python engine is not available: {exc}") from exc
        code = python.compile_folder(worker.folder, worker.source_name, worker.handler)
        program = PythonProgram(worker, python, code)
        program.check()
        return program

    def engine(self, sandbox: Sandbox) -> PythonEngine:
        """The engine of `sandbox`, built (the first time on this machine) or loaded from the cache."""
        with self._lock:
            python = self._engines.get(sandbox)
            if python is None:
                python = self._engines[sandbox] = PythonEngine(sandbox)
            return python


class PythonEngine:
    """The compiled engine component of one sandbox, and a warm instance of it that compiles Python source."""

    def __init__(self, sandbox: Sandbox):
        self._compile_lock = threading.Lock()
        self.linker = ComponentLinker(sandbox, engine.HOST_INTERFACE)
        folder = engine.engine_folder()
        key = f"python-engine\0{engine.fingerprint()}"
        with engine.build_lock(folder):
            if (folder / engine.READY_FILE).is_file():
                self.component = sandbox.cache.load_component(key, (folder / engine.COMPONENT_FILE).read_bytes)
                self._compiler = self._new_compiler()
            else:
                self._build(folder, sandbox, key)

    def _build(self, folder: Path, sandbox: Sandbox, key: str) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        work = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
        try:
            engine.build_files(work)
            engine.log.warning("building the Python engine: compiling the component to machine code…")
            wasm = (work / engine.COMPONENT_FILE).read_bytes()
            self.component = sandbox.cache.load_component(key, lambda: wasm)
            self._compiler = self._new_compiler()
            engine.log.warning("building the Python engine: compiling the standard library to bytecode…")
            stdlib = work / engine.STDLIB_FOLDER
            for path in sorted(stdlib.rglob("*.py")):
                try:
                    self._write_pyc(path, f"{STDLIB_ROOT}/{path.relative_to(stdlib).as_posix()}")
                except SyntaxError:
                    continue  # test data and templates that are not meant to compile
            (work / engine.READY_FILE).write_text(engine.fingerprint() + "\n")
            work.rename(folder)
            engine.log.warning("the Python engine is ready in %s", folder)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _new_compiler(self) -> ComponentGuest:
        spec = SandboxSpec(
            worker=Path("<python compiler>"),
            argv=(),
            env=(),
            mounts=(),
            limits=Limits(timeout_ms=120_000, memory_mb=1024),
        )
        return ComponentGuest(self.linker, self.component, spec)

    def compile(self, source: str, guest_path: str) -> bytes:
        """The `.pyc` of `source`; raises SyntaxError (with the guest's message) when it does not compile."""
        with self._compile_lock:
            self._compiler.begin(host=False)
            answer = json.loads(self._compiler.call("compile-source", source, guest_path))
        if "error" in answer:
            error = SyntaxError(answer["error"])
            error.lineno = answer.get("line")
            raise error
        if answer.get("tag") != CACHE_TAG:
            raise EngineBuildError(f"the engine's CPython reads {answer.get('tag')} bytecode, not {CACHE_TAG}")
        return str(answer["pyc"]).encode("latin-1")

    def _write_pyc(self, path: Path, guest_path: str) -> None:
        pyc = self.compile(path.read_bytes().decode("utf-8", "replace"), guest_path)
        target = _pyc_of(path)
        target.parent.mkdir(exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        with os.fdopen(handle, "wb") as file:
            file.write(pyc)
        os.replace(temporary, target)

    def compile_folder(self, folder: Path, source_name: str, handler: Path) -> str:
        """Write the `.pyc` of every `.py` in the prepared folder that has none; return the handler's code."""
        for path in sorted(folder.rglob("*.py")):
            if not _pyc_of(path).is_file():
                try:
                    self._write_pyc(path, f"{GUEST_ROOT}/{path.relative_to(folder).as_posix()}")
                except SyntaxError as exc:
                    raise LoadError(handler, f"does not compile:\n{host_paths(str(exc), handler, folder)}") from None
        return _pyc_of(folder / source_name).read_bytes()[16:].decode("latin-1")


class PythonProgram:
    """A loaded worker version: the engine, and the handler's code object that each instance receives."""

    reusable = True
    kv_snapshot = False
    speculates = True
    """`Cache` and the KV binding reach the namespace through host calls."""

    def __init__(self, worker: PreparedWorker, python: PythonEngine, code: str):
        self.worker = worker
        self.python = python
        self.code = code
        binding = worker.config.kv_binding if worker.config.kv_namespace is not None else None
        self.extra = {"env": dict(worker.config.vars), "kv_binding": binding}

    def check(self) -> None:
        """Load the handler once (its top level, host calls refused) so that its errors show at load."""
        instance = PythonInstance(self)
        try:
            instance.load()
        except WorkerError as exc:
            raise LoadError(self.worker.handler, f"its top-level code failed: {exc.cause}\n{exc.stderr_tail}") from exc
        finally:
            instance.close()

    def new_instance(self) -> PythonInstance:
        return PythonInstance(self)

    def close(self) -> None:
        """Instances share nothing that needs closing."""


class PythonInstance:
    """One instance of the engine: one request (request isolation) or many in turn (instance isolation)."""

    def __init__(self, program: PythonProgram):
        self._program = program
        self._guest = ComponentGuest(program.python.linker, program.python.component, program.worker.spec)
        self._code = program.code

    def load(self) -> None:
        """Run the handler's top level, as before any request: host calls are refused."""
        self._guest.begin(host=False)
        self._answer(self._guest.call("handle", self._code, ""))
        self._code = ""

    def handle(self, request: WorkerRequest) -> WorkerResponse:
        message = encode_request(request, self._program.extra, cf=True).decode()
        self._guest.begin(request.request_id, request.deadline)
        answer = self._answer(self._guest.call("handle", self._code, message))
        self._code = ""
        return decode_response(answer.encode(), self._program.worker.handler)

    def run_step(self, call: StepCall) -> StepAnswer:
        """A step: the glue calls the module's `step(state, env)` and answers `{"state": <the new state>}`."""
        extra = self._program.extra
        env = {**self._program.worker.config.vars, **call.secrets}
        message = json.dumps({"step": json.loads(call.state), **extra, "env": env})
        self._guest.begin(call.request_id, call.deadline, call.interrupt)
        answer = self._answer(self._guest.call("handle", self._code, message))
        self._code = ""
        prefix = '{"state":'
        if not (answer.startswith(prefix) and answer.endswith("}")):
            raise GuestTrap(self._program.worker.handler, f"the engine answered a step with {answer[:80]!r}")
        return StepAnswer(answer[len(prefix) : -1].encode())

    def _answer(self, answer: str) -> str:
        """The glue's answer, unless it reports the handler's uncaught exception: `{"error": <traceback>, "kind"}`
        (the glue's other answers never start with that key)."""
        if not answer.startswith(ERROR_ANSWER):
            return answer
        failure = json.loads(answer)
        worker = self._program.worker
        trace = host_paths(str(failure["error"]), worker.handler, worker.folder)
        last = trace.strip().splitlines()[-1] if trace.strip() else "an exception"
        memory_mb = worker.spec.limits.memory_mb if failure.get("kind") == "memory" else 0
        raise uncaught(worker.handler, f"raised {last}", trace, out_of_memory_mb=memory_mb)

    def memory_bytes(self) -> int:
        """Unknown: a component's memory is not visible to the host (the store's limit still applies)."""
        return 0

    def close(self) -> None:
        self._guest.close()


def _files_under(folder: Path, skipped: set[Path]) -> Iterator[Path]:
    """The files under `folder`, sorted, but hidden ones, bytecode and whatever is under a folder of `skipped`
    (not even listed: a folder the worker writes to may hold any number of files)."""
    if folder.resolve() in skipped:
        return
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name == PYC_FOLDER:
            continue
        if entry.is_dir():
            yield from _files_under(entry, skipped)
        elif entry.is_file():
            yield entry


def _pyc_of(source: Path) -> Path:
    """Where CPython looks for the bytecode of `source`."""
    return source.parent / PYC_FOLDER / f"{source.stem}.{CACHE_TAG}.pyc"


def host_paths(text: str, handler: Path, folder: Path) -> str:
    """`text` (a traceback) with the guest's paths of the worker's files turned into their paths on the host."""
    libs = f"{GUEST_ROOT}/{LIBS_FOLDER}/"
    text = text.replace(f'File "{libs}', f'File "{folder / LIBS_FOLDER}/')
    return re.sub(rf'File "{re.escape(GUEST_ROOT)}/', f'File "{handler.parent}/', text)


__all__ = ["PythonRuntime"]
