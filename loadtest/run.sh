#!/usr/bin/env bash
# The load test: gunicorn (production settings, 2+ workers) on 127.0.0.1 against PostgreSQL and
# Redis, seeded by seed_bulk, driven by locust with the four users' journeys for a bounded time;
# then loadtest/report.py judges the run (zero failures, every page's p95 within the bar).
#
#   make loadtest                                  # 100,000 accounts, 50 users, 5 minutes
#   ACCOUNTS=10000 USERS=20 RUN_TIME=1m make loadtest
#
# Variables: DATABASE_URL (default a database kam_load on 127.0.0.1), ACCOUNTS, USERS,
# SPAWN_RATE, RUN_TIME, WORKERS (gunicorn), PORT, P95_MS, REDIS_URL (cache, shared by workers).
set -euo pipefail
cd "$(dirname "$0")/.."

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/kam_load}"
ACCOUNTS="${ACCOUNTS:-100000}"
USERS="${USERS:-50}"
SPAWN_RATE="${SPAWN_RATE:-5}"
RUN_TIME="${RUN_TIME:-5m}"
WORKERS="${WORKERS:-3}"
PORT="${PORT:-8011}"
P95_MS="${P95_MS:-300}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/12}"
RESULTS="loadtest/results"
PY=.venv/bin/python

# Production settings, as docker-compose.yml runs them; gunicorn speaks TLS itself with a
# throwaway certificate, so Secure cookies and HTTPS-only CSRF checks apply as in production.
export DEBUG=false KAM_TESTING=false
export SECRET_KEY="${SECRET_KEY:-$($PY -c 'import secrets; print(secrets.token_urlsafe(50))')}"
export CACHE_URL="${CACHE_URL:-$REDIS_URL}"
export CELERY_BROKER_URL="${CELERY_BROKER_URL:-redis://127.0.0.1:6379/13}"
export STATIC_ROOT="${STATIC_ROOT:-$PWD/$RESULTS/static}"
export KAM_LOAD_PASSWORD="${KAM_LOAD_PASSWORD:-kam-load-2026}"
export LOG_LEVEL=WARNING

mkdir -p "$RESULTS"
if command -v createdb >/dev/null; then
  createdb "$(basename "${DATABASE_URL%%\?*}")" -h 127.0.0.1 -U postgres 2>/dev/null || true
fi
$PY manage.py migrate --noinput -v0
$PY manage.py collectstatic --noinput -v0
$PY manage.py seed_bulk --accounts "$ACCOUNTS" --password "$KAM_LOAD_PASSWORD"

if [ ! -f "$RESULTS/tls.key" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=127.0.0.1" \
    -keyout "$RESULTS/tls.key" -out "$RESULTS/tls.crt" 2>/dev/null
fi
.venv/bin/gunicorn kam.wsgi:application --bind "127.0.0.1:$PORT" --workers "$WORKERS" \
  --certfile "$RESULTS/tls.crt" --keyfile "$RESULTS/tls.key" \
  --log-level warning --access-logfile "$RESULTS/access.log" &
gunicorn_pid=$!
trap 'kill "$gunicorn_pid" 2>/dev/null || true; wait "$gunicorn_pid" 2>/dev/null || true' EXIT
for _ in $(seq 60); do
  curl -fksS -o /dev/null "https://127.0.0.1:$PORT/healthz" && break
  sleep 1
done

status=0
.venv/bin/locust -f loadtest/locustfile.py --headless --users "$USERS" \
  --spawn-rate "$SPAWN_RATE" --run-time "$RUN_TIME" --host "https://127.0.0.1:$PORT" \
  --csv "$RESULTS/run" --html "$RESULTS/run.html" --only-summary --loglevel WARNING || status=$?
$PY loadtest/report.py "$RESULTS/run" --p95-ms "$P95_MS" || status=$?
exit "$status"
