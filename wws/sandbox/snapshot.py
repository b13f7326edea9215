"""Pre-initialised images: run an engine's start-up once, then start every instance from the memory it left behind.

Wizer's idea, done by the host with the module format alone: `snapshot_module` rewrites a module so that its memory
starts as a captured memory (its non-zero runs become the data segments, the minimum size grows to fit) and drops the
initialisation exports. wasmtime maps such a module's memory copy-on-write, so a fresh instance costs a page mapping
and the pages the request touches, not the start-up.

What a snapshot freezes (runtime-facts.md): no wasm call may be active when the memory is captured, and the only
mutable global (`__stack_pointer`, checked) must be back at its initial value, which holds between calls. Anything
the guest read from its environment (WASI env, clocks, entropy) is frozen too, so per-request values are passed in
at request time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

MAGIC = b"\0asm\x01\0\0\0"
PAGE = 65536
_MIN_GAP = 128
"""Zero runs shorter than this stay inside a data segment: fewer segments, about the same bytes."""

_IMPORT, _MEMORY, _GLOBAL, _EXPORT, _DATA, _DATACOUNT = 2, 5, 6, 7, 11, 12
_KIND_MEMORY = 2
_I32 = 0x7F
_END = 0x0B


class SnapshotError(ValueError):
    """The module cannot be split, or the captured state cannot be snapshotted."""


@dataclass(frozen=True, slots=True)
class Global:
    mutable: bool
    valtype: int
    initial: int | None
    """The constant initial value (None when it is not an integer constant)."""


# ---- encoding helpers -------------------------------------------------------------------------------------------


def _uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _sleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        done = (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40)
        out.append(byte | (0 if done else 0x80))
        if done:
            return bytes(out)


class _Reader:
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
            raise SnapshotError("only plain 32-bit, unshared memories can be snapshotted")
        minimum = self.uleb()
        return minimum, self.uleb() if flags else None


def _sections(module: bytes) -> Iterator[tuple[int, bytes]]:
    if not module.startswith(MAGIC):
        raise SnapshotError("not a WebAssembly module")
    reader = _Reader(module, len(MAGIC))
    while reader.position < reader.end:
        section_id = reader.byte()
        yield section_id, reader.take(reader.uleb())


def _section(section_id: int, body: bytes) -> bytes:
    return bytes([section_id]) + _uleb(len(body)) + body


def _vector(items: list[bytes]) -> bytes:
    return _uleb(len(items)) + b"".join(items)


def _limits(minimum: int, maximum: int | None) -> bytes:
    return b"\x00" + _uleb(minimum) if maximum is None else b"\x01" + _uleb(minimum) + _uleb(maximum)


def _import_count(body: bytes, kind: int) -> int:
    reader = _Reader(body)
    count = 0
    for _ in range(reader.uleb()):
        reader.name()
        reader.name()
        found = reader.byte()
        count += found == kind
        if found == 0:  # function: type index
            reader.uleb()
        elif found == 1:  # table: reftype + limits
            reader.byte()
            reader.limits()
        elif found == _KIND_MEMORY:
            reader.limits()
        elif found == 3:  # global: valtype + mutability
            reader.take(2)
        else:
            raise SnapshotError(f"unknown import kind {found}")
    return count


# ---- inspecting -------------------------------------------------------------------------------------------------


def globals_of(module: bytes) -> list[Global]:
    """The globals the module defines (not imported ones), with their constant initial values."""
    found: list[Global] = []
    for section_id, body in _sections(module):
        if section_id == _GLOBAL:
            reader = _Reader(body)
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
    calls (so a snapshot may zero it). 0 when the module has no such stack."""
    mutable = [item for item in globals_of(module) if item.mutable and item.valtype == _I32]
    if len(mutable) != 1 or not mutable[0].initial:
        return 0
    top = mutable[0].initial
    return top if all(offset >= top for offset, _ in data_segments(module)) else 0


def memory_limits(module: bytes) -> tuple[int, int | None]:
    """The (minimum, maximum) pages of the memory the module defines."""
    for section_id, body in _sections(module):
        if section_id == _MEMORY:
            reader = _Reader(body)
            if reader.uleb() != 1:
                raise SnapshotError("the module must define exactly one memory")
            return reader.limits()
        if section_id == _IMPORT and _import_count(body, _KIND_MEMORY):
            raise SnapshotError("the module imports its memory already")
    raise SnapshotError("the module defines no memory")


def data_segments(module: bytes) -> list[tuple[int, bytes]]:
    """The active data segments of memory 0 as (offset, bytes): the memory the module starts with."""
    segments: list[tuple[int, bytes]] = []
    for section_id, body in _sections(module):
        if section_id != _DATA:
            continue
        reader = _Reader(body)
        for _ in range(reader.uleb()):
            mode = reader.uleb()
            if mode == 1:
                raise SnapshotError("passive data segments cannot be moved into an image")
            if mode == 2 and reader.uleb() != 0:
                raise SnapshotError("data for a second memory")
            if reader.byte() != 0x41:
                raise SnapshotError("a data segment's offset must be an i32 constant")
            offset = reader.sleb()
            if reader.byte() != _END:
                raise SnapshotError("a data segment's offset must be an i32 constant")
            segments.append((offset, reader.take(reader.uleb())))
    return segments


# ---- rewriting ----------------------------------------------------------------------------------------------------


def snapshot_module(module: bytes, memory: bytes, *, drop_exports: tuple[str, ...] = ()) -> bytes:
    """`module` starting with `memory` as its memory, without the exports in `drop_exports`."""
    mutable = [item for item in globals_of(module) if item.mutable]
    if len(mutable) > 1:
        raise SnapshotError("the module has mutable globals besides its stack pointer; their values would be lost")
    minimum, maximum = memory_limits(module)
    pages = max(minimum, -(-len(memory) // PAGE))
    if maximum is not None and pages > maximum:
        raise SnapshotError("the captured memory is larger than the module's maximum")
    segments = [
        b"\x00\x41" + _sleb(offset if offset < 1 << 31 else offset - (1 << 32)) + bytes([_END]) + _uleb(len(run)) + run
        for offset, run in nonzero_runs(memory)
    ]
    replaced = {_MEMORY: _uleb(1) + _limits(pages, maximum), _DATACOUNT: _uleb(len(segments)), _DATA: _vector(segments)}
    out = bytearray(MAGIC)
    wrote_data = False
    for section_id, body in _sections(module):
        wrote_data |= section_id == _DATA
        if section_id == _EXPORT:
            out += _section(section_id, _filter_exports(body, drop_exports))
        else:
            out += _section(section_id, replaced.get(section_id, body))
    if not wrote_data:  # the data section comes last among known sections; custom ones may follow anywhere
        out += _section(_DATA, replaced[_DATA])
    return bytes(out)


def _filter_exports(body: bytes, drop: tuple[str, ...]) -> bytes:
    reader = _Reader(body)
    kept: list[bytes] = []
    for _ in range(reader.uleb()):
        start = reader.position
        name = reader.name()
        reader.byte()
        reader.uleb()
        if name not in drop:
            kept.append(body[start : reader.position])
    return _vector(kept)


def nonzero_runs(memory: bytes) -> Iterator[tuple[int, bytes]]:
    """(offset, bytes) of the parts of `memory` that are not zero; zero gaps shorter than `_MIN_GAP` stay inside."""
    gap = b"\0" * _MIN_GAP
    start = _next_nonzero(memory, 0)
    while start >= 0:
        end = memory.find(gap, start)
        if end < 0:
            end = len(memory)
        yield start, memory[start:end].rstrip(b"\0")
        start = _next_nonzero(memory, end)


def _next_nonzero(memory: bytes, position: int) -> int:
    """Index of the first non-zero byte at or after `position`, or -1."""
    step = 4096
    while position < len(memory):
        chunk = memory[position : position + step]
        stripped = chunk.lstrip(b"\0")
        if stripped:
            return position + len(chunk) - len(stripped)
        position += step
    return -1
