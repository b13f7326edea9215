"""A component's top level as a list of items whose references are objects, not indices, so they can be reordered.

The component model numbers each kind of core item (function, table, memory, global, instance) in the order its
definitions appear, and refers to them by that number. To move a core instance (and what it defines) to another
place, every later reference would have to be renumbered by hand. Here the sections that define or use core items
(core instances, aliases, canonical functions) are read into items that point at the items they use; `encode`
numbers them afresh from the new order. Every other section is kept as its bytes, in place: the transformations this
serves only move core items, so the component-level numbering those bytes rely on does not change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from wws.errors import SnapshotError
from wws.wasm.module_edit import name, uleb
from wws.wasm.reader import MAGIC, Reader, section_spans

__all__ = [
    "CORE_FUNC",
    "CORE_GLOBAL",
    "CORE_TABLE",
    "Alias",
    "Bag",
    "Canon",
    "Component",
    "CoreExport",
    "Instantiate",
    "Raw",
    "RawAlias",
    "decode",
    "encode",
    "uses",
]

COMPONENT_PREAMBLE = b"\0asm\x0d\0\x01\0"
_Ref = Callable[[int, int], "Item"]

_CORE_INSTANCE, _ALIAS, _CANON = 2, 6, 8
_CORE_SORT_PREFIX = 0x00
CORE_FUNC, CORE_TABLE, CORE_GLOBAL = 0x00, 0x01, 0x03
_CORE_MEMORY, _CORE_INSTANCE_SORT = 0x02, 0x12
_RENUMBERED = (CORE_FUNC, CORE_TABLE, _CORE_MEMORY, CORE_GLOBAL, _CORE_INSTANCE_SORT)
"""The core sorts numbered here: core modules and core types are not (they never move)."""
_TARGET_EXPORT, _TARGET_CORE_EXPORT, _TARGET_OUTER = 0x00, 0x01, 0x02
_LIFT, _LOWER, _RESOURCE_NEW, _RESOURCE_DROP, _RESOURCE_REP = 0x00, 0x01, 0x02, 0x03, 0x04
_OPT_MEMORY, _OPT_REALLOC, _OPT_POST_RETURN = 0x03, 0x04, 0x05


class Item:
    """Something at the component's top level."""

    @property
    def sort(self) -> int | None:
        """The core sort of what it defines, if that sort is renumbered here."""
        return None


@dataclass(eq=False)
class Raw(Item):
    """A section kept as its bytes: it neither defines nor uses a core item that is renumbered."""

    section_id: int
    body: bytes


@dataclass(eq=False)
class Instantiate(Item):
    """`(core instance (instantiate module (with name instance)…))`."""

    module: int
    args: list[tuple[str, Item]]

    @property
    def sort(self) -> int | None:
        return _CORE_INSTANCE_SORT


@dataclass(eq=False)
class CoreExport:
    name: str
    sort: int
    item: Item


@dataclass(eq=False)
class Bag(Item):
    """`(core instance (export name item)…)`: an instance made of existing items, to satisfy another's imports."""

    exports: list[CoreExport]

    @property
    def sort(self) -> int | None:
        return _CORE_INSTANCE_SORT


@dataclass(eq=False)
class Alias(Item):
    """`(alias core export instance name (sort))`: one export of a core instance, as an item of its own."""

    core_sort: int
    instance: Item
    name: str

    @property
    def sort(self) -> int | None:
        return self.core_sort


@dataclass(eq=False)
class RawAlias(Item):
    """Any other alias (of a component instance's export, or outer): kept as its bytes."""

    body: bytes


@dataclass(eq=False)
class Canon(Item):
    """A canonical function. `function` is the core function a lift uses; `options` keep their order."""

    opcode: int
    head: bytes
    """A lower's component function index, or a resource function's type index, as encoded (empty for a lift)."""
    function: Item | None = None
    options: list[tuple[int, Item | None]] = field(default_factory=list)
    tail: bytes = b""
    """The bytes after the options (a lift's type index)."""

    @property
    def sort(self) -> int | None:
        return None if self.opcode == _LIFT else CORE_FUNC


@dataclass
class Component:
    items: list[Item]

    def instances(self) -> Iterator[Instantiate]:
        return (item for item in self.items if isinstance(item, Instantiate))


def uses(item: Item) -> list[Item]:
    """The renumbered items `item` refers to."""
    if isinstance(item, Alias):
        return [item.instance]
    if isinstance(item, Bag):
        return [export.item for export in item.exports]
    if isinstance(item, Instantiate):
        return [arg for _, arg in item.args]
    if isinstance(item, Canon):
        used = [target for _, target in item.options if target is not None]
        return used + ([item.function] if item.function is not None else [])
    return []


# ---- decoding -------------------------------------------------------------------------------------------------------


def decode(component: bytes) -> Component:
    """Read `component`. Raises `SnapshotError` on a section this module cannot keep correct while reordering."""
    if not component.startswith(COMPONENT_PREAMBLE):
        raise SnapshotError("not a WebAssembly component")
    items: list[Item] = []
    spaces: dict[int, list[Item]] = {sort: [] for sort in _RENUMBERED}

    def define(item: Item) -> None:
        items.append(item)
        if item.sort is not None:
            spaces[item.sort].append(item)

    def ref(sort: int, index: int) -> Item:
        try:
            return spaces[sort][index]
        except IndexError:
            raise SnapshotError(f"reference to core item {index} of sort {sort:#x}, which is not defined") from None

    for section_id, start, end in section_spans(component, len(MAGIC)):
        reader = Reader(component, start, end)
        if section_id == _CORE_INSTANCE:
            for _ in range(reader.uleb()):
                define(_decode_instance(reader, ref))
        elif section_id == _ALIAS:
            for _ in range(reader.uleb()):
                define(_decode_alias(reader, ref))
        elif section_id == _CANON:
            for _ in range(reader.uleb()):
                define(_decode_canon(reader, ref))
        else:
            items.append(Raw(section_id, component[start:end]))
        if reader.position != end and section_id in (_CORE_INSTANCE, _ALIAS, _CANON):
            raise SnapshotError(f"section {section_id} has trailing bytes")
    return Component(items)


def _decode_instance(reader: Reader, ref: _Ref) -> Item:
    kind = reader.byte()
    if kind == 0x00:
        module = reader.uleb()
        args: list[tuple[str, Item]] = []
        for _ in range(reader.uleb()):
            field = reader.name()
            if reader.byte() != _CORE_INSTANCE_SORT:
                raise SnapshotError("a core instantiation argument that is not an instance")
            args.append((field, ref(_CORE_INSTANCE_SORT, reader.uleb())))
        return Instantiate(module, args)
    if kind == 0x01:
        exports = []
        for _ in range(reader.uleb()):
            field = reader.name()
            sort = reader.byte()
            if sort not in _RENUMBERED:
                raise SnapshotError(f"a core instance exports an item of sort {sort:#x}")
            exports.append(CoreExport(field, sort, ref(sort, reader.uleb())))
        return Bag(exports)
    raise SnapshotError(f"unknown core instance kind {kind:#x}")


def _decode_alias(reader: Reader, ref: _Ref) -> Item:
    start = reader.position
    sort = reader.byte()
    core_sort = reader.byte() if sort == _CORE_SORT_PREFIX else None
    target = reader.byte()
    if target == _TARGET_CORE_EXPORT:
        if core_sort not in _RENUMBERED:
            raise SnapshotError("an alias of a core export that is not a function, table, memory or global")
        instance = ref(_CORE_INSTANCE_SORT, reader.uleb())
        return Alias(core_sort, instance, reader.name())
    if target == _TARGET_EXPORT:
        reader.uleb()
        reader.name()
    elif target == _TARGET_OUTER:
        reader.uleb()
        reader.uleb()
    else:
        raise SnapshotError(f"unknown alias target {target:#x}")
    if core_sort in _RENUMBERED:
        raise SnapshotError("an alias defines a core item this module renumbers")
    return RawAlias(reader.data[start : reader.position])


def _decode_canon(reader: Reader, ref: _Ref) -> Item:
    opcode = reader.byte()
    if opcode in (_RESOURCE_NEW, _RESOURCE_DROP, _RESOURCE_REP):
        return Canon(opcode, uleb(reader.uleb()))
    if opcode not in (_LIFT, _LOWER):
        raise SnapshotError(f"canonical function {opcode:#x} is not supported")
    if reader.byte() != 0x00:
        raise SnapshotError("unknown canonical function encoding")
    index = reader.uleb()
    function = ref(CORE_FUNC, index) if opcode == _LIFT else None
    head = b"" if opcode == _LIFT else uleb(index)
    options: list[tuple[int, Item | None]] = []
    for _ in range(reader.uleb()):
        option = reader.byte()
        if option == _OPT_MEMORY:
            options.append((option, ref(_CORE_MEMORY, reader.uleb())))
        elif option in (_OPT_REALLOC, _OPT_POST_RETURN):
            options.append((option, ref(CORE_FUNC, reader.uleb())))
        elif option <= 0x02:
            options.append((option, None))
        else:
            raise SnapshotError(f"canonical option {option:#x} is not supported")
    tail = uleb(reader.uleb()) if opcode == _LIFT else b""
    return Canon(opcode, head, function, options, tail)


# ---- encoding -------------------------------------------------------------------------------------------------------


def encode(component: Component) -> bytes:
    """The component's bytes, its core items numbered in their current order. Consecutive items of one section kind
    share a section."""
    numbers = _numbering(component.items)
    out = bytearray(COMPONENT_PREAMBLE)
    run: list[bytes] = []
    run_id: int | None = None

    def flush() -> None:
        if run_id is not None and run:
            _section(out, run_id, uleb(len(run)) + b"".join(run))
        run.clear()

    for item in component.items:
        if isinstance(item, Raw):
            flush()
            run_id = None
            _section(out, item.section_id, item.body)
            continue
        section_id, entry = _encode_item(item, numbers)
        if section_id != run_id:
            flush()
            run_id = section_id
        run.append(entry)
    flush()
    return bytes(out)


def _encode_item(item: Item, numbers: dict[int, int]) -> tuple[int, bytes]:
    def number(target: Item) -> bytes:
        return uleb(numbers[id(target)])

    if isinstance(item, Instantiate):
        args = b"".join(name(field) + bytes([_CORE_INSTANCE_SORT]) + number(arg) for field, arg in item.args)
        return _CORE_INSTANCE, b"\x00" + uleb(item.module) + uleb(len(item.args)) + args
    if isinstance(item, Bag):
        exports = b"".join(name(e.name) + bytes([e.sort]) + number(e.item) for e in item.exports)
        return _CORE_INSTANCE, b"\x01" + uleb(len(item.exports)) + exports
    if isinstance(item, Alias):
        head = bytes([_CORE_SORT_PREFIX, item.core_sort, _TARGET_CORE_EXPORT])
        return _ALIAS, head + number(item.instance) + name(item.name)
    if isinstance(item, RawAlias):
        return _ALIAS, item.body
    if isinstance(item, Canon):
        if item.opcode in (_RESOURCE_NEW, _RESOURCE_DROP, _RESOURCE_REP):
            return _CANON, bytes([item.opcode]) + item.head
        function = number(item.function) if item.function is not None else item.head
        options = b"".join(bytes([o]) + (number(t) if t is not None else b"") for o, t in item.options)
        return _CANON, bytes([item.opcode, 0x00]) + function + uleb(len(item.options)) + options + item.tail
    raise TypeError(f"cannot encode {item!r}")


def _numbering(items: list[Item]) -> dict[int, int]:
    counters = dict.fromkeys(_RENUMBERED, 0)
    numbers: dict[int, int] = {}
    for item in items:
        if item.sort is not None:
            numbers[id(item)] = counters[item.sort]
            counters[item.sort] += 1
    return numbers


def _section(out: bytearray, section_id: int, body: bytes) -> None:
    out.append(section_id)
    out += uleb(len(body))
    out += body
