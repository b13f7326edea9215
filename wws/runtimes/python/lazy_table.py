"""Let wasmtime fill libpython's function table lazily: the biggest per-instance cost of a fresh Python request.

componentize-py links CPython as shared libraries: a small module defines the memory and the function table, and
libc, libpython and the others import both. libpython puts about 5,000 functions into that table. wasmtime fills a
table lazily (on the first call through each slot) only when the module that defines it also holds the elements at
constant offsets; elements written into an imported table are written one by one at every instantiation, which was
about a fifth of a fresh request.

So libpython defines the table itself here, with its elements at their (constant) linked offsets, and everything that
used the old table imports libpython's. libpython must then be instantiated before libc, whose functions it imports:
those imports go through trampolines (`call_indirect` through a small table of their own), filled once libc and its
siblings exist. The module that fills the table's late slots at link time fills the new table too. The old table
still serves the linker's own trampolines, as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from wws.errors import SnapshotError
from wws.wasm import component_items as ci
from wws.wasm import module_edit as me
from wws.wasm.reader import Reader, globals_of

TABLE_NAME = "__indirect_function_table"
LATE_TABLE = "late"
SHARED_TABLE_IMPORT = "wws:table"
_CORE_MODULE = 1


@dataclass
class _Parts:
    component: ci.Component
    modules: list[ci.Raw]
    home: ci.Instantiate
    """The instance whose module defines the shared table."""
    old_table: ci.Alias
    owner: ci.Instantiate
    """The instance whose module puts the most elements into the table (libpython)."""
    env: ci.Bag
    """What the owner imports its table (and libc's functions) from."""


def make_table_lazy(component: bytes) -> bytes:
    """`component`, rewired so that libpython defines the function table. Raises `SnapshotError` if it is not linked
    the way this expects."""
    parts = _find_parts(ci.decode(component))
    items = parts.component.items
    insert_at = _first_user(items, parts.old_table)
    late = {id(item) for item in items[insert_at : items.index(parts.owner)] if isinstance(item, ci.Instantiate)}
    owner_module = me.Module.decode(_module_bytes(parts, parts.owner))
    kept, deferred = _split_env(parts, owner_module, late)
    types = [function_type for _, function_type in deferred]

    # libpython calls the late functions through trampolines, whose table a filler fills once they exist
    first_new_module = len(parts.modules)
    trampolines = ci.Instantiate(first_new_module, [])
    trampoline_funcs = [ci.Alias(ci.CORE_FUNC, trampolines, str(k)) for k in range(len(deferred))]
    late_table = ci.Alias(ci.CORE_TABLE, trampolines, LATE_TABLE)
    through = [ci.CoreExport(e.name, ci.CORE_FUNC, f) for (e, _), f in zip(deferred, trampoline_funcs, strict=True)]
    env = ci.Bag(kept + through)
    filler_bag = ci.Bag(
        [ci.CoreExport(LATE_TABLE, ci.CORE_TABLE, late_table)]
        + [ci.CoreExport(str(k), ci.CORE_FUNC, e.item) for k, (e, _) in enumerate(deferred)]
    )
    filler = ci.Instantiate(first_new_module + 1, [("", filler_bag)])

    parts.owner.args = [(name, env if arg is parts.env else arg) for name, arg in parts.owner.args]
    new_table = ci.Alias(ci.CORE_TABLE, parts.owner, TABLE_NAME)
    _own_table(parts, owner_module)

    # libpython (with what it uses) moves up to just before the first user of the old table; the filler takes its place
    hoisted = _dependencies_after(items, parts.owner, insert_at, late)
    moved = {id(item) for item in hoisted} | {id(parts.owner), id(parts.env)}
    rest: list[ci.Item] = []
    for item in items[insert_at:]:
        if item is parts.owner:
            rest += [filler_bag, filler]
        elif id(item) not in moved:
            rest.append(item)
    block = [trampolines, *trampoline_funcs, late_table, *hoisted, env, parts.owner, new_table]
    items[:] = items[:insert_at] + block + rest
    for item in items:
        if isinstance(item, ci.Bag):
            for export in item.exports:
                if export.item is parts.old_table:
                    export.item = new_table
    _fill_both_tables(parts, new_table)

    last_module = max(i for i, item in enumerate(items) if isinstance(item, ci.Raw) and item.section_id == _CORE_MODULE)
    new_modules = [ci.Raw(_CORE_MODULE, _trampolines(types)), ci.Raw(_CORE_MODULE, _filler(types))]
    items[last_module + 1 : last_module + 1] = new_modules
    return ci.encode(parts.component)


def _split_env(
    parts: _Parts, owner_module: me.Module, late: set[int]
) -> tuple[list[ci.CoreExport], list[tuple[ci.CoreExport, bytes]]]:
    """libpython's imports that stay as they are, and the functions of instances it will now precede (each with its
    function type). The table is neither: libpython defines it."""
    if any(arg is parts.env for item in parts.component.items if item is not parts.owner for arg in ci.uses(item)):
        raise SnapshotError("libpython's imports are shared with another instance")
    types = owner_module.types()
    imports = {(i.module, i.name): i for i in owner_module.imports()}
    env_name = next(name for name, arg in parts.owner.args if arg is parts.env)
    kept: list[ci.CoreExport] = []
    deferred: list[tuple[ci.CoreExport, bytes]] = []
    for export in parts.env.exports:
        if export.item is parts.old_table:
            continue
        if isinstance(export.item, ci.Alias) and id(export.item.instance) in late:
            deferred.append((export, types[imports[(env_name, export.name)].type_index()]))
        else:
            kept.append(export)
    return kept, deferred


# ---- finding the parts ----------------------------------------------------------------------------------------------


def _find_parts(component: ci.Component) -> _Parts:
    modules = [item for item in component.items if isinstance(item, ci.Raw) and item.section_id == _CORE_MODULE]
    tables = [
        item
        for item in component.items
        if isinstance(item, ci.Alias) and item.core_sort == ci.CORE_TABLE and item.name == TABLE_NAME
    ]
    if len(tables) != 1:
        raise SnapshotError(f"expected one shared {TABLE_NAME}, found {len(tables)}")
    old_table = tables[0]
    home = old_table.instance
    if not isinstance(home, ci.Instantiate):
        raise SnapshotError(f"the shared {TABLE_NAME} is not defined by a module")

    def elements(instance: ci.Instantiate) -> int:
        module = me.Module.decode(modules[instance.module].body)
        return sum(segment.length() for segment in me.segments(module))

    users = [item for item in component.instances() if any(_bag_exports(arg, old_table) for _, arg in item.args)]
    if not users:
        raise SnapshotError("no instance imports the shared table")
    owner = max(users, key=elements)
    env = next(arg for _, arg in owner.args if _bag_exports(arg, old_table))
    assert isinstance(env, ci.Bag)
    return _Parts(component, modules, home, old_table, owner, env)


def _bag_exports(item: ci.Item, target: ci.Item) -> bool:
    return isinstance(item, ci.Bag) and any(export.item is target for export in item.exports)


def _first_user(items: list[ci.Item], target: ci.Item) -> int:
    return next(i for i, item in enumerate(items) if any(used is target for used in ci.uses(item)))


def _dependencies_after(items: list[ci.Item], root: ci.Item, start: int, late: set[int]) -> list[ci.Item]:
    """What `root` uses, directly or not, that is defined at or after `start`: in their order."""
    position = {id(item): index for index, item in enumerate(items)}
    found: dict[int, ci.Item] = {}
    seen: set[int] = set()
    pending = list(ci.uses(root))
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        index = position.get(id(item))
        if index is not None and index < start:
            continue  # defined before `start` already
        if id(item) in late:
            raise SnapshotError("libpython needs an instance that is created after it, other than through a function")
        if index is not None:
            found[id(item)] = item
        pending += ci.uses(item)  # a new item (placed by the caller) is followed too
    return sorted(found.values(), key=lambda item: position[id(item)])


def _module_bytes(parts: _Parts, instance: ci.Instantiate) -> bytes:
    return parts.modules[instance.module].body


# ---- the modules ----------------------------------------------------------------------------------------------------


def _own_table(parts: _Parts, module: me.Module) -> None:
    """Make libpython define the table (as big as the old one) and export it, its elements at constant offsets."""
    imports = module.imports()
    tables = [i for i in imports if i.kind == me.KIND_TABLE]
    if len(tables) != 1 or module.body(me.TABLE) is not None:
        raise SnapshotError("libpython should import exactly one table and define none")
    global_imports = [i for i in imports if i.kind == me.KIND_GLOBAL]
    segments = me.segments(module)
    for segment in segments:
        index = segment.offset_global()
        if index is not None:
            segment.offset = me.i32_const(_constant(parts, global_imports[index]))
    module.set_imports([i for i in imports if i.kind != me.KIND_TABLE])
    module.put(me.TABLE, me.vector([me.table_type(*_home_limits(parts))]))
    module.add_export(TABLE_NAME, me.KIND_TABLE, 0)
    me.set_segments(module, segments)
    parts.modules[parts.owner.module].body = module.encode()


def _home_limits(parts: _Parts) -> tuple[int, int | None]:
    body = me.Module.decode(_module_bytes(parts, parts.home)).body(me.TABLE)
    if body is None:
        raise SnapshotError("the shared table's module defines no table")
    reader = Reader(body)
    if reader.uleb() != 1 or reader.byte() != me.FUNCREF:
        raise SnapshotError("the shared table's module should define one table of functions")
    return reader.limits()


def _constant(parts: _Parts, imported: me.Import) -> int:
    """The value of a global libpython imports: a constant the linker put in the table's module."""
    export = next((e for e in parts.env.exports if e.name == imported.name and e.sort == ci.CORE_GLOBAL), None)
    if export is None or not isinstance(export.item, ci.Alias) or export.item.instance is not parts.home:
        raise SnapshotError(f"libpython's {imported.name} is not a global of the linker's module")
    home = me.Module.decode(_module_bytes(parts, parts.home))
    index = home.export_index(export.item.name, me.KIND_GLOBAL)
    if index is None:
        raise SnapshotError(f"the linker's module does not export {export.item.name}")
    imported_globals = sum(1 for i in home.imports() if i.kind == me.KIND_GLOBAL)
    value = globals_of(_module_bytes(parts, parts.home))[index - imported_globals]
    if value.mutable or value.initial is None:
        raise SnapshotError(f"{export.item.name} is not a constant")
    return value.initial


def _trampolines(types: list[bytes]) -> bytes:
    """A module with a table of `len(types)` slots and, for each slot, a function that calls it."""
    unique = list(dict.fromkeys(types))
    bodies = []
    for slot, function_type in enumerate(types):
        params = me.param_count(function_type)
        code = b"".join(b"\x20" + me.uleb(i) for i in range(params))
        code += b"\x41" + me.sleb(slot) + b"\x11" + me.uleb(unique.index(function_type)) + b"\x00\x0b"
        body = b"\x00" + code  # no locals
        bodies.append(me.uleb(len(body)) + body)
    module = me.Module([])
    module.put(me.TYPE, me.vector(unique))
    module.put(me.FUNCTION, me.vector([me.uleb(unique.index(t)) for t in types]))
    module.put(me.TABLE, me.vector([me.table_type(len(types), len(types))]))
    exports = [me.name(str(k)) + b"\x00" + me.uleb(k) for k in range(len(types))]
    exports.append(me.name(LATE_TABLE) + b"\x01\x00")
    module.put(me.EXPORT, me.vector(exports))
    module.put(me.CODE, me.vector(bodies))
    return module.encode()


def _filler(types: list[bytes]) -> bytes:
    """A module that imports the trampolines' table and the real functions, and puts them in its slots."""
    unique = list(dict.fromkeys(types))
    imports = [me.Import("", LATE_TABLE, me.KIND_TABLE, me.table_type(len(types), len(types)))]
    imports += [me.Import("", str(k), me.KIND_FUNC, me.uleb(unique.index(t))) for k, t in enumerate(types)]
    module = me.Module([])
    module.put(me.TYPE, me.vector(unique))
    module.set_imports(imports)
    functions = me.vector([me.uleb(k) for k in range(len(types))])
    me.set_segments(module, [me.Segment(0, me.i32_const(0), functions)])
    return module.encode()


def _fill_both_tables(parts: _Parts, new_table: ci.Alias) -> None:
    """The instances that write into the old table through the table's own instance (the linker's late fix-ups)
    write the same elements into the new table too."""
    items = parts.component.items
    for instance in list(parts.component.instances()):
        names = [name for name, arg in instance.args if arg is parts.home]
        if not names or instance is parts.home:
            continue
        module = me.Module.decode(_module_bytes(parts, instance))
        imports = module.imports()
        tables = [i for i in imports if i.kind == me.KIND_TABLE]
        if not any(t.module in names and t.name == TABLE_NAME for t in tables):
            continue
        if len(tables) != 1:
            raise SnapshotError("a fix-up module imports more than one table")
        segments = me.segments(module)
        copies = [me.Segment(1, s.offset, s.functions) for s in segments if s.table == 0]
        imports.append(me.Import(SHARED_TABLE_IMPORT, TABLE_NAME, me.KIND_TABLE, me.table_type(0, None)))
        module.set_imports(imports)
        me.set_segments(module, segments + copies)
        parts.modules[instance.module].body = module.encode()
        bag = ci.Bag([ci.CoreExport(TABLE_NAME, ci.CORE_TABLE, new_table)])
        instance.args.append((SHARED_TABLE_IMPORT, bag))
        items.insert(items.index(instance), bag)
