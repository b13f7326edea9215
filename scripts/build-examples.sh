#!/usr/bin/env bash
# Builds the native example workers from examples/_src (C → wasm32-wasi with Debian's clang and wasi-libc).
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
