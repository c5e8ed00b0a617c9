#!/usr/bin/env bash
# Offline demo: the built-in exchange simulator plus the collector pointed at it (local storage).
# Stop with Ctrl-C: the collector drains, flushes and exits; the simulator stops with it.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${SIM_PORT:-9300}"
bun bin/quantlab-collector.ts simulate --port "$port" --rate "${SIM_RATE:-500}" > "${TMPDIR:-/tmp}/quantlab-sim.log" 2>&1 &
sim=$!
trap 'kill "$sim" 2>/dev/null || true' EXIT
sleep 1
export BINANCE_WS_URL="ws://127.0.0.1:$port" BYBIT_WS_URL="ws://127.0.0.1:$port" OKX_WS_URL="ws://127.0.0.1:$port" BINANCE_REST_URL="http://127.0.0.1:$port"
bun bin/quantlab-collector.ts run "$@"
