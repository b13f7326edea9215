"""JavaScript's URL against the web-platform-tests' URL parser data (tests/compat/wpt/urltestdata.json), run in a
worker the way WPT's url-constructor.any.js runs it. workerd passes every case (test_workerd.py runs the same worker
there); so must wws."""

from __future__ import annotations

import json
from pathlib import Path

from tests.server.conftest import Client
from wws.sandbox.engine import Sandbox
from wws.server.app import create_app

COMPAT = Path(__file__).parent
DATA = COMPAT / "wpt" / "urltestdata.json"
CASES = 891


def test_every_wpt_url_parser_case_passes(tmp_path: Path, sandbox: Sandbox) -> None:
    (tmp_path / "url_wpt.js").write_text((COMPAT / "workers" / "url_wpt.js").read_text())
    app = create_app(tmp_path, sandbox=sandbox, kv="memory")
    try:
        response = Client(app).post("/url_wpt", content=DATA.read_bytes())
    finally:
        app.state.project.close()
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["cases"] == CASES
    assert result["failed"] == [], json.dumps(result["failed"][:20], ensure_ascii=False, indent=1)
    assert result["passed"] == CASES
