"""Small edits of a core module's sections: read imports, types, exports and element segments, write them back.

Only the sections named here are decoded; code and data are kept as bytes, so an edit never rewrites a function.
"""

from __future__ import annotations

from dataclasses import dataclass

from wws.errors import SnapshotError
from wws.wasm.reader import MAGIC, Reader, section_spans

TYPE, IMPORT, FUNCTION, TABLE, MEMORY, GLOBAL, EXPORT, START, ELEMENT, CODE, DATA, DATA_COUNT = (
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    12,
)
KIND_FUNC, KIND_TABLE, KIND_MEMORY, KIND_GLOBAL = 0, 1, 2, 3
FUNCREF = 0x70
_ORDER = (TYPE, IMPORT, FUNCTION, TABLE, MEMORY, GLOBAL, EXPORT, START, ELEMENT, DATA_COUNT, CODE, DATA)
_I32_CONST, _GLOBAL_GET, _END = 0x41, 0x23, 0x0B


@dataclass
class Import:
    module: str
    name: str
    kind: int
    desc: bytes
    """The import's type, as encoded (a type index, a table or memory type, a global type)."""

    def type_index(self) -> int:
        return Reader(self.desc).uleb()

    def encode(self) -> bytes:
        return name(self.module) + name(self.name) + bytes([self.kind]) + self.desc


@dataclass
class Module:
    """A module as its sections, in order: (id, body). Custom sections keep their place."""

    sections: list[tuple[int, bytes]]

    @classmethod
    def decode(cls, binary: bytes) -> Module:
        if not binary.startswith(MAGIC):
            raise SnapshotError("not a WebAssembly module")
        return cls([(sid, binary[start:end]) for sid, start, end in section_spans(binary)])

    def encode(self) -> bytes:
        out = bytearray(MAGIC)
        for section_id, body in self.sections:
            out.append(section_id)
            out += uleb(len(body)) + body
        return bytes(out)

    def body(self, section_id: int) -> bytes | None:
        return next((body for sid, body in self.sections if sid == section_id), None)

    def put(self, section_id: int, body: bytes) -> None:
        """Replace the section `section_id`, or insert it where the format orders it."""
        for position, (sid, _) in enumerate(self.sections):
            if sid == section_id:
                self.sections[position] = (section_id, body)
                return
        rank = _ORDER.index(section_id)
        position = len(self.sections)
        for index, (sid, _) in enumerate(self.sections):
            if sid in _ORDER and _ORDER.index(sid) > rank:
                position = index
                break
        self.sections.insert(position, (section_id, body))

    def imports(self) -> list[Import]:
        body = self.body(IMPORT)
        if body is None:
            return []
        reader = Reader(body)
        return [Import(*reader.import_entry()) for _ in range(reader.uleb())]

    def set_imports(self, imports: list[Import]) -> None:
        self.put(IMPORT, vector([item.encode() for item in imports]))

    def types(self) -> list[bytes]:
        """Each function type as encoded (`0x60 params results`)."""
        body = self.body(TYPE) or b"\0"
        reader = Reader(body)
        found = []
        for _ in range(reader.uleb()):
            start = reader.position
            if reader.byte() != 0x60:
                raise SnapshotError("only plain function types are supported")
            reader.take(reader.uleb())
            reader.take(reader.uleb())
            found.append(body[start : reader.position])
        return found

    def export_index(self, field: str, kind: int) -> int | None:
        """The index of the item exported as `field` (of `kind`), or None."""
        reader = Reader(self.body(EXPORT) or b"\0")
        for _ in range(reader.uleb()):
            found, found_kind, index = reader.name(), reader.byte(), reader.uleb()
            if found == field and found_kind == kind:
                return index
        return None

    def add_export(self, field: str, kind: int, index: int) -> None:
        body = self.body(EXPORT) or b"\0"
        reader = Reader(body)
        count = reader.uleb()
        self.put(EXPORT, uleb(count + 1) + body[reader.position :] + name(field) + bytes([kind]) + uleb(index))


@dataclass
class Segment:
    """An active element segment of function indices: `offset` is its constant expression (with its `end`)."""

    table: int
    offset: bytes
    functions: bytes
    """The vector of function indices, as encoded."""

    def length(self) -> int:
        """How many functions the segment holds."""
        return Reader(self.functions).uleb()

    def offset_global(self) -> int | None:
        """The global the offset reads (`global.get`), or None for a constant."""
        return Reader(self.offset, 1).uleb() if self.offset[0] == _GLOBAL_GET else None

    def encode(self) -> bytes:
        if self.table == 0:
            return b"\0" + self.offset + self.functions
        return b"\2" + uleb(self.table) + self.offset + b"\0" + self.functions


def segments(module: Module) -> list[Segment]:
    """The element segments; raises `SnapshotError` on any but active segments of function indices."""
    body = module.body(ELEMENT)
    if body is None:
        return []
    reader = Reader(body)
    found = []
    for _ in range(reader.uleb()):
        flags = reader.uleb()
        if flags not in (0, 2):
            raise SnapshotError(f"element segment kind {flags} is not supported")
        table = reader.uleb() if flags == 2 else 0
        start = reader.position
        opcode = reader.byte()
        if opcode == _I32_CONST:
            reader.sleb()
        elif opcode == _GLOBAL_GET:
            reader.uleb()
        else:
            raise SnapshotError(f"element segment offset opcode {opcode:#x} is not supported")
        if reader.byte() != _END:
            raise SnapshotError("element segment offset is not a single instruction")
        offset = body[start : reader.position]
        if flags == 2 and reader.byte() != 0x00:
            raise SnapshotError("element segment of a kind other than functions")
        start = reader.position
        for _ in range(reader.uleb()):
            reader.uleb()
        found.append(Segment(table, offset, body[start : reader.position]))
    return found


def set_segments(module: Module, found: list[Segment]) -> None:
    module.put(ELEMENT, vector([segment.encode() for segment in found]))


def param_count(function_type: bytes) -> int:
    return Reader(function_type, 1).uleb()


def table_type(minimum: int, maximum: int | None) -> bytes:
    return bytes([FUNCREF]) + limits(minimum, maximum)


def limits(minimum: int, maximum: int | None) -> bytes:
    return b"\0" + uleb(minimum) if maximum is None else b"\1" + uleb(minimum) + uleb(maximum)


def i32_const(value: int) -> bytes:
    return bytes([_I32_CONST]) + sleb(value) + bytes([_END])


def vector(entries: list[bytes]) -> bytes:
    return uleb(len(entries)) + b"".join(entries)


def name(text: str) -> bytes:
    raw = text.encode()
    return uleb(len(raw)) + raw


def uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def sleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)
