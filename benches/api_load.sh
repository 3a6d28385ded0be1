#!/usr/bin/env bash
# API load of the controller on a real API server: RESTORES (2,000) KafkaRestores applied
# from one file into one namespace, first with no controller running, then with the
# operator's controller running, then the namespace deleted. Prints the apply times and
# their ratio, the time from the end of the apply until every restore has its Job, the
# controller's API requests per restore (to settle, and over an idle minute after), its
# RSS, the time each namespace deletion takes (with when its last restore and its last
# PVC were gone), and the API timeouts the controller logged. Both namespaces are deleted
# holding as many PVCs (the report PVCs; one PVC per restore made untimed in the first),
# so the deletion with no controller is the cluster's own floor for the second.
#
# Needs a cluster in KUBECONFIG where this user may install CRDs, the operator's RBAC and
# namespaces, and create ServiceAccount tokens; skipped without one. Pods are kept from
# running by a ResourceQuota of zero pods in the namespaces, so the figures are the API
# server's and the controller's, not the node's.
# Both webhook configurations of the manifests are registered (by URL, to a `webhook`
# process of the same binary) for both applies, as in every install: each create is
# defaulted and validated, and gets the operator's finalizer there.
# KUBE_API_QPS=N runs the controller with `--kube-api-qps N` (unset: the operator's default).
# Everything it starts is stopped by PID; it deletes only the namespaces and webhook
# configurations it made.
set -euo pipefail
cd "$(dirname "$0")/.."

RESTORES=${RESTORES:-2000}
if [ -z "${KUBECONFIG:-}" ] || ! kubectl get --raw /readyz >/dev/null 2>&1; then
  echo "api_load: skipped, no API server in KUBECONFIG"
  exit 0
fi
cargo build --release -q --bin kafka-backup-operator
BIN=${CARGO_TARGET_DIR:-target}/release/kafka-backup-operator
work=$(mktemp -d)
pid=""
webhook_pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  kubectl delete mutatingwebhookconfiguration,validatingwebhookconfiguration kafka-backup-operator-api-load \
    --ignore-not-found >/dev/null 2>&1 || true
  [ -n "$webhook_pid" ] && kill "$webhook_pid" 2>/dev/null || true
  for ns in kbo-load-idle kbo-load-run; do
    kubectl delete namespace "$ns" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

kubectl apply --server-side --force-conflicts -f manifests/crds/crds.yaml >/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The webhooks: the manifests' configurations (those of manifests/kubernetes-1.26/ before
# 1.28), called by URL on 127.0.0.1.
"$BIN" certs --out "$work" --dns localhost --ip 127.0.0.1 >/dev/null
webhook_port=$(free_port)
"$BIN" webhook --listen "127.0.0.1:$webhook_port" --tls-cert "$work/tls.crt" --tls-key "$work/tls.key" \
  >"$work/webhook.log" 2>&1 &
webhook_pid=$!
for _ in $(seq 1 60); do
  curl -s --cacert "$work/ca.crt" "https://127.0.0.1:$webhook_port/readyz" >/dev/null && break
  sleep 0.5
done
minor=$(kubectl version -o json | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["serverVersion"]["minor"].rstrip("+")))')
install=manifests
[ "$minor" -lt 28 ] && install=manifests/kubernetes-1.26
kubectl kustomize "$install" >"$work/install.yaml"
python3 - "https://127.0.0.1:$webhook_port" "$work/ca.crt" "$work/install.yaml" >"$work/webhooks.json" <<'PY'
import base64, json, sys, yaml
url, ca = sys.argv[1], base64.b64encode(open(sys.argv[2], "rb").read()).decode()
items = []
for o in yaml.safe_load_all(open(sys.argv[3])):
    if o and o["kind"] in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        o["metadata"]["name"] = "kafka-backup-operator-api-load"
        for w in o["webhooks"]:
            w["clientConfig"] = {"url": url + w["clientConfig"]["service"]["path"], "caBundle": ca}
        items.append(o)
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
PY
kubectl apply -f "$work/webhooks.json" >/dev/null

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

report() { printf '%-40s %s\n' "$1" "$2"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
# Deletes namespace $1 and prints how long it took, or that it had not finished, and
# meanwhile when its last KafkaRestore (the operator's share: a PVC deletion and a
# finalizer removal each) and its last PVC (the cluster's pvc-protection controller
# removes its finalizer from each, one PVC after another) were gone.
delete_namespace() {
  local t deleting restores="not gone" pvcs="not gone" took
  t=$(seconds)
  (
    if kubectl delete namespace "$1" --wait=true --timeout="${DELETE_TIMEOUT:-600s}" >/dev/null 2>&1; then
      echo "$(elapsed "$t") s"
    else
      echo "not finished after ${DELETE_TIMEOUT:-600s}"
    fi
  ) >"$work/deletion.txt" &
  deleting=$!
  # One item at most per poll, so the poll itself loads the server little. (An error,
  # the namespace already gone, reads as none left.)
  none_left() {
    python3 -c 'import json, sys; sys.exit(0 if not json.loads(sys.argv[1])["items"] else 1)' \
      "$(kubectl get --raw "$1?limit=1" 2>/dev/null || echo '{"items": []}')"
  }
  for _ in $(seq 1 600); do
    if [ "$restores" = "not gone" ] && none_left "/apis/kafkabackup.com/v1alpha1/namespaces/$1/kafkarestores"; then
      restores="$(elapsed "$t") s"
    fi
    if [ "$pvcs" = "not gone" ] && none_left "/api/v1/namespaces/$1/persistentvolumeclaims"; then
      pvcs="$(elapsed "$t") s"
    fi
    [ "$restores" != "not gone" ] && [ "$pvcs" != "not gone" ] && break
    sleep 1
  done
  wait "$deleting"
  took=$(cat "$work/deletion.txt")
  echo "$took (every restore gone after $restores, every PVC after $pvcs)"
}

report restores "$RESTORES, --kube-api-qps ${KUBE_API_QPS:-default}"
# Without a controller.
namespace kbo-load-idle
manifests kbo-load-idle >"$work/idle.yaml"
t=$(seconds)
kubectl apply -f "$work/idle.yaml" >/dev/null
apply_idle=$(elapsed "$t")
report "apply, no controller" "$apply_idle s"
# The webhook gave each restore the operator's finalizer, and no operator runs to remove
# it: taken off here (untimed, 8 at a time through kubectl proxy) so the deletion below is
# the namespace controller's alone. And the namespace gets what a restore's first Job
# brings that holds up a deletion: one PVC per restore, like the report PVCs (the Jobs
# go at once, the PVCs one after another as the cluster's pvc-protection controller
# removes their finalizer), so both deletions delete as many PVCs.
proxy_port=$(free_port)
kubectl proxy --port="$proxy_port" >/dev/null 2>&1 &
proxy_pid=$!
for _ in $(seq 1 40); do curl -s "http://127.0.0.1:$proxy_port/readyz" >/dev/null && break; sleep 0.25; done
python3 - "http://127.0.0.1:$proxy_port" kbo-load-idle "$RESTORES" <<'PY'
import json, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
base, ns = sys.argv[1], sys.argv[2]
objects = []
for kind in ("kafkabackups", "kafkarestores"):
    path = f"{base}/apis/kafkabackup.com/v1alpha1/namespaces/{ns}/{kind}"
    objects += [f"{path}/{i['metadata']['name']}"
                for i in json.load(urllib.request.urlopen(path))["items"]]
def unfinalize(url):
    body = json.dumps({"metadata": {"finalizers": None}}).encode()
    request = urllib.request.Request(url, data=body, method="PATCH",
                                     headers={"Content-Type": "application/merge-patch+json"})
    urllib.request.urlopen(request).read()
def claim(i):
    body = json.dumps({"metadata": {"name": f"restore-{i:05d}-report"},
                       "spec": {"accessModes": ["ReadWriteOnce"],
                                "resources": {"requests": {"storage": "1Gi"}}}}).encode()
    request = urllib.request.Request(f"{base}/api/v1/namespaces/{ns}/persistentvolumeclaims",
                                     data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request).read()
with ThreadPoolExecutor(8) as pool:
    list(pool.map(unfinalize, objects))
    list(pool.map(claim, range(int(sys.argv[3]))))
PY
kill "$proxy_pid"
report "namespace deletion, no controller" "$(delete_namespace kbo-load-idle)"

# With the controller, running as the manifests' ServiceAccount, as in a cluster (its
# requests are subject to API Priority and Fairness like any workload's).
kubectl apply -f manifests/base/namespace.yaml -f manifests/base/service-account.yaml \
  -f manifests/base/rbac.yaml >/dev/null
kubectl config view --raw --minify --flatten >"$work/operator.kubeconfig"
token=$(kubectl -n kafka-backup-operator create token kafka-backup-operator --duration=2h)
KUBECONFIG="$work/operator.kubeconfig" kubectl config set-credentials api-load --token="$token" >/dev/null
KUBECONFIG="$work/operator.kubeconfig" kubectl config set-context --current --user=api-load >/dev/null
port=$(free_port)
if [ -n "${KUBE_API_QPS:-}" ]; then export KAFKA_BACKUP_KUBE_API_QPS="$KUBE_API_QPS"; fi
KUBECONFIG="$work/operator.kubeconfig" RUST_LOG=info "$BIN" run --listen "127.0.0.1:$port" \
  --tls-cert "$work/tls.crt" --tls-key "$work/tls.key" --lease-namespace kafka-backup-operator \
  --lease-name api-load --identity api-load --worker-image docker.io/library/kafka-backup-operator:load \
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
# Of the RSS: anonymous memory (heap, caches) and file-backed pages (the binary's text).
rss_split() { awk '/RssAnon/ {a = $2} /RssFile/ {f = $2} END {printf "anonymous %.0f MiB, file %.0f MiB", a / 1024, f / 1024}' "/proc/$pid/status"; }
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$pid/stat"; }
# The controller's requests per restore since $1 (a scrape), by verb and resource.
breakdown() {
  curl -sk "https://127.0.0.1:$port/metrics" | grep '^controller_api_requests_total' >"$work/after.txt"
  python3 - "$1" "$work/after.txt" "$RESTORES" <<'PY'
import re, sys
def read(path):
    out = {}
    for line in open(path):
        m = re.match(r'controller_api_requests_total\{(.*)\} (\S+)', line)
        if m:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            out[(labels.get("verb"), labels.get("kind"))] = float(m.group(2))
    return out
before, after, n = read(sys.argv[1]), read(sys.argv[2]), int(sys.argv[3])
rows = sorted(((after[k] - before.get(k, 0)) / n, k) for k in after)
print("  " + ", ".join(f"{verb} {kind} {v:.2f}" for v, (verb, kind) in reversed(rows) if v >= 0.01))
PY
}
queued() {
  curl -sk "https://127.0.0.1:$port/metrics" | awk '/^controller_events_queued / {print $2}'
}
per_restore() { python3 -c "print(f'{($1) / $RESTORES:.3f}')"; }

namespace kbo-load-run
manifests kbo-load-run >"$work/run.yaml"
before=$(requests)
lists_before=$(requests list)
curl -sk "https://127.0.0.1:$port/metrics" | grep '^controller_api_requests_total' >"$work/before.txt"
cpu_before=$(cpu_seconds)
t=$(seconds)
kubectl apply -f "$work/run.yaml" >/dev/null
apply_run=$(elapsed "$t")
report "apply, controller running" "$apply_run s ($(ratio "$apply_run" "$apply_idle")x)"
t=$(seconds)
# The Jobs in the namespace (only the restores': the backup's schedule is suspended),
# counted from one item and the API's remainingItemCount: listing thousands of Jobs
# every second would load the server being measured.
job_count() {
  python3 -c 'import json, sys; l = json.loads(sys.argv[1]); print(len(l["items"]) + l["metadata"].get("remainingItemCount", 0))' \
    "$(kubectl get --raw "/apis/batch/v1/namespaces/kbo-load-run/jobs?limit=1" 2>/dev/null || echo '{"items": [], "metadata": {}}')"
}
jobs=0
for _ in $(seq 1 1800); do
  jobs=$(job_count)
  [ "$jobs" -ge "$RESTORES" ] && break
  sleep 1
done
report "end of apply to every Job" "$(elapsed "$t") s ($jobs Jobs, $(queued) Events queued then)"
# Settled: no Event waits to be written (they follow the Jobs) and no request but the
# Lease's for 5 s.
work_requests() {
  curl -sk "https://127.0.0.1:$port/metrics" |
    awk '/^controller_api_requests_total/ && !index($0, "kind=\"leases\"") {s += $NF} END {print s + 0}'
}
quiet=0
last=$(work_requests)
for _ in $(seq 1 600); do
  sleep 1
  now=$(work_requests)
  if [ "$now" = "$last" ] && [ "$(queued)" = "0" ]; then quiet=$((quiet + 1)); else quiet=0; fi
  last=$now
  [ "$quiet" -ge 5 ] && break
done
report "end of apply to settled" "$(elapsed "$t") s"
settled=$(requests)
report "API requests per restore to settle" "$(per_restore "$settled - $before") (LIST $(per_restore "$(requests list) - $lists_before"))"
breakdown "$work/before.txt"
report "controller CPU, apply to settled" "$(python3 -c "print(f'{$(cpu_seconds) - $cpu_before:.1f}')") s"
report "controller RSS, settled" "$(rss_mib) MiB ($(rss_split))"
sleep 60
report "API requests per restore, idle minute" "$(per_restore "$(requests) - $settled")"
curl -sk "https://127.0.0.1:$port/metrics" | grep '^controller_api_requests_total' >"$work/before-deletion.txt"
deletion_before=$(requests)
report "namespace deletion, controller running" "$(delete_namespace kbo-load-run)"
report "API requests per restore, deletion" "$(per_restore "$(requests) - $deletion_before")"
breakdown "$work/before-deletion.txt"
report "controller RSS, peak" "$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status") MiB"
report "API timeouts logged" "$(grep -c "did not answer within" "$work/operator.log" || true)"
report "reconcile failures logged" "$(grep -c "reconcile failed" "$work/operator.log" || true)"
cp "$work/operator.log" "${OPERATOR_LOG:-/dev/null}"
