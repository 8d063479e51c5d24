"""The one settings file. Every deploy-specific value comes from the environment (``studio/env.py``).

Defaults are for ``make run`` on a laptop: SQLite, local media, a filesystem Celery broker under ``var/``, and the
provider emulators on 127.0.0.1:8765. Production sets DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY, ALLOWED_HOSTS,
AWS_STORAGE_BUCKET_NAME, PUBLIC_BASE_URL and the provider/Stripe keys (see README.md).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

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
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set (DEBUG=1 allows a development key).")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105

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
    "generations",
    "billing",
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
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
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

# --- Logging ----------------------------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}
