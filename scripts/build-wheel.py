"""Pack a folder of pure-Python packages into a wheel (py3-none-any): build-wheel.py SOURCE NAME VERSION OUT_DIR."""

import base64
import hashlib
import sys
import zipfile
from pathlib import Path


def build(source: Path, name: str, version: str, out: Path, tag: str = "py3-none-any") -> Path:
    """The wheel of every `.py` under `source` (kept at their paths below it), tagged `tag`."""
    out.mkdir(parents=True, exist_ok=True)
    wheel = out / f"{name}-{version}-{tag}.whl"
    dist_info = f"{name}-{version}.dist-info"
    files = {
        path.relative_to(source).as_posix(): path.read_bytes()
        for path in sorted(source.rglob("*.py"))
        if "__pycache__" not in path.parts
    }
    files[f"{dist_info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    files[f"{dist_info}/WHEEL"] = f"Wheel-Version: 1.0\nGenerator: wws\nRoot-Is-Purelib: true\nTag: {tag}\n".encode()
    record = []
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{path},sha256={digest},{len(data)}")
        record.append(f"{dist_info}/RECORD,,")
        archive.writestr(f"{dist_info}/RECORD", "\n".join(record) + "\n")
    return wheel


if __name__ == "__main__":
    print("  building", build(Path(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4])))
