# syntax=docker/dockerfile:1
# One image for every role: api, worker, the migrate job and the operator CLI. It carries only what production
# runs: no bench, no test helpers, no embedded Postgres (optionalDependencies), and the EnKash simulator only when
# built with WITH_SIMULATOR=true (the compose demo sets it; see .env.example).

# --- build: the whole toolchain, thrown away after `tsc` -------------------------------------------
FROM node:20-slim AS build
WORKDIR /app
# Lockfile first, so the dependency layer is reused until package-lock.json changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
# The browser console, built by vite into dist/console (served by the service at /console).
COPY console ./console
RUN npm run build
ARG WITH_SIMULATOR=false
RUN if [ "$WITH_SIMULATOR" != "true" ]; then rm -rf dist/src/enkash-simulator; fi

# --- runtime: production dependencies (no optional ones: embedded Postgres) and the compiled output only ---
FROM node:20-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# DATA_DIR in compose: the signed audit checkpoints and the public key live outside the database, on a volume
# that a fresh named volume initialises from this folder (owned by node, the only thing it may write).
RUN mkdir -p /var/lib/card-ledger && chown node:node /var/lib/card-ledger
# The files stay root-owned and read-only to the process: a compromised app cannot rewrite its own code.
USER node
EXPOSE 3000
# Liveness only (no DB round trip), so a slow database does not get healthy containers restarted.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# main.ts drains on SIGTERM (HTTP, then in-flight sync jobs) and exits; node runs as PID 1 with its own handlers.
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
