"""Large step outputs, stored once by content hash instead of in the runs' database.

A step's output `data` larger than the threshold (`[pipelines] large_output_bytes`, 256 KiB) is written once to
`<project>/.wws/pipeline-outputs/<blake3>.json` and stands, in the database, the events and the run record, as a
reference: `{"$wws_output": "<blake3>", "bytes": N}`. The steps it flows into get the value itself, read back from
the file; the same content is stored once, however many runs make it. Files are written whole (a temporary file,
then a rename), so a reader never sees half of one.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import blake3

OUTPUTS_FOLDER = Path(".wws") / "pipeline-outputs"
REFERENCE_KEY = "$wws_output"
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class OutputStore:
    """The large outputs of a project's runs."""

    def __init__(self, project: Path, threshold: int):
        self.folder = project / OUTPUTS_FOLDER
        self.threshold = threshold

    def put(self, data: Any) -> dict[str, Any] | None:
        """Store `data` if it is over the threshold, and return its reference; None when it is small enough to
        stay where it is."""
        encoded = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        if len(encoded) <= self.threshold:
            return None
        digest = blake3.blake3(encoded).hexdigest()
        path = self.folder / f"{digest}.json"
        if not path.exists():
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
        return (self.folder / f"{digest}.json").read_bytes()


def is_reference(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {REFERENCE_KEY, "bytes"}
