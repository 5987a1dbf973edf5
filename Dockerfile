# One image for the one-shot pipeline and the API: the same pinned code reads
# and writes the marts. Slim base, non-root user, dependencies from pyproject.
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DO_NOT_TRACK=1 \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    DBT_PROFILES_DIR=/app

# The image has no .git: `docker build --build-arg GIT_COMMIT=$(git rev-parse HEAD)`
# lets /ready, the report and the logs name the commit (dwh/version.py).
ARG GIT_COMMIT=""
ENV VOUCHER_GIT_COMMIT=$GIT_COMMIT

WORKDIR /app
COPY pyproject.toml ./
COPY loader ./loader
COPY api ./api
COPY dwh ./dwh
COPY serving ./serving
COPY report ./report
RUN pip install --no-compile . && useradd --create-home --uid 10001 voucher
COPY --chown=voucher:voucher . .
USER voucher

EXPOSE 5000
CMD ["gunicorn", "--config", "api/gunicorn.conf.py", "api.asgi:app"]
