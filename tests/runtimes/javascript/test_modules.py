"""A worker's own modules: files beside it and in `_`-prefixed folders, copied into its prepared folder and hashed."""

from __future__ import annotations

import pytest

from tests.runtimes.javascript.conftest import MakeJsWorker, get
from wws.errors import LoadError

HANDLER = """import { greet } from "./greeting.js";
import { shout } from "./_lib/text.js";
export default { fetch: () => new Response(shout(greet("modules"))) };
"""
FILES = {
    "greeting.js": "export const greet = (name) => `hello ${name}`;\n",
    "_lib/text.js": 'import { suffix } from "./deeper/suffix.js";\nexport const shout = (s) => s.toUpperCase() + suffix;\n',
    "_lib/deeper/suffix.js": 'export const suffix = "!";\n',
}


def test_imports_from_siblings_and_underscore_folders(js_worker: MakeJsWorker) -> None:
    worker = js_worker(HANDLER, files={f"api/{name}": text for name, text in FILES.items()}, name="api/index.js")
    assert get(worker).body == b"HELLO MODULES!"
    prepared = worker.prepared
    assert prepared is not None
    copied = sorted(path.relative_to(prepared.folder).as_posix() for path in prepared.folder.rglob("*.js"))
    assert [name for name in copied if not name.startswith("glue/")] == [
        "_lib/deeper/suffix.js",
        "_lib/text.js",
        "greeting.js",
        "index.js",
    ]


def test_an_edited_import_changes_the_prepared_folder(js_worker: MakeJsWorker) -> None:
    worker = js_worker(HANDLER, files=FILES)
    first = worker.prepare().digest
    (worker.path.parent / "_lib" / "deeper" / "suffix.js").write_text('export const suffix = "?";\n')
    assert worker.prepare().digest != first


def test_an_import_outside_the_worker_folder_is_refused_at_load(js_worker: MakeJsWorker) -> None:
    worker = js_worker(
        'import "../../etc/secret.js";\nexport default { fetch: () => new Response("x") };', name="api/index.js"
    )
    with pytest.raises(LoadError, match="outside the worker's folder"):
        worker.load()


def test_a_missing_module_names_itself(js_worker: MakeJsWorker) -> None:
    worker = js_worker('import { x } from "./nowhere.js";\nexport default { fetch: () => new Response(x) };')
    with pytest.raises(LoadError, match=r"cannot find module 'nowhere\.js'"):
        worker.load()
