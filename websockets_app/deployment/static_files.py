"""Static files on Lambda: where a site serves them from must be settled before Zappa builds its package.

On Lambda, Django serves no static files (``DEBUG`` is off) and the package cannot change once deployed. A site
either ships them in the package and serves them with WhiteNoise (``collectstatic`` fills ``STATIC_ROOT`` before
Zappa zips it), or keeps them in S3 through django-storages (``collectstatic`` uploads them). Without either,
``collectstatic`` stops for want of ``STATIC_ROOT``, or the site answers 404 for its own styles. The checks are
deployment checks (``check --deploy``); the Zappa ``settings`` callback runs them, then ``collectstatic``, through
:func:`prepare`, in a process of its own with the site's settings (silenced ones stay silent there too).
"""

from __future__ import annotations

import sys

from django.apps import apps
from django.conf import STATICFILES_STORAGE_ALIAS, settings
from django.core.checks import CheckMessage, Warning
from django.core.files.storage import FileSystemStorage
from django.utils.module_loading import import_string

__all__ = ("REFUSED", "STATICFILES_APP", "WHITENOISE_MIDDLEWARE", "prepare", "static_files_problems")

STATICFILES_APP = "django.contrib.staticfiles"
WHITENOISE_MIDDLEWARE = "whitenoise.middleware.WhiteNoiseMiddleware"
DEFAULT_STATICFILES_STORAGE = "django.contrib.staticfiles.storage.StaticFilesStorage"
# prepare()'s exit status when the checks refuse, apart from a crash of collectstatic (1).
REFUSED = 2
_FIXES = (
    "serve them from the package with WhiteNoise (pip install whitenoise; STATIC_ROOT = BASE_DIR / "
    f'"staticfiles"; "{WHITENOISE_MIDDLEWARE}" right after SecurityMiddleware), or keep them in S3 with '
    'django-storages (STORAGES["staticfiles"] = {"BACKEND": "storages.backends.s3.S3Storage", ...}). The deploy '
    'docs show both ("Static files").'
)


def static_files_problems() -> list[CheckMessage]:
    """W003: no ``STATIC_ROOT`` for files kept on disk; W004: nothing serves them on Lambda. Remote storage: none."""
    if not apps.is_installed(STATICFILES_APP):
        return []
    configured = settings.STORAGES.get(STATICFILES_STORAGE_ALIAS) or {}
    backend = import_string(configured.get("BACKEND", DEFAULT_STATICFILES_STORAGE))
    if not issubclass(backend, FileSystemStorage):
        return []  # S3 or another remote storage: collectstatic uploads, and its URLs point there
    if not settings.STATIC_ROOT:
        return [
            Warning(
                "STATIC_ROOT is not set: collectstatic, which the Zappa settings callback runs before packaging, "
                "has nowhere to gather the static files, and on Lambda nothing would serve them.",
                hint=f"Set where they come from: {_FIXES}",
                id="websockets_app.W003",
            )
        ]
    if not str(settings.STATIC_URL).startswith(("http://", "https://", "//")) and (
        WHITENOISE_MIDDLEWARE not in settings.MIDDLEWARE
    ):
        return [
            Warning(
                f"Nothing serves STATIC_ROOT on Lambda: Django serves static files only with DEBUG on, so "
                f"{settings.STATIC_URL} (the admin's styles among them) would answer 404.",
                hint=f"Set who serves them: {_FIXES}",
                id="websockets_app.W004",
            )
        ]
    return []


def prepare() -> int:
    """Check the static files set-up and gather the files for the package; returns the process's exit status.

    Run with the site's ``DJANGO_SETTINGS_MODULE``. A refusal prints each problem and its fix to stderr.
    """
    import django
    from django.core.management import call_command

    django.setup()
    if not apps.is_installed(STATICFILES_APP):
        return 0
    problems = [message for message in static_files_problems() if not message.is_silenced()]
    if problems:
        for message in problems:
            print(f"({message.id}) {message.msg}\n  HINT: {message.hint}", file=sys.stderr)
        return REFUSED
    call_command("collectstatic", interactive=False, verbosity=0)
    return 0
