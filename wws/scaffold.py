"""`wws new`: a worker (handler and config) written from the templates in `wws/templates/`, ready to serve.

A route maps to a file as `wws serve` reads it: `/api/[id]` → `api/[id].js`, `/` → `index.js`. A Rust worker also
gets its crate in `_src/<name>/` (the `_` keeps it from being served), built at once by its `build.sh`, which puts the
module at the route's file. Cargo builds in `.wws/rust-target/`, shared by the project's Rust workers; the crate uses
the kit of this checkout (`kits/rust`, or `$WWS_RUST_KIT`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import wws
from wws.errors import ScaffoldError
from wws.runtimes.registry import default_registry
from wws.worker.prepare import STATE_FOLDER

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGES = {"js": ".js", "py": ".py", "rust": ".wasm"}
KIT_VARIABLE = "WWS_RUST_KIT"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]*|\[[A-Za-z_][A-Za-z0-9_]*\]|\[\.\.\.[A-Za-z_][A-Za-z0-9_]*\]")


@dataclass(frozen=True)
class Scaffold:
    """What `wws new` writes: files by path (relative to the project), and the Rust crate to build, if any."""

    handler: PurePosixPath
    files: dict[PurePosixPath, str]
    crate: PurePosixPath | None = None


def handler_path(route: str, suffix: str) -> PurePosixPath:
    """The file that serves `route`; raises ScaffoldError for a route `wws serve` would not serve."""
    if not route.startswith("/"):
        raise ScaffoldError(f"a route starts with '/': {route!r}")
    segments = [segment for segment in route.split("/") if segment]
    for index, segment in enumerate(segments):
        if not _SEGMENT.fullmatch(segment):
            raise ScaffoldError(
                f"{segment!r} cannot be a route segment: use letters, digits and . _ ~ - (not first), "
                "[param] or [...rest]"
            )
        if segment.startswith("[...") and index != len(segments) - 1:
            raise ScaffoldError(f"a catch-all ({segment}) must be the last segment")
    *folders, last = segments or ["index"]
    return PurePosixPath(*folders, last + suffix)


def plan(name: str, language: str, route: str | None = None) -> Scaffold:
    """The files of a new worker called `name` in `language` (js, py or rust), served at `route` (default /name)."""
    if not _NAME.fullmatch(name):
        raise ScaffoldError(f"{name!r} is not a worker name: a letter, then letters, digits, '-' or '_' (64 at most)")
    if language not in LANGUAGES:
        raise ScaffoldError(f"unknown language {language!r} (known: {', '.join(LANGUAGES)})")
    handler = handler_path(route or f"/{name}", LANGUAGES[language])
    values = {"name": name, "route": route or f"/{name}", "handler": str(handler), "config": _config(handler).name}
    files = {_config(handler): _render("worker.toml.tmpl", values)}
    if language != "rust":
        files[handler] = _render(f"{language}/worker{LANGUAGES[language]}.tmpl", values)
        return Scaffold(handler, files)
    crate = PurePosixPath("_src", name)
    up = PurePosixPath(*[".."] * len(crate.parts))
    values |= {
        "target_dir": str(up / STATE_FOLDER / "rust-target"),
        "crate": name,
        "kit": json.dumps(str(rust_kit())),
        "output": str(up / handler),
    }
    files[crate / "Cargo.toml"] = _render("rust/Cargo.toml.tmpl", values)
    files[crate / "src" / "main.rs"] = _render("rust/main.rs.tmpl", values)
    files[crate / ".cargo" / "config.toml"] = _render("rust/config.toml.tmpl", values)
    files[crate / "build.sh"] = _render("rust/build.sh.tmpl", values)
    return Scaffold(handler, files, crate)


def write(project: Path, scaffold: Scaffold) -> list[Path]:
    """Write the files (never over existing ones, nor beside another handler of the same route); returns them."""
    # Any registered runtime's file for the same route (plug-ins included) would stop `wws serve` with both names.
    folder, stem = project / scaffold.handler.parent, scaffold.handler.stem
    candidates = (folder / f"{stem}{extension}" for extension in default_registry().extensions())
    clash = next((candidate for candidate in candidates if candidate.exists()), None)
    if clash is not None:
        raise ScaffoldError(f"{clash.relative_to(project)} already serves this route")
    existing = [path for path in scaffold.files if (project / path).exists()]
    if existing:
        raise ScaffoldError(f"{existing[0]} already exists; nothing was written")
    written = []
    for relative, text in scaffold.files.items():
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if path.name == "build.sh":
            path.chmod(0o755)
        written.append(path)
    return written


def build_rust(project: Path, crate: PurePosixPath) -> None:
    """Run the crate's build.sh (cargo, offline); raises ScaffoldError with cargo's output when it fails."""
    script = project / crate / "build.sh"
    try:
        result = subprocess.run([str(script)], capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ScaffoldError(f"cannot run {script}: {exc.strerror}") from exc
    if result.returncode != 0:
        raise ScaffoldError(
            f"building {crate} failed (Debian's Rust: apt-get install rustc cargo libstd-rust-dev-wasm32 "
            f"librust-serde-json-dev librust-base64-dev); fix it and run {crate}/build.sh:\n"
            f"{(result.stderr or result.stdout).strip()}"
        )


def rust_kit() -> Path:
    """The Rust kit: `$WWS_RUST_KIT`, else `kits/rust` of the checkout wws runs from."""
    configured = os.environ.get(KIT_VARIABLE)
    kit = Path(configured) if configured else Path(wws.__file__).resolve().parent.parent / "kits" / "rust"
    if not (kit / "Cargo.toml").is_file():
        raise ScaffoldError(f"the Rust kit is not at {kit}: set {KIT_VARIABLE} to the kits/rust folder of wws")
    return kit.resolve()


def _config(handler: PurePosixPath) -> PurePosixPath:
    return handler.with_suffix(".toml")


def _render(template: str, values: dict[str, str]) -> str:
    text = (TEMPLATES / template).read_text()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text
