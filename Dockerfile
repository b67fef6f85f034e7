# syntax=docker/dockerfile:1
# One image for every tokenwatch service; the compose `command` picks the CLI subcommand.
# Debian (glibc) rather than alpine: chdb's prebuilt native library is built for glibc x64.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV TURBO_TELEMETRY_DISABLED=1
# The whole tree goes in first: the root `prepare` script builds during `npm ci`,
# so manifests alone would not install. .dockerignore keeps the context small.
COPY . .
# `npm run build` is explicit so the build does not depend on `prepare`; turbo's cache
# makes it a no-op when `prepare` already built. Prune leaves only runtime deps to copy.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund \
 && npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
# PATH: the `tokenwatch` bin that npm links for the cli workspace.
# The memory settings (V8's heap cap and semi-spaces, glibc's malloc thresholds) are not set
# here: the entry point, services/cli/bin/tokenwatch, gives them to the always-on commands
# inside and outside the image alike (docs/memory.md). Set NODE_OPTIONS or GLIBC_TUNABLES to
# override one of them; the rest keep their defaults.
ENV NODE_ENV=production \
    TOKENWATCH_DATA_DIR=/var/lib/tokenwatch \
    PATH=/app/node_modules/.bin:$PATH
WORKDIR /app
# Code stays root-owned (read-only to the app); only the data dir is writable.
RUN mkdir -p /var/lib/tokenwatch && chown node:node /var/lib/tokenwatch
# Workspace packages are symlinked from node_modules, so they are copied whole.
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/shared ./shared
COPY --from=build /app/services ./services
# The node image's unprivileged `node` user; numeric so runAsNonRoot checks can verify it.
USER 1000:1000
# /healthz, /readyz and /metrics of `tokenwatch start` (TOKENWATCH_HTTP_PORT).
EXPOSE 9464
# The launcher execs node: Node.js is the container's process 1 and receives its signals.
ENTRYPOINT ["/app/services/cli/bin/tokenwatch"]
CMD ["start"]
