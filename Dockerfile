# The ext_proc service. Envoy runs beside it from the official image (docker-compose.yml).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY config ./config
USER node
EXPOSE 50051 9464
CMD ["node", "--import", "tsx", "src/main.ts", "--config", "config/gateway.production.yaml"]
