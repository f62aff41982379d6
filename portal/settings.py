"""Settings of the IPAAS portal, all read from the environment.

Every variable is documented with its default in `.env.example`. The local defaults need no
server: an SQLite file and a filesystem message broker under `var/`, an in-process cache.
`DJANGO_ENV=production` turns on the hardened profile, which refuses to start without its
secrets and servers, or with a local default.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from portal.celery import queues_for as celery_queues_for
from portal.celery import routes_for as celery_routes_for

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="local")
PRODUCTION = DJANGO_ENV == "production"

# The local default key is public on purpose: it only ever signs a developer's own sessions.
LOCAL_SECRET_KEY = "local-development-key-not-for-production"
# Local defaults that a `.env` copied from `.env.example` brings along, and that production
# must never run on: each would fail quietly (one process's cache, a broker in a folder).
LOCAL_ONLY_PREFIXES = {
    "DATABASE_URL": ("sqlite:",),
    "CELERY_BROKER_URL": ("filesystem:", "memory:"),
    "CACHE_URL": ("locmemcache:", "dummycache:", "filecache:"),
}


def _refuse_local_values_in_production() -> None:
    """`.env` is read before the profile is known, so production checks values, not presence."""
    for required in ("SECRET_KEY", "ALLOWED_HOSTS", *LOCAL_ONLY_PREFIXES):
        if not env.str(required, default=""):
            raise ImproperlyConfigured(f"DJANGO_ENV=production needs {required} to be set.")
    key = env.str("SECRET_KEY")
    if key == LOCAL_SECRET_KEY or len(key) < 50:
        raise ImproperlyConfigured(
            "DJANGO_ENV=production needs a SECRET_KEY of its own, 50 characters or more."
        )
    if env.bool("DEBUG", default=False):
        raise ImproperlyConfigured("DJANGO_ENV=production refuses DEBUG=true.")
    for name, prefixes in LOCAL_ONLY_PREFIXES.items():
        if env.str(name).startswith(prefixes):
            raise ImproperlyConfigured(
                f"DJANGO_ENV=production refuses the local {name} {env.str(name).split(':')[0]}."
            )


if PRODUCTION:
    _refuse_local_values_in_production()

SECRET_KEY = env.str("SECRET_KEY", default=LOCAL_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "oauth2_provider",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "portal",
    "accounts",
    "compute",
    "billing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from gunicorn, compressed and cached for ever by their hashed names.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.middleware.RequestLogMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database host that does not answer fails a request (and /readyz) in seconds instead
    # of holding a worker until the operating system gives up.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"]["connect_timeout"] = env.int(
        "DATABASE_CONNECT_TIMEOUT", default=5
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The local default runs web, worker and beat on one SQLite file: wait for the write
    # lock instead of failing, and let readers run beside a writer.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://ipaas")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Tests hash with a fast algorithm: client secrets are hashed on every token request.
PASSWORD_HASHERS = env.list(
    "PASSWORD_HASHERS",
    default=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
        "django.contrib.auth.hashers.ScryptPasswordHasher",
    ],
)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# `manage.py collectstatic` gathers every static file here; whitenoise serves them.
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Production serves collected, compressed files under hashed names (cached for ever);
    # locally Django's finders serve them straight from the sources.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Locally whitenoise finds files in the sources on each request: no collectstatic needed.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION

# --- API -------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.AccessTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.HasClientScope"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "portal.api.envelope_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# The OpenAPI schema at /api/schema/, browsed with Swagger UI (/api/docs/) and Redoc
# (/api/redoc/) from the sidecar package's files: no CDN, works on a closed network.
SPECTACULAR_SETTINGS = {
    "TITLE": "IPAAS portal API",
    "DESCRIPTION": (
        "Stacks of OpenStack servers for a tenant's programs. Every answer is an envelope "
        "`{status, message, data}` whose `status` equals the HTTP status. Send the token from "
        "`POST /oauth/token` as `Authorization: Bearer <token>` (preferred) or, as the seed's "
        "clients do, as the `access_token` query parameter."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portal.openapi.add_plain_django_endpoints",
    ],
}

API_SCOPES = {
    "compute:read": "List stacks, instances, flavors and images.",
    "compute:write": "Create and delete stacks.",
    "billing:read": "Read instances' billing state and usage.",
}

OAUTH2_PROVIDER_APPLICATION_MODEL = "accounts.ApiClient"
OAUTH2_PROVIDER = {
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("ACCESS_TOKEN_EXPIRE_SECONDS", default=3600),
    "SCOPES": API_SCOPES,
    "SCOPES_BACKEND_CLASS": "accounts.scopes.ApiClientScopes",
    # The seed's clients send tokens in the query string; the API accepts them there (RFC
    # 9700 discourages it) and compensates: see accounts.authentication and portal.logs.
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": False,
    # Only a SHA-256 checksum of each token is stored: a database dump holds no usable token.
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}

# Failed token requests allowed per client id and per address in a window, before 429.
TOKEN_FAILURE_LIMIT = env.int("TOKEN_FAILURE_LIMIT", default=10)
TOKEN_FAILURE_WINDOW_SECONDS = env.int("TOKEN_FAILURE_WINDOW_SECONDS", default=300)
# The proxies in front of the portal (gunicorn's setting, read here too): behind one of
# them, sign-in and token throttling count the address it names in X-Forwarded-For, not its
# own, so that one guesser cannot lock out everyone who comes through the same proxy.
FORWARDED_ALLOW_IPS = env.list("FORWARDED_ALLOW_IPS", default=["127.0.0.1"])

SILENCED_SYSTEM_CHECKS = [
    # The seed contract makes clients send `?access_token=`; redaction compensates.
    "oauth2_provider.W004",
]

# --- Stacks and clouds ----------------------------------------------------------------------

# openstacksdk reads clouds.yaml itself: OS_CLIENT_CONFIG_FILE names the file, and each
# Cloud row in admin names one of its entries.
STACK_MAX_INSTANCES_PER_REQUEST = env.int("STACK_MAX_INSTANCES_PER_REQUEST", default=20)
# "rollback" deletes every server of a stack that failed; "keep" deletes only the failed ones.
STACK_PARTIAL_FAILURE_POLICY = env.str("STACK_PARTIAL_FAILURE_POLICY", default="rollback")
if STACK_PARTIAL_FAILURE_POLICY not in ("rollback", "keep"):
    raise ImproperlyConfigured("STACK_PARTIAL_FAILURE_POLICY must be 'rollback' or 'keep'.")
STACK_BUILD_TIMEOUT_SECONDS = env.int("STACK_BUILD_TIMEOUT_SECONDS", default=900)
STACK_DELETE_TIMEOUT_SECONDS = env.int("STACK_DELETE_TIMEOUT_SECONDS", default=600)
CLOUD_POLL_SECONDS = env.float("CLOUD_POLL_SECONDS", default=3.0)
CLOUD_API_TIMEOUT_SECONDS = env.float("CLOUD_API_TIMEOUT_SECONDS", default=30.0)
OPERATION_MAX_ATTEMPTS = env.int("OPERATION_MAX_ATTEMPTS", default=8)
OPERATION_BACKOFF_MAX_SECONDS = env.float("OPERATION_BACKOFF_MAX_SECONDS", default=60.0)
OPERATION_STALL_SECONDS = env.int("OPERATION_STALL_SECONDS", default=120)
CATALOG_MAX_AGE_SECONDS = env.int("CATALOG_MAX_AGE_SECONDS", default=900)
RECONCILE_INTERVAL_SECONDS = env.int("RECONCILE_INTERVAL_SECONDS", default=300)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=10.0)

# --- Billing --------------------------------------------------------------------------------

# Instance states that are billed; time in any other state is free.
BILLING_BILLABLE_STATES = env.list(
    "BILLING_BILLABLE_STATES", default=["ACTIVE", "PAUSED", "SUSPENDED", "SHUTOFF"]
)
# Limitation: one currency per portal; every price is in it, and statements are too.
BILLING_CURRENCY = env.str("BILLING_CURRENCY", default="EUR")

# --- Jobs ------------------------------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "out"),
        "data_folder_out": str(_queue_dir / "out"),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
        "polling_interval": 0.2,
    }
if CELERY_BROKER_URL.startswith(("amqp://", "amqps://", "pyamqp://")):
    # RabbitMQ confirms each message once it holds it (on disk, for a durable queue): a send
    # that returns was not lost in a socket buffer when the broker went down.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"confirm_publish": True}
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=4.0)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Workers log through the portal's handlers (redaction, request ids, JSON), not Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# Queue names start with this prefix: ipaas.provisioning, ipaas.reconciliation, ...
CELERY_QUEUE_PREFIX = env.str("CELERY_QUEUE_PREFIX", default="ipaas")
CELERY_TASK_DEFAULT_QUEUE = CELERY_QUEUE_PREFIX
CELERY_TASK_QUEUES = celery_queues_for(CELERY_QUEUE_PREFIX)
CELERY_TASK_ROUTES = celery_routes_for(CELERY_QUEUE_PREFIX)
CELERY_TASK_DEFAULT_DELIVERY_MODE = "persistent"
WATCHDOG_INTERVAL_SECONDS = env.float("WATCHDOG_INTERVAL_SECONDS", default=60.0)
CELERY_BEAT_SCHEDULE = {
    "watchdog": {"task": "compute.watchdog", "schedule": WATCHDOG_INTERVAL_SECONDS},
    "reconcile": {"task": "compute.reconcile_all", "schedule": float(RECONCILE_INTERVAL_SECONDS)},
    "close-statements": {"task": "billing.close_statements", "schedule": 6 * 3600.0},
    "refresh-catalogs": {
        "task": "compute.refresh_catalogs",
        "schedule": float(CATALOG_MAX_AGE_SECONDS) / 2,
    },
}

# --- Logs ------------------------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# "json": one JSON object per line, for a log collector (production's default); "line": text.
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "line")
if LOG_FORMAT not in ("json", "line"):
    raise ImproperlyConfigured("LOG_FORMAT must be 'json' or 'line'.")
LOG_FORMATTERS = {
    "line": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    "json": {"()": "portal.logs.JsonFormatter"},
}
LOG_FILTERS = {
    "redact_secrets": {"()": "portal.logs.RedactSecretsFilter"},
    "request_id": {"()": "portal.logs.RequestIdFilter"},
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": LOG_FILTERS,
    "formatters": LOG_FORMATTERS,
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            # Redaction first: the request id filter never sees an unredacted message.
            "filters": ["redact_secrets", "request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's development server logs each request line, query string included; it has
        # a handler of its own by default, which would print tokens unredacted.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # Replaces Django's own handlers for its loggers (an unfiltered console, and mail to
        # admins that would carry request details), so every line passes the redaction.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # Library debug output can carry request bodies with credentials.
        "oauthlib": {"level": "WARNING"},
        "oauth2_provider": {"level": "WARNING"},
        "keystoneauth": {"level": "WARNING"},
        "openstack": {"level": "WARNING"},
    },
}
DEFAULT_EXCEPTION_REPORTER_FILTER = "portal.logs.SecretsExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "portal.logs.SecretsExceptionReporter"

# --- Health and metrics ----------------------------------------------------------------------

# Seconds each dependency check of /readyz may take (database, broker, cache, each Keystone).
READYZ_TIMEOUT_SECONDS = env.float("READYZ_TIMEOUT_SECONDS", default=2.0)
# /metrics answers a request that passes every guard set here, and nobody when none is set:
# a bearer token, and networks (CIDRs) the scraper's address must be in. Behind a reverse
# proxy every request comes from the proxy's address: use the token, or keep the proxy from
# forwarding /metrics.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list(
    "METRICS_ALLOWED_NETWORKS", default=[] if PRODUCTION else ["127.0.0.1/32", "::1/128"]
)
# A Celery worker serves its own metrics on this port when set (0: off); no token there, so
# bind it to a private address.
METRICS_WORKER_PORT = env.int("METRICS_WORKER_PORT", default=0)
METRICS_WORKER_ADDRESS = env.str("METRICS_WORKER_ADDRESS", default="127.0.0.1")

# --- Security --------------------------------------------------------------------------------

# Pages send no referrer to other sites. Not `no-referrer`: under it Chromium sends
# `Origin: null` with a form's POST, and the CSRF check refuses every form of the pages. The
# API's answers and the page showing a client secret still say `no-referrer` themselves.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Load balancers and scrapers probe over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
