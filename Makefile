# The verbs a person types. `make run` starts the operator; `make test` runs the tests.
CARGO   ?= cargo
LISTEN  ?= 127.0.0.1:8443
DEV_CERTS := certs/dev
NAMESPACE ?= kafka-backup-operator
SERVICE   ?= kafka-backup-operator-webhook

VERSION   := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
IMAGE     ?= kafka-backup-operator:$(VERSION)

.PHONY: build run test lint fmt generate certs cluster-certs e2e bench image image-push image-test help

help:
	@echo "make run      start the operator locally (webhook on $(LISTEN) with development certificates)"
	@echo "make test     run every test that needs no cluster"
	@echo "make lint     rustfmt and clippy, warnings are errors"
	@echo "make generate regenerate manifests/crds/crds.yaml and the chart's copies"
	@echo "make certs    write development certificates to $(DEV_CERTS)/"
	@echo "make e2e      end-to-end tests against the cluster in KUBECONFIG"
	@echo "make bench    criterion benchmarks and the webhook load run"
	@echo "make image    build the OCI image $(IMAGE) with buildah (offline)"
	@echo "make image-push REGISTRY=registry.example.com/team   push it there"
	@echo "make image-test  build the image and run its binary from its own root filesystem"

build:
	$(CARGO) build --workspace --all-targets

$(DEV_CERTS)/tls.crt:
	$(CARGO) run -q -- certs --out $(DEV_CERTS) --dns localhost --ip 127.0.0.1

certs:
	$(CARGO) run -q -- certs --out $(DEV_CERTS) --dns localhost --ip 127.0.0.1

run: $(DEV_CERTS)/tls.crt
	$(CARGO) run -- run --listen $(LISTEN) --tls-cert $(DEV_CERTS)/tls.crt --tls-key $(DEV_CERTS)/tls.key

test:
	$(CARGO) test --workspace --all-targets

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

# The CRDs, and the chart's copies of them and of the monitoring (a chart reads only its
# own directory).
generate:
	$(CARGO) run -q -- crds > manifests/crds/crds.yaml
	cp manifests/crds/crds.yaml charts/kafka-backup-operator/crds/crds.yaml
	cp manifests/monitoring/dashboard.json manifests/monitoring/prometheus-rule.yaml charts/kafka-backup-operator/files/

# Serving certificate for a cluster without cert-manager: a Secret, and the CA in both
# webhook configurations. Re-run to rotate.
cluster-certs:
	$(CARGO) run -q -- certs --out certs/cluster --dns $(SERVICE).$(NAMESPACE).svc --dns $(SERVICE).$(NAMESPACE).svc.cluster.local
	kubectl -n $(NAMESPACE) create secret generic $(SERVICE)-tls --type=kubernetes.io/tls --from-file=tls.crt=certs/cluster/tls.crt --from-file=tls.key=certs/cluster/tls.key --from-file=ca.crt=certs/cluster/ca.crt --dry-run=client -o yaml | kubectl apply -f -
	for kind in mutatingwebhookconfiguration validatingwebhookconfiguration; do \
	  kubectl patch $$kind kafka-backup-operator --type json \
	    -p "[{\"op\":\"add\",\"path\":\"/webhooks/0/clientConfig/caBundle\",\"value\":\"$$(base64 -w0 < certs/cluster/ca.crt)\"}]"; \
	done

e2e:
	KAFKA_BACKUP_E2E=1 $(CARGO) test --test e2e --test e2e_pods --test e2e_helm -- --ignored --test-threads=2

bench:
	$(CARGO) bench --bench policy --bench planner
	$(CARGO) bench --bench cache_memory
	$(CARGO) bench --bench worker_throughput
	benches/load.sh
	benches/api_load.sh

image:
	image/build.sh $(IMAGE)

image-push:
	@test -n "$(REGISTRY)" || { echo "set REGISTRY, for example make image-push REGISTRY=registry.example.com/team"; exit 2; }
	$(MAKE) image
	STORAGE_DRIVER=vfs buildah push $(IMAGE) docker://$(REGISTRY)/$(IMAGE)
	@echo "pushed $(REGISTRY)/$(IMAGE); point the manifests at it:"
	@echo "  cd manifests/base && kustomize edit set image kafka-backup-operator=$(REGISTRY)/$(IMAGE)"

image-test:
	KAFKA_BACKUP_IMAGE_TEST=1 $(CARGO) test --test image -- --ignored --nocapture
