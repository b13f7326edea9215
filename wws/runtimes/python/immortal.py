"""Make the objects of the Python engine's snapshot immortal (PEP 683), in the component's data segments.

Each fresh instance maps the snapshot's memory copy-on-write. CPython writes an object's reference count each time
it takes or drops a reference, so a hello request copied about 250 pages (1 MiB) of objects it only read. An
immortal object's count is never written. The guest (`wws/glue/python/_wws_snapshot.py`) lists the addresses of
the objects reachable at snapshot time and keeps them alive. This module finds that table in the memory image and
sets each listed object's count to CPython's immortal value, in place: the component keeps its size and layout.
"""

from __future__ import annotations

import bisect
import hashlib
import struct
from dataclasses import dataclass

from wws.errors import SnapshotError
from wws.wasm.reader import data_segment_spans, section_spans

__all__ = ["IMMORTAL_INITIAL", "IMMORTAL_MINIMUM", "MARKER", "SnapshotError", "immortalize"]

MARKER = b"stcejbo-tohspans-swwd"[::-1]
"""Must equal `_wws_snapshot.MARKER`."""

IMMORTAL_MINIMUM = 1 << 30
"""CPython 3.14 on a 32-bit target treats a count at or above this as immortal (`_Py_IMMORTAL_MINIMUM_REFCNT`)."""
IMMORTAL_INITIAL = 5 << 28
"""The count CPython gives the objects it makes immortal (`_Py_IMMORTAL_INITIAL_REFCNT`, 32-bit)."""

_CORE_MODULE = 1
_COMPONENT_PREAMBLE = 8


@dataclass(frozen=True, slots=True)
class _Segment:
    """An active data segment: where it lands in linear memory and where its bytes are in the component."""

    address: int
    position: int
    length: int


def immortalize(component: bytes) -> tuple[bytes, int]:
    """`component` with the listed objects made immortal, and how many were changed."""
    segments = _data_segments(component)
    memory = bytearray(max(segment.address + segment.length for segment in segments))
    for segment in segments:
        memory[segment.address : segment.address + segment.length] = _bytes_of(component, segment)
    starts = [segment.address for segment in segments]
    changed = 0
    for address in _table(memory):
        index = bisect.bisect_right(starts, address) - 1
        if index < 0 or address + 4 > segments[index].address + segments[index].length:
            continue  # not in the image: cannot be a live object, leave it
        (count,) = struct.unpack_from("<I", memory, address)
        if 0 < count < IMMORTAL_MINIMUM:
            struct.pack_into("<I", memory, address, IMMORTAL_INITIAL)
            changed += 1
    patched = bytearray(component)
    for segment in segments:
        patched[segment.position : segment.position + segment.length] = memory[
            segment.address : segment.address + segment.length
        ]
    return bytes(patched), changed


def _bytes_of(component: bytes, segment: _Segment) -> bytes:
    return component[segment.position : segment.position + segment.length]


def _table(memory: bytearray) -> list[int]:
    """The addresses the guest listed: the first copy of the marker followed by a table whose hash matches."""
    start = memory.find(MARKER)
    while start >= 0:
        head = start + len(MARKER)
        if head + 36 <= len(memory):
            (count,) = struct.unpack_from("<I", memory, head)
            digest = bytes(memory[head + 4 : head + 36])
            body = bytes(memory[head + 36 : head + 36 + 4 * count])
            if len(body) == 4 * count and hashlib.sha256(body).digest() == digest:
                return list(struct.unpack(f"<{count}I", body))
        start = memory.find(MARKER, start + 1)
    raise SnapshotError("the snapshot holds no table of its objects")


def _data_segments(component: bytes) -> list[_Segment]:
    """The active data segments of the component's core module that defines the snapshot's memory (the one with the
    most data), in order, with their positions in `component`."""
    best: list[_Segment] = []
    for section_id, start, end in section_spans(component, _COMPONENT_PREAMBLE):
        if section_id != _CORE_MODULE:
            continue
        spans = data_segment_spans(component[start:end])
        segments = [_Segment(address & 0xFFFFFFFF, start + position, length) for address, position, length in spans]
        if sum(s.length for s in segments) > sum(s.length for s in best):
            best = segments
    if not best:
        raise SnapshotError("the component has no core module with data segments")
    return best
