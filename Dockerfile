# syntax=docker/dockerfile:1
# Production image: PostgreSQL via DATABASE_URL, Redis via REDIS_URL, TUTORING_JWT_SECRET set.
# The install steps are the ones `make test` runs: pip install of this project into a venv, with the
# versions pinned in constraints.txt.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# Every dependency ships manylinux wheels (aiortc's av and pylibsrtp bundle their codecs);
# gcc is there only for a platform without them.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /venv
WORKDIR /src
# Dependencies first, so that a code change does not reinstall them.
COPY pyproject.toml constraints.txt ./
RUN mkdir -p app matching signaling classroom loadtest && touch app/__init__.py matching/__init__.py classroom/__init__.py \
        signaling/__init__.py loadtest/__init__.py \
    && /venv/bin/pip install --upgrade pip && /venv/bin/pip install -c constraints.txt . && /venv/bin/pip uninstall -y tutoring
COPY . .
RUN /venv/bin/pip install --no-deps .

FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 tutoring
COPY --from=build /venv /venv
WORKDIR /srv
COPY alembic.ini ./
COPY migrations ./migrations
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 TUTORING_HOST=0.0.0.0 TUTORING_PORT=8000
USER tutoring
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
# prestart (wait for the database, migrate, seed reference data), then uvicorn.
CMD ["sh", "-c", "tutoring prestart && exec uvicorn app.main:app --host 0.0.0.0 --port 8000 --ws-per-message-deflate false --proxy-headers --forwarded-allow-ips='*'"]
