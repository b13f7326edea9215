#!/usr/bin/env bash
# Builds the example workers' binaries from examples/_src: native workers (C → wasm32-wasi with Debian's clang and
# wasi-libc), Rust workers (the kit in kits/rust, with Debian's cargo and rustc, offline) and the wheel of the Python
# libraries example.
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

echo "  building the Rust examples (examples/_src/rust, in the workspace of Cargo.toml)"
(cd examples/_src/rust && /usr/bin/cargo build --release --quiet)
rust() {  # rust BINARY TARGET
    mkdir -p "$(dirname "$2")"
    echo "  building $2"
    cp "target/wasm32-wasi/release/$1.wasm" "$2"
}
rust hello examples/rust/hello.wasm
rust user "examples/rust/users/[id].wasm"
rust counter examples/rust/counter.wasm
rust fetch examples/rust/fetch.wasm

python scripts/build-wheel.py examples/_src/slugkit slugkit 0.1.0 examples/python/slug/wheels
