# The campaign-orchestrator image: the worker (default command), the reference services and the
# codec server, all from one installed package. Used by docker-compose.temporal.yml.
#   docker build -t campaign-orchestrator:0.1.0 .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
# The sources (.dockerignore keeps out the venv, tests, docs and caches).
COPY . .
# A regular (not editable) install, with the OpenTelemetry extra for CAMPAIGN_TRACING.
RUN pip install --no-cache-dir --prefix=/install ".[otel]"

FROM ${PYTHON_IMAGE}
RUN useradd --system --uid 10001 --no-create-home campaign
COPY --from=build /install /usr/local
WORKDIR /app
USER campaign
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CAMPAIGN_LOG_FORMAT=json
# 8700 reference services, 9464 worker metrics, 8081 codec server
EXPOSE 8700 9464 8081
CMD ["campaign-worker"]
