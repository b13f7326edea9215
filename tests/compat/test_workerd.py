"""The same Cloudflare-style workers served by wws and by workerd (Cloudflare's own runtime): the answers must match.

Each worker in tests/compat/workers runs in wws as `<name>/[...path].js` (so any path below `/<name>/` reaches it)
and in workerd as one service per socket. Every case sends the same request (same Host, path, headers and body) to
both and compares the status, the body (parsed when it is JSON) and the headers that matter. Randomness is compared by
shape only.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.conftest import free_ports, running
from wws.server.app import create_app

WORKERS = Path(__file__).parent / "workers"
WORKERD = Path(__file__).parents[2] / "tools" / "node_modules" / "@cloudflare" / "workerd-linux-64" / "bin" / "workerd"
COMPATIBILITY_DATE = "2025-01-01"
VARS = {"service_worker": {"GREETING": "Hello"}}
SERVICE_WORKERS = {"service_worker"}
FLAGS = {"crypto": ["nodejs_compat"]}
"""Each worker's compatibility flags (in workerd's config, and in wws's worker config)."""
COMPARED_HEADERS = ("content-type", "location", "x-echo", "x-custom", "x-style")
HOST = "compat.example"

# (worker, method, path, headers, body, compare the body?)
CASES: list[tuple[str, str, str, dict[str, str], bytes | None, bool]] = [
    ("echo", "GET", "/echo/some/path?a=1&b=two%20words&a=3", {"x-trace": "abc"}, None, True),
    ("echo", "POST", "/echo/post", {"content-type": "text/plain", "x-multi": "1"}, "héllo wörld".encode(), True),
    ("echo", "PUT", "/echo/put?empty=", {}, b"", True),
    ("echo", "DELETE", "/echo/x", {"X-Upper": "Case"}, b"gone", True),
    ("urls", "GET", "/urls/all", {}, None, True),
    ("headers", "GET", "/headers/all", {}, None, True),
    ("responses", "GET", "/responses/json", {}, None, True),
    ("responses", "GET", "/responses/redirect", {}, None, True),
    ("responses", "GET", "/responses/teapot", {}, None, True),
    ("responses", "GET", "/responses/binary", {}, None, True),
    ("responses", "GET", "/responses/buffer", {}, None, True),
    ("responses", "GET", "/responses/empty", {}, None, True),
    ("responses", "GET", "/responses/text", {}, None, True),
    ("responses", "GET", "/responses/search", {}, None, True),
    ("responses", "GET", "/responses/clone", {}, None, True),
    ("responses", "GET", "/responses/missing", {}, None, True),
    ("responses", "GET", "/responses/throw", {}, None, False),
    ("responses", "GET", "/responses/reject", {}, None, False),
    ("encoding", "GET", "/encoding/all", {}, None, True),
    ("form", "POST", "/form/post", {"content-type": "application/x-www-form-urlencoded"}, b"a=1&b=x+y&a=%C3%A9", True),
    ("form", "POST", "/form/post", {"content-type": "application/json"}, b'{"n":[1,2,{"k":null}]}', True),
    ("form", "POST", "/form/post", {"content-type": "application/octet-stream"}, bytes([0, 255, 1, 254, 7]), True),
    ("timers", "GET", "/timers/all", {}, None, True),
    ("streams", "GET", "/streams/readable", {}, None, True),
    ("streams", "GET", "/streams/pull", {}, None, True),
    ("streams", "GET", "/streams/transform", {}, None, True),
    ("streams", "POST", "/streams/upper", {"content-type": "text/plain"}, "straße ünïcode".encode(), True),
    ("streams", "POST", "/streams/reader", {}, b"read by a reader", True),
    ("streams", "POST", "/streams/tee", {}, b"teed", True),
    ("streams", "POST", "/streams/clone", {}, b"cloned", True),
    ("streams", "POST", "/streams/pipe", {}, b"piped", True),
    ("streams", "GET", "/streams/error", {}, None, True),
    ("crypto", "POST", "/crypto/digest", {}, "hash me ✓".encode(), True),
    ("crypto", "POST", "/crypto/hmac", {}, b"sign this message", True),
    ("crypto", "GET", "/crypto/equal", {"x-token": "s3cr3t-token"}, None, True),
    ("crypto", "GET", "/crypto/equal", {"x-token": "wrong-token!"}, None, True),
    ("crypto", "GET", "/crypto/buffer", {}, None, True),
    ("url_wpt", "POST", "/url_wpt/all", {}, (WORKERS.parent / "wpt" / "urltestdata.json").read_bytes(), True),
    ("service_worker", "GET", "/service_worker/hi?name=wws", {}, None, True),
    ("service_worker", "POST", "/service_worker/hi", {}, b"", True),
]


def _workerd_config(folder: Path, ports: dict[str, int]) -> str:
    services, sockets = [], []
    for name, port in ports.items():
        bindings = ", ".join(f'(name = "{key}", text = "{value}")' for key, value in VARS.get(name, {}).items())
        if name in SERVICE_WORKERS:
            code = f'serviceWorkerScript = embed "{name}.js"'
        else:
            code = f'modules = [(name = "{name}.js", esModule = embed "{name}.js")]'
        flags = ", ".join(f'"{flag}"' for flag in FLAGS.get(name, []))
        services.append(
            f'(name = "{name}", worker = ({code}, compatibilityDate = "{COMPATIBILITY_DATE}", '
            f"compatibilityFlags = [{flags}], bindings = [{bindings}]))"
        )
        sockets.append(f'(name = "{name}", address = "127.0.0.1:{port}", http = (), service = "{name}")')
    return (
        'using Workerd = import "/workerd/workerd.capnp";\n'
        f"const config :Workerd.Config = (\n  services = [{', '.join(services)}],\n"
        f"  sockets = [{', '.join(sockets)}],\n);\n"
    )


@pytest.fixture(scope="module")
def workerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """workerd serving every compat worker; worker name → base URL."""
    if not WORKERD.is_file():
        pytest.skip("workerd is not installed (npm ci --prefix tools; scripts/install.sh does it)")
    folder = tmp_path_factory.mktemp("workerd")
    names = sorted(path.stem for path in WORKERS.glob("*.js"))
    for name in names:
        shutil.copyfile(WORKERS / f"{name}.js", folder / f"{name}.js")
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    (folder / "config.capnp").write_text(_workerd_config(folder, ports))
    process = subprocess.Popen(
        [str(WORKERD), "serve", str(folder / "config.capnp"), "--verbose"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        for port in ports.values():
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                    break
                except httpx.TransportError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        output = process.stdout.read().decode() if process.stdout else ""
                        raise RuntimeError(f"workerd did not start:\n{output}") from None
                    time.sleep(0.05)
        yield {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


@pytest.fixture(scope="module")
def wws_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    project = tmp_path_factory.mktemp("wws-compat")
    for path in WORKERS.glob("*.js"):
        folder = project / path.stem
        folder.mkdir()
        shutil.copyfile(path, folder / "[...path].js")
        config = f"compatibility_flags = {json.dumps(FLAGS.get(path.stem, []))}\n[vars]\n"
        config += "".join(f'{key} = "{value}"\n' for key, value in VARS.get(path.stem, {}).items())
        (folder / "[...path].toml").write_text(config)
    app = create_app(project)
    with running(app) as base:
        yield base


def _summary(response: httpx.Response, compare_body: bool) -> dict[str, Any]:
    """What must match: the status, and unless the case is an error page (each runtime has its own) the headers
    that matter and the body."""
    summary: dict[str, Any] = {"status": response.status_code}
    if compare_body:
        summary["headers"] = {name: response.headers.get(name) for name in COMPARED_HEADERS}
        summary["set-cookie"] = response.headers.get_list("set-cookie")
        content_type = response.headers.get("content-type", "")
        summary["body"] = response.json() if content_type.startswith("application/json") else response.content
    return summary


def _send(base: str, method: str, path: str, headers: dict[str, str], body: bytes | None) -> httpx.Response:
    return httpx.request(
        method, base + path, headers={"host": HOST, **headers}, content=body, timeout=10, follow_redirects=False
    )


@pytest.mark.parametrize(
    ("worker", "method", "path", "headers", "body", "compare_body"),
    CASES,
    ids=[f"{case[0]}-{case[1]}-{case[2]}" for case in CASES],
)
def test_wws_answers_like_workerd(  # noqa: PLR0917 - pytest parameters
    workerd: dict[str, str],
    wws_server: str,
    worker: str,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None,
    compare_body: bool,
) -> None:
    expected = _summary(_send(workerd[worker], method, path, headers, body), compare_body)
    actual = _summary(_send(wws_server, method, path, headers, body), compare_body)
    assert actual == expected, json.dumps({"wws": actual, "workerd": expected}, default=str, indent=1)
