#!/usr/bin/env bash
# Installs what wws and its tests need on a fresh Debian 12 machine (the C and Rust toolchains for the example and
# test workers, with the crates the Rust kit uses, redis-server for the Redis KV tests, postgresql for the tests of
# pipeline runs kept in Postgres, wrk for the HTTP load benchmark), then builds the JavaScript engine and the
# examples. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(clang lld wasi-libc libclang-rt-14-dev-wasm32 rustc cargo libstd-rust-dev-wasm32 librust-serde-json-dev
          librust-base64-dev redis-server postgresql wrk)
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "installing Debian packages: ${missing[*]}"
    sudo_cmd=""
    [[ $(id -u) -eq 0 ]] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "installing wws (editable) with its development tools"
python3 -m pip install -q --disable-pip-version-check -e '.[dev]'

echo "installing workerd (the compatibility oracle of the JavaScript tests), pinned in tools/package-lock.json"
npm ci --silent --no-audit --no-fund --prefix tools

echo "building the JavaScript engine"
bash scripts/build-quickjs.sh

echo "building the examples"
bash scripts/build-examples.sh
