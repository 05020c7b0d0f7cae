"""One settings module for every set-up, switched by environment variables (see the README's table).

The defaults are the embedded run of `make run`: SQLite under var/, Celery over the filesystem transport
under var/broker/, mail written to var/mail/. Production sets DATABASE_URL, SECRET_KEY, DEBUG=0, ALLOWED_HOSTS,
CELERY_BROKER_URL and the EMAIL_* variables.
"""

import datetime
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    """A yes/no variable: 1/0, true/false, yes/no, on/off (any case); unset or empty gives `default`.

    Anything else stops the start-up: a typo such as "ture" must not quietly switch a setting off.
    """
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    word = value.lower()
    if word in {"1", "true", "yes", "on"}:
        return True
    if word in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a yes/no value; use one of 1/0, true/false, yes/no, on/off (or leave it unset)."
    )


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# The embedded default key is only for the loopback demo; production must set SECRET_KEY (check --deploy says so).
SECRET_KEY = os.environ.get("SECRET_KEY", "embedded-insecure-key-set-SECRET_KEY-in-production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "msgplatform.core",
    "msgplatform.accounts",
    "msgplatform.messaging",
    "invoicing",
]

MIDDLEWARE = [
    "msgplatform.core.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise (static files keep their own caching): every answer of the application is never stored, and
    # every page gets the Content-Security-Policy below (msgplatform/core/middleware.py, django-csp).
    "msgplatform.core.middleware.NoStoreMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Two-factor: django-otp marks the session's login verified or not; ours keeps an unverified staff session that
    # must pass two-factor on the code step or on enrolment (msgplatform/accounts/two_factor.py).
    "django_otp.middleware.OTPMiddleware",
    "msgplatform.accounts.two_factor.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A NUL byte in a page's query or form is a 400 before any view reads it (msgplatform/core/middleware.py).
    "msgplatform.core.middleware.NulBytesRefusedMiddleware",
    # Last, as django-axes asks: turns a refused login into the lockout page (msgplatform/accounts/throttle.py).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

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
                "msgplatform.accounts.context_processors.tenant",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(VAR_DIR / "db.sqlite3")),
            "OPTIONS": {
                # Web workers, the Celery worker and the scheduler share one file: WAL lets readers run beside
                # the writer, IMMEDIATE takes the write lock at BEGIN so two writers queue instead of failing
                # on a lock upgrade (SQLite has no SELECT ... FOR UPDATE; this is what serialises money writes).
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")

# --- I18N / time ---------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "media/"

# --- Security -------------------------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG and env_bool("HTTPS", False))
SESSION_COOKIE_SECURE = env_bool("HTTPS", False)
CSRF_COOKIE_SECURE = env_bool("HTTPS", False)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if env_bool("HTTPS", False) else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
# Behind our own reverse proxy: trust its X-Forwarded-Proto, and take the client's address from the last
# X-Forwarded-For hop (login throttling). Never set it when clients reach the server directly: they could forge both.
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy of every page (django-csp 4): our own origin only, vendored assets (static/vendor), no
# inline script anywhere (templates keep script in static/js and data in json_script blocks, tests/security/
# test_headers.py checks every page). The one inline style is the indicator rule htmx 2.0.4 injects, allowed by its
# hash (the test recomputes it from the vendored file). Images also as data: URLs: Bootstrap's icons are SVG data URLs
# in its CSS. The logo download sets a stricter policy of its own (sandboxed), which the middleware keeps.
HTMX_INDICATOR_STYLE_HASH = "'sha256-bsV5JivYxvGywDAZ22EZJKBFip65Ng9xoJVLbBg7bdo='"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", HTMX_INDICATOR_STYLE_HASH],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# --- Login throttling (msgplatform/accounts/throttle.py; django-axes with an atomic claim per attempt) ---------
# One username from one address is refused for 15 minutes after 5 failed passwords; one address whatever the
# usernames after 50. A correct password resets its own username and address only. API tokens are not affected.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "msgplatform.accounts.throttle.LoginThrottleHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)
AXES_COOLOFF_MESSAGE = "Too many failed attempts; try again in 15 minutes."
AXES_RESET_ON_SUCCESS = True
# Attempts while refused are not recorded, so the refusal ends 15 minutes after the last counted failure.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "msgplatform.accounts.throttle.client_ip"
AXES_LOCKOUT_CALLABLE = "msgplatform.accounts.throttle.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # successful logins are not logged row by row (the table would only grow)
AXES_VERBOSE = False
LOGIN_IP_FAILURE_LIMIT = 50
# Password reset e-mails: per address asked for and per client address, in one window.
PASSWORD_RESET_LIMIT_PER_ADDRESS = 3
PASSWORD_RESET_LIMIT_PER_IP = 20
PASSWORD_RESET_WINDOW = datetime.timedelta(hours=1)

# --- Two-factor authentication of staff (django-otp: authenticator apps and recovery codes) ----------------------
# The platform owner always needs two-factor; admins may require it of all their staff (Tenant.require_two_factor);
# any staff login that set it up is asked for a code. Off for the owner only in config/settings_test.py.
TWO_FACTOR_OWNER_REQUIRED = True
OTP_TOTP_ISSUER = "Messaging billing"
# The admin never shows an authenticator's secret or QR code (django-otp's device pages answer 403, not a 500 for a
# missing device): a second person must not be able to copy someone's second factor.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# --- Email ----------------------------------------------------------------------------------------------
# Embedded default: every message is written as a file under var/mail/ (no mail server needed).
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "20"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "billing@localhost")

# --- Celery ---------------------------------------------------------------------------------------------
# Embedded default: Kombu's filesystem transport under var/broker (no service to install). Production points
# CELERY_BROKER_URL at Redis or RabbitMQ. Same tasks, same code paths.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(VAR_DIR / "broker" / "queue"),
        "data_folder_out": str(VAR_DIR / "broker" / "queue"),
        "processed_folder": str(VAR_DIR / "broker" / "processed"),
        "control_folder": str(VAR_DIR / "broker" / "control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    # Redis redelivers a task whose worker died (acks_late) after this many seconds.
    else {"visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))}
)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The periodic loop: every entry here runs in `make run` (Celery beat) and in the distributed set-up alike.
PERIODIC_TICK_SECONDS = int(os.environ.get("PERIODIC_TICK_SECONDS", "60"))
BILLING_TICK_SECONDS = int(os.environ.get("BILLING_TICK_SECONDS", "300"))
CELERY_BEAT_SCHEDULE = {
    "platform-heartbeat": {"task": "msgplatform.core.tasks.heartbeat", "schedule": PERIODIC_TICK_SECONDS},
    "invoicing-billing-tick": {"task": "invoicing.tasks.billing_tick", "schedule": BILLING_TICK_SECONDS},
    "invoicing-email-sweep": {"task": "invoicing.tasks.email_sweep", "schedule": 60},
    "invoicing-pdf-sweep": {"task": "invoicing.tasks.pdf_sweep", "schedule": 60},
    "invoicing-housekeeping": {"task": "invoicing.tasks.housekeeping", "schedule": 3600},
}

# --- REST framework -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "msgplatform.accounts.authentication.ApiTokenAuthentication",
        # The pages' session; 403 two_factor_required while it has not passed two-factor where the login must.
        "msgplatform.accounts.authentication.TwoFactorSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # drf-spectacular's, documenting the 413 of every operation with a body (msgplatform/core/schema.py).
    "DEFAULT_SCHEMA_CLASS": "msgplatform.core.schema.AutoSchema",
    # DRF's parsers bounded by API_MAX_BODY_BYTES, deep JSON refused (msgplatform/core/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "msgplatform.core.parsers.JSONParser",
        "msgplatform.core.parsers.FormParser",
        "msgplatform.core.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "msgplatform.core.api.problem_exception_handler",
    # Per API token (per login for sessions); the API views set their throttle classes (msgplatform/accounts/rest.py).
    # `api`: every admin and platform endpoint; `records`: pushing and listing messaging records.
    "DEFAULT_THROTTLE_RATES": {
        "api": os.environ.get("API_THROTTLE_RATE", "1200/minute"),
        "records": os.environ.get("API_RECORDS_THROTTLE_RATE", "600/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Messaging billing API",
    "DESCRIPTION": "Records ingestion, users, balances and invoicing for a messaging platform.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Product settings -----------------------------------------------------------------------------------
# Largest JSON batch the records endpoint takes; a bigger one is refused whole (413).
INGEST_MAX_BATCH = int(os.environ.get("INGEST_MAX_BATCH", "10000"))
# Largest API request body in bytes, refused with 413 before it is read; /records/ has its own: 2 KiB per record of
# the largest batch (a record with every field at its longest, escaped and indented, is under 2 KiB).
API_MAX_BODY_BYTES = int(os.environ.get("API_MAX_BODY_BYTES", str(1024 * 1024)))
API_RECORDS_MAX_BODY_BYTES = int(os.environ.get("API_RECORDS_MAX_BODY_BYTES", str(INGEST_MAX_BATCH * 2048)))
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", str(40 * 1024 * 1024)))
# Invoicing plugin settings all start with INVOICING_ and are read lazily by invoicing/conf.py.
INVOICING_TEST_CLOCK = env_bool("INVOICING_TEST_CLOCK", False)
# First retry delay of a failed email; doubles each attempt (30 s, 1 min, 2 min...).
INVOICING_EMAIL_BACKOFF_SECONDS = int(os.environ.get("INVOICING_EMAIL_BACKOFF_SECONDS", "30"))

LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain")  # "json" for one JSON object per line
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "msgplatform.core.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "msgplatform.core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # axes logs every successful login at INFO; failures and lock-outs are warnings. WeasyPrint and fontTools log a
    # line per PDF and per font subset at INFO; their problems are warnings.
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
if CELERY_BROKER_URL.startswith("filesystem"):
    # The embedded transport has no host: kombu warns "No hostname was supplied" on every connection.
    LOGGING["loggers"]["kombu.connection"] = {"level": "ERROR"}

# --- Cache (API throttling, idempotency windows) --------------------------------------------------------
CACHE_URL = os.environ.get("CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL.startswith("redis")
        else {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(VAR_DIR / "cache")}
    )
}
