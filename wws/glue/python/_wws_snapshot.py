"""Shapes the snapshot's memory so that a fresh instance touches, and copies, as few pages as it can.

A fresh instance maps the snapshot's memory copy-on-write, and every page it first touches costs a page fault
(the kernel maps 64 KiB around a read). Two things make a request touch more pages than its work needs:

- CPython writes to an object each time it takes or drops a reference to it, so a request that only reads the
  pre-imported modules still copied a megabyte of pages. Immortal objects (PEP 683) skip those writes. CPython
  offers no call to make an object immortal, so `pin` lists the objects and the host sets their reference counts
  in the snapshot's data (`wws.runtimes.python.immortal`). Every listed object is kept alive, so each address
  stays a live object.
- What a request runs was allocated at import time, in whatever holes the heap had then, and its code between
  the compiler's own garbage: it lay scattered over the whole heap. The glue loads while `fill_holes` holds those
  holes, so its classes and functions come out side by side; `compact` then gives the functions that the warm-up
  runs (the glue's and the standard library's) fresh copies of their code, together at the end of the heap.
"""

import gc
import hashlib
import marshal
import struct
import sys
import types
from array import array

MARKER = b"stcejbo-tohspans-swwd"[::-1]
"""Begins the table in the guest's memory. Reversed here, so that the constant of this code differs from it."""

_code_parts = (
    "co_consts",
    "co_names",
    "co_varnames",
    "co_filename",
    "co_name",
    "co_qualname",
    "co_linetable",
    "co_exceptiontable",
)


def _reachable():
    """Every object reachable from the objects the collector tracks (the untracked ones: strings, numbers…)."""
    found = {}
    pending = gc.get_objects()
    while pending:
        obj = pending.pop()
        if id(obj) in found:
            continue
        found[id(obj)] = obj
        pending.extend(gc.get_referents(obj))
        if isinstance(obj, types.CodeType):  # code objects do not list what they refer to
            pending.extend(getattr(obj, name) for name in _code_parts)
    return found


def pin():
    """The objects to keep alive, and the table (marker, count, sha256, sorted addresses) the host looks for."""
    gc.collect()
    found = _reachable()
    addresses = array("I", sorted(found)).tobytes()
    header = MARKER + struct.pack("<I", len(found)) + hashlib.sha256(addresses).digest()
    return list(found.values()), header + addresses


def compact(run):
    """Run `run` and give every function it called a copy of its code, placed together; return how many code
    objects were copied (0 when the heap could not be arranged: then nothing changed).

    The copies start unspecialised: run the warm-up again afterwards."""
    executed = _executed(run)
    gc.collect()
    functions = [obj for obj in gc.get_objects() if type(obj) is types.FunctionType and id(obj.__code__) in executed]
    try:
        fillers = fill_holes()
    except MemoryError:
        return 0
    copies = {}
    for function in functions:
        code = function.__code__
        copy = copies.get(id(code))
        if copy is None:
            copy = copies[id(code)] = marshal.loads(marshal.dumps(code))
        function.__code__ = copy
    del fillers
    gc.collect()
    return len(copies)


def _executed(run):
    """The code objects (by id) that run while `run` runs."""
    seen = {}
    monitoring = sys.monitoring
    tool = monitoring.PROFILER_ID

    def started(code, _offset):
        seen.setdefault(id(code), code)

    monitoring.use_tool_id(tool, "wws snapshot")
    monitoring.register_callback(tool, monitoring.events.PY_START, started)
    monitoring.set_events(tool, monitoring.events.PY_START)
    try:
        run()
    finally:
        monitoring.set_events(tool, 0)
        monitoring.register_callback(tool, monitoring.events.PY_START, None)
        monitoring.free_tool_id(tool)
    return seen


_PROBE_SIZE = 2 << 20
"""Larger than the heap's holes: a block this big comes from its end, which tells where the end is. (Were a hole
larger, fewer holes would be filled: a looser layout, nothing worse.)"""


def fill_holes():
    """Blocks that fill the free holes of the heap (malloc's, then each size class of CPython's small-object
    allocator), so that what is allocated next lands at its end. The caller drops them when done."""
    probe = bytes(_PROBE_SIZE)
    end = max(id(probe), *map(id, gc.get_objects()))
    del probe
    fillers = []
    size = 1 << 20
    while size > 512:  # malloc's holes, by decreasing size
        _fill(fillers, size, end)
        size = size * 7 // 8
    for size in range(512, 24, -8):  # the small-object allocator's size classes (a bytes object is 17 + n)
        _fill(fillers, size - 17, end)
    return fillers


def _fill(fillers, length, end):
    """Add blocks of `length` bytes to `fillers` until one comes from beyond `end` (that one is dropped)."""
    while True:
        block = bytes(length)
        if id(block) >= end:
            return
        fillers.append(block)
