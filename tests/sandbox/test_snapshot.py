"""Reading what starting from a captured image requires: the stack below the stack pointer, one memory of the
module's own, no other mutable global."""

from __future__ import annotations

import pytest
import wasmtime

from wws.errors import SnapshotError
from wws.wasm.reader import PAGE, check_capturable, stack_size

COUNTER = """
(module
  (memory (export "memory") 1 4)
  (global $sp (mut i32) (i32.const 1024))
  (data (i32.const 2048) "seed")
  (func (export "next") (result i32)
    (i32.store (i32.const 4096) (i32.add (i32.load (i32.const 4096)) (i32.const 1)))
    (i32.load (i32.const 4096))))
"""


def test_stack_size_is_the_initial_stack_pointer_below_all_data() -> None:
    assert stack_size(wasmtime.wat2wasm(COUNTER)) == 1024
    data_below = COUNTER.replace('(i32.const 2048) "seed"', '(i32.const 16) "seed"')
    assert stack_size(wasmtime.wat2wasm(data_below)) == 0


def test_an_image_within_the_maximum_of_a_module_with_only_a_stack_pointer_is_capturable() -> None:
    check_capturable(wasmtime.wat2wasm(COUNTER), 4 * PAGE)


def test_an_image_over_the_memory_maximum_is_not() -> None:
    with pytest.raises(SnapshotError, match="larger than the module's maximum"):
        check_capturable(wasmtime.wat2wasm(COUNTER), 4 * PAGE + 1)


def test_a_second_mutable_global_would_be_lost() -> None:
    module = wasmtime.wat2wasm(COUNTER.replace("(data", "(global $other (mut i32) (i32.const 0))\n  (data"))
    with pytest.raises(SnapshotError, match="mutable globals"):
        check_capturable(module, PAGE)


def test_a_module_without_memory_cannot_start_from_an_image() -> None:
    with pytest.raises(SnapshotError, match="defines no memory"):
        check_capturable(wasmtime.wat2wasm("(module)"), 0)


def test_an_imported_memory_is_not_the_module_s_own() -> None:
    with pytest.raises(SnapshotError, match="imports its memory"):
        check_capturable(wasmtime.wat2wasm('(module (import "env" "memory" (memory 1)))'), PAGE)
