FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core gettext curl \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 kam
WORKDIR /app

COPY pyproject.toml README.md ./
RUN pip install .

COPY --chown=kam:kam . .
# Build-time only: collectstatic and compilemessages need settings, not secrets.
RUN SECRET_KEY=build-only-not-secret-build-only-not-secret-build-only-0123 DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --noinput -v0 \
    && SECRET_KEY=build-only-not-secret-build-only-not-secret-build-only-0123 DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py compilemessages -v0 \
    && mkdir -p /app/media && chown kam:kam /app/media

USER kam
EXPOSE 8000
CMD ["gunicorn", "kam.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
