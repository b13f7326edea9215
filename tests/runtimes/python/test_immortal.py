"""The snapshot's objects are made immortal: in a hand-made component (the patcher's rules) and in the real engine."""

from __future__ import annotations

import hashlib
import logging
import struct
from pathlib import Path

import pytest

from tests.runtimes.python.conftest import MakePyWorker, get_json
from wws.errors import SnapshotError
from wws.runtimes.python import engine, immortal
from wws.wasm.module_edit import i32_const, uleb

COMPONENT_PREAMBLE = b"\0asm\x0d\x00\x01\x00"
MODULE_PREAMBLE = b"\0asm\x01\x00\x00\x00"


def section(section_id: int, payload: bytes) -> bytes:
    return bytes([section_id]) + uleb(len(payload)) + payload


def data_segment(address: int, payload: bytes) -> bytes:
    """An active segment at a constant address (i32.const, as a signed LEB)."""
    return b"\x00" + i32_const(address) + uleb(len(payload)) + payload


def component(segments: list[tuple[int, bytes]]) -> bytes:
    """A component holding one core module with a memory and these data segments."""
    data = uleb(len(segments)) + b"".join(data_segment(address, payload) for address, payload in segments)
    module = MODULE_PREAMBLE + section(5, b"\x01\x00\x01") + section(11, data)
    return COMPONENT_PREAMBLE + section(1, module)


def table(addresses: list[int]) -> bytes:
    body = struct.pack(f"<{len(addresses)}I", *addresses)
    return immortal.MARKER + struct.pack("<I", len(addresses)) + hashlib.sha256(body).digest() + body


def counts(binary: bytes, addresses: list[int]) -> list[int]:
    segments = immortal._data_segments(binary)
    found = []
    for address in addresses:
        segment = next(s for s in segments if s.address <= address < s.address + s.length)
        found.append(struct.unpack_from("<I", binary, segment.position + address - segment.address)[0])
    return found


def test_listed_objects_become_immortal_and_nothing_else_changes() -> None:
    objects = struct.pack("<8I", 3, 0xAAAA, 1, 0xBBBB, 7 << 28, 0xCCCC, 0, 0xDDDD)  # counts 3, 1, static, freed
    original = component(
        [
            (0x1000, objects),
            (0x2000, b"\x05\x00\x00\x00unlisted"),
            (0x3000, table([0x1000, 0x1008, 0x1010, 0x1018, 0x9000])),
        ]
    )

    patched, changed = immortal.immortalize(original)

    assert changed == 2
    assert len(patched) == len(original)
    assert counts(patched, [0x1000, 0x1008, 0x1010, 0x1018]) == [
        immortal.IMMORTAL_INITIAL,
        immortal.IMMORTAL_INITIAL,
        7 << 28,
        0,
    ]
    assert counts(patched, [0x2000]) == [5]  # not listed: left as it was
    assert counts(patched, [0x1004, 0x100C]) == [0xAAAA, 0xBBBB]  # the type words after each count are untouched
    first = immortal._data_segments(original)[0].position
    differing = {index for index, (a, b) in enumerate(zip(original, patched, strict=True)) if a != b}
    assert differing <= set(range(first, first + 12))  # only within the first two counts


def test_a_stale_marker_without_a_matching_table_is_skipped() -> None:
    stale = immortal.MARKER + struct.pack("<I", 1) + b"\0" * 32 + b"\1\0\0\0"
    original = component([(0x1000, struct.pack("<2I", 2, 0xAAAA)), (0x2000, stale), (0x3000, table([0x1000]))])

    patched, changed = immortal.immortalize(original)

    assert changed == 1
    assert counts(patched, [0x1000]) == [immortal.IMMORTAL_INITIAL]


def test_a_component_without_a_table_is_refused_and_the_engine_keeps_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    original = component([(0x1000, struct.pack("<2I", 2, 0xAAAA))])
    with pytest.raises(SnapshotError, match="no table"):
        immortal.immortalize(original)

    path = tmp_path / "engine.wasm"
    path.write_bytes(original)
    with caplog.at_level(logging.WARNING):
        engine._make_snapshot_immortal(path)
    assert path.read_bytes() == original
    assert "stay mortal" in caplog.text


def test_the_guest_and_the_host_agree_on_the_marker() -> None:
    glue = (engine.GLUE / "_wws_snapshot.py").read_text()
    assert 'MARKER = b"stcejbo-tohspans-swwd"[::-1]' in glue
    assert immortal.MARKER == b"dwws-snapshot-objects"


def test_pre_imported_objects_are_immortal_in_a_worker_and_its_own_objects_are_not(py_worker: MakePyWorker) -> None:
    worker = py_worker(
        """
        import json, sys
        from workers import Response

        CONFIG = {"made": "by the handler"}

        def worker(request):
            return Response(json.dumps({
                "glue": sys.getrefcount(Response), "stdlib": sys.getrefcount(json.dumps),
                "handler": sys.getrefcount(CONFIG), "request": sys.getrefcount(request),
            }))
        """
    )
    answer = get_json(worker)
    assert answer["glue"] >= immortal.IMMORTAL_MINIMUM
    assert answer["stdlib"] >= immortal.IMMORTAL_MINIMUM
    assert answer["handler"] < 100
    assert answer["request"] < 100
