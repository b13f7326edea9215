#!/usr/bin/env bash
# Builds the example workers' binaries from examples/_src: native workers (C → wasm32-wasi with Debian's clang and
# wasi-libc) and the wheel of the Python libraries example.
set -euo pipefail
cd "$(dirname "$0")/.."
build() {  # build SOURCE TARGET
    mkdir -p "$(dirname "$2")"
    echo "  building $2"
    clang --target=wasm32-wasi -O2 "$1" -o "$2"
}
build examples/_src/hello.c examples/hello.wasm
build examples/_src/item.c "examples/api/[id].wasm"
build examples/_src/counter.c examples/counter.wasm
build examples/_src/proxy.c examples/proxy.wasm
python scripts/build-wheel.py examples/_src/slugkit slugkit 0.1.0 examples/python/slug/wheels
