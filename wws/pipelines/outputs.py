"""Large step outputs, stored once by content hash instead of in the runs' database.

A step's output `data` larger than the threshold (`[pipelines] large_output_bytes`, 256 KiB) is written once to
`<project>/.wws/pipeline-outputs/<blake3>.json` and stands, in the runs' database, the events and the run record, as
a reference: `{"$wws_output": "<blake3>", "bytes": N}`. The steps it flows into get the value itself, read back; the
same content is stored once, however many runs make it. Files are written whole (a temporary file, then a rename),
so a reader never sees half of one. When the runs are in Postgres (shared by processes on several hosts), the
outputs are too, in a table of their own (`wws_pipeline_outputs`), not in the rows of the runs.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import blake3
import sqlalchemy as sa

OUTPUTS_FOLDER = Path(".wws") / "pipeline-outputs"
REFERENCE_KEY = "$wws_output"
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_TABLE = "wws_pipeline_outputs"


class OutputStore:
    """The large outputs of a project's runs."""

    def __init__(self, project: Path, threshold: int):
        self.folder = project / OUTPUTS_FOLDER
        self.threshold = threshold
        self._engine: sa.Engine | None = None

    def use_database(self, engine: sa.Engine) -> None:
        """Keep the outputs in the (Postgres) database of `engine`, where every host finds them."""
        with engine.begin() as connection:
            connection.execute(
                sa.text(f"CREATE TABLE IF NOT EXISTS {_TABLE} (digest TEXT PRIMARY KEY, content BYTEA NOT NULL)")
            )
        self._engine = engine

    def put(self, data: Any) -> dict[str, Any] | None:
        """Store `data` if it is over the threshold, and return its reference; None when it is small enough to
        stay where it is."""
        encoded = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        if len(encoded) <= self.threshold:
            return None
        digest = blake3.blake3(encoded).hexdigest()
        path = self.folder / f"{digest}.json"
        if self._engine is not None:
            with self._engine.begin() as connection:
                connection.execute(
                    sa.text(
                        f"INSERT INTO {_TABLE} (digest, content) VALUES (:digest, :content) ON CONFLICT DO NOTHING"
                    ),
                    {"digest": digest, "content": encoded},
                )
        elif not path.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.folder, prefix=".", suffix=".tmp", delete=False) as file:
                file.write(encoded)
            os.replace(file.name, path)
        return {REFERENCE_KEY: digest, "bytes": len(encoded)}

    def get(self, reference: dict[str, Any]) -> Any:
        """The data a reference stands for."""
        return json.loads(self.read(reference[REFERENCE_KEY]))

    def read(self, digest: str) -> bytes:
        """The stored JSON of `digest`; `FileNotFoundError` when there is none (or `digest` is not one)."""
        if not _DIGEST.match(digest):
            raise FileNotFoundError(digest)
        if self._engine is not None:
            with self._engine.connect() as connection:
                content = connection.execute(
                    sa.text(f"SELECT content FROM {_TABLE} WHERE digest = :digest"), {"digest": digest}
                ).scalar()
            if content is None:
                raise FileNotFoundError(digest)
            return bytes(content)
        return (self.folder / f"{digest}.json").read_bytes()


def is_reference(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {REFERENCE_KEY, "bytes"}
