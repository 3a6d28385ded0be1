#!/usr/bin/env bash
# API load of the controller on a real API server: RESTORES (2,000) KafkaRestores applied
# from one file into one namespace, first with no controller running, then with the
# operator's controller running, then the namespace deleted. Prints the apply times and
# their ratio, the time from the end of the apply until every restore has its Job, the
# controller's API requests per restore (to settle, and over an idle minute after), its
# RSS, the time the namespace deletion takes, and the API timeouts the controller logged.
#
# Needs a cluster in KUBECONFIG where this user may install CRDs and create namespaces;
# skipped without one. Pods are kept from running by a ResourceQuota of zero pods in the
# namespaces, so the figures are the API server's and the controller's, not the node's.
# Everything it starts is stopped by PID; it deletes only the namespaces it made.
set -euo pipefail
cd "$(dirname "$0")/.."

RESTORES=${RESTORES:-2000}
if [ -z "${KUBECONFIG:-}" ] || ! kubectl get --raw /readyz >/dev/null 2>&1; then
  echo "api_load: skipped, no API server in KUBECONFIG"
  exit 0
fi
cargo build --release -q --bin kafka-backup-operator
BIN=target/release/kafka-backup-operator
work=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  for ns in kbo-load-idle kbo-load-run kbo-load-op; do
    kubectl delete namespace "$ns" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

kubectl apply --server-side --force-conflicts -f manifests/crds/crds.yaml >/dev/null

# One KafkaBackup and RESTORES KafkaRestores of it, in namespace $1.
manifests() {
  python3 - "$1" "$RESTORES" <<'PY'
import sys
ns, n = sys.argv[1], int(sys.argv[2])
print(f"""apiVersion: kafkabackup.com/v1alpha1
kind: KafkaBackup
metadata: {{name: orders, namespace: {ns}}}
spec:
  kafka: {{bootstrapServers: "kafka.invalid:9092"}}
  schedule: {{cron: "0 3 * * *", suspend: true}}
  storage: {{type: s3, s3: {{bucket: backups, region: eu-west-1}}}}""")
for i in range(n):
    print(f"""---
apiVersion: kafkabackup.com/v1alpha1
kind: KafkaRestore
metadata: {{name: restore-{i:05d}, namespace: {ns}}}
spec:
  kafka: {{bootstrapServers: "kafka.invalid:9092"}}
  backupRef: {{name: orders}}""")
PY
}

namespace() {
  kubectl create namespace "$1" >/dev/null
  kubectl -n "$1" create quota no-pods --hard=pods=0 >/dev/null
}

seconds() { python3 -c 'import time; print(time.monotonic())'; }
elapsed() { python3 -c "print(f'{$(seconds) - $1:.1f}')"; }

# Without a controller.
namespace kbo-load-idle
manifests kbo-load-idle >"$work/idle.yaml"
t=$(seconds)
kubectl apply -f "$work/idle.yaml" >/dev/null
apply_idle=$(elapsed "$t")
t=$(seconds)
kubectl delete namespace kbo-load-idle --wait=true --timeout=900s >/dev/null
delete_idle=$(elapsed "$t")

# With the controller.
namespace kbo-load-op
"$BIN" certs --out "$work" --dns localhost --ip 127.0.0.1 >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RUST_LOG=info "$BIN" run --listen "127.0.0.1:$port" --tls-cert "$work/tls.crt" --tls-key "$work/tls.key" \
  --lease-namespace kbo-load-op --identity api-load --worker-image docker.io/library/kafka-backup-operator:load \
  >"$work/operator.log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do
  curl -sk "https://127.0.0.1:$port/readyz" | grep -q . && grep -q "became the leader" "$work/operator.log" && break
  sleep 0.5
done
requests() { # sum of controller_api_requests_total, optionally of one verb
  curl -sk "https://127.0.0.1:$port/metrics" |
    awk -v verb="${1:-}" '/^controller_api_requests_total/ && (verb == "" || index($0, "verb=\"" verb "\"")) {s += $NF} END {print s + 0}'
}
rss_mib() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status"; }

namespace kbo-load-run
manifests kbo-load-run >"$work/run.yaml"
before=$(requests)
lists_before=$(requests list)
t=$(seconds)
kubectl apply -f "$work/run.yaml" >/dev/null
apply_run=$(elapsed "$t")
t=$(seconds)
jobs=0
for _ in $(seq 1 1800); do
  jobs=$(kubectl -n kbo-load-run get jobs -l kafkabackup.com/restore --no-headers 2>/dev/null | wc -l)
  [ "$jobs" -ge "$RESTORES" ] && break
  sleep 1
done
all_jobs=$(elapsed "$t")
sleep 10 # status writes after the last Job
settled=$(requests)
lists_settled=$(requests list)
rss_settled=$(rss_mib)
sleep 60
idle=$(requests)
t=$(seconds)
kubectl delete namespace kbo-load-run --wait=true --timeout=900s >/dev/null
delete_run=$(elapsed "$t")
rss_peak=$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status")
timeouts=$(grep -c "did not answer within" "$work/operator.log" || true)
errors=$(grep -c -i " warn\| error" "$work/operator.log" || true)

python3 - <<PY
n = $RESTORES
print(f"restores                          {n}")
print(f"apply, no controller              {$apply_idle} s")
print(f"apply, controller running         {$apply_run} s  ({$apply_run / $apply_idle:.2f}x)")
print(f"end of apply to every Job         {$all_jobs} s  ({$jobs} Jobs)")
print(f"API requests per restore, settle  {($settled - $before) / n:.2f}  (LIST {($lists_settled - $lists_before) / n:.2f})")
print(f"API requests per restore, idle 60 s {($idle - $settled) / n:.3f}")
print(f"controller RSS settled / peak     {$rss_settled} / {$rss_peak} MiB")
print(f"namespace deletion, no controller {$delete_idle} s")
print(f"namespace deletion, controller    {$delete_run} s")
print(f"API timeouts logged               {$timeouts}  (warnings and errors: {$errors})")
PY
