"""Marks the objects of the snapshot for the engine build, which makes them immortal.

A fresh instance maps the snapshot's memory copy-on-write: the first write to a page copies it. CPython writes
to an object each time it takes or drops a reference to it, so a request that only reads the pre-imported modules
still copied a megabyte of pages. Immortal objects (PEP 683) skip those writes. CPython offers no call to make an
object immortal, so the guest lists the objects and the host sets their reference counts in the snapshot's data
(`wws.runtimes.python.immortal`). Every listed object is kept alive, so each address stays a live object.
"""

import gc
import hashlib
import struct
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
