"""Snapshots of a module's memory: the module starts where its initialisation left it, without running it again."""

from __future__ import annotations

import pytest
import wasmtime

from wws.sandbox.snapshot import SnapshotError, nonzero_runs, snapshot_module, stack_size

COUNTER = """
(module
  (memory (export "memory") 1)
  (global $sp (mut i32) (i32.const 1024))
  (data (i32.const 2048) "seed")
  (func (export "init")
    (drop (memory.grow (i32.const 1)))
    (i32.store (i32.const 4096) (i32.const 41))
    (i32.store8 (i32.const 70000) (i32.const 7)))
  (func (export "next") (result i32)
    (i32.store (i32.const 4096) (i32.add (i32.load (i32.const 4096)) (i32.const 1)))
    (i32.load (i32.const 4096))))
"""


def run(module_bytes: bytes, *calls: str) -> tuple[list[int], bytes]:
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    instance = wasmtime.Instance(store, wasmtime.Module(engine, module_bytes), [])
    exports = instance.exports(store)
    results = [exports[name](store) for name in calls]
    memory = exports["memory"]
    assert isinstance(memory, wasmtime.Memory)
    return [result for result in results if result is not None], bytes(memory.read(store, 0, memory.data_len(store)))


def test_a_snapshot_starts_from_the_captured_memory() -> None:
    original = wasmtime.wat2wasm(COUNTER)
    _, memory = run(original, "init")
    snapshot = snapshot_module(original, memory, drop_exports=("init",))
    results, after = run(snapshot, "next", "next")
    assert results == [42, 43]
    assert after[2048:2052] == b"seed"
    assert after[70000] == 7, "the memory grew to the captured size"
    module = wasmtime.Module(wasmtime.Engine(), snapshot)
    assert "init" not in {export.name for export in module.exports}


def test_nonzero_runs_skip_long_zero_gaps_only() -> None:
    memory = bytearray(10_000)
    memory[10:12] = b"ab"
    memory[20] = 1  # 8 zero bytes later: same run
    memory[5000:5003] = b"xyz"
    assert list(nonzero_runs(bytes(memory))) == [(10, b"ab" + bytes(8) + b"\x01"), (5000, b"xyz")]
    assert list(nonzero_runs(bytes(100))) == []


def test_stack_size_is_the_initial_stack_pointer_below_all_data() -> None:
    assert stack_size(wasmtime.wat2wasm(COUNTER)) == 1024
    data_below = COUNTER.replace('(i32.const 2048) "seed"', '(i32.const 16) "seed"')
    assert stack_size(wasmtime.wat2wasm(data_below)) == 0


def test_a_second_mutable_global_cannot_be_snapshotted() -> None:
    module = wasmtime.wat2wasm(COUNTER.replace("(data", "(global $other (mut i32) (i32.const 0))\n  (data"))
    with pytest.raises(SnapshotError, match="mutable globals"):
        snapshot_module(module, bytes(65536))


def test_a_module_without_memory_cannot_be_snapshotted() -> None:
    with pytest.raises(SnapshotError, match="defines no memory"):
        snapshot_module(wasmtime.wat2wasm("(module)"), b"")
