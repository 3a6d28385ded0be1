#!/usr/bin/env bash
# `make image`: an OCI image of the locally built release binary, made with buildah and no
# registry or daemon (offline). The runtime layout is the Dockerfile's final stage
# (distroless cc, Debian 12): the binary at /usr/local/bin, exactly the shared libraries it
# links from this Debian machine, CA certificates, the `nonroot` user 65532.
#
#   image/build.sh [TAG]          TAG defaults to kafka-backup-operator:<crate version>
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(cargo pkgid | sed 's/.*[#@]//')
tag=${1:-kafka-backup-operator:$version}
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || true)
if [ -n "$commit" ] && ! git diff --quiet HEAD 2>/dev/null; then commit="$commit-dirty"; fi

if ! command -v buildah >/dev/null; then
  echo "buildah is missing; installing it (Debian package)" >&2
  apt-get update -qq && apt-get install -y -qq buildah >/dev/null
fi
# No daemon, no user namespaces: vfs storage and chroot isolation work as root anywhere.
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs} BUILDAH_ISOLATION=${BUILDAH_ISOLATION:-chroot}

KAFKA_BACKUP_GIT_COMMIT=$commit cargo build --release --locked --bin kafka-backup-operator
binary=${CARGO_TARGET_DIR:-target}/release/kafka-backup-operator

container=$(buildah from scratch)
trap 'buildah umount "$container" >/dev/null 2>&1 || true; buildah rm "$container" >/dev/null 2>&1 || true' EXIT
root=$(buildah mount "$container")

install -D -m 0755 "$binary" "$root/usr/local/bin/kafka-backup-operator"
# The dynamic loader and every library the binary links, at the paths the binary asks for.
for lib in $(ldd "$binary" | grep -o '/[^ ]*'); do
  install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
done
install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' \
  > "$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$root/etc/group"
install -d -m 1777 "$root/tmp"
install -d -m 0700 -o 65532 -g 65532 "$root/home/nonroot"

buildah config \
  --user 65532:65532 \
  --workingdir /home/nonroot \
  --entrypoint '["/usr/local/bin/kafka-backup-operator"]' \
  --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  --label org.opencontainers.image.title=kafka-backup-operator \
  --label org.opencontainers.image.description="Kubernetes operator that backs up and restores Apache Kafka topics" \
  --label org.opencontainers.image.source=https://github.com/kafka-backup-operator/kafka-backup-operator \
  --label org.opencontainers.image.version="$version" \
  --label org.opencontainers.image.revision="$commit" \
  --label org.opencontainers.image.licenses=Apache-2.0 \
  "$container"
buildah umount "$container" >/dev/null
previous=$(buildah images --quiet "$tag" 2>/dev/null || true)
buildah commit --quiet --format oci --rm "$container" "$tag" >/dev/null
trap - EXIT
# The image this tag named before, now untagged, is not kept.
if [ -n "$previous" ] && [ "$previous" != "$(buildah images --quiet "$tag")" ]; then
  buildah rmi "$previous" >/dev/null 2>&1 || true
fi

size=$(buildah images --format '{{.Size}}' "$tag" | head -1)
echo "built $tag ($size; binary $(du -h "$binary" | cut -f1), commit ${commit:-unknown})"
