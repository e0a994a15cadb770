# The ext_proc service, compiled to JavaScript (about a third less memory than running the
# TypeScript sources through tsx). Envoy runs beside it from the official image (docker-compose.yml).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist ./dist
# The admin dashboard's page (plain HTML, CSS and browser JS; src/admin/dashboard/assets.ts looks beside the compiled file).
COPY --from=build /app/src/admin/dashboard/page ./dist/admin/dashboard/page
COPY config ./config
USER node
EXPOSE 50051 9464
# The V8 flags are EXTPROC_NODE_FLAGS (none; src/cli/extproc-process.ts; a test keeps the two
# equal). To cap memory at the cost of CPU: NODE_OPTIONS="--max-old-space-size=512" (README).
CMD ["node", "dist/main.js", "--config", "config/gateway.production.yaml"]
