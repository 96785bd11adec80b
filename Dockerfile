# syntax=docker/dockerfile:1
# Multi-stage: build a wheel-based virtualenv, then run as a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY app ./app
RUN /opt/venv/bin/pip install .

FROM python:3.11-slim AS runtime
RUN useradd --system --uid 10001 --home /srv/fellesplan fellesplan \
 && mkdir -p /srv/fellesplan/data && chown -R fellesplan /srv/fellesplan
COPY --from=build /opt/venv /opt/venv
WORKDIR /srv/fellesplan
COPY alembic.ini ./
COPY migrations ./migrations
COPY profiles ./profiles
ENV PATH=/opt/venv/bin:$PATH \
    FELLESPLAN_HOST=0.0.0.0 \
    FELLESPLAN_PORT=8080 \
    FELLESPLAN_DATABASE_URL=sqlite+aiosqlite:////srv/fellesplan/data/fellesplan.db \
    PYTHONUNBUFFERED=1
USER fellesplan
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/fhir/metadata', timeout=2); sys.exit(0)"
CMD ["sh", "-c", "fellesplan db upgrade && exec fellesplan serve"]
