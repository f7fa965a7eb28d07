# syntax=docker/dockerfile:1
# Nurture's image: built in one stage, run from another with production dependencies only.
#   docker build -t nurture .
#   docker compose up -d            (engine, workers, HTTP server, Redis, Postgres, Mailpit)
# scripts/image-check.sh runs these same steps without Docker (CI has none).
ARG NODE_IMAGE=node:20.19-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# `npm ci` runs the `prepare` script (scripts/prepare.mjs compiles to dist/), so the sources must be there first.
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts/prepare.mjs ./scripts/prepare.mjs
COPY src ./src
RUN npm ci --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    NURTURE_HTTP_HOST=0.0.0.0 \
    NURTURE_HTTP_PORT=8080 \
    NURTURE_DATA_DIR=/data \
    NURTURE_LOG_FORMAT=json
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: dist/ comes from the build stage, so `prepare` has nothing to do here. Nothing
# in the production tree needs an install script (esbuild, the one that has one, is dev only).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY schema ./schema
COPY examples ./examples
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080 9464
# /healthz on the HTTP port (start, api), else on NURTURE_METRICS_PORT (worker, start --no-http).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const e=process.env,ask=(p)=>fetch(`http://127.0.0.1:${p}/healthz`).then((r)=>{if(!r.ok)throw new Error(String(r.status))});ask(e.NURTURE_HTTP_PORT||8080).catch(()=>e.NURTURE_METRICS_PORT?ask(e.NURTURE_METRICS_PORT):Promise.reject()).then(()=>process.exit(0),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["start", "--sequences", "examples/sequences", "--templates", "examples/templates"]
