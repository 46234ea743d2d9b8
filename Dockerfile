# hyperrep-notifier container image.
#
#   docker build -t hyperrep-notifier .
#   docker run -e HRN_API__API_KEY=... -v $PWD/notifier.toml:/etc/hyperrep-notifier/notifier.toml:ro \
#              -v hrn-data:/data -p 9464:9464 hyperrep-notifier
#
# Configuration: /etc/hyperrep-notifier/notifier.toml if mounted, and HRN_<SECTION>__<KEY>
# environment variables (lists too: HRN_ORGS='[{id="..."}]'). State lives in the /data volume.

# ---- build: dependencies first, in their own layer, rebuilt only when Cargo.toml/Cargo.lock change
FROM rust:1.95-bookworm AS build
WORKDIR /app
COPY Cargo.toml Cargo.lock ./
# Placeholder sources for every target the manifest names, so the dependency graph builds alone.
RUN mkdir -p src benches/pipeline \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && echo 'fn main() {}' > benches/differ.rs \
    && echo 'fn main() {}' > benches/pipeline/main.rs \
    && cargo build --release --locked \
    && rm -rf src benches
COPY src ./src
COPY benches ./benches
# The placeholders' build artefacts are older than the real sources, so cargo rebuilds the crate.
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin hyperrep-notifier

# ---- runtime: Debian slim, CA certificates for HTTPS and SMTPS, an unprivileged user
FROM debian:bookworm-slim AS runtime
# ca-certificates is not pinned: the Debian archive replaces versions within a release, so a pin
# breaks the build; the release (bookworm) is pinned by the base image.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 notifier \
    && useradd --uid 10001 --gid notifier --no-create-home --home-dir /data --shell /usr/sbin/nologin notifier \
    && mkdir -p /data /etc/hyperrep-notifier \
    && chown notifier:notifier /data
COPY --from=build /app/target/release/hyperrep-notifier /usr/local/bin/hyperrep-notifier
ENV HRN_STORE__PATH=/data \
    HRN_SERVER__LISTEN=0.0.0.0:9464 \
    HRN_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 9464
USER 10001:10001
WORKDIR /data
# The image has no curl: the binary asks its own /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 CMD ["hyperrep-notifier", "healthcheck"]
ENTRYPOINT ["hyperrep-notifier"]
CMD ["run"]
