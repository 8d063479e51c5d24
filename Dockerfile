# One image for web, worker and beat (DESIGN.md §7). Multi-stage: wheels are built in the first stage so the runtime
# stage carries no compiler; the app runs as an unprivileged user.
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml ./
COPY studio ./studio
COPY generations ./generations
COPY billing ./billing
RUN pip wheel --wheel-dir /wheels .

FROM python:3.11-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=studio.settings \
    STUDIO_VAR_DIR=/app/var \
    PORT=8000
RUN groupadd --system --gid 10001 studio \
    && useradd --system --uid 10001 --gid studio --home-dir /app --shell /usr/sbin/nologin studio
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-index --find-links /wheels /wheels/*.whl && rm -rf /wheels
COPY --chown=studio:studio . .
# Static files are collected at build time with a throwaway key; the real SECRET_KEY comes from the environment.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && mkdir -p /app/var && chown -R studio:studio /app/var
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/healthz', timeout=4)"]
# web (default). Worker: `celery -A studio worker -Q default,submit,finalize -l INFO`; poller (the poll engine):
# `celery -A studio worker -Q poll,sweep -c 2 -n poller@%h -l INFO`; beat: `celery -A studio beat`.
# Threaded workers: image decoding is bounded per process (ASSET_DECODE_CONCURRENCY), so other threads keep answering
# (/healthz included) while uploads are processed (issue 13 finding 1).
CMD ["sh", "-c", "gunicorn studio.wsgi:application --bind 0.0.0.0:${PORT} --workers ${WEB_CONCURRENCY:-3} --worker-class gthread --threads ${WEB_THREADS:-4} --access-logfile -"]
