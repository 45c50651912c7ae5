"""Settings for peercoding, driven by environment variables.

Defaults make `make run` work on SQLite under var/ with no set-up. PRODUCTION=1 turns on the
hardening that `manage.py check --deploy` asks for and makes SECRET_KEY and ALLOWED_HOSTS
mandatory. README.md ("Configuration") lists every variable.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "")
    if raw not in ("", "0", "1"):
        raise ImproperlyConfigured(f"{name} must be 0 or 1, not {raw!r}")
    return default if raw == "" else raw == "1"


def env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise ImproperlyConfigured(f"{name} must not be negative, not {raw!r}")
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {raw!r}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name, "")
    if raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


PRODUCTION = env_flag("PRODUCTION", False)
DEBUG = env_flag("DEBUG", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG=1 must not be used with PRODUCTION=1")

DATA_DIR = Path(os.environ.get("DATA_DIR", "") or BASE_DIR / "var").resolve()


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY", "")
    if key:
        if PRODUCTION and len(key) < 50:
            raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long")
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when PRODUCTION=1")
    # Local use: make one key, keep it in the data folder so sessions survive restarts.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(64)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when PRODUCTION=1")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",
    "django_tasks_db",
    "transcripts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "transcripts.middleware.NoStoreMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "transcripts.middleware.AbsoluteSessionLimitMiddleware",
    "transcripts.middleware.IdleSessionMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "transcripts.middleware.HtmxAwareLoginRequiredMiddleware",
    "transcripts.middleware.SecondFactorMiddleware",
    "transcripts.middleware.UnstorableTextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # The transcript page's laid-out text, kept under a digest of what it is drawn from
    # (coding_page.CodingPage.text_key), so an entry is never stale and never another member's.
    # In each process, a few dozen texts of 50-200 kB: another server only draws its own again.
    "transcript-text": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "transcript-text",
        "TIMEOUT": 3600,
        "OPTIONS": {"MAX_ENTRIES": 40},
    },
}

ROOT_URLCONF = "peercoding.urls"
WSGI_APPLICATION = "peercoding.wsgi.application"

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

# One place parses DATABASE_URL; unset means SQLite in the data folder.
_database_url = os.environ.get("DATABASE_URL", "")
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60, conn_health_checks=True)}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DATA_DIR / "peercoding.sqlite3"}}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers queue for the lock instead of failing, and readers never wait for writers. A
    # worker keeps its connection (and its page cache) between requests, as with PostgreSQL.
    DATABASES["default"]["CONN_MAX_AGE"] = 60
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so the browser tests' live server threads each get a connection;
    # one per process, so two test runs on one machine never share it.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login throttling (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one user name
# (from any address), or from one address (for any user names), that user name or address is
# locked for LOGIN_LOCKOUT_MINUTES.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
# The address a lockout counts: the one the nearest trusted proxy saw (transcripts.http). With
# PRODUCTION=1 the app sits behind the one reverse proxy of README's "Deployment"; without it,
# nothing in front is trusted and X-Forwarded-For is ignored.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1 if PRODUCTION else 0)
AXES_CLIENT_IP_CALLABLE = "transcripts.http.client_address"

# Second factor (django-otp, TOTP): a wrong code makes the device wait 1, 2, 4, 8... seconds
# before it checks another one, however the codes are sent.
OTP_TOTP_ISSUER = "peercoding"
OTP_TOTP_THROTTLE_FACTOR = 1

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "project_list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", "") or DATA_DIR / "staticfiles")
# Outside production, serve straight from static/ so no collectstatic step is needed.
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
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

# The audit trail: each record's hash is keyed (HMAC-SHA256) with AUDIT_KEY, or else with a key
# made on first use in the data folder, so that nobody who can only write to the database can
# forge a record; each chain's newest record is also noted in AUDIT_CHECKPOINT_FILE, which the
# database user cannot rewrite, so that removing the newest records is noticed.
AUDIT_KEY = os.environ.get("AUDIT_KEY", "")
if AUDIT_KEY and len(AUDIT_KEY) < 32:
    raise ImproperlyConfigured("AUDIT_KEY must be at least 32 characters long")
AUDIT_KEY_FILE = DATA_DIR / "audit_key"
AUDIT_CHECKPOINT_FILE = Path(os.environ.get("AUDIT_CHECKPOINT_FILE", "") or DATA_DIR / "audit-checkpoints.log")

# Uploads: the limit a researcher sees in error messages; Django keeps big files on disk.
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_MB", 20, minimum=1) * 1024 * 1024
# What a whole-project import (.qdpx, .qde) may read out of one file: its XML and text sources.
# Audio, video, PDF and picture members are never read, so they do not count.
PROJECT_ARCHIVE_MAX_BYTES = env_int("PROJECT_ARCHIVE_MAX_MB", 200, minimum=1) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000

# Background jobs (reports, exports): queued in the database, run by `manage.py db_worker` (which
# `make run` starts beside the web server), so any app server can start one and any can serve it.
# Fitting and measuring the code suggestions take their own queue ("suggestions", its own worker:
# `manage.py db_worker --queue-name suggestions`), so a half-hour fit never holds up a report.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "suggestions"]}}
JOBS_DIR = Path(os.environ.get("JOBS_DIR", "") or DATA_DIR / "jobs")
# A finished job's file waits this long for the person who asked, then the worker removes it.
JOB_KEEP_HOURS = env_int("JOB_KEEP_HOURS", 24, minimum=1)
# Code suggestions are fitted again after the coding changes, at most once every this many minutes.
SUGGESTIONS_RETRAIN_MINUTES = env_int("SUGGESTIONS_RETRAIN_MINUTES", 5, minimum=1)

# A running job notes its progress at least every few seconds; one silent this long lost its
# worker (killed, machine restarted) and is shown as failed, with an offer to start it again.
JOB_STALLED_MINUTES = env_int("JOB_STALLED_MINUTES", 15, minimum=1)

# Sessions: idle timeout (minutes), renewed by the user's own requests at most once a minute.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 15, minimum=1) * 60
SESSION_SAVE_EVERY_REQUEST = False  # transcripts.middleware.IdleSessionMiddleware renews it
# ...and ends this long after login, however active (hours).
SESSION_ABSOLUTE_SECONDS = env_int("SESSION_ABSOLUTE_HOURS", 12, minimum=1) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "transcripts.views.errors.csrf_failure"

# Headers for every response.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

if PRODUCTION:
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto (README, "Deployment").
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_flag("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_flag("SECURE_HSTS_PRELOAD", False)
    SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
