# syntax=docker/dockerfile:1
# One image per service from one Dockerfile:
#   docker build --target router -t tgint-router .      (router retrieval digest trend memory dlq)
#   docker build --target ops -t tgint-ops .            (migrations and topic creation jobs)
# Each target's virtualenv holds only its extra of pyproject.toml (resolved by
# deploy/docker/extra_requirements.py, pinned by requirements.lock), runs as an unprivileged
# user and answers a HEALTHCHECK on /health. Checked by tests/deploy/test_images.py.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# -- virtualenvs, one per extra -------------------------------------------------------------
FROM base AS deps
COPY pyproject.toml requirements.lock deploy/docker/extra_requirements.py /build/

FROM deps AS venv-router
RUN python /build/extra_requirements.py /build/pyproject.toml router > /build/req.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install -c /build/requirements.lock -r /build/req.txt

FROM deps AS venv-retrieval
RUN python /build/extra_requirements.py /build/pyproject.toml retrieval > /build/req.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install -c /build/requirements.lock -r /build/req.txt

FROM deps AS venv-digest
RUN python /build/extra_requirements.py /build/pyproject.toml digest > /build/req.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install -c /build/requirements.lock -r /build/req.txt

FROM deps AS venv-trend
RUN python /build/extra_requirements.py /build/pyproject.toml trend > /build/req.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install -c /build/requirements.lock -r /build/req.txt

FROM deps AS venv-memory
RUN python /build/extra_requirements.py /build/pyproject.toml memory > /build/req.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install -c /build/requirements.lock -r /build/req.txt

FROM deps AS venv-dlq
RUN python /build/extra_requirements.py /build/pyproject.toml dlq > /build/req.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install -c /build/requirements.lock -r /build/req.txt

FROM deps AS venv-ops
RUN python /build/extra_requirements.py /build/pyproject.toml ops > /build/req.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install -c /build/requirements.lock -r /build/req.txt

# -- the code (no tests, tools or data), byte-compiled once ----------------------------------
FROM base AS source
COPY contracts /app/contracts
COPY servicekit /app/servicekit
COPY services /app/services
COPY tools/__init__.py tools/migrate.py /app/tools/
RUN python -m compileall -q /app

# -- what every image shares: the user, the code, listening on all interfaces ----------------
FROM base AS app
RUN groupadd --system --gid 10001 tgint \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/tgint --create-home \
       --shell /usr/sbin/nologin tgint
COPY --from=source /app /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    TGI_ENV=prod \
    TGI_HTTP_HOST=0.0.0.0 \
    TGI_LOG_JSON=true

# -- one target per service ------------------------------------------------------------------
FROM app AS router
COPY --from=venv-router /opt/venv /opt/venv
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('TGI_ROUTER_HTTP_PORT', '8080'), timeout=4)"]
CMD ["python", "-m", "services.router"]

FROM app AS retrieval
COPY --from=venv-retrieval /opt/venv /opt/venv
# Qdrant Edge (the embedded vector store, used when TGI_RETRIEVAL_QDRANT_URL is unset).
ENV TGI_RETRIEVAL_QDRANT_EDGE_PATH=/var/lib/tgint/qdrant-edge
USER 10001:10001
EXPOSE 8081
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('TGI_RETRIEVAL_HTTP_PORT', '8081'), timeout=4)"]
CMD ["python", "-m", "services.retrieval"]

FROM app AS digest
COPY --from=venv-digest /opt/venv /opt/venv
USER 10001:10001
EXPOSE 8082
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('TGI_DIGEST_HTTP_PORT', '8082'), timeout=4)"]
CMD ["python", "-m", "services.digest"]

FROM app AS trend
COPY --from=venv-trend /opt/venv /opt/venv
USER 10001:10001
EXPOSE 8083
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('TGI_TREND_HTTP_PORT', '8083'), timeout=4)"]
CMD ["python", "-m", "services.trend"]

FROM app AS memory
COPY --from=venv-memory /opt/venv /opt/venv
USER 10001:10001
EXPOSE 8084
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('TGI_MEMORY_HTTP_PORT', '8084'), timeout=4)"]
CMD ["python", "-m", "services.memory"]

FROM app AS dlq
COPY --from=venv-dlq /opt/venv /opt/venv
USER 10001:10001
EXPOSE 8085
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('TGI_DLQ_HTTP_PORT', '8085'), timeout=4)"]
CMD ["python", "-m", "services.dlq"]

# Jobs: `python -m tools.migrate` (default) or `python -m servicekit.topics ...`; they exit,
# so there is nothing to health-check.
FROM app AS ops
COPY --from=venv-ops /opt/venv /opt/venv
USER 10001:10001
HEALTHCHECK NONE
CMD ["python", "-m", "tools.migrate"]
