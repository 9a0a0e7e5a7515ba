"""Settings for the example project, read from the environment.

Locally (no ``AWS_LAMBDA_FUNCTION_NAME`` in the environment) the defaults are made for development: DEBUG on, an
insecure key and a SQLite file. On Lambda, DEBUG defaults to off and ``SECRET_KEY`` and ``DATABASE_URL`` must be
set, so a forgotten variable fails loudly instead of running an insecure site.
"""

import json
import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

ON_LAMBDA = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=not ON_LAMBDA)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if ON_LAMBDA:
        raise ImproperlyConfigured("Set SECRET_KEY in the Lambda environment (zappa_settings.json).")
    SECRET_KEY = "insecure-local-development-key-never-use-in-production"  # noqa: S105  (local only)

AWS_REGION = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""

_default_hosts = ["localhost", "127.0.0.1", "[::1]"]
if AWS_REGION:
    # API Gateway's own hostnames: https://{api_id}.execute-api.{region}.amazonaws.com
    _default_hosts.append(f".execute-api.{AWS_REGION}.amazonaws.com")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", _default_hosts)

INSTALLED_APPS = [
    # First, so its runserver (the API Gateway emulator) replaces staticfiles' and Django's own.
    "websockets_app",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files through Django itself: the same on Lambda and in the local emulator.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "project" / "templates"],
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

WSGI_APPLICATION = "project.wsgi.application"

_database_url = os.environ.get("DATABASE_URL", "")
if not _database_url:
    if ON_LAMBDA:
        raise ImproperlyConfigured("Set DATABASE_URL in the Lambda environment: Lambda's disk does not keep SQLite.")
    _database_url = f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=600, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Connections are per thread; SQLite ones are cheap and must not outlive their thread.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Every message writes (its connection's rate-limit count): in WAL mode a commit waits for no disk flush, and
    # the emulator's threads read while one writes.
    DATABASES["default"]["OPTIONS"] = {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
# Off Lambda, WhiteNoise serves straight from the apps' static folders (no collectstatic); on Lambda it serves
# STATIC_ROOT, filled by `collectstatic` (websockets_app.deployment.zappa_hooks runs it before Zappa builds a package).
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = not ON_LAMBDA

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SESSION_COOKIE_SECURE = ON_LAMBDA
CSRF_COOKIE_SECURE = ON_LAMBDA

# Where Django's mail goes (the ADMINS hear of an event that failed, as of a view that did): its SMTP default. Django
# 6.1 reads MAILERS and deprecates EMAIL_BACKEND; Django 5.2 reads EMAIL_BACKEND and ignores this.
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"websockets_app": {"handlers": ["console"], "level": os.environ.get("WEBSOCKETS_LOG_LEVEL", "INFO")}},
}

# What provisioning publishes in the Lambda environment: the API's URL, default channel and route -> path map.
WEBSOCKETS: dict[str, Any] = {
    "URL": os.environ.get("WEBSOCKET_URL") or None,
    "DEFAULT_CHANNEL_NAME": os.environ.get("WEBSOCKET_DEFAULT_CHANNEL") or "default",
    "ROUTE_PATHS": json.loads(os.environ.get("WEBSOCKET_ROUTE_PATHS") or "{}"),
    # Origins of the pages that may connect, comma-separated (docs/topics/security.md). Unset: whatever
    # ALLOWED_HOSTS accepts, which its execute-api wildcard makes anyone's API page (check websockets_app.W101).
    "ALLOWED_ORIGINS": env_list("WEBSOCKET_ALLOWED_ORIGINS", []) or None,
    # What runserver's API Gateway emulator calls, as Lambda does.
    "LAMBDA_HANDLER": "project.lambda_handler.lambda_handler",
    # Every chat room keeps its recent messages (a page shows them on load, a reconnecting one gets what it missed)
    # and tells its members who arrives and leaves; the chat page always names its room, so the API's default
    # channel (connections that name none) is left out.
    "HISTORY_CHANNELS": ["*"],
    "PRESENCE_EVENTS_CHANNELS": ["*", f"!{os.environ.get('WEBSOCKET_DEFAULT_CHANNEL') or 'default'}"],
}

LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
