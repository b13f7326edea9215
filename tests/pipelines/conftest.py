"""A project holding tests/fixtures/pipelines (plans and step handlers) in `pipelines/`, its native steps built."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent.parent / "fixtures" / "pipelines"
NATIVE_STEPS = {"step_negate": "negate.wasm", "step_echo": "echo.wasm", "step_env": "env.wasm"}
"""The C fixtures (tests/fixtures/native) that are step handlers, and their names in `pipelines/h/`."""


def make_project(folder: Path, native_modules: dict[str, Path]) -> Path:
    shutil.copytree(FIXTURES, folder / "pipelines")
    for module, name in NATIVE_STEPS.items():
        shutil.copyfile(native_modules[module], folder / "pipelines" / "h" / name)
    return folder


@pytest.fixture
def project(tmp_path: Path, native_modules: dict[str, Path]) -> Path:
    return make_project(tmp_path, native_modules)
