"""libpython owns the function table (`lazy_table.py`): on a hand-made component linked like componentize-py's, and on
the real engine."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import wasmtime
import wasmtime.component

from tests.runtimes.python.conftest import MakePyWorker, get
from wws.errors import SnapshotError
from wws.runtimes.python import engine, lazy_table
from wws.wasm import component_items
from wws.wasm import module_edit as me
from wws.wasm.reader import section_spans

# Linked like componentize-py's output: a module of the linker's own defines the memory, the table, the libraries'
# table bases and a trampoline through a late slot; libc and "libpython" import the table; libpython imports a libc
# function and puts its functions into the table at its base; a fix-up fills the late slot through the linker's
# instance itself.
LINKED = """
(component
  (core module $home
    (type $binary (func (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (table (export "__indirect_function_table") 8 funcref)
    (global (export "libpython:table_base") i32 (i32.const 2))
    (func (export "late") (result i32)
      i32.const 35 i32.const 7 i32.const 5 call_indirect (type $binary)))
  (core module $libc
    (import "env" "__indirect_function_table" (table 0 funcref))
    (func $sub (param i32 i32) (result i32) local.get 0 local.get 1 i32.sub)
    (elem (i32.const 1) func $sub)
    (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
  (core module $libpython
    (import "env" "__indirect_function_table" (table 3 funcref))
    (import "env" "__table_base" (global $base i32))
    (import "env" "add" (func $add (param i32 i32) (result i32)))
    (type $unary (func (param i32) (result i32)))
    (type $binary (func (param i32 i32) (result i32)))
    (func $double (param i32) (result i32) local.get 0 local.get 0 call $add)
    (func $inc (param i32) (result i32) local.get 0 i32.const 1 call $add)
    (elem (global.get $base) func $double $inc)
    (func (export "run") (result i32)
      i32.const 20 i32.const 3 call_indirect (type $unary)
      i32.const 2 call_indirect (type $unary)
      i32.const 1 i32.const 5 call_indirect (type $binary)
      i32.const 1 i32.const 1 call_indirect (type $binary)))
  (core module $fixup
    (import "env" "__indirect_function_table" (table 0 funcref))
    (import "libc" "add" (func $add (param i32 i32) (result i32)))
    (elem (i32.const 5) func $add))
  (core instance $h (instantiate $home))
  (alias core export $h "__indirect_function_table" (core table $table))
  (core instance $libc_env (export "__indirect_function_table" (table $table)))
  (core instance $c (instantiate $libc (with "env" (instance $libc_env))))
  (alias core export $h "libpython:table_base" (core global $base))
  (alias core export $c "add" (core func $add))
  (core instance $py_env
    (export "__indirect_function_table" (table $table))
    (export "__table_base" (global $base))
    (export "add" (func $add)))
  (core instance $py (instantiate $libpython (with "env" (instance $py_env))))
  (core instance (instantiate $fixup (with "env" (instance $h)) (with "libc" (instance $c))))
  (func (export "run") (result u32) (canon lift (core func $py "run")))
  (func (export "late") (result u32) (canon lift (core func $h "late")))
)
"""


def call_exports(component: bytes) -> dict[str, int]:
    engine_ = wasmtime.Engine()
    store = wasmtime.Store(engine_)
    instance = wasmtime.component.Linker(engine_).instantiate(store, wasmtime.component.Component(engine_, component))
    results = {}
    for name in ("run", "late"):
        func = instance.get_func(store, name)
        assert func is not None
        results[name] = func(store)
        func.post_return(store)
    return results


def core_modules(component: bytes) -> list[me.Module]:
    return [me.Module.decode(component[start:end]) for sid, start, end in section_spans(component, 8) if sid == 1]


def test_decoding_and_encoding_give_back_the_same_bytes() -> None:
    linked = bytes(wasmtime.wat2wasm(LINKED))
    assert component_items.encode(component_items.decode(linked)) == linked


def test_the_rewired_component_computes_the_same_and_libpython_defines_the_table() -> None:
    linked = bytes(wasmtime.wat2wasm(LINKED))
    rewired = lazy_table.make_table_lazy(linked)
    # inc(20) = 21, doubled = 42, plus the fix-up's late slot (add 1) = 43, minus libc's slot (sub 1) = 42
    assert call_exports(linked) == {"run": 42, "late": 42}
    assert call_exports(rewired) == {"run": 42, "late": 42}

    home, _libc, libpython = core_modules(rewired)[:3]
    assert home.body(me.TABLE) is not None  # the linker's trampolines keep their own table
    assert not [i for i in libpython.imports() if i.kind == me.KIND_TABLE]
    assert libpython.body(me.TABLE) == me.vector([me.table_type(8, None)])
    [segment] = me.segments(libpython)
    assert segment.offset == me.i32_const(2)  # constant: what wasmtime needs to fill the table lazily


def test_a_component_without_a_shared_table_is_refused_and_the_engine_keeps_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plain = bytes(wasmtime.wat2wasm("(component (core module (func)))"))
    with pytest.raises(SnapshotError, match="shared __indirect_function_table"):
        lazy_table.make_table_lazy(plain)
    path = tmp_path / "engine.wasm"
    path.write_bytes(plain)
    with caplog.at_level(logging.WARNING):
        engine._make_table_lazy(path)
    assert path.read_bytes() == plain
    assert "stays eager" in caplog.text


def test_in_the_engine_libpython_defines_the_table_with_constant_offsets(py_worker: MakePyWorker) -> None:
    worker = py_worker("""
        def worker(request):
            return Response("ok")
    """)
    assert get(worker).body == b"ok"
    modules = core_modules((engine.engine_folder() / engine.COMPONENT_FILE).read_bytes())
    owners = [m for m in modules if m.body(me.TABLE) is not None and me.segments(m)]
    assert len(owners) == 1
    [libpython] = owners
    assert sum(segment.length() for segment in me.segments(libpython)) > 4000
    assert all(segment.offset_global() is None for segment in me.segments(libpython))
    importers = [m for m in modules if any(i.kind == me.KIND_TABLE for i in m.imports())]
    assert len(importers) >= 5  # libc and the other libraries share libpython's table
