"""The JavaScript engine is part of every build: `python -m build` (and `pip install .`) compiles it from the pinned
QuickJS-NG source package with clang and wasi-libc (scripts/build-quickjs.sh), and the wheel carries it. Editable
installs skip it (scripts/install.sh builds it in place)."""

import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithEngine(build_py):
    """build_py, after building wws/runtimes/javascript/quickjs.wasm (skipped when it is up to date)."""

    def run(self) -> None:
        if not self.editable_mode:
            script = ROOT / "scripts" / "build-quickjs.sh"
            if subprocess.run(["bash", str(script)], check=False).returncode != 0:
                raise SystemExit("wws: the JavaScript engine could not be built (see the messages above)")
        super().run()


setup(cmdclass={"build_py": BuildWithEngine})
