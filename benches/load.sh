#!/usr/bin/env bash
# Load benchmark of the admission webhook over TLS, side by side with a no-op server on
# the same stack (examples/noop_webhook.rs), in one run on this machine. Uses `hey`
# (Debian package). Reports requests/s at saturation and p50/p99 at half that rate.
# Everything listens on 127.0.0.1 and is stopped by PID at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
BODY=benches/review.json

if ! command -v hey >/dev/null; then
  echo "installing hey (Debian package)"; apt-get install -y -qq hey >/dev/null
fi
cargo build --release -q --bin kafka-backup-operator --example noop_webhook
BIN=target/release/kafka-backup-operator
NOOP=target/release/examples/noop_webhook

work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

"$BIN" certs --out "$work" --dns localhost --ip 127.0.0.1 >/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
WEBHOOK_PORT=$(free_port); NOOP_PORT=$(free_port)
RUST_LOG=warn "$BIN" webhook --listen "127.0.0.1:$WEBHOOK_PORT" --tls-cert "$work/tls.crt" --tls-key "$work/tls.key" & pids+=($!)
"$NOOP" "127.0.0.1:$NOOP_PORT" "$work/tls.crt" "$work/tls.key" & pids+=($!)
for port in "$WEBHOOK_PORT" "$NOOP_PORT"; do
  for _ in $(seq 1 100); do
    curl -sk -o /dev/null -X POST "https://127.0.0.1:$port/validate" -d @"$BODY" && break
    sleep 0.1
  done
done

# hey's summary: requests/s, and the 50% and 99% latencies in milliseconds.
measure() { # url connections [rate-per-connection]
  local rate=()
  [ -n "${3:-}" ] && rate=(-q "$3")
  hey -z "$DURATION" -c "$2" "${rate[@]}" -m POST -T application/json -D "$BODY" "$1" |
    awk '/Requests\/sec/ {rps=$2} / 50% in/ {p50=$3*1000} / 99% in/ {p99=$3*1000}
         END {printf "%.0f %.3f %.3f\n", rps, p50, p99}'
}

printf '%-10s %14s %10s %10s %16s %10s %10s\n' server "saturated r/s" "p50 ms" "p99 ms" "half-rate r/s" "p50 ms" "p99 ms"
declare -A saturated
for name in noop webhook; do
  port=$NOOP_PORT; [ "$name" = webhook ] && port=$WEBHOOK_PORT
  url="https://127.0.0.1:$port/validate"
  measure "$url" 4 >/dev/null # warm up
  read -r rps p50 p99 < <(measure "$url" "$CONNECTIONS")
  saturated[$name]=$rps
  half_per_conn=$(( rps / 2 / 4 ))
  read -r hrps hp50 hp99 < <(measure "$url" 4 "$half_per_conn")
  printf '%-10s %14s %10s %10s %16s %10s %10s\n' "$name" "$rps" "$p50" "$p99" "$hrps" "$hp50" "$hp99"
done
python3 -c "print(f'webhook/noop throughput ratio: {${saturated[webhook]}/${saturated[noop]}:.2f}')"
