"""The plans a served project offers: every `.json` or `.toml` file at the top of its `pipelines/` folder, by id.

A plan's id is its file's name without the suffix (`pipelines/age-gate.json` is `age-gate`); its `id` field, if it
has one, must say the same. Plans are read when asked for and read again when their file changes (its size or
modification time), so an edited plan serves the next run with no restart, while a run goes on with the text it
started with (the durable workflow records it). A plan that does not validate is reported with every problem, and
is not run.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from wws.errors import PlanError, UnknownPipeline
from wws.pipelines.plan import PLAN_SUFFIXES, Plan, parse_plan
from wws.runtimes.registry import RuntimeRegistry

log = logging.getLogger(__name__)

PIPELINES_FOLDER = "pipelines"
PIPELINES_PATH = "/_wws/pipelines"
"""Where `wws serve` serves them (under its `--prefix`)."""
RESERVED_IDS = {"runs"}
"""Ids the HTTP routes use themselves (`/_wws/pipelines/runs/…`)."""


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """A plan as its file says now: `plan` and `text` when it is valid, else `error`."""

    id: str
    file: Path
    text: str
    plan: Plan | None
    error: PlanError | None


class PlanCatalog:
    """The plans under `<project>/pipelines/`. Thread-safe."""

    def __init__(self, project: Path, registry: RuntimeRegistry):
        self.folder = project.resolve() / PIPELINES_FOLDER
        self._registry = registry
        self._entries: dict[Path, tuple[tuple[int, int], CatalogEntry]] = {}
        self._lock = threading.Lock()

    def ids(self) -> list[str]:
        """Every plan id, sorted (a file whose id is taken twice counts once)."""
        return sorted({path.stem for path in self._files()})

    def get(self, pipeline_id: str) -> CatalogEntry:
        """The plan `pipeline_id` as its file says now; `UnknownPipeline` if there is no such file."""
        files = [path for path in self._files() if path.stem == pipeline_id]
        if not files:
            raise UnknownPipeline(pipeline_id)
        if len(files) > 1:
            names = " and ".join(path.name for path in files)
            problem = f"{names} both define the pipeline '{pipeline_id}': keep one"
            return CatalogEntry(pipeline_id, files[0], "", None, PlanError(files[0], [problem]))
        return self._entry(files[0])

    def entries(self) -> list[CatalogEntry]:
        """Every plan, valid or not, sorted by id."""
        return [self.get(pipeline_id) for pipeline_id in self.ids()]

    def log_problems(self) -> None:
        """Say, for the operator, which plans are served and which are not (and why)."""
        for entry in self.entries():
            if entry.error is not None:
                log.error("not serving the pipeline %s:\n%s", entry.id, entry.error.format_message())
            else:
                log.info("pipeline %s: serving %s", entry.id, entry.file.name)

    def _files(self) -> list[Path]:
        try:
            children = sorted(self.folder.iterdir())
        except OSError:
            return []
        return [path for path in children if path.suffix in PLAN_SUFFIXES and path.is_file()]

    def _entry(self, path: Path) -> CatalogEntry:
        try:
            stat = path.stat()
        except OSError as exc:
            error = PlanError(path, [f"cannot read the plan: {exc.strerror}"])
            return CatalogEntry(path.stem, path, "", None, error)
        version = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._entries.get(path)
        if cached is not None and cached[0] == version:
            return cached[1]
        entry = self._read(path)
        with self._lock:
            self._entries[path] = (version, entry)
        return entry

    def _read(self, path: Path) -> CatalogEntry:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            return CatalogEntry(path.stem, path, "", None, PlanError(path, [f"cannot read the plan: {reason}"]))
        try:
            plan = parse_plan(path, text, self._registry)
        except PlanError as exc:
            return CatalogEntry(path.stem, path, text, None, exc)
        problems = []
        if plan.id != path.stem:
            problems.append(f"id: '{plan.id}' is not the file's name ('{path.stem}'): the URL uses the file's name")
        if path.stem in RESERVED_IDS:
            problems.append(f"'{path.stem}' is reserved by the HTTP routes: rename the file")
        if problems:
            return CatalogEntry(path.stem, path, text, None, PlanError(path, problems))
        return CatalogEntry(path.stem, path, text, plan, None)


def has_pipelines(project: Path) -> bool:
    """Whether the project has a `pipelines/` folder (then `wws serve` serves its plans)."""
    return os.path.isdir(project / PIPELINES_FOLDER)
