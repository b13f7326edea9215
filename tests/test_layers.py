"""The layers of `wws/` import downward only (DESIGN.md): a module never imports a package above its own.

From the top: `cli/`; `server/` and `pipelines/` beside it (the server mounts the pipelines' routes; the pipelines
never import the server), with `scaffold`; `worker/`; `runtimes/` and `outbound`; `sandbox/` at the bottom. The
leaves (`config/`, `kv/`, `routing/`, `wasm/` the binary codec, `errors`, `messages`, `logs`) import only leaves,
and anyone may import them. `KNOWN` would list imports that break the rule, each until the change that fixes it:
the test fails when one is added, and when one listed is gone (so that the list only shrinks). It is empty.
"""

from __future__ import annotations

import ast
from pathlib import Path

WWS = Path(__file__).parent.parent / "wws"
RANKS = {
    "cli": 5,
    "server": 4,
    "pipelines": 4,
    "scaffold": 4,
    "worker": 3,
    "runtimes": 2,
    "outbound": 2,
    "sandbox": 1,
}
LEAVES = {"config", "kv", "routing", "errors", "messages", "logs", "wasm"}
BESIDE = {("server", "pipelines")}
"""Packages of one rank where one may import the other."""
KNOWN: set[tuple[str, str]] = set()


def imports_of(path: Path) -> set[str]:
    """The wws modules that `path` imports (at its top, or inside a function or `if TYPE_CHECKING`)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("wws."):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("wws."))
    return found


def package_of(module: str) -> str:
    return module.split(".")[1]


def allowed(source: str, target: str) -> bool:
    if source == target or target in LEAVES:
        return True
    if source in LEAVES:
        return False
    if (source, target) in BESIDE:
        return True
    return RANKS[target] < RANKS[source]


def test_every_module_imports_downward_only() -> None:
    upward = set()
    for path in sorted(WWS.rglob("*.py")):
        parts = path.relative_to(WWS).parts
        if parts[0] == "glue" or (len(parts) == 1 and parts[0] in ("__init__.py", "__main__.py")):
            continue  # guest code; the package's own entry points (its public names, `python -m wws`)
        source = parts[0].removesuffix(".py")
        assert source in RANKS or source in LEAVES, f"wws/{'/'.join(parts)}: a package with no layer: add it here"
        for module in imports_of(path):
            if not allowed(source, package_of(module)):
                upward.add((f"wws/{'/'.join(parts)}", module))
    assert upward - KNOWN == set(), "imports upward (see DESIGN.md's layers)"
    assert KNOWN - upward == set(), "no longer imported: remove it from KNOWN"


def test_only_the_sandbox_reads_wasmtime_failures() -> None:
    """wasmtime's traps are translated in one module (`sandbox/traps.py`); the raw C API is wrapped in one
    (`sandbox/_ffi.py`), which nothing outside the sandbox uses."""
    readers, raw = set(), set()
    for path in sorted(WWS.rglob("*.py")):
        name = path.relative_to(WWS).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("Trap", "ExitTrap", "TrapCode")
                and isinstance(node.value, ast.Name)
                and node.value.id == "wasmtime"
            ):
                readers.add(name)
        if not name.startswith("sandbox/") and "wws.sandbox._ffi" in imports_of(path) | _from_imports(tree):
            raw.add(name)
    assert readers == {"sandbox/traps.py", "sandbox/_ffi.py"}
    assert raw == set()


def _from_imports(tree: ast.AST) -> set[str]:
    """`from wws.sandbox import _ffi`, spelled as the module it imports."""
    return {
        f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }


def test_every_exception_is_defined_in_errors_py() -> None:
    """wws's exceptions live in one module (the guest's own glue aside), so that a reader finds them all at once."""
    errors = {
        node.name for node in ast.walk(ast.parse((WWS / "errors.py").read_text())) if isinstance(node, ast.ClassDef)
    }
    elsewhere = set()
    for path in sorted(WWS.rglob("*.py")):
        name = path.relative_to(WWS).as_posix()
        if name == "errors.py" or name.startswith("glue/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = {base.id if isinstance(base, ast.Name) else getattr(base, "attr", "") for base in node.bases}
                if bases & (errors | {"Exception", "BaseException"}) or any(b.endswith("Error") for b in bases):
                    elsewhere.add(f"{name}: {node.name}")
    assert elsewhere == set()
