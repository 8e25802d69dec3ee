# The asknotes app image. compose.yaml builds it; on its own: `docker build -t asknotes .`
# No `# syntax=` line on purpose: it would make every build fetch a frontend image, and the
# built-in Dockerfile frontend has all this file needs, so rebuilds also work offline.

# Node pinned by version and by the digest of its multi-arch index: a rebuild gets the same
# Node and the same Debian. Update both together.
FROM node:22.22.0-bookworm-slim@sha256:dd9d21971ec4395903fa6143c2b9267d048ae01ca6d3ea96f16cb30df6187d94 AS deps
WORKDIR /app
# hnswlib-node ships no prebuilt binary: node-gyp compiles it during `npm ci`, which needs
# python3, make and a C++ compiler. They stay in this stage and never reach the runtime image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
# Native addons are compiled against this image's own Node headers (/usr/local/include/node).
# Without it, node-gyp downloads the headers from nodejs.org on every rebuild of this stage (the
# npm cache mount does not keep node-gyp's cache), so `docker compose up --build` and
# `docker compose watch` failed offline (issue 17). A rebuild now needs only the npm registry,
# or nothing at all when the npm cache mount is warm and package-lock.json is unchanged.
ENV npm_config_nodedir=/usr/local
# .npmrc sets legacy-peer-deps, which the lock file was resolved with.
COPY package.json package-lock.json .npmrc ./
# Production dependencies only: the app runs its TypeScript through tsx, a production
# dependency, so nothing in devDependencies (compiler, test runner, browser driver) is needed.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --no-audit --no-fund

FROM node:22.22.0-bookworm-slim@sha256:dd9d21971ec4395903fa6143c2b9267d048ae01ca6d3ea96f16cb30df6187d94 AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    NOTES_DIR=/notes \
    INDEX_DIR=/data/index
WORKDIR /app
# A new named volume is seeded from the image's directory, owner included: create the index
# directory as `node` so the unprivileged app can write its index there.
RUN mkdir -p /notes /data/index && chown node:node /data/index
# Code and dependencies stay owned by root: the app can read them, not change them.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json .npmrc ./
COPY src ./src
COPY docker/healthcheck.mjs ./docker/healthcheck.mjs
# The `node` user (uid 1000) comes with the official image.
USER node
EXPOSE 3000
# Ready, not just alive: GET /readyz must answer 200 (see docker/healthcheck.mjs).
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
    CMD ["node", "/app/docker/healthcheck.mjs"]
# node itself as the main process (not `npm start`), so SIGTERM reaches the app; tsx is loaded
# as a module hook, the same code path as `npm start` (`tsx src/main.ts`).
CMD ["node", "--import", "tsx", "src/main.ts"]
