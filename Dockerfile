# The campaign-orchestrator image. By default the worker's: the core install (the worker and the
# operator's CLI) plus the otel extra for CAMPAIGN_TRACING, and nothing else (no Temporal CLI or
# test server, no FastAPI, no psutil or matplotlib). EXTRAS picks the extras (comma-separated;
# empty for the core alone); docker-compose.temporal.yml builds the reference services and the
# codec server with EXTRAS=services. README.md, "Installing", has what each extra holds and the
# installed sizes.
#   docker build -t campaign-orchestrator:0.1.0 .
#   docker build --build-arg EXTRAS=services -t campaign-orchestrator-services:0.1.0 .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG EXTRAS=otel
WORKDIR /src
# The sources (.dockerignore keeps out the venv, tests, docs and caches).
COPY . .
# A regular (not editable) install of the package with EXTRAS: ".[otel]" by default, "." if empty.
RUN pip install --no-cache-dir --prefix=/install ".${EXTRAS:+[$EXTRAS]}"

FROM ${PYTHON_IMAGE}
RUN useradd --system --uid 10001 --no-create-home campaign
COPY --from=build /install /usr/local
WORKDIR /app
USER campaign
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CAMPAIGN_LOG_FORMAT=json
# 9464 worker metrics; with EXTRAS=services: 8700 reference services, 8081 codec server
EXPOSE 9464 8700 8081
CMD ["campaign-worker"]
