# syntax=docker/dockerfile:1
# Release image, built from a clean checkout with the lock file:
#   docker buildx build --build-arg VERSION=0.1.0 \
#     --build-arg GIT_COMMIT=$(git rev-parse --short=12 HEAD) -t IMAGE .
# `make image` builds the same runtime layout offline with buildah (image/build.sh).

ARG RUST_VERSION=1.89

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS builder
# C parts of dependencies (aws-lc, zstd, sqlite) build with the image's C compiler;
# cmake is aws-lc's fallback builder.
RUN apt-get update && apt-get install -y --no-install-recommends cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ARG GIT_COMMIT=""
ENV KAFKA_BACKUP_GIT_COMMIT=${GIT_COMMIT}
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --bin kafka-backup-operator \
    && install -m 0755 target/release/kafka-backup-operator /kafka-backup-operator

# glibc, libgcc, CA certificates and the `nonroot` user (65532), nothing else.
FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=""
ARG GIT_COMMIT=""
LABEL org.opencontainers.image.title="kafka-backup-operator" \
      org.opencontainers.image.description="Kubernetes operator that backs up and restores Apache Kafka topics" \
      org.opencontainers.image.source="https://github.com/kafka-backup-operator/kafka-backup-operator" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${GIT_COMMIT}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /kafka-backup-operator /usr/local/bin/kafka-backup-operator
USER 65532:65532
WORKDIR /home/nonroot
ENTRYPOINT ["/usr/local/bin/kafka-backup-operator"]
