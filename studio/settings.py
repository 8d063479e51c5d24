"""The one settings file. Every deploy-specific value comes from the environment (``studio/env.py``).

Defaults are for ``make run`` on a laptop: SQLite, local media, a filesystem Celery broker under ``var/``, and the
provider emulators on 127.0.0.1:8765. Production sets DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY, ALLOWED_HOSTS,
AWS_STORAGE_BUCKET_NAME, PUBLIC_BASE_URL and the provider/Stripe keys (see README.md).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import django_stubs_ext
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from studio.env import env_bool, env_float, env_int, env_list, env_str, parse_database_url

django_stubs_ext.monkeypatch()  # lets admin and querysets be subscripted at runtime (ModelAdmin[User])

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("STUDIO_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)  # local state (SQLite, media, broker, cache) for make run and tests

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY and env_str("STUDIO_PROCESS") == "emulators":
    SECRET_KEY = secrets.token_urlsafe(50)  # the emulator process signs nothing; a throwaway key is enough (manage.py)
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set (DEBUG=1 allows a development key).")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105
# Placeholders that were once shipped as defaults: a server started with one fails now, not after a leak.
_PLACEHOLDER_SECRET_KEYS = {"change-me-in-production", "dev-only-insecure-key-do-not-use-in-production", "changeme"}
if not DEBUG and (SECRET_KEY in _PLACEHOLDER_SECRET_KEYS or SECRET_KEY.startswith("django-insecure-")):
    raise ImproperlyConfigured("SECRET_KEY is a published placeholder; set a long random value.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", f"http://127.0.0.1:{env_int('PORT', 8000)}").rstrip("/")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [PUBLIC_BASE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "django_htmx",
    "studio",
    "studio.accounts",
    "studio.teams",
    "studio.projects",
    "studio.assets",
    "studio.notifications",
    "studio.audit",
    "studio.moderation",
    "generations",
    "billing",
    "ninja",  # serves the API docs' own static files (no CDN)
    "studio.webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "studio.teams.middleware.ActiveTeamMiddleware",
]

ROOT_URLCONF = "studio.urls"
WSGI_APPLICATION = "studio.wsgi.application"
ASGI_APPLICATION = "studio.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "studio.teams.context_processors.active_team",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------------------------
DATABASES = {"default": parse_database_url(env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"))}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not :memory:, so the end-to-end tests' Celery worker (another process) sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth and accounts (django-allauth) -------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_ADAPTER = "studio.accounts.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env_str("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
}
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Studio] "

# --- Email --------------------------------------------------------------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "studio.mail.LocalConsoleEmailBackend"  # prints each email with its links framed (README)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Studio <studio@localhost>")

# --- Security -----------------------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG and PUBLIC_BASE_URL.startswith("https://"))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", False) else None
# How many proxies in front of us append to X-Forwarded-For; the client is that many entries from the right
# (studio/clientip.py). BEHIND_PROXY=1 alone means one.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1 if env_bool("BEHIND_PROXY", False) else 0)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Internationalisation ---------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media files ---------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "var" / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"

AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
if AWS_STORAGE_BUCKET_NAME:
    _media_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env_str("AWS_S3_REGION_NAME") or None,
            "default_acl": "private",
            "signature_version": "s3v4",
            "querystring_auth": True,  # every URL we hand out is presigned and expires
            "querystring_expire": env_int("AWS_QUERYSTRING_EXPIRE", 3600, min_value=60),
            "file_overwrite": False,
        },
    }
else:
    _media_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": MEDIA_URL},
    }
STORAGES = {
    "default": _media_storage,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
SIGNED_FILE_URL_MAX_AGE = env_int("SIGNED_FILE_URL_MAX_AGE", 3600, min_value=60)

# Upload limits (providers.md §6 rule 9). The request body cap is slightly above one image so a single oversized file
# is refused before it is buffered whole; multi-file uploads are streamed to disk by Django's temporary-file handler.
ASSET_MAX_BYTES = env_int("ASSET_MAX_BYTES", 20 * 1024 * 1024, min_value=1)
ASSET_MAX_SIDE = 10_000
ASSET_MAX_PIXELS = 40_000_000
ASSET_MAX_FILES_PER_UPLOAD = 20
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_HANDLERS = [
    "studio.assets.upload_handlers.SizeLimitedUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
OUTPUT_MAX_BYTES = env_int("OUTPUT_MAX_BYTES", 500 * 1024 * 1024, min_value=1)

# --- Cache (allauth rate limits, webhook replay protection, provider circuit breakers) ----------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
_redis_url = env_str("REDIS_URL") or (CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "")
if _redis_url:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _redis_url}}
else:
    # Shared between the web process and the Celery worker, unlike LocMemCache.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Celery ---------------------------------------------------------------------------------------------------------
# Workload: short provider calls (submit, poll) and long downloads (finalize), all idempotent (compare-and-set state
# changes; the submit claims its one send before sending), so each generation task opts into acks_late +
# reject_on_worker_lost (generations/tasks.py); the global default stays off for tasks that are not idempotent.
# Every time limit and every countdown stays well under the visibility timeout: an unacked task is never redelivered
# while its first run (or its countdown) is still alive. Prefetch 1: a long finalize never hoards submits.
CELERY_BROKER_VISIBILITY_TIMEOUT = 3600
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "control_folder": str(_broker_dir / "control"),  # kombu's default is ./control, in whatever the cwd is
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # kombu's virtual transports sleep this long whenever the prefetch window is full (acks_late tasks running),
        # not only when the queues are empty: at the default 1 s a worker takes about 4 messages a second.
        "polling_interval": 0.1,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_DEFAULT_QUEUE = "default"
# Declared explicitly so a worker started without -Q consumes every queue.
CELERY_TASK_QUEUES = {name: {"routing_key": name} for name in ("default", "submit", "poll", "finalize")}
CELERY_TASK_ROUTES = {
    "generations.tasks.job_submit": {"queue": "submit"},
    "generations.tasks.job_poll": {"queue": "poll"},
    "generations.tasks.job_finalize": {"queue": "finalize"},
    "generations.tasks.dispatch_queued": {"queue": "default"},
    "generations.tasks.reconcile_jobs": {"queue": "default"},
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
CELERY_TASK_ACKS_LATE = False  # opted into per task, only where the task is idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
_reconcile_every = env_float("GENERATIONS_RECONCILE_SECONDS", 60.0)
CELERY_BEAT_SCHEDULE = {
    "reconcile-jobs": {"task": "generations.tasks.reconcile_jobs", "schedule": timedelta(seconds=_reconcile_every)},
    "dispatch-queued": {
        "task": "generations.tasks.dispatch_queued",
        "schedule": timedelta(seconds=min(15.0, _reconcile_every)),
    },
    "reconcile-ledger": {"task": "billing.tasks.reconcile_ledger", "schedule": crontab(minute=17)},
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# The generation pipeline's timings (generations/services/config.py documents each). Poll countdowns are capped at
# GENERATIONS_POLL_MAX_SECONDS, far below CELERY_BROKER_VISIBILITY_TIMEOUT.
GENERATIONS_POLL_BASE_SECONDS = env_float("GENERATIONS_POLL_BASE_SECONDS", 2.0)
GENERATIONS_POLL_MAX_SECONDS = env_float("GENERATIONS_POLL_MAX_SECONDS", 30.0)
GENERATIONS_REQUEUE_BASE_SECONDS = env_float("GENERATIONS_REQUEUE_BASE_SECONDS", 5.0)
GENERATIONS_STUCK_SECONDS = env_float("GENERATIONS_STUCK_SECONDS", 120.0)
GENERATIONS_UNKNOWN_GRACE_SECONDS = env_float("GENERATIONS_UNKNOWN_GRACE_SECONDS", 900.0)
GENERATIONS_PROVIDER_HORIZON_SECONDS = env_float("GENERATIONS_PROVIDER_HORIZON_SECONDS", 24 * 3600.0)
GENERATIONS_QUEUE_HORIZON_SECONDS = env_float("GENERATIONS_QUEUE_HORIZON_SECONDS", 24 * 3600.0)
GENERATIONS_MAX_SUBMIT_ATTEMPTS = env_int("GENERATIONS_MAX_SUBMIT_ATTEMPTS", 20, min_value=1)
GENERATIONS_CIRCUIT_THRESHOLD = env_int("GENERATIONS_CIRCUIT_THRESHOLD", 5, min_value=1)
GENERATIONS_CIRCUIT_COOLDOWN_SECONDS = env_float("GENERATIONS_CIRCUIT_COOLDOWN_SECONDS", 60.0)
# The poll engine (generations/services/poll.py): scheduled polls are due times a sweep claims, on its own queue
# ("sweep"); "poll" carries the one-job fetches a webhook or the reconciler asks for, so they never wait behind a
# sweep, a submit or a finalize. `run_local`, compose and the e2e fixtures run a poller worker on both.
CELERY_TASK_QUEUES["sweep"] = {"routing_key": "sweep"}
CELERY_TASK_ROUTES["generations.tasks.poll_sweep"] = {"queue": "sweep"}
GENERATIONS_POLL_SWEEP_SECONDS = env_float("GENERATIONS_POLL_SWEEP_SECONDS", 1.0)
CELERY_BEAT_SCHEDULE["poll-sweep"] = {
    "task": "generations.tasks.poll_sweep",
    "schedule": timedelta(seconds=GENERATIONS_POLL_SWEEP_SECONDS),
    "options": {"expires": max(2.0, 2 * GENERATIONS_POLL_SWEEP_SECONDS)},
}
GENERATIONS_POLL_DENSE_SECONDS = env_float("GENERATIONS_POLL_DENSE_SECONDS", 1.0)
GENERATIONS_POLL_SWEEP_BUDGET_SECONDS = env_float("GENERATIONS_POLL_SWEEP_BUDGET_SECONDS", 10.0)
GENERATIONS_POLL_LEASE_SECONDS = env_float("GENERATIONS_POLL_LEASE_SECONDS", 60.0)
GENERATIONS_POLL_BATCH_SIZE = env_int("GENERATIONS_POLL_BATCH_SIZE", 200, min_value=1)
GENERATIONS_POLL_CONCURRENCY = env_int("GENERATIONS_POLL_CONCURRENCY", 16, min_value=1)

# --- Providers ------------------------------------------------------------------------------------------------------
# A provider with no API key talks to the emulators (DESIGN.md §5), so a newcomer generates with no keys at all.
EMULATOR_URL = env_str("EMULATOR_URL", "http://127.0.0.1:8765").rstrip("/")
# Each provider's facts (real and emulator base URLs, env prefix, default concurrency, the emulator's dev webhook
# secret) live in its adapter; the registry builds PROVIDERS from them and the environment.
from generations.providers.registry import providers_setting  # noqa: E402

PROVIDERS: dict[str, dict[str, object]] = providers_setting(emulator_url=EMULATOR_URL)
# Seconds to wait for a provider: to connect (an unreachable provider is a definite, non-billable refusal) and to
# read an answer (a create whose answer does not come in time is ambiguous and is never resent).
PROVIDER_HTTP_TIMEOUT = {
    "connect": env_float("PROVIDER_HTTP_CONNECT_TIMEOUT", 5.0),
    "read": env_float("PROVIDER_HTTP_TIMEOUT", 30.0),
}
DASHSCOPE_STATUS_QPS = env_int("DASHSCOPE_STATUS_QPS", 20, min_value=1)  # DashScope: 20 task queries/s per account
PIXVERSE_WEBHOOK_VERIFY = env_bool("PIXVERSE_WEBHOOK_VERIFY", True)
# Hosts the SSRF guard lets through although they resolve to private/loopback addresses. The emulators are NOT
# listed: an emulated provider's own emulator origin is allowed for that provider only
# (generations.providers.registry.download_allowed_hosts; issue 13, finding 6).
SSRF_ALLOWED_HOSTS = env_list("SSRF_ALLOWED_HOSTS", [])
# An emulated provider (no API key) is not selectable beside real ones unless this is on (issue 13, finding 6).
ALLOW_EMULATED_BESIDE_REAL = env_bool("ALLOW_EMULATED_BESIDE_REAL", False)

# --- Billing ----------------------------------------------------------------------------------------------------------
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env_str("STRIPE_API_BASE")  # tests point the SDK at a local fake of Stripe's API
DEMO_CREDITS = env_int("DEMO_CREDITS", 5000, min_value=0)
LOW_BALANCE_CREDITS = env_int("LOW_BALANCE_CREDITS", 200, min_value=0)

# --- REST API and outgoing webhooks (issue 11) ---------------------------------------------------------------------
# Per-token limits: (requests, window in seconds) for generation submissions and asset uploads.
API_RATE_LIMITS = {
    "submit": (env_int("API_SUBMIT_LIMIT", 60, min_value=1), env_int("API_SUBMIT_WINDOW_SECONDS", 60, min_value=1)),
    "upload": (env_int("API_UPLOAD_LIMIT", 120, min_value=1), env_int("API_UPLOAD_WINDOW_SECONDS", 60, min_value=1)),
}
# Delays between delivery attempts of one webhook message (Standard Webhooks' schedule, about a day in all), then give
# up; an endpoint whose deliveries kept failing for WEBHOOK_DISABLE_AFTER_SECONDS is disabled and its admins told.
WEBHOOK_RETRY_SCHEDULE = [
    float(x) for x in env_list("WEBHOOK_RETRY_SCHEDULE", ["5", "300", "1800", "7200", "18000", "28800", "28800"])
]
WEBHOOK_DISABLE_AFTER_SECONDS = env_float("WEBHOOK_DISABLE_AFTER_SECONDS", 24 * 3600.0)
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0)
WEBHOOK_SWEEP_SECONDS = env_float("WEBHOOK_SWEEP_SECONDS", 10.0)
# Old secrets keep signing (beside the new one) for this long after a rotation, so receivers can switch over.
WEBHOOK_SECRET_OVERLAP_SECONDS = env_int("WEBHOOK_SECRET_OVERLAP_SECONDS", 24 * 3600, min_value=0)
# Webhook targets the SSRF guard lets through although private (never the emulators' allowance: tests only).
WEBHOOK_ALLOWED_HOSTS = env_list("WEBHOOK_ALLOWED_HOSTS", [])
CELERY_TASK_ROUTES["studio.webhooks.tasks.webhook_deliver"] = {"queue": "default"}
CELERY_BEAT_SCHEDULE["webhooks-deliver-due"] = {
    "task": "studio.webhooks.tasks.webhook_deliver_due",
    "schedule": timedelta(seconds=WEBHOOK_SWEEP_SECONDS),
}

# --- Logging ----------------------------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}

# --- Moderation (issue 8) ---------------------------------------------------------------------------------------------
# Defaults of the deployment's policy row (staff edit it on the review queue's policy page; the row then wins).
MODERATION_HIDE_UNTIL_REVIEWED = env_bool("MODERATION_HIDE_UNTIL_REVIEWED", True)
MODERATION_REFUND_PROVIDER_FLAGGED = env_bool("MODERATION_REFUND_PROVIDER_FLAGGED", True)
MODERATION_REFUND_MEMBER_REPORTED = env_bool("MODERATION_REFUND_MEMBER_REPORTED", False)
MODERATION_APPEAL_WINDOW_DAYS = env_int("MODERATION_APPEAL_WINDOW_DAYS", 20, min_value=1)
MODERATION_CLAIM_MINUTES = env_int("MODERATION_CLAIM_MINUTES", 30, min_value=1)
CELERY_BEAT_SCHEDULE["purge-quarantine"] = {
    "task": "studio.moderation.tasks.purge_quarantine",
    "schedule": crontab(minute=41, hour=3),
}

# --- Studio: library downloads and the submit give-up (issue 10) -----------------------------------------------------
# A multi-select zip larger than LIBRARY_ZIP_MAX_BYTES is refused; one with more than LIBRARY_ZIP_STREAM_MAX_FILES
# videos (or over LIBRARY_ZIP_STREAM_MAX_BYTES) is built by a Celery task with progress instead of streamed at once.
LIBRARY_ZIP_MAX_BYTES = env_int("LIBRARY_ZIP_MAX_BYTES", 2 * 1024**3, min_value=1)
LIBRARY_ZIP_STREAM_MAX_FILES = env_int("LIBRARY_ZIP_STREAM_MAX_FILES", 20, min_value=1)
LIBRARY_ZIP_STREAM_MAX_BYTES = env_int("LIBRARY_ZIP_STREAM_MAX_BYTES", 500 * 1024**2, min_value=1)
# A job whose provider keeps refusing (5xx, 429, 500044, connection failures) gives up after this many seconds in
# the queue and its hold is released, whatever the attempt count (generations/services/config.py).
GENERATIONS_SUBMIT_GIVE_UP_SECONDS = env_float("GENERATIONS_SUBMIT_GIVE_UP_SECONDS", 600.0)

# --- Hardening (issue 13) -------------------------------------------------------------------------------------------
# Every request's path, query and url-encoded form: NUL bytes and overlong values answer 400 (studio/middleware.py).
MIDDLEWARE.insert(
    MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1, "studio.middleware.BadInputMiddleware"
)
MIDDLEWARE.append("studio.middleware.FriendlyErrorPagesMiddleware")  # the debug 404 page is for staff only
INPUT_MAX_VALUE_CHARS = env_int("INPUT_MAX_VALUE_CHARS", 4096, min_value=256)
INPUT_MAX_FORM_VALUE_CHARS = env_int("INPUT_MAX_FORM_VALUE_CHARS", 65536, min_value=4096)
# Stripe webhook: bodies over the cap are refused unread; unverified deliveries leave only a capped excerpt row,
# at most STRIPE_REJECTED_KEEP of them; retention of the delivery log (billing.tasks.prune_stripe_events, daily).
STRIPE_WEBHOOK_MAX_BYTES = env_int("STRIPE_WEBHOOK_MAX_BYTES", 256 * 1024, min_value=1024)
STRIPE_REJECTED_KEEP = env_int("STRIPE_REJECTED_KEEP", 200, min_value=1)
STRIPE_REJECTED_RETENTION_DAYS = env_int("STRIPE_REJECTED_RETENTION_DAYS", 7, min_value=1)
STRIPE_EVENT_RETENTION_DAYS = env_int("STRIPE_EVENT_RETENTION_DAYS", 400, min_value=1)
CELERY_BEAT_SCHEDULE["prune-stripe-events"] = {
    "task": "billing.tasks.prune_stripe_events",
    "schedule": crontab(hour=3, minute=41),
}
# HTTPS and headers. On by default in production (DEBUG off and an https PUBLIC_BASE_URL), each overridable by env;
# `manage.py check --deploy --fail-level WARNING` reports 0 issues with production values (tests/hardening).
_https_deploy = not DEBUG and PUBLIC_BASE_URL.startswith("https://")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _https_deploy)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]  # probes and scrapers talk plain HTTP inside
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if _https_deploy else 0, min_value=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Content-Security-Policy (django-csp). No inline scripts anywhere: scripts are files under static/js/ (README,
# "No inline scripts"). Styles may be inline (htmx injects its indicator style). Media may come from S3.
INSTALLED_APPS.append("csp")
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "csp.middleware.CSPMiddleware")
_media_origins = env_list("CSP_MEDIA_ORIGINS", [])
if AWS_STORAGE_BUCKET_NAME and not _media_origins:
    _endpoint = urlsplit(env_str("AWS_S3_ENDPOINT_URL"))
    _media_origins = [f"{_endpoint.scheme}://{_endpoint.netloc}"] if _endpoint.netloc else ["https://*.amazonaws.com"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *_media_origins],
        "media-src": ["'self'", "blob:", *_media_origins],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Upload work bounds (studio/assets/budget.py): pixels decoded per request and per user per window, concurrent
# decodes per process and how long a decode waits for a slot before the file is refused as busy (429).
ASSET_PIXEL_BUDGET_PER_REQUEST = env_int("ASSET_PIXEL_BUDGET_PER_REQUEST", 250_000_000, min_value=1)
ASSET_PIXEL_BUDGET_PER_USER = env_int("ASSET_PIXEL_BUDGET_PER_USER", 1_000_000_000, min_value=1)
ASSET_PIXEL_BUDGET_WINDOW_SECONDS = env_int("ASSET_PIXEL_BUDGET_WINDOW_SECONDS", 600, min_value=60)
ASSET_DECODE_CONCURRENCY = env_int("ASSET_DECODE_CONCURRENCY", 2, min_value=1)
ASSET_DECODE_WAIT_SECONDS = env_float("ASSET_DECODE_WAIT_SECONDS", 15.0)
# Two-factor authentication (allauth.mfa): TOTP apps and recovery codes; teams may require it (studio/accounts/mfa.py).
INSTALLED_APPS.append("allauth.mfa")
MIDDLEWARE.append("studio.accounts.mfa.TeamMfaMiddleware")
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env_str("MFA_TOTP_ISSUER", "Studio")
# Single sign-on with any OpenID Connect provider (allauth's openid_connect), configured by environment: set
# OIDC_SERVER_URL (the issuer; its /.well-known/openid-configuration is read), OIDC_CLIENT_ID and OIDC_CLIENT_SECRET.
# An SSO sign-in links to an existing account only through an email the provider says is verified.
INSTALLED_APPS += ["allauth.socialaccount", "allauth.socialaccount.providers.openid_connect"]
SOCIALACCOUNT_ADAPTER = "studio.accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True  # allauth matches provider-verified emails only
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_LOGIN_ON_GET = False  # starting a sign-in is a POST (no login CSRF)
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_STORE_TOKENS = False
OIDC_PROVIDER_ID = env_str("OIDC_PROVIDER_ID", "sso")
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, object]] = {"openid_connect": {"APPS": []}}
if env_str("OIDC_CLIENT_ID"):
    SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"] = [
        {
            "provider_id": OIDC_PROVIDER_ID,
            "name": env_str("OIDC_PROVIDER_NAME", "Single sign-on"),
            "client_id": env_str("OIDC_CLIENT_ID"),
            "secret": env_str("OIDC_CLIENT_SECRET"),
            "settings": {"server_url": env_str("OIDC_SERVER_URL"), "oauth_pkce_enabled": True},
        }
    ]
# The operator's view (studio/operations.py): /metrics for Prometheus behind a bearer token (no token: no endpoint),
# and the staff page /system/.
METRICS_TOKEN = env_str("METRICS_TOKEN")
# Structured logs (studio/logs.py): JSON lines with request, task, job and team ids; plain text with LOG_JSON=0.
from studio.logs import configure_structlog, logging_config  # noqa: E402

INSTALLED_APPS.append("django_structlog")
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "django_structlog.middlewares.RequestMiddleware",
)
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False  # studio.logs binds the client IP through the trusted proxies instead
DJANGO_STRUCTLOG_CELERY_ENABLED = True
# Behind our own proxies, keep the request id the proxy assigned, so its access log and ours line up.
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = env_bool("TRUST_UPSTREAM_REQUEST_ID", TRUSTED_PROXY_COUNT > 0)
LOGGING = logging_config(json=env_bool("LOG_JSON", not DEBUG), level=env_str("LOG_LEVEL", "INFO"))
configure_structlog()
