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
# NODE_OPTIONS: V8 sizes its heap from the host's memory and lets it grow to 2-3x what is live;
# a cap keeps `start` near 600 MB in a 1 GB container (docs/memory.md). Override it to resize.
# --max-semi-space-size=4 (MiB; V8's default 16): the young generation, where every object
# starts, stays grown to its largest while the ingest allocates; 4 cut 35-50 MB of peak RSS
# with no measurable CPU per event (docs/memory.md).
# GLIBC_TUNABLES: glibc's malloc (chDB's allocator, and Node.js's buffers) raises its mmap
# threshold each time it frees a mapped block, up to 32 MiB, after which freed large blocks stay
# in the heap and in RSS; fixed at 128 KiB, they go back to the kernel when freed (less peak
# RSS in 4 of 5 paired bench:memory runs, 14-52 MB; CPU per event unchanged within the noise;
# docs/memory.md).
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-old-space-size=384 --max-semi-space-size=4" \
    GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072 \
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
ENTRYPOINT ["node", "services/cli/dist/main.js"]
CMD ["start"]
