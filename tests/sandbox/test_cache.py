"""The compiled-module cache: a second start loads instead of compiling; a damaged file is detected and rebuilt."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from wws.sandbox.engine import Sandbox


@pytest.fixture
def wasm(native_modules: dict[str, Path]) -> bytes:
    return native_modules["echo"].read_bytes()


def fresh_sandbox(folder: Path) -> Sandbox:
    """A new engine and an empty in-memory cache, as after a restart."""
    return Sandbox(cache_folder=folder)


def test_cache_second_start_loads_instead_of_compiling(tmp_path: Path, wasm: bytes) -> None:
    first = fresh_sandbox(tmp_path)
    first.cache.load(wasm)
    first.close()
    assert first.cache.compiled == 1
    assert first.cache.path(wasm).is_file()

    second = fresh_sandbox(tmp_path)
    module = second.cache.load(wasm)
    second.close()
    assert second.cache.compiled == 0
    assert "_start" in {export.name for export in module.exports}


def test_cache_same_process_compiles_once(tmp_path: Path, wasm: bytes) -> None:
    box = fresh_sandbox(tmp_path)
    assert box.cache.load(wasm) is box.cache.load(wasm)
    box.close()
    assert box.cache.compiled == 1


@pytest.mark.parametrize("damage", ["truncate", "flip-a-byte", "empty"])
def test_cache_damaged_file_is_detected_and_rebuilt(
    tmp_path: Path, wasm: bytes, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    first = fresh_sandbox(tmp_path)
    first.cache.load(wasm)
    first.close()
    path = first.cache.path(wasm)
    good = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "flip-a-byte":
        middle = len(good) // 2
        path.write_bytes(good[:middle] + bytes([good[middle] ^ 0xFF]) + good[middle + 1 :])
    else:
        path.write_bytes(b"")

    second = fresh_sandbox(tmp_path)
    with caplog.at_level(logging.WARNING, logger="wws.sandbox.cache"):
        module = second.cache.load(wasm)
    second.close()
    assert second.cache.compiled == 1
    assert "corrupt or truncated" in caplog.text
    assert "_start" in {export.name for export in module.exports}
    assert path.read_bytes() == good


def test_cache_key_depends_on_wasm_bytes_and_engine_settings(tmp_path: Path, wasm: bytes) -> None:
    box = fresh_sandbox(tmp_path)
    other_settings = type(box.cache)(box.engine, tmp_path, "epoch_interruption=0")
    box.close()
    assert box.cache.key(wasm) != box.cache.key(wasm + b"\0")
    assert box.cache.key(wasm) != other_settings.key(wasm)
