#!/usr/bin/env bash
# Load benchmark of the admission webhook over TLS, side by side with a no-op server on
# the same stack (examples/noop_webhook.rs), in one run on this machine, with `oha`
# (crates.io). Reports requests/s at saturation, then p50/p99 at half that rate.
# Everything listens on 127.0.0.1 and is stopped by PID at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
BODY=benches/review.json

command -v oha >/dev/null || cargo install oha --locked --version 1.16.0
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
RUST_LOG=error "$BIN" webhook --listen "127.0.0.1:$WEBHOOK_PORT" --tls-cert "$work/tls.crt" --tls-key "$work/tls.key" & pids+=($!)
"$NOOP" "127.0.0.1:$NOOP_PORT" "$work/tls.crt" "$work/tls.key" & pids+=($!)
for port in "$WEBHOOK_PORT" "$NOOP_PORT"; do
  for _ in $(seq 1 100); do
    curl -s --cacert "$work/ca.crt" -o /dev/null -X POST "https://localhost:$port/validate" -d @"$BODY" && break
    sleep 0.1
  done
done

# requests/s, p50 and p99 in milliseconds, from oha's JSON summary.
measure() { # url connections [total-rate]
  local rate=()
  [ -n "${3:-}" ] && rate=(-q "$3")
  oha -z "$DURATION" -c "$2" "${rate[@]}" --no-tui --output-format json --cacert "$work/ca.crt" \
    -m POST -T application/json -D "$BODY" "$1" |
    python3 -c 'import json,sys; r=json.load(sys.stdin); s=r["summary"]; p=r["latencyPercentiles"]
print("%.0f %.3f %.3f %.4f" % (s["requestsPerSec"], p["p50"]*1000, p["p99"]*1000, s["successRate"]))'
}

printf '%-8s %14s %8s %8s %14s %8s %8s\n' server "saturated r/s" "p50 ms" "p99 ms" "half-rate r/s" "p50 ms" "p99 ms"
declare -A saturated
for name in noop webhook; do
  port=$NOOP_PORT; [ "$name" = webhook ] && port=$WEBHOOK_PORT
  url="https://localhost:$port/validate"
  measure "$url" 4 >/dev/null # warm up
  read -r rps p50 p99 ok < <(measure "$url" "$CONNECTIONS")
  saturated[$name]=$rps
  read -r hrps hp50 hp99 hok < <(measure "$url" 4 $(( rps / 2 )))
  printf '%-8s %14s %8s %8s %14s %8s %8s   (success %s / %s)\n' "$name" "$rps" "$p50" "$p99" "$hrps" "$hp50" "$hp99" "$ok" "$hok"
done
python3 -c "print(f'webhook/noop throughput ratio: {${saturated[webhook]}/${saturated[noop]}:.2f}')"
