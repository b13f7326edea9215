"""Pre-initialised images: run an engine's start-up once, then start every instance from the memory it left behind.

Wizer's idea, done by the host at run time: an instance of the unchanged module, its memory overwritten with the
captured image, continues where the start-up left off, provided the memory holds all the state. This module reads
what that requires from the module's binary: one memory of its own (within whose maximum the image fits), and no
mutable global but the stack pointer (which is back at its initial value whenever no call is active; the stack below
it is dead then, so images zero it).

What an image freezes (runtime-facts.md): anything the guest read from its environment (WASI env, clocks, entropy),
so per-request values are passed in at request time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from wws.errors import SnapshotError

MAGIC = b"\0asm\x01\0\0\0"
PAGE = 65536

_IMPORT, _MEMORY, _GLOBAL, _DATA = 2, 5, 6, 11
_KIND_MEMORY = 2
_I32 = 0x7F
_END = 0x0B


@dataclass(frozen=True, slots=True)
class Global:
    mutable: bool
    valtype: int
    initial: int | None
    """The constant initial value (None when it is not an integer constant)."""


# ---- reading --------------------------------------------------------------------------------------------------------


class Reader:
    """Reads the binary format shared by modules and components: bytes, LEBs, names, limits, import entries."""

    def __init__(self, data: bytes, position: int = 0, end: int | None = None):
        self.data = data
        self.position = position
        self.end = len(data) if end is None else end

    def byte(self) -> int:
        if self.position >= self.end:
            raise SnapshotError("truncated module")
        value = self.data[self.position]
        self.position += 1
        return value

    def uleb(self) -> int:
        return self._leb(signed=False)

    def sleb(self) -> int:
        return self._leb(signed=True)

    def _leb(self, *, signed: bool) -> int:
        result = shift = 0
        while True:
            byte = self.byte()
            result |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return result - (1 << shift) if signed and byte & 0x40 else result

    def take(self, count: int) -> bytes:
        if self.position + count > self.end:
            raise SnapshotError("truncated module")
        chunk = self.data[self.position : self.position + count]
        self.position += count
        return chunk

    def name(self) -> str:
        return self.take(self.uleb()).decode("utf-8")

    def limits(self) -> tuple[int, int | None]:
        flags = self.byte()
        if flags not in (0, 1):
            raise SnapshotError("only plain 32-bit, unshared memories can be captured")
        minimum = self.uleb()
        return minimum, self.uleb() if flags else None

    def import_entry(self) -> tuple[str, str, int, bytes]:
        """One entry of an import section: (module, name, kind, the kind's type as encoded)."""
        module, field = self.name(), self.name()
        kind = self.byte()
        start = self.position
        if kind == 0:  # function: type index
            self.uleb()
        elif kind == 1:  # table: reftype + limits
            self.byte()
            self.limits()
        elif kind == _KIND_MEMORY:
            self.limits()
        elif kind == 3:  # global: valtype + mutability
            self.take(2)
        else:
            raise SnapshotError(f"unknown import kind {kind}")
        return module, field, kind, self.data[start : self.position]


def section_spans(binary: bytes, start: int = len(MAGIC), end: int | None = None) -> Iterator[tuple[int, int, int]]:
    """(id, start, end) of the payload of each section of `binary[start:end]`: a module's or a component's sections,
    which share this framing (after their 8-byte preamble)."""
    reader = Reader(binary, start, end)
    while reader.position < reader.end:
        section_id = reader.byte()
        size = reader.uleb()
        reader.take(size)
        yield section_id, reader.position - size, reader.position


def _sections(module: bytes) -> Iterator[tuple[int, bytes]]:
    if not module.startswith(MAGIC):
        raise SnapshotError("not a WebAssembly module")
    for section_id, start, end in section_spans(module):
        yield section_id, module[start:end]


def _import_count(body: bytes, kind: int) -> int:
    reader = Reader(body)
    return sum(reader.import_entry()[2] == kind for _ in range(reader.uleb()))


# ---- inspecting -------------------------------------------------------------------------------------------------


def globals_of(module: bytes) -> list[Global]:
    """The globals the module defines (not imported ones), with their constant initial values."""
    found: list[Global] = []
    for section_id, body in _sections(module):
        if section_id == _GLOBAL:
            reader = Reader(body)
            for _ in range(reader.uleb()):
                valtype, mutable = reader.byte(), reader.byte() == 1
                opcode = reader.byte()
                initial = None
                if opcode in (0x41, 0x42):
                    initial = reader.sleb()
                elif opcode == 0x43:
                    reader.take(4)
                elif opcode == 0x44:
                    reader.take(8)
                elif opcode == 0x23:
                    reader.uleb()
                else:
                    raise SnapshotError(f"unsupported global initialiser (opcode {opcode:#x})")
                if reader.byte() != _END:
                    raise SnapshotError("unsupported global initialiser (not a single constant)")
                found.append(Global(mutable, valtype, initial))
    return found


def stack_size(module: bytes) -> int:
    """The bytes below the initial stack pointer: the stack of a module linked with `--stack-first`, dead between
    calls (so an image may zero it). 0 when the module has no such stack."""
    mutable = [item for item in globals_of(module) if item.mutable and item.valtype == _I32]
    if len(mutable) != 1 or not mutable[0].initial:
        return 0
    top = mutable[0].initial
    return top if all(offset >= top for offset, _ in data_segments(module)) else 0


def memory_limits(module: bytes) -> tuple[int, int | None]:
    """The (minimum, maximum) pages of the memory the module defines."""
    for section_id, body in _sections(module):
        if section_id == _MEMORY:
            reader = Reader(body)
            if reader.uleb() != 1:
                raise SnapshotError("the module must define exactly one memory")
            return reader.limits()
        if section_id == _IMPORT and _import_count(body, _KIND_MEMORY):
            raise SnapshotError("the module imports its memory already")
    raise SnapshotError("the module defines no memory")


def data_segments(module: bytes) -> list[tuple[int, bytes]]:
    """The active data segments of memory 0 as (offset, bytes): the memory the module starts with."""
    return [(offset, module[start : start + length]) for offset, start, length in data_segment_spans(module)]


def data_segment_spans(module: bytes) -> list[tuple[int, int, int]]:
    """The active data segments of memory 0 as (offset, start, length): where each lands in memory, and where its
    bytes are in `module` (so that they can be rewritten in place)."""
    if not module.startswith(MAGIC):
        raise SnapshotError("not a WebAssembly module")
    segments: list[tuple[int, int, int]] = []
    for section_id, start, end in section_spans(module):
        if section_id != _DATA:
            continue
        reader = Reader(module, start, end)
        for _ in range(reader.uleb()):
            mode = reader.uleb()
            if mode == 1:
                raise SnapshotError("passive data segments are not supported")
            if mode == 2 and reader.uleb() != 0:
                raise SnapshotError("data for a second memory")
            if reader.byte() != 0x41:
                raise SnapshotError("a data segment's offset must be an i32 constant")
            offset = reader.sleb()
            if reader.byte() != _END:
                raise SnapshotError("a data segment's offset must be an i32 constant")
            length = reader.uleb()
            segments.append((offset, reader.position, length))
            reader.take(length)
    return segments


def check_capturable(module: bytes, image_size: int) -> None:
    """Raise `SnapshotError` unless an instance of `module` can be started from an image of `image_size` bytes."""
    mutable = [item for item in globals_of(module) if item.mutable]
    if len(mutable) > 1:
        raise SnapshotError("the module has mutable globals besides its stack pointer; their values would be lost")
    _, maximum = memory_limits(module)
    if maximum is not None and -(-image_size // PAGE) > maximum:
        raise SnapshotError("the captured memory is larger than the module's maximum")
