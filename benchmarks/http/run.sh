#!/usr/bin/env bash
# The HTTP load benchmark: installs wrk (Debian) and workerd (npm, pinned in tools/package-lock.json) if missing, then
# loads every hello target. Options go to benchmarks/http/load.py (--duration, --concurrency, --output).
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v wrk >/dev/null; then
    sudo_cmd=""
    [[ $(id -u) -eq 0 ]] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
[[ -x tools/node_modules/@cloudflare/workerd-linux-64/bin/workerd ]] || npm ci --silent --no-audit --no-fund --prefix tools
python3 -c "import wws" 2>/dev/null || python3 -m pip install -q --disable-pip-version-check -e '.[dev]'
exec python3 -m benchmarks.http.load "$@"
