"""Settings for KAM, read from validated environment variables.

The defaults boot a local development copy: SQLite, in-process Celery tasks, console e-mail.
With ``DEBUG`` off the app refuses to start without a real ``SECRET_KEY``.
"""

import os
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
TESTING = env.bool("KAM_TESTING", default=False)

_DEV_SECRET_KEY = "django-insecure-local-development-key-never-use-in-production"  # noqa: S105  # nosec B105 # local-development key only; refused when DEBUG is off
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY to a long random value "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DEBUG=true for local development."
        )
    SECRET_KEY = _DEV_SECRET_KEY
elif not DEBUG and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5):
    raise ImproperlyConfigured(
        "SECRET_KEY must be at least 50 characters long, with at least 5 different characters."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
KAM_VERSION = env.str("KAM_VERSION", default="0.1.0")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_filters",
    "django_countries",
    "simple_history",
    "django_htmx",
    "csp",
    "axes",
    "kam",
    "accounts",
    "selection",
    "plans",
    "kpis",
    "payments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "kam.middleware.UserLanguageMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kam.urls"
WSGI_APPLICATION = "kam.wsgi.application"
ASGI_APPLICATION = "kam.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kam.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT compiles the dashboards' grouped sums for longer than they run (0.7–1.5 s each).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "kam.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    # Hashing is not under test; the slow default hasher would dominate the suite's time.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "kam:home"

# Sessions end after SESSION_COOKIE_AGE seconds without a request (inactivity timeout).
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_TIMEOUT", default=60 * 60 * 8)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("LOGIN_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
AXES_RESET_ON_SUCCESS = True

LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("German")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Berlin")
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = True
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}

# Locally and in tests WhiteNoise serves straight from the source folders (no collectstatic).
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="KAM <kam@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where mails link to: the address people open the app at.
SITE_URL = env.url("SITE_URL", default="http://127.0.0.1:8000").geturl()

# Celery: with no broker configured, tasks run in-process so the local default needs no Redis.
# Shared by every web process when set (the account list caches its choices and counts there);
# the local default keeps a cache per process.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_DEFAULT_QUEUE = "celery"
if TESTING and os.environ.get("PYTEST_XDIST_WORKER"):
    # Test processes run side by side, each with its own database; a queue per process keeps
    # one process's Celery worker from taking another's tasks.
    CELERY_TASK_DEFAULT_QUEUE = f"kam-test-{os.environ['PYTEST_XDIST_WORKER']}"
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60 * 60}

# Jobs whose worker died: Redis redelivers an unacknowledged message only after the visibility
# timeout (an hour), so a running job writes a heartbeat every JOB_HEARTBEAT_SECONDS and a sweep
# (at worker start and every JOB_SWEEP_SECONDS) queues again a job silent for JOB_STALE_SECONDS,
# up to JOB_MAX_ATTEMPTS runs, and marks it failed after that.
JOB_HEARTBEAT_SECONDS = env.float("JOB_HEARTBEAT_SECONDS", default=30)
JOB_STALE_SECONDS = env.float("JOB_STALE_SECONDS", default=300)
JOB_SWEEP_SECONDS = env.float("JOB_SWEEP_SECONDS", default=120)
JOB_MAX_ATTEMPTS = env.int("JOB_MAX_ATTEMPTS", default=3)
# Tests only: seconds a job sleeps at each progress report, so a test can kill its worker mid-run.
JOB_STEP_DELAY = env.float("JOB_STEP_DELAY", default=0)
if not (
    JOB_HEARTBEAT_SECONDS > 0
    and JOB_STALE_SECONDS >= 2 * JOB_HEARTBEAT_SECONDS
    and JOB_SWEEP_SECONDS > 0
    and 1 <= JOB_MAX_ATTEMPTS <= 20
    and 0 <= JOB_STEP_DELAY <= 60
):
    raise ImproperlyConfigured(
        "JOB_HEARTBEAT_SECONDS must be positive, JOB_STALE_SECONDS at least twice it, "
        "JOB_SWEEP_SECONDS positive, JOB_MAX_ATTEMPTS 1 to 20 and JOB_STEP_DELAY 0 to 60."
    )


def _month_day(name: str, default: str) -> tuple[int, int]:
    value = env.str(name, default=default)
    try:
        month, day = (int(part) for part in value.split("-"))
        if not (1 <= month <= 12 and 1 <= day <= 28):
            raise ValueError
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be a month and day as MM-DD, day 1 to 28 (e.g. 01-15), not {value!r}."
        ) from None
    return month, day


# The annual refresh (kpis): the day it runs each year, closing the year before.
KPI_REFRESH_MONTH, KPI_REFRESH_DAY = _month_day("KPI_REFRESH_DATE", "01-15")
# A folder the ERP drops its annual extract into; empty: the refresh imports nothing.
KPI_DROP_FOLDER = env.str("KPI_DROP_FOLDER", default="")
# The import source whose saved column mapping reads the dropped files.
KPI_DROP_SOURCE = env.str("KPI_DROP_SOURCE", default="ERP")
# Payment escalation: the default grace days after the due date and the KAM's days to clarify
# for tiers without a policy of their own; the hour of the daily job; and a folder the ERP drops
# its open-items list into (read by the daily job with the source's saved mapping).
PAYMENT_GRACE_DAYS = env.int("PAYMENT_GRACE_DAYS", default=7)
PAYMENT_CLARIFICATION_DAYS = env.int("PAYMENT_CLARIFICATION_DAYS", default=5)
if not (0 <= PAYMENT_GRACE_DAYS <= 90 and 1 <= PAYMENT_CLARIFICATION_DAYS <= 60):
    raise ImproperlyConfigured(
        "PAYMENT_GRACE_DAYS must be 0 to 90 and PAYMENT_CLARIFICATION_DAYS 1 to 60."
    )
PAYMENT_DAILY_HOUR = env.int("PAYMENT_DAILY_HOUR", default=5)
if not 0 <= PAYMENT_DAILY_HOUR <= 23:
    raise ImproperlyConfigured("PAYMENT_DAILY_HOUR must be an hour from 0 to 23.")
PAYMENT_DROP_FOLDER = env.str("PAYMENT_DROP_FOLDER", default="")
PAYMENT_DROP_SOURCE = env.str("PAYMENT_DROP_SOURCE", default="ERP open items")
# Limits of an uploaded import file.
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=20 * 1024 * 1024)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=200_000)
IMPORT_MAX_COLUMNS = env.int("IMPORT_MAX_COLUMNS", default=200)
DATA_UPLOAD_MAX_MEMORY_SIZE = IMPORT_MAX_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "plan-reviews-flag-overdue": {
        "task": "plans.tasks.plan_reviews_flag_overdue",
        "schedule": crontab(hour=6, minute=15),
    },
    "kpis-annual-refresh": {
        "task": "kpis.tasks.annual_refresh_scheduled",
        "schedule": crontab(
            month_of_year=KPI_REFRESH_MONTH, day_of_month=KPI_REFRESH_DAY, hour=4, minute=0
        ),
    },
    "jobs-recover-stale": {
        "task": "kam.tasks.jobs_recover_stale",
        "schedule": JOB_SWEEP_SECONDS,
    },
    "payments-daily": {
        "task": "payments.tasks.escalations_daily",
        "schedule": crontab(hour=PAYMENT_DAILY_HOUR, minute=30),
    },
}

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "kam.views.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG and not TESTING:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Container health checks call /healthz over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
