"""Benchmark fixtures: the hello workers built from source, and a table of medians for the ratio report."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks import projects
from wws.sandbox.engine import Sandbox


@pytest.fixture(scope="session")
def bench_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    box = Sandbox(cache_folder=tmp_path_factory.mktemp("bench-cache"))
    yield box
    box.close()


@pytest.fixture(scope="session")
def hello_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hello workers of `benchmarks.projects.hello_project`, built once per session."""
    return projects.hello_project(tmp_path_factory.mktemp("bench-project"))


@pytest.fixture(scope="session")
def medians() -> dict[str, float]:
    """Benchmark name → median seconds, filled by each benchmark, read by the ratio check that runs last."""
    return {}
