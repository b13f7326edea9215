#!/usr/bin/env bash
# Build wws's JavaScript engine: QuickJS-NG (from the PyPI source package `quickjs-ng`, pinned by version and sha256)
# compiled with Debian's clang and wasi-libc into one WASI reactor, together with wws/glue/javascript/engine.c.
#
# Why our own build rather than a prebuilt one: a 1 MiB stack placed first in memory (deep recursion throws a
# RangeError, or traps cleanly, instead of corrupting the heap), real entropy through WASI random_get, and the `wws`
# host-call imports. Output: wws/runtimes/javascript/quickjs.wasm (skipped when up to date).
set -euo pipefail

QUICKJS_NG_VERSION=0.17.0.2
QUICKJS_NG_SHA256=43d2e48272208721a7aaea8e3f02d4b9318f12ef20cc4f5421b59d9a470706ef

root="$(cd "$(dirname "$0")/.." && pwd)"
harness="$root/wws/glue/javascript/engine.c"
output="$root/wws/runtimes/javascript/quickjs.wasm"
stamp="$output.inputs"
inputs="quickjs-ng $QUICKJS_NG_VERSION $QUICKJS_NG_SHA256 $(sha256sum "$harness" "$0" | cut -d' ' -f1 | tr '\n' ' ')"
if [[ -f "$output" && -f "$stamp" && "$(cat "$stamp")" == "$inputs" ]]; then
    echo "JavaScript engine is up to date: $output"
    exit 0
fi

# What the build needs, checked first so that a missing tool says so (the compiles run in parallel, in the background).
libc="$(clang --target=wasm32-wasi -print-file-name=libc.a 2>/dev/null || true)"
if ! command -v clang >/dev/null || ! command -v wasm-ld >/dev/null || [[ ! -f "$libc" ]]; then
    echo "error: building the JavaScript engine needs clang, lld and wasi-libc for wasm32-wasi" >&2
    echo "       (Debian/Ubuntu: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32)" >&2
    exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "Downloading quickjs-ng $QUICKJS_NG_VERSION (source) from PyPI..."
# Any pip will do (a build environment of `python -m build` has none of its own; the caller's is on PATH).
if python3 -m pip --version >/dev/null 2>&1; then pip=(python3 -m pip); elif command -v pip3 >/dev/null; then pip=(pip3)
else echo "error: building the JavaScript engine needs pip (to download the QuickJS-NG source)" >&2; exit 1; fi
"${pip[@]}" download --quiet --disable-pip-version-check --no-binary :all: --no-deps \
    "quickjs-ng==$QUICKJS_NG_VERSION" -d "$work"
archive="$work/quickjs_ng-$QUICKJS_NG_VERSION.tar.gz"
echo "$QUICKJS_NG_SHA256  $archive" | sha256sum --check --quiet
tar -xzf "$archive" -C "$work"
src="$work/quickjs_ng-$QUICKJS_NG_VERSION/upstream-quickjs"

echo "Compiling QuickJS-NG to wasm32-wasi (about a minute)..."
# The file-prefix maps keep build paths out of the binary (assertions name their file), so every checkout builds the
# same bytes, and the JavaScript workers' prepared folders get the same names everywhere (see .wws-example/).
flags=(--target=wasm32-wasi -O2 -D_GNU_SOURCE -D_WASI_EMULATED_SIGNAL -I "$src" -w
       "-ffile-prefix-map=$work=/build" "-ffile-prefix-map=$root=/wws")
objects=()
for unit in "$harness" "$src/libregexp.c" "$src/libunicode.c" "$src/dtoa.c"; do
    object="$work/$(basename "$unit" .c).o"
    clang "${flags[@]}" -c "$unit" -o "$object" &
    objects+=("$object")
done
for job in $(jobs -p); do wait "$job"; done
clang --target=wasm32-wasi -mexec-model=reactor "${objects[@]}" -o "$work/quickjs.wasm" \
    -Wl,-z,stack-size=1048576 -Wl,--stack-first -Wl,--strip-debug -lwasi-emulated-signal
mv "$work/quickjs.wasm" "$output"
echo "$inputs" > "$stamp"
echo "Built $output ($(stat -c %s "$output") bytes)"
