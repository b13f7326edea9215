"""Static files from the project's `public/` folder, the 404 page, and the request-path check that guards both.

Files are looked up and answered by Starlette's `StaticFiles` (ETag, Last-Modified, 304, HEAD), which also refuses
any path that resolves outside `public/` (symlinks included). Before that, `request_path` refuses what no honest
client sends: dot segments, encoded or not, backslashes, NUL, and bytes that are not strict UTF-8 (overlong forms
such as `%C0%AE` are how `..` is smuggled past naive decoders).
"""

from __future__ import annotations

import os
import stat
import urllib.parse
from pathlib import Path

from starlette.responses import PlainTextResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

PUBLIC_FOLDER = "public"
NOT_FOUND_PAGE = "404.html"
INDEX_PAGE = "index.html"


def request_path(raw_path: bytes) -> str | None:
    """The percent-decoded request path, or None when it is malformed or tries to step out of the tree."""
    try:
        text = urllib.parse.unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text.startswith("/") or "\\" in text or "\0" in text:
        return None
    if any(part in (".", "..") for part in text.split("/")):
        return None
    return text


class PublicFiles:
    """`public/` served at the project's prefix: `GET /a/b.css` → `public/a/b.css`, a folder → its `index.html`."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._files = StaticFiles(directory=folder, check_dir=False)

    def find(self, path: str) -> tuple[str, os.stat_result] | None:
        """The file for a (checked) request path, or None. Cheap when there is no `public/` folder."""
        if not self.folder.is_dir():
            return None
        relative = "/".join(part for part in path.split("/") if part)
        found = self._lookup(relative)
        if found is not None and stat.S_ISDIR(found[1].st_mode):
            found = self._lookup(f"{relative}/{INDEX_PAGE}" if relative else INDEX_PAGE)
        if found is None or not stat.S_ISREG(found[1].st_mode):
            return None
        return found

    def _lookup(self, relative: str) -> tuple[str, os.stat_result] | None:
        try:
            full_path, result = self._files.lookup_path(relative)
        except (OSError, ValueError):  # a name too long, or characters the file system refuses
            return None
        return None if result is None else (full_path, result)

    def response(self, found: tuple[str, os.stat_result], scope: Scope) -> Response:
        return self._files.file_response(found[0], found[1], scope)

    def not_found(self) -> Response:
        """`public/404.html` with status 404 if the project has one, else a plain 404."""
        page = self.find("/" + NOT_FOUND_PAGE)
        if page is not None:
            return self._files.file_response(page[0], page[1], {"type": "http", "method": "GET", "headers": []}, 404)
        return PlainTextResponse("Not Found", status_code=404)
