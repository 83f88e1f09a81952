# One image for every role (worker, dashboard, emulator, one-off runs); the command picks the role.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY bin ./bin
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY jobs ./jobs
COPY schemas ./schemas
COPY bench ./bench
COPY scripts ./scripts
COPY samples ./samples
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app /app
USER node
# dashboard (3000) and worker --metrics-port (9464, as docker-compose.yml sets it); healthchecks are
# per role, in docker-compose.yml (GET /healthz on the role's port).
EXPOSE 3000 9464
# The launcher as a program: its first line gives Node the start-up flags of the command (see the file).
ENTRYPOINT ["/app/bin/braze-import.js"]
CMD ["--help"]
