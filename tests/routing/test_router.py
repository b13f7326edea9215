"""The routing rules of DESIGN.md (those of the original Wasm Workers Server), as a table."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from wws.errors import LoadError
from wws.routing import Route, Router, discover_routes, route_for

FILES = ["fixed", "[id]", "[id]/fixed", "sub/[id]", "sub/[...all]", "sub/sub/[...all]"]
ROUTER = Router([Route("/" + name, Path(name)) for name in FILES])


DESIGN_TABLE: list[tuple[str, str | None, dict[str, str] | None]] = [
    ("/fixed", "/fixed", {}),
    ("/any", "/[id]", {"id": "any"}),
    ("/any/fixed", "/[id]/fixed", {"id": "any"}),
    ("/sub/any", "/sub/[id]", {"id": "any"}),
    ("/sub/any/catch/all", "/sub/[...all]", {"all": "any/catch/all"}),
    ("/sub/sub/any/catch/all", "/sub/sub/[...all]", {"all": "any/catch/all"}),
    ("/donot/exist", None, None),
]
"""The routing table of DESIGN.md: request path → route pattern and params (None: 404). The server tests reuse it."""


@pytest.mark.parametrize(("request_path", "route", "params"), DESIGN_TABLE)
def test_router_table_of_design(request_path: str, route: str | None, params: dict[str, str] | None) -> None:
    matched = ROUTER.match(request_path)
    if route is None:
        assert matched is None
    else:
        assert matched is not None
        assert (matched[0].pattern, matched[1]) == (route, params)


def test_router_root_catch_all_matches_the_root() -> None:
    router = Router([Route("/[...path]", Path("x"))])
    assert router.match("/") == (router.routes[0], {"path": ""})
    assert router.match("/a/b") == (router.routes[0], {"path": "a/b"})


@pytest.mark.parametrize(
    ("file", "route"),
    [("index.wasm", "/"), ("blog/index.js", "/blog"), ("api/[id].py", "/api/[id]"), ("a/b.wasm", "/a/b")],
)
def test_route_for_a_file(file: str, route: str) -> None:
    assert route_for(PurePosixPath(file)) == route


def test_discovery_skips_public_state_pipelines_private_and_ignored_paths(tmp_path: Path) -> None:
    for name in [
        "index.wasm",
        "api/[id].wasm",
        "public/x.wasm",
        ".wws/native/a/b.wasm",
        "pipelines/steps/a.wasm",
        "_lib/h.wasm",
        "api/_helpers/h.wasm",
        "drafts/wip.wasm",
        "notes.txt",
    ]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    routes = discover_routes(tmp_path, [".wasm"], ignore=["drafts/*"])
    assert sorted(route.pattern for route in routes) == ["/", "/api/[id]"]


def test_discovery_refuses_two_files_for_one_route_naming_both(tmp_path: Path) -> None:
    (tmp_path / "blog").mkdir()
    (tmp_path / "blog.wasm").write_bytes(b"")
    (tmp_path / "blog" / "index.wasm").write_bytes(b"")
    with pytest.raises(LoadError) as failure:
        discover_routes(tmp_path, [".wasm"])
    assert "blog.wasm" in str(failure.value)
    assert "index.wasm" in str(failure.value)
