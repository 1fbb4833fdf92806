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
    "axes",  # sign-in throttling (issue 14; settings in the throttling block below)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "supportcenter.failures.FailureMiddleware",  # a view's failure: 503 on an outage, else 500 with an id
    "django.middleware.csrf.CsrfViewMiddleware",
    "supportcenter.tenancy.TenantMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a lock-out that the sign-in page did not answer itself into a 429.
    "axes.middleware.AxesMiddleware",
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
        # After an outage, give up a failing reconnect loop early: the next request opens a
        # connection at once instead of waiting for the loop's back-off (measured: answers
        # again ~0 s after the database is back, where the default left 10-18 s of 503s).
        "reconnect_timeout": 5,
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
# Uploaded and fetched files (callers' recordings, SPEC C14): never served from here directly,
# only through the product's authenticated views.
MEDIA_ROOT = Path(env_str("SC_MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
MEDIA_URL = "/media/"
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

# --- content security policy (issue 14) ---
# django-csp 4 (csp.middleware.CSPMiddleware, right after SecurityMiddleware) sends this on
# every response. Only our own files: no inline script, style or handler anywhere (pages
# keep their data in data-* attributes and json_script blocks, which are not run).
# connect-src 'self' covers the pages' WebSockets too: CSP3 matches ws:/wss: of the page's
# own host and port against 'self' (Chromium, Firefox, Safari 15.4+; tests/browser/test_csp.py
# proves the console's socket connects). The console's offer tone is WebAudio: no media-src.
# The API reference (Swagger UI) also needs img-src data: for its icons; its view adds that
# alone (supportcenter/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# --- end content security policy ---

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
    # No badge from validator.swagger.io: the docs page loads nothing from elsewhere (CSP, SPEC A2).
    "SWAGGER_UI_SETTINGS": {"validatorUrl": None},
    # Choice sets that share a field name get names of their own in the schema.
    "ENUM_NAME_OVERRIDES": {
        "LineKindEnum": "talk.models.Line.Kind",
        "CallKindEnum": ["live", "callback"],
        "AccountLanguageEnum": "supportcenter.models.LANGUAGE_CHOICES",
        "VoiceLanguageEnum": "talk.voices.VOICE_LANGUAGES",
        "TicketStatusEnum": "tickets.models.TicketStatus",
        "NewTicketStatusEnum": ["new", "open", "pending", "solved"],  # tickets.api: a new ticket is never closed
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "supportcenter.schema.add_error_responses",
    ],
}

# --- sign-in and token throttling (issue 14) ---
# supportcenter/throttle.py explains the rules. django-axes' standalone backend refuses a
# locked sign-in before ModelBackend checks the password; ModelBackend stays the backend
# that signs people in (and is named in their sessions, so sessions made before survive).
from datetime import timedelta  # noqa: E402

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "supportcenter.throttle.SignInAttempts"  # the database: shared by every process
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own (limits below)
AXES_FAILURE_LIMIT = env_int("SC_SIGNIN_EMAIL_FAILURE_LIMIT", 5, minimum=1)  # per e-mail
SIGNIN_ADDRESS_FAILURE_LIMIT = env_int("SC_SIGNIN_ADDRESS_FAILURE_LIMIT", 20, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("SC_SIGNIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_RESET_ON_SUCCESS = True  # the e-mail's failures (SignInAttempts.reset_user_attempts)
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # the lock ends when Retry-After says
AXES_USERNAME_FORM_FIELD = "username"  # what the form posts and authenticate() receives
AXES_USERNAME_CALLABLE = "supportcenter.throttle.signin_email"
AXES_CLIENT_IP_CALLABLE = "supportcenter.throttle.client_address"
AXES_LOCKOUT_CALLABLE = "supportcenter.views.signin_lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # no row per sign-in: the table holds failures only
AXES_VERBOSE = False  # no banner on every command; failures and lock-outs are still logged
# Reverse proxies in front that append the client's address to X-Forwarded-For. 0: the
# header is ignored (anyone can send one) and REMOTE_ADDR is the client. Behind a proxy, set
# it, or every client shares the proxy's address and its sign-in limit.
PROXY_COUNT = env_int("SC_PROXY_COUNT", 0, minimum=0)
# Failed API tokens per client address in a window; then 429 until the window ends.
# 30 a minute: a client that sends a stale token now and then (or an API checker probing
# invalid credentials on every operation) keeps its 401s; a guesser is stopped at once.
API_AUTH_FAILURE_LIMIT = env_int("SC_API_AUTH_FAILURE_LIMIT", 30, minimum=1)
API_AUTH_FAILURE_WINDOW = timedelta(seconds=env_int("SC_API_AUTH_FAILURE_WINDOW_SECONDS", 60, minimum=1))
# --- end throttling ---

# Every handler redacts webhook tokens (supportcenter.logs; issue 14, item 6): Django's own
# "Not Found: /talk/webhooks/<token>/..." lines, runserver's access lines. The "django" and
# "django.server" loggers are named so that Django's default handlers, which would write
# unfiltered, are replaced (django.server keeps its format on a filtered handler).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_webhook_tokens": {"()": "supportcenter.logs.RedactWebhookTokens"}},
    "formatters": {
        "django.server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}", "style": "{"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_webhook_tokens"]},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact_webhook_tokens"],
        },
    },
    "root": {"handlers": ["console"], "level": env_str("SC_LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"level": "INFO"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "INFO"},
    },
}
