"""The one settings module. Everything that differs between machines comes from
the environment (see README, "Production"); defaults are the embedded demo."""
from __future__ import annotations

import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from supportcenter.env import (
    database_from_url,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# "dev" is the embedded demo and the test suite; "production" demands real values.
SC_ENV = env_choice("SC_ENV", "dev", ("dev", "production"))
PRODUCTION = SC_ENV == "production"

_DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"
SECRET_KEY = env_str("SC_SECRET_KEY") if PRODUCTION else env_str("SC_SECRET_KEY", _DEV_SECRET_KEY)
if PRODUCTION and (SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("SC_SECRET_KEY must be a random string of 50 characters or more.")
# Off unless asked for (SC_DEBUG=true while developing): the demo shows the product's own
# 404 and 500 pages, never Django's technical pages listing every URL pattern (issue 13).
DEBUG = env_bool("SC_DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("SC_DEBUG cannot be true when SC_ENV=production.")

# Accounts live at <subdomain>.<SC_BASE_DOMAIN> (SPEC T1).
BASE_DOMAIN = env_str("SC_BASE_DOMAIN") if PRODUCTION else env_str("SC_BASE_DOMAIN", "localhost")
BASE_DOMAIN = BASE_DOMAIN.lower().strip(".")
# Telephony webhooks are addressed to the bare base domain (the line's token names the
# tenant, SPEC T5). The public address the provider uses, e.g. https://support.example.com;
# unset → the admin's request scheme + the base domain + its port.
PUBLIC_BASE_URL = env_str("SC_PUBLIC_BASE_URL", "").rstrip("/")
if PUBLIC_BASE_URL and (
    not PUBLIC_BASE_URL.startswith(("http://", "https://")) or "/" in PUBLIC_BASE_URL.split("://", 1)[1]
):
    raise ImproperlyConfigured("SC_PUBLIC_BASE_URL must be a scheme and host, e.g. https://support.example.com.")

# Encrypts provider secrets at rest (talk.crypto). Comma-separated: the first key
# encrypts, all decrypt (rotation). Not derived from SECRET_KEY in production, so
# rotating the secret key does not make the stored auth tokens unreadable.
FIELD_ENCRYPTION_KEY = (
    env_str("SC_FIELD_ENCRYPTION_KEY")
    if PRODUCTION
    else env_str("SC_FIELD_ENCRYPTION_KEY", "dev-field-encryption:" + SECRET_KEY)
)
if PRODUCTION and min(len(k.strip()) for k in FIELD_ENCRYPTION_KEY.split(",")) < 32:
    raise ImproperlyConfigured("SC_FIELD_ENCRYPTION_KEY must be 32 characters or more (or a Fernet key).")

ALLOWED_HOSTS = env_list(
    "SC_ALLOWED_HOSTS",
    [BASE_DOMAIN, f".{BASE_DOMAIN}"] + ([] if PRODUCTION else ["127.0.0.1", "[::1]", "testserver"]),
)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_q",
    "phonenumber_field",
    "supportcenter",
    "tickets",
    "talk",
    "dashboards",
    "callsim",  # the call simulator: the demo's carrier (plays Twilio against talk's webhooks)
    "demo",  # the demo's seed data and the history seeder (manage.py demo, seed_demo, seed_history)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "supportcenter.tenancy.TenantMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "supportcenter.urls"
ASGI_APPLICATION = "supportcenter.asgi.application"
AUTH_USER_MODEL = "supportcenter.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "supportcenter.tenancy.account_context",
                "talk.console.context.agent_status",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
else:
    if PRODUCTION:
        raise ImproperlyConfigured("DATABASE_URL is required when SC_ENV=production.")
    _sqlite_path = Path(env_str("SC_SQLITE_PATH", str(BASE_DIR / "var" / "supportcenter.sqlite3")))
    _sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _sqlite_path,
            "OPTIONS": {
                # WAL lets the web process read while the task worker writes;
                # IMMEDIATE takes the write lock at BEGIN so two writers queue on
                # the busy timeout instead of failing with "database is locked".
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
# Connections that outlive a request (issue 11): under ASGI each request's view runs in a
# thread of its own, so Django's CONN_MAX_AGE cannot keep one (a new connection, ~10 ms
# and a cold backend, per request); psycopg's pool can. On by default in production.
# Not in the task cluster: django-q2 forks its workers, and a pool does not survive a fork.
_FORKING = bool({"qcluster", "tasks"} & set(sys.argv[1:2]))
if DATABASES["default"]["ENGINE"].endswith("postgresql") and env_bool("SC_DB_POOL", default=PRODUCTION) and not _FORKING:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps them; Django refuses both
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": env_int("SC_DB_POOL_MIN", 2, minimum=0),
        "max_size": env_int("SC_DB_POOL_MAX", 12, minimum=1),
        "timeout": 5,  # seconds to wait for a free connection before the request fails
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channels (WebSocket pushes) ----------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": env_str("SC_CHANNELS_PREFIX", "supportcenter"),
            },
        }
    }
else:
    if PRODUCTION:
        raise ImproperlyConfigured("REDIS_URL is required when SC_ENV=production.")
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# How often the agent console reloads its state while its socket is up (pushes are hints).
# With Redis every process's pushes arrive: a safety net for a lost one. The in-memory
# layer (the embedded demo) carries a push only to sockets of the process that sent it, and
# routing runs in the task process: the page must not wait on pushes there.
CONSOLE_LIVE_POLL_SECONDS = env_int("SC_CONSOLE_LIVE_POLL_SECONDS", 30 if REDIS_URL else 4, minimum=1)
CONSOLE_POLL_SECONDS = 4  # while the socket is down (the WSGI demo server has none)

# --- Tasks: django-q2 on the database we already trust ------------------------
# timeout < retry, or a slow task is handed to a second worker while still running.
Q_CLUSTER = {
    "name": "supportcenter",
    "orm": "default",
    # One worker runs the routing sweep most of every minute (talk.tasks.sweep).
    "workers": env_int("SC_Q_WORKERS", 3, minimum=2),
    "timeout": 60,
    "retry": 90,
    "max_attempts": 5,
    "catch_up": False,
    "poll": 0.5,
    "ack_failures": True,
    "label": "Tasks",
}

# Run django-q2 tasks inline (after commit) instead of through the broker: tests, scripts.
TASKS_SYNC = env_bool("SC_TASKS_SYNC", default=False)
# Route in the process that woke the router. On by default with the in-memory channel
# layer, whose pushes cannot cross processes; with Redis the workers route.
ROUTE_INLINE = env_bool("SC_ROUTE_INLINE", default=not REDIS_URL)
# Production routing: writes NOTIFY the router processes (``manage.py router``) inside
# their transaction, and the routers sleep until told or until the next deadline (O4).
# On by default with PostgreSQL and Redis; off, the task workers route (a task per wake-up).
ROUTE_NOTIFY = env_bool(
    "SC_ROUTE_NOTIFY", default=bool(REDIS_URL) and DATABASES["default"]["ENGINE"].endswith("postgresql")
)
if ROUTE_NOTIFY and not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise ImproperlyConfigured("SC_ROUTE_NOTIFY needs PostgreSQL (LISTEN/NOTIFY).")
# The carrier of accounts whose provider is "simulator" (talk.telephony.gateway_for).
# Named by path so that talk never imports the simulator app that builds on it.
TALK_SIMULATOR_GATEWAY = "callsim.gateway.SimulatorGateway"

# --- Auth, sessions, security -------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
TLS = env_bool("SC_TLS", default=PRODUCTION)
SESSION_COOKIE_SECURE = TLS
CSRF_COOKIE_SECURE = TLS
SECURE_SSL_REDIRECT = TLS
SECURE_HSTS_SECONDS = env_int("SC_HSTS_SECONDS", 31536000 if TLS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = TLS
SECURE_HSTS_PRELOAD = TLS
if env_bool("SC_BEHIND_PROXY", default=PRODUCTION):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_TRUSTED_ORIGINS = env_list(
    "SC_CSRF_TRUSTED_ORIGINS",
    [f"{'https' if TLS else 'http'}://*.{BASE_DOMAIN}"]
    + ([] if PRODUCTION else [f"http://*.{BASE_DOMAIN}:8000"]),
)
X_FRAME_OPTIONS = "DENY"

# --- I18N ---------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (hand-written, served by WhiteNoise) ------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("SC_STATIC_ROOT", str(BASE_DIR / ("staticfiles" if PRODUCTION else "var/static"))))
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing one
WHITENOISE_USE_FINDERS = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- REST API -----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "supportcenter.auth.ZendeskTokenAuthentication",
        "supportcenter.auth.MemberSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["supportcenter.auth.IsAccountMember"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "supportcenter.api_errors.zendesk_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Support Center API",
    "DESCRIPTION": "Zendesk-compatible REST API of Support Center.",
    "VERSION": "2",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema describes the product, not any account's data: readable by anyone.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("SC_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
