"""Settings from the environment (the gunicorn role's environment file), never from the code."""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or ("django-insecure-development-only" if DEBUG else "")
if not SECRET_KEY:
    # Fail at startup: Django itself would only complain once something signs a value.
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set (a development key exists only with DJANGO_DEBUG=1)")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = ["django.contrib.staticfiles", "visits"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "project.urls"

# The deploy points DJANGO_DATA_DIR at the environment's shared/ directory, so the database
# outlives releases. SQLite writes its -wal and -shm files beside it: the directory must be writable.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": Path(os.environ.get("DJANGO_DATA_DIR", BASE_DIR)) / "db.sqlite3",
        # Several gunicorn workers write to one file: WAL lets reads go on during a write, and
        # IMMEDIATE takes the write lock when a transaction starts, so waiting replaces "database is locked".
        "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
# Django sets the process's TZ from this (default America/Chicago): it would shift every log timestamp.
TIME_ZONE = "UTC"

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Uploads: the deploy points DJANGO_MEDIA_DIR at the environment's media directory, which
# outlives releases and which nginx serves at MEDIA_URL (the app only writes there).
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_DIR", BASE_DIR / "media"))

# TLS ends at nginx, which sets X-Forwarded-Proto; gunicorn listens only where nginx reaches it,
# so no client can send that header to the app directly.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
# The proxy redirects HTTP to HTTPS and sends Strict-Transport-Security, for every app behind it.
SILENCED_SYSTEM_CHECKS = [
    "security.W004",  # SECURE_HSTS_SECONDS
    "security.W008",  # SECURE_SSL_REDIRECT
]

# Errors to stderr (the journal, or gunicorn's error log): Django's default prints them only with
# DEBUG. The django logger loses its own handlers and passes records up, so nothing prints twice.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {"django": {"level": "INFO"}},
}
