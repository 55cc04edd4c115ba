# syntax=docker/dockerfile:1
# One Mosaic node per container. compose.yaml runs four of them; README.md ("Docker") explains.
#
#   docker build -t mosaic .
#   docker run -p 7070:7070 -v mosaic-data:/data -e MOSAIC_CLUSTER_KEY=... mosaic

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: every dependency, then the TypeScript build, then only the production ones kept.
FROM ${NODE_IMAGE} AS build
# better-sqlite3 compiles from source when no prebuilt binary matches the platform.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# native/syncfs and native/beneath: Mosaic's own small bindings (syncfs(2); a link below a
# directory without following symlinks, openat2(2)), optional dependencies built by node-gyp.
COPY native ./native
# --ignore-scripts: the package's "prepare" script builds dist/ and needs the sources, which come
# later (so that this layer stays cached while only code changes); the native modules run their
# own install scripts in `npm rebuild`.
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3 sharp mosaic-syncfs mosaic-beneath
COPY tsconfig.json tsconfig.build.json vite.config.ts ./
COPY scripts/bundle.mjs scripts/warm-compile-cache.mjs ./scripts/
COPY src ./src
COPY web ./web
# The server (tsc), the web app (vite build into dist/web), the server's bundle
# (scripts/bundle.mjs into dist/bundle, what bin/mosaic.js runs) and V8's compile cache of its
# start-up modules (scripts/warm-compile-cache.mjs into dist/compile-cache).
RUN npm run build && npm prune --omit=dev

# ---- runtime: node, production node_modules, the compiled code, nothing else.
FROM ${NODE_IMAGE}
# Memory settings measured in docs/benchmarks.md ("Memory"): two malloc arenas, a fixed mmap
# threshold (src/cli/runtime-env.ts says why), a small V8
# young generation, and (on the ENTRYPOINT's node, a flag NODE_OPTIONS refuses) a bounded
# old-space growth. bin/mosaic.js would add them itself (by re-executing); set here, it need not.
ENV NODE_ENV=production MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=4194304 NODE_OPTIONS=--max-semi-space-size=4
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/bundle ./dist/bundle
COPY --from=build /app/dist/web ./dist/web
COPY --from=build /app/dist/compile-cache ./dist/compile-cache
COPY bin ./bin
# The code stays root-owned (read-only for the node); the data volume belongs to "node".
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
# HTTP (API, web app, peers) and LAN discovery.
EXPOSE 7070 7077/udp
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.MOSAIC_PORT || 7070) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Anything after the image name on `docker run` is added to these flags; every flag also has
# its MOSAIC_* environment twin (MOSAIC_NAME, MOSAIC_CLUSTER_KEY, MOSAIC_PEERS, ...).
ENTRYPOINT ["node", "--heap-growing-percent=50", "--no-wasm-tier-up", "bin/mosaic.js", "node", "--data", "/data", "--host", "0.0.0.0"]
