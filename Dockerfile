# Production image: the locked runtime dependencies only (no dev tools, no embedded PostgreSQL:
# those are dependency groups it does not sync), run as a non-root user.
FROM python:3.11-slim AS build
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/app/.venv
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-default-groups --no-install-project
COPY domain ./domain
COPY application ./application
COPY adapters ./adapters
COPY entrypoints ./entrypoints
COPY migrations ./migrations
COPY alembic.ini ./
RUN uv sync --frozen --no-default-groups

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin todo
WORKDIR /app
COPY --from=build --chown=root:root /app /app
ENV PATH="/app/.venv/bin:$PATH" \
    MALLOC_ARENA_MAX=2 \
    PYTHONUNBUFFERED=1 \
    APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    LOG_FORMAT=json
# The code belongs to root and is read-only to the service; it writes only to /tmp (the
# metrics files of several workers).
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), timeout=2).status != 200)"]
# Production `serve` checks that the schema is at head and starts WEB_CONCURRENCY granian
# workers; run `todo migrate` (the release step) first. SIGTERM drains requests in flight for up
# to SHUTDOWN_TIMEOUT (20 s): give the container longer than that to stop.
STOPSIGNAL SIGTERM
CMD ["todo", "serve"]
