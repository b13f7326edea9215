"""The runtime registry: built-ins and entry-point plug-ins registered the same way, conflicts refused."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from wws.errors import DuplicateRuntime, RuntimeNotFound
from wws.messages import WorkerRequest
from wws.runtimes import RuntimeRegistry, default_registry, init_runtime
from wws.runtimes.native import NativeRuntime
from wws.sandbox.engine import Sandbox
from wws.worker.worker import Worker

PLUGIN_SITE = Path(__file__).parent.parent / "fixtures" / "plugin"


@pytest.fixture
def plugin_installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The test plug-in installed: its package and its .dist-info (with entry_points.txt) on sys.path."""
    monkeypatch.syspath_prepend(str(PLUGIN_SITE))
    default_registry.cache_clear()
    yield
    default_registry.cache_clear()
    sys.modules.pop("wws_wat_runtime", None)


def test_init_runtime_maps_wasm_to_the_native_runtime() -> None:
    assert isinstance(init_runtime(".wasm"), NativeRuntime)
    assert init_runtime("wasm") is init_runtime(".WASM")


def test_init_runtime_unknown_extension_lists_the_supported_ones() -> None:
    with pytest.raises(RuntimeNotFound) as failure:
        init_runtime(".cobol")
    assert "'.cobol'" in str(failure.value)
    assert ".wasm" in str(failure.value)


def test_registry_refuses_two_runtimes_for_one_extension() -> None:
    class Impostor(NativeRuntime):
        language = "impostor"

    with pytest.raises(DuplicateRuntime, match=r"'native' and 'impostor' both claim '\.wasm'"):
        RuntimeRegistry([NativeRuntime(), Impostor()])


def test_registry_refuses_an_object_that_is_not_a_runtime() -> None:
    with pytest.raises(TypeError, match="Runtime protocol"):
        RuntimeRegistry([object()])  # type: ignore[list-item]


@pytest.mark.usefixtures("plugin_installed")
def test_plugin_runtime_is_found_through_its_entry_point_lazily_and_once() -> None:
    assert "wws_wat_runtime" not in sys.modules
    runtime = init_runtime(".wat")
    assert type(runtime).__module__ == "wws_wat_runtime"
    assert runtime.language == "wat"
    assert init_runtime(".wat") is runtime
    assert isinstance(init_runtime(".wasm"), NativeRuntime)


@pytest.mark.usefixtures("plugin_installed")
def test_plugin_runtime_serves_a_worker(tmp_path: Path, sandbox: Sandbox) -> None:
    source = Path(__file__).parent.parent / "fixtures" / "native" / "exit_zero.wat"
    handler = tmp_path / "bye.wat"
    handler.write_text(source.read_text())
    worker = Worker(handler, root=tmp_path, sandbox=sandbox, registry=RuntimeRegistry.discover())
    try:
        response = worker.handle(WorkerRequest(url="http://x/"))
    finally:
        worker.close()
    assert response.body == b"bye"
    assert (tmp_path / ".wws" / "wat").is_dir()
