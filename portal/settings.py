"""Beacon settings: one file, every knob read from the environment.

See the configuration table in README.md for every variable. Unset
DATABASE_URL/REDIS_URL give the embedded defaults (SQLite, local-memory cache)
that `make demo` runs on.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from portal.broker import transport_options
from portal.contributions import (  # noqa: F401
    CHART_BANDS,
    DEVICE_SECTIONS,
    HEALTH_CHECKS,
    OVERVIEW_SECTIONS,
    STATUS_SECTIONS,
)
from portal.env import (
    env_bool,
    env_database,
    env_int,
    env_int_list,
    env_list,
    env_secret,
    env_str,
    env_url,
)
from portal.logging import logging_config
from portal.postgresql import with_timeouts

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("BEACON_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
DEMO_MODE = env_bool("BEACON_DEMO", False)

_INSECURE_KEY = "insecure-dev-key-do-not-use-in-production"
SECRET_KEY = env_secret("SECRET_KEY", _INSECURE_KEY)
if not DEBUG and SECRET_KEY == _INSECURE_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG=0. For development set DEBUG=1 "
        "(or run `make manage ARGS=...`, which uses the demo's environment); in production set SECRET_KEY, "
        "generated with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )

# Previous secret keys still accepted for sessions and signed values while SECRET_KEY rotates
# (comma-separated; docs/operations.md "Rotating the secret key and the pepper").
SECRET_KEY_FALLBACKS = [key.strip() for key in env_secret("SECRET_KEY_FALLBACKS").split(",") if key.strip()]

# Pepper mixed into every API-key digest; a database dump alone cannot be
# brute-forced without it. Changing it invalidates every issued key.
API_KEY_PEPPER = env_secret("API_KEY_PEPPER", "" if not DEBUG else "insecure-dev-pepper")
if not API_KEY_PEPPER:
    raise ImproperlyConfigured(
        "API_KEY_PEPPER (or API_KEY_PEPPER_FILE) must be set when DEBUG=0. For development set DEBUG=1; in "
        "production set it once (changing it invalidates every API key), e.g. python -c 'import secrets; "
        "print(secrets.token_urlsafe(32))'"
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "portal.admin_config.BeaconAdminConfig",  # django.contrib.admin + actions need "change"
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_ratelimit",
    "axes",
    "accounts",
    "django_celery_beat",
    "devices",
    "timeseries",
    "notifications",
    "ingest",
    "quotas",
    "loadtests",
    "registry",
    "alerts",
    # Last: the top layer (management commands such as setup_periodic_tasks, the post-migrate hook).
    "portal",
]

MIDDLEWARE = [
    "portal.middleware.RequestContextMiddleware",
    "portal.api.opsmetrics.MetricsMiddleware",  # requests by route template, latency (/-/metrics)
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
    "portal.middleware.BrowserMiddleware",  # sessions, CSRF, auth, messages; not for calls with an API key
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.pages.errors.PageErrorMiddleware",  # customer pages' 404 and database-down 503 (docs/portal.md)
    # Last, as django-axes asks: turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "accounts.context_processors.organizations",
                "portal.pages.context.page_settings",
            ],
        },
    },
]

# --- Database: Postgres via DATABASE_URL, else the embedded SQLite file ---
# A down or frozen database must cost a request seconds, not forever (docs/operations.md "Timeouts").
DB_CONNECT_TIMEOUT = env_int("DB_CONNECT_TIMEOUT", 5, minimum=0)
DB_STATEMENT_TIMEOUT = env_int("DB_STATEMENT_TIMEOUT", 15_000, minimum=0)
_DATABASE = env_database("DATABASE_URL", conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
if _DATABASE:
    if _DATABASE["ENGINE"] == "django.db.backends.postgresql":
        _DATABASE = with_timeouts(
            _DATABASE,
            connect_timeout=DB_CONNECT_TIMEOUT,
            statement_timeout_ms=DB_STATEMENT_TIMEOUT,
            answer_grace_ms=2_000,
        )
    DATABASES = {"default": _DATABASE}  # type: ignore[dict-item]
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "beacon.sqlite3"),
            # WAL lets the demo's pusher write while pages read.
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;", "timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: Redis when configured; local memory only for the single-process demo ---
_REDIS_SCHEMES = ("redis", "rediss", "unix")
CACHE_URL = env_url("CACHE_URL", schemes=_REDIS_SCHEMES, example="redis://127.0.0.1:6379/0") or env_url(
    "REDIS_URL", schemes=_REDIS_SCHEMES, example="redis://127.0.0.1:6379/0"
)
if CACHE_URL:
    CACHES = {
        "default": {
            # django-redis increments atomically in one Lua call, which django-ratelimit's counters
            # need (Django's own RedisCache.incr is EXISTS then INCRBY: a counter expiring in
            # between comes back without a TTL and never resets).
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "beacon",
            # A frozen Redis must cost milliseconds, not a second per request; after a failure the rate
            # limiter skips the cache for CACHE_RETRY_SECONDS (portal/api/ratelimit.py).
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": env_int("CACHE_CONNECT_TIMEOUT_MS", 100, minimum=1) / 1000,
                "SOCKET_TIMEOUT": env_int("CACHE_SOCKET_TIMEOUT_MS", 100, minimum=1) / 1000,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "beacon"}}

# --- Celery (portal/celery.py; docs/operations.md "Worker and beat") ---
# Redis in production (CELERY_BROKER_URL=redis://host:6379/1, a db of its own: never the cache's, whose
# eviction could drop queued tasks). Unset → kombu's filesystem transport under VAR_DIR/celery: no server,
# but a real queue that separate worker and beat processes on this host consume (the embedded demo).
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL",
    schemes=("redis", "rediss", "amqp", "amqps", "filesystem"),
    example="redis://127.0.0.1:6379/1",
    default="filesystem://localhost/",
)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360, minimum=1)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_TIME_LIMIT must be above CELERY_TASK_SOFT_TIME_LIMIT.")
CELERY_BROKER_TRANSPORT_OPTIONS = transport_options(
    CELERY_BROKER_URL,
    var_dir=VAR_DIR,
    task_time_limit=CELERY_TASK_TIME_LIMIT,
    socket_timeout_s=env_int("CELERY_BROKER_TIMEOUT_MS", 2000, minimum=100) / 1000,
)
# A publish retries twice within about half a second, then raises: callers that enqueue keep a row
# the periodic sweep picks up (notifications' Delivery), so a broker outage only delays work.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
# No result backend by default: tasks are fire-and-forget and record their outcome in the database and
# the logs; nothing waits on a result. Set one (e.g. redis://host:6379/2) only if a feature needs results.
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Acknowledge after the task ran, and requeue it if the worker process dies mid-task: tasks are idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One message at a time per worker process, so a long task does not sit on prefetched ones.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Workers and beat log through LOGGING below (JSON lines), not Celery's own formatter.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Save each entry's last_run_at as soon as beat sends it: /health/ready reads it as the beat's heartbeat.
CELERY_BEAT_SYNC_EVERY = 1
# Every beat schedule, defined in code; `manage.py setup_periodic_tasks` (also run after `migrate`) writes
# them as django-celery-beat rows. Tasks are named by their Celery name, so portal imports no app.
# schedule: seconds (int) or crontab fields (dict); optional: kwargs, options (expires, queue, priority).
BEAT_HEARTBEAT_SECONDS = env_int("BEAT_HEARTBEAT_SECONDS", 30, minimum=1)
# /health/ready reports the beat "degraded" when its last tick is older than this.
BEAT_STALE_SECONDS = env_int("BEAT_STALE_SECONDS", 4 * BEAT_HEARTBEAT_SECONDS, minimum=1)
PERIODIC_TASKS: dict[str, dict[str, object]] = {
    "registry-prune": {"task": "registry.prune", "schedule": 60, "options": {"expires": 60}},  # TTL expiry
    "beat-heartbeat": {
        "task": "portal.beat_heartbeat",
        "schedule": BEAT_HEARTBEAT_SECONDS,
        "options": {"expires": BEAT_HEARTBEAT_SECONDS},
    },
    "timeseries-retention": {
        "task": "timeseries.prune_timeseries",
        "schedule": {"minute": "17", "hour": "3"},  # daily, off the hour
    },
    # One fixed tick enqueues every scrape target whose own interval has elapsed (design decision 7).
    "quotas-scrape-due": {
        "task": "quotas.scrape_due",
        "schedule": 10,
        "options": {"expires": 10},
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
CELERY_TIMEZONE = TIME_ZONE  # crontab schedules are read in this zone
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [p for p in [BASE_DIR / "static"] if p.exists()]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Serve straight from the finders when collectstatic has not run (tests, demo).
WHITENOISE_USE_FINDERS = DEBUG

# --- Email ---
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "beacon@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 15, minimum=1)

# --- Notifications (docs/notifications.md) ---
# Links in emails, webhooks and client output are built from this (no trailing slash needed).
PUBLIC_URL = env_str("PUBLIC_URL", "http://127.0.0.1:8000")
# Seconds between delivery attempts: Standard Webhooks' example schedule (5 s ... 24 h) after the first try.
NOTIFY_RETRY_DELAYS = env_int_list("NOTIFY_RETRY_DELAYS", [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400])
NOTIFY_WEBHOOK_TIMEOUT_SECONDS = env_int("NOTIFY_WEBHOOK_TIMEOUT_SECONDS", 15, minimum=1)
# Outbound URLs (webhooks, scrape targets) may reach loopback/private addresses; link-local and
# cloud-metadata addresses are refused regardless (portal/netguard.py).
SCRAPE_ALLOW_PRIVATE = env_bool("SCRAPE_ALLOW_PRIVATE", False)
# The sweep delivers whatever is due (first attempts whose message was lost, every retry); `expires` drops
# ticks a busy worker could not start in time instead of piling them up.
PERIODIC_TASKS["notifications-deliver-due"] = {
    "task": "notifications.deliver_due",
    "schedule": 5,
    "options": {"expires": 5},
}

# --- Production hardening (DEBUG=0): `manage.py check --deploy` is clean ---
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Load balancers probe health, and Prometheus scrapes /metrics, over the internal network in plain
    # HTTP (Prometheus sends no X-Forwarded-Proto); a redirect would fail them. Keep /metrics off the
    # public proxy (docs/operations.md).
    SECURE_REDIRECT_EXEMPT = [r"^health(/|$)", r"^metrics$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env_bool("TRUST_X_FORWARDED_PROTO", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"

# --- API ---
REST_FRAMEWORK = {
    # A key, or a member's session (read endpoints; CSRF on unsafe methods). Writes list only the key class.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "accounts.authentication.MemberSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["portal.api.permissions.HasScope"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.CursorPagination",  # docs/api.md "Pagination"
    "PAGE_SIZE": 100,
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Beacon API",
    "DESCRIPTION": "Edge device and API gateway monitoring. Authenticate with an API key: "
    "`Authorization: Bearer bcn_...`, `Authorization: Token bcn_...` or `X-API-Key: bcn_...`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Several models have a `kind`; name each choice set after its model (else drf-spectacular warns).
    "ENUM_NAME_OVERRIDES": {
        "AlertRuleKindEnum": "alerts.models.AlertRule.Kind",
        "AlertEventKindEnum": "alerts.models.AlertEvent.Kind",
        "ScrapeTargetKindEnum": "quotas.models.ScrapeTarget.Kind",
        "GaugeKindEnum": [("gauge", "gauge"), ("counter", "counter")],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portal.api.schema.postprocess_constraints",
    ],
}

# Default request budget per API key, overridable per key in the admin.
API_KEY_DEFAULT_RATE = env_str("API_KEY_DEFAULT_RATE", "600/m")
# Grace period during which a rotated key keeps working.
# Successful key authentications are remembered per process this long; a key revoked elsewhere may keep
# working in other workers for up to this many seconds (accounts/key_cache.py). 0 disables.
API_KEY_CACHE_SECONDS = env_int("API_KEY_CACHE_SECONDS", 5, minimum=0)
API_KEY_ROTATION_GRACE_HOURS = env_int("API_KEY_ROTATION_GRACE_HOURS", 24, minimum=0)

# Members sign in here (Django's login view); API calls from their browser then carry the session.
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"  # the landing page sends a member on to their organization's overview
LOGOUT_REDIRECT_URL = "/"

# How often the device page's charts and latest values refresh themselves, in seconds.
PAGES_REFRESH_SECONDS = 10

# --- Ingest limits and rate limiting ---
# Metric writes (POST /api/v1/metrics, /api/v2/write); see docs/api.md "Limits".
INGEST_MAX_BODY_BYTES = env_int("INGEST_MAX_BODY_BYTES", 10 * 1024 * 1024, minimum=1)  # as sent (maybe gzip)
# Caps what a gzip body may inflate to, so a small bomb cannot exhaust memory.
INGEST_MAX_DECOMPRESSED_BYTES = env_int("INGEST_MAX_DECOMPRESSED_BYTES", 50 * 1024 * 1024, minimum=1)
INGEST_MAX_LINES = env_int("INGEST_MAX_LINES", 10_000, minimum=1)  # points per request
INGEST_MAX_TAGS = env_int("INGEST_MAX_TAGS", 32, minimum=1)  # per point, including `device`
INGEST_MAX_FIELDS = env_int("INGEST_MAX_FIELDS", 200, minimum=1)  # per point
INGEST_MAX_NAME_LENGTH = env_int("INGEST_MAX_NAME_LENGTH", 128, minimum=1)  # measurement, tag and field keys
INGEST_MAX_TAG_VALUE_LENGTH = env_int("INGEST_MAX_TAG_VALUE_LENGTH", 256, minimum=1)
INGEST_MAX_STRING_LENGTH = env_int("INGEST_MAX_STRING_LENGTH", 4096, minimum=0)  # string field values
INGEST_MAX_AGE_SECONDS = env_int("INGEST_MAX_AGE_SECONDS", 30 * 24 * 3600, minimum=1)  # oldest accepted point
INGEST_MAX_FUTURE_SECONDS = env_int("INGEST_MAX_FUTURE_SECONDS", 300, minimum=0)  # clock skew allowed
INGEST_DEFAULT_MEASUREMENT = env_str("INGEST_DEFAULT_MEASUREMENT", "edge")  # JSON bodies without one
# last_seen_at is written at most once per this many seconds per device.
INGEST_SEEN_RESOLUTION_SECONDS = env_int("INGEST_SEEN_RESOLUTION_SECONDS", 5, minimum=1)
# Retry-After sent with 503 when the time-series store is unreachable.
INGEST_RETRY_AFTER_SECONDS = env_int("INGEST_RETRY_AFTER_SECONDS", 10, minimum=1)
# History answers are capped; without `step` one is chosen to stay under it.
HISTORY_MAX_POINTS = env_int("HISTORY_MAX_POINTS", 1000, minimum=1)
# Series per field a group_by history query may answer (one per group of tag values with points in range).
HISTORY_MAX_GROUPS = env_int("HISTORY_MAX_GROUPS", 50, minimum=1)
# django-ratelimit: counts live in the default cache (Redis when REDIS_URL/CACHE_URL is set).
RATELIMIT_ENABLE = env_bool("RATELIMIT_ENABLE", True)
RATELIMIT_CACHE_PREFIX = "rl:"
# Budget per client IP for requests without a valid key (failed authentications count).
RATELIMIT_ANONYMOUS_RATE = env_str("RATELIMIT_ANONYMOUS_RATE", "60/m")
# If the cache is down, let traffic through (and log) rather than refuse every write.
RATELIMIT_FAIL_OPEN = env_bool("RATELIMIT_FAIL_OPEN", True)
RATELIMIT_LEASE_MAX = env_int("RATELIMIT_LEASE_MAX", 100, minimum=1)  # tokens per Redis call (docs/api.md)
# After a cache failure, this many seconds pass before the rate limiter tries the cache again.
CACHE_RETRY_SECONDS = env_int("CACHE_RETRY_SECONDS", 1, minimum=0)
# Retry-After sent with a 503 when the database (or, with RATELIMIT_FAIL_OPEN=0, the cache) is down.
OUTAGE_RETRY_AFTER_SECONDS = env_int("OUTAGE_RETRY_AFTER_SECONDS", 5, minimum=1)

# --- Login throttling (django-axes; docs/admin.md "Login throttling") ---
# Failed logins are counted per (username, client address) in the default cache, shared by every
# worker (Redis in production). At LOGIN_FAILURE_LIMIT failures that pair is locked out, even with
# the right password, until LOGIN_LOCKOUT_MINUTES pass without a further attempt.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out login before the password check
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_CACHE = "default"
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
# Username and address together: an attacker locks out only their own tries, not the admin's
# logins from elsewhere. (Behind a reverse proxy every client shares the proxy's address, so the
# lock becomes per username.)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ADMIN = False  # the cache handler keeps no rows for the admin to list
AXES_VERBOSE = False  # no banner per process start; failures are still logged (username and address masked)
AXES_COOLOFF_MESSAGE = (
    f"Too many failed logins for this username from your address: logins are refused for "
    f"{LOGIN_LOCKOUT_MINUTES} minutes after the last attempt. Wait, or ask an administrator to unlock it."
)

# Sessions, CSRF, auth and messages run inside portal.middleware.BrowserMiddleware; its check (portal.E001) stands in.
SILENCED_SYSTEM_CHECKS = ["admin.E408", "admin.E409", "admin.E410", "security.W003"]
_CACHE_BACKEND = str(CACHES["default"]["BACKEND"])
if _CACHE_BACKEND.endswith("LocMemCache"):  # the one-process demo: a per-process counter is the shared counter
    SILENCED_SYSTEM_CHECKS += ["django_ratelimit.E003", "django_ratelimit.W001", "axes.W001"]

# --- Logging: JSON lines to stdout and a size-rotated file ---
LOG_DIR = Path(env_str("LOG_DIR", str(BASE_DIR / "logs")))
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
# stdout may be quieter than the file: `make demo` sets WARNING so access lines do not scroll its banner away.
LOG_CONSOLE_LEVEL = env_str("LOG_CONSOLE_LEVEL", LOG_LEVEL).upper()
LOG_FILE_MAX_BYTES = env_int("LOG_FILE_MAX_BYTES", 10 * 1024 * 1024, minimum=0)
LOG_FILE_BACKUP_COUNT = env_int("LOG_FILE_BACKUP_COUNT", 5, minimum=0)
LOG_DIR.mkdir(parents=True, exist_ok=True)
LOGGING = logging_config(
    log_dir=LOG_DIR,
    level=LOG_LEVEL,
    console_level=LOG_CONSOLE_LEVEL,
    max_bytes=LOG_FILE_MAX_BYTES,
    backup_count=LOG_FILE_BACKUP_COUNT,
)

# --- Time-series store (docs/timeseries.md) ---
TIMESERIES_BACKEND = env_str("TIMESERIES_BACKEND", "sql").strip().lower()
if TIMESERIES_BACKEND not in ("sql", "influx"):
    raise ImproperlyConfigured(f"TIMESERIES_BACKEND={TIMESERIES_BACKEND!r} is unknown; use 'sql' or 'influx'.")
# Points older than this are deleted by `manage.py prune_timeseries` (sql backend; InfluxDB uses its own
# retention policy / bucket retention).
TIMESERIES_RETENTION_DAYS = env_int("TIMESERIES_RETENTION_DAYS", 30, minimum=1)
INFLUX_URL = env_str("INFLUX_URL", "http://127.0.0.1:8086")
INFLUX_TOKEN = env_secret("INFLUX_TOKEN")
INFLUX_ORG = env_str("INFLUX_ORG", "beacon")
INFLUX_BUCKET = env_str("INFLUX_BUCKET", "beacon")
# The database name InfluxQL reads use on /query (v1 DBRP mapping on 2.x/3.x); defaults to the bucket.
INFLUX_DATABASE = env_str("INFLUX_DATABASE") or INFLUX_BUCKET
INFLUX_TIMEOUT_MS = env_int("INFLUX_TIMEOUT_MS", 5000, minimum=1)
if TIMESERIES_BACKEND == "influx" and not INFLUX_URL:
    raise ImproperlyConfigured("TIMESERIES_BACKEND=influx needs INFLUX_URL.")
HEALTH_CHECKS["store"] = "timeseries.health.check_store"

# --- Gateway scraping and quotas (docs/quotas.md) ---
# PUBLIC_URL (links in emails) and SCRAPE_ALLOW_PRIVATE (loopback/private targets) are in the Notifications block.
SCRAPE_TIMEOUT_SECONDS = env_int("SCRAPE_TIMEOUT_SECONDS", 10, minimum=1)
# A Kong node's whole /metrics (latency histograms included) must fit; larger answers fail the scrape.
SCRAPE_MAX_BYTES = env_int("SCRAPE_MAX_BYTES", 32 * 1024 * 1024, minimum=1024)
SCRAPE_MAX_SERIES = env_int("SCRAPE_MAX_SERIES", 100_000, minimum=1)  # bandwidth series per target
SCRAPE_MAX_LABEL_LENGTH = env_int("SCRAPE_MAX_LABEL_LENGTH", 256, minimum=1)

# --- Beacon's own metrics at /-/metrics (docs/operations.md "Beacon's own metrics"); unset token → 404 ---
OPS_METRICS_TOKEN = env_secret("OPS_METRICS_TOKEN")
OPS_METRICS_WORKER_DIR = env_str("OPS_METRICS_WORKER_DIR")  # the Celery worker's PROMETHEUS_MULTIPROC_DIR


# --- Gauge registry (docs/registry.md; series and label limits in registry/services.py) ---
REGISTRY_PUSH_MAX_BYTES = env_int("REGISTRY_PUSH_MAX_BYTES", 4 * 1024 * 1024, minimum=1024)
REGISTRY_GROUP_TTL_SECONDS = env_int("REGISTRY_GROUP_TTL_SECONDS", 0, minimum=0)  # 0: pushed groups never expire
# --- Alerts (docs/alerts.md) ---
ALERTS_EVAL_SECONDS = env_int("ALERTS_EVAL_SECONDS", 30, minimum=1)
_ALERTS_TICK = {"schedule": ALERTS_EVAL_SECONDS, "options": {"expires": ALERTS_EVAL_SECONDS}}
PERIODIC_TASKS["alerts-evaluate"] = {"task": "alerts.evaluate", **_ALERTS_TICK}
# --- loadtests (docs/loadtests.md): Locust runs; silent for LOADTEST_ABANDON_AFTER s → abandoned ---
LOADTEST_ABANDON_AFTER = env_int("LOADTEST_ABANDON_AFTER", 300, minimum=10)
LOADTEST_MAX_BODY_BYTES = env_int("LOADTEST_MAX_BODY_BYTES", 8 * 1024 * 1024, minimum=1024)
PERIODIC_TASKS["loadtests-abandon"] = {"task": "loadtests.abandon_stale", "schedule": 60, "options": {"expires": 60}}
# --- selfservice (docs/portal.md, "Settings") ---
INVITATION_TIMEOUT_SECONDS = env_int("INVITATION_TIMEOUT_SECONDS", 72 * 3600, minimum=1)  # invitation links
