"""Libraries: pure-Python wheels from `requirements.txt` (installed by pip, cached, refused when native), and helper
modules in `_`-prefixed folders beside the worker."""

from __future__ import annotations

import runpy
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.runtimes.python.conftest import MakePyWorker, get, get_json
from wws.errors import LoadError

BUILD_WHEEL = Path(__file__).parents[3] / "scripts" / "build-wheel.py"


def build_wheel(folder: Path, name: str, version: str, files: dict[str, str], tag: str = "py3-none-any") -> Path:
    """A wheel of `files` in `folder`, made by the script that builds the examples' wheel."""
    source = folder / f"{name}-{version}-{tag}-source"
    for relative, text in files.items():
        (source / relative).parent.mkdir(parents=True, exist_ok=True)
        (source / relative).write_text(text)
    build: Callable[..., Path] = runpy.run_path(str(BUILD_WHEEL))["build"]
    return build(source, name, version, folder, tag)


def test_a_local_pure_python_wheel_is_installed_and_importable(py_worker: MakePyWorker, tmp_path: Path) -> None:
    build_wheel(
        tmp_path / "wheels",
        "tinylib",
        "0.1",
        {
            "tinylib/__init__.py": "from tinylib.greet import greet\n",
            "tinylib/greet.py": "def greet(n):\n    return f'hi {n}'\n",
        },
    )
    (tmp_path / "requirements.txt").write_text("--no-index\n--find-links wheels\ntinylib==0.1\n")
    worker = py_worker(
        """
        import json
        import tinylib

        def worker(request):
            return Response(json.dumps({"greeting": tinylib.greet("ada"), "file": tinylib.__file__}))
        """
    )
    assert get_json(worker) == {"greeting": "hi ada", "file": "/src/libs/tinylib/__init__.py"}
    assert worker.prepared is not None
    libs = worker.prepared.folder / "libs"
    assert (libs / "tinylib" / "greet.py").is_file()
    assert (libs / "tinylib" / "__pycache__" / "greet.cpython-314.pyc").is_file()  # compiled once, at load


def test_libs_are_cached_across_versions_of_the_handler(py_worker: MakePyWorker, tmp_path: Path) -> None:
    build_wheel(tmp_path / "wheels", "tinylib", "0.2", {"tinylib/__init__.py": "VALUE = 2\n"})
    (tmp_path / "requirements.txt").write_text("--no-index\n--find-links wheels\ntinylib==0.2\n")
    source = "import tinylib\ndef worker(request):\n    return Response(f'{tinylib.VALUE} {VERSION}')\n"
    first = py_worker("VERSION = 1\n" + source)
    assert get(first).body == b"2 1"
    (tmp_path / "wheels" / "tinylib-0.2-py3-none-any.whl").unlink()  # a reinstall would fail now
    second = py_worker("VERSION = 2\n" + source)
    assert get(second).body == b"2 2"


def test_a_package_with_native_code_is_refused_by_name(py_worker: MakePyWorker, tmp_path: Path) -> None:
    build_wheel(
        tmp_path / "wheels",
        "fastthing",
        "1.0",
        {"fastthing/__init__.py": ""},
        tag="cp314-cp314-manylinux_2_17_x86_64",
    )
    (tmp_path / "requirements.txt").write_text("--no-index\n--find-links wheels\nfastthing==1.0\n")
    worker = py_worker("def worker(request):\n    return Response('x')\n")
    with pytest.raises(LoadError) as raised:
        worker.load()
    message = str(raised.value)
    assert "requirements.txt: fastthing has no pure-Python wheel" in message
    assert "native code" in message


def test_helper_modules_in_underscore_folders_import(py_worker: MakePyWorker) -> None:
    worker = py_worker(
        """
        from _helpers.names import shout
        from _helpers import data

        def worker(request):
            return Response(shout(data.read("greeting.txt")))
        """,
        files={
            "_helpers/names.py": "def shout(text):\n    return text.strip().upper() + '!'\n",
            "_helpers/data.py": (
                "import pathlib\ndef read(name):\n    return (pathlib.Path(__file__).parent / name).read_text()\n"
            ),
            "_helpers/greeting.txt": "hello\n",
        },
    )
    assert get(worker).body == b"HELLO!"


def test_editing_a_helper_makes_a_new_version(py_worker: MakePyWorker, tmp_path: Path) -> None:
    files = {"_lib/value.py": "VALUE = 'one'\n"}
    source = "from _lib.value import VALUE\ndef worker(request):\n    return Response(VALUE)\n"
    assert get(py_worker(source, files=files)).body == b"one"
    (tmp_path / "_lib" / "value.py").write_text("VALUE = 'two'\n")
    assert get(py_worker(source)).body == b"two"
