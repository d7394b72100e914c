# syntax=docker/dockerfile:1
# Build: docker build -t accord .
# API:    docker run -p 8000:8000 -e DATABASE_URL=postgresql://... accord
# The image also works without DATABASE_URL (embedded PostgreSQL in /data), for trials.

FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install --no-cache-dir .

FROM python:3.11-slim AS runtime
RUN useradd --create-home --uid 10001 accord && mkdir /data && chown accord /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /srv/accord
COPY alembic.ini ./
COPY migrations ./migrations
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    ACCORD_DATA_DIR=/data
USER accord
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
# The API runs a job worker in-process; to scale them apart, run the API with
# `accord serve --no-worker ...` and workers as a second command: `docker run ... accord worker`.
CMD ["accord", "serve", "--host", "0.0.0.0", "--port", "8000"]
