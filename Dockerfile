# syntax=docker/dockerfile:1
#
# flagops-data-store container image.
#
#   docker build -t flagops-data-store:0.1.0 .
#
# Three stages:
#   build    compiles TypeScript (src/ -> dist/) with the dev dependencies;
#   deps     installs the production dependencies only (npm ci --omit=dev);
#   runtime  distroless (no shell, no package manager, no npm) holding the node binary of the
#            pinned Node image, node_modules from deps and dist/ from build.
#
# Pinning: the Node image is pinned to a full version (NODE_VERSION) and a Debian release
# (DEBIAN_RELEASE). Pin digests too in your own build (FROM image:tag@sha256:...): this
# repository is built and tested without network access to any container registry, so no
# digest here could be verified and none is written. Distroless publishes no version tags,
# only moving tags and digests; its tag names the same Debian release as the Node image, so
# that the copied node binary finds the glibc and libstdc++ it was linked against.
#
# Nothing is written to the image's filesystem at run time, so the container runs with a
# read-only root filesystem (the Helm chart mounts an emptyDir at /tmp all the same).

ARG NODE_VERSION=24.21.0
ARG DEBIAN_RELEASE=trixie
# The two bases, as build args so that a mirror or a base of your own can stand in
# (docker build --build-arg RUNTIME_IMAGE=registry.example.com/distroless/cc-debian13:nonroot .).
# The runtime base must provide what distroless cc does: glibc and libstdc++ for the node binary, and the
# user 65532. CI assembles this same image without a registry (test/cluster/images.ts reads this file).
ARG BUILD_IMAGE=node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim
# debian13 is trixie: keep it in step with DEBIAN_RELEASE above.
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian13:nonroot

FROM ${BUILD_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${BUILD_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

FROM ${RUNTIME_IMAGE} AS runtime
LABEL org.opencontainers.image.title="flagops-data-store" \
      org.opencontainers.image.description="Kubernetes operator serving deployment facts and secrets to OpenFeature and Argo CD" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="0.1.0"
ENV NODE_ENV=production
COPY --from=deps /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=deps --chown=0:0 /app/package.json ./package.json
COPY --from=deps --chown=0:0 /app/node_modules ./node_modules
COPY --from=build --chown=0:0 /app/dist ./dist
# 65532 is distroless's "nonroot" user; numeric, so that runAsNonRoot can check it.
USER 65532:65532
EXPOSE 8080
# A small young generation: V8's default lets tens of MB of short-lived garbage (list pages, responses) pile up
# before each scavenge, which at 50,000 identities nearly doubles the resident size (docs/benchmarks.md).
ENTRYPOINT ["/usr/local/bin/node", "--max-semi-space-size=4", "/app/dist/main.js"]
