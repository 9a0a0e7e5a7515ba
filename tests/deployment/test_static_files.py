"""Static files on Lambda: the deployment checks, and the Zappa settings callback that refuses or gathers them."""

from __future__ import annotations

import sys
import textwrap
import types
from pathlib import Path

import boto3
import click
import pytest
from django.core.checks import Warning

from websockets_app import checks
from websockets_app.deployment import zappa_hooks

REPO = Path(__file__).resolve().parents[2]
WHITENOISE = "whitenoise.middleware.WhiteNoiseMiddleware"
API_ONLY_APPS = ["websockets_app", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions"]
FIXES = (
    'serve them from the package with WhiteNoise (pip install whitenoise; STATIC_ROOT = BASE_DIR / "staticfiles"; '
    '"whitenoise.middleware.WhiteNoiseMiddleware" right after SecurityMiddleware), or keep them in S3 with '
    'django-storages (STORAGES["staticfiles"] = {"BACKEND": "storages.backends.s3.S3Storage", ...}). The deploy docs '
    'show both ("Static files").'
)
NO_STATIC_ROOT = Warning(
    "STATIC_ROOT is not set: collectstatic, which the Zappa settings callback runs before packaging, has nowhere to "
    "gather the static files, and on Lambda nothing would serve them.",
    hint=f"Set where they come from: {FIXES}",
    id="websockets_app.W003",
)
NOTHING_SERVES = Warning(
    "Nothing serves STATIC_ROOT on Lambda: Django serves static files only with DEBUG on, so /static/ (the admin's "
    "styles among them) would answer 404.",
    hint=f"Set who serves them: {FIXES}",
    id="websockets_app.W004",
)


class TestChecks:
    def test_no_static_root_is_reported_with_both_fixes(self, settings):
        settings.STATIC_ROOT = None

        assert checks.check_static_files() == [NO_STATIC_ROOT]

    def test_a_static_root_nothing_serves_is_reported(self, settings, tmp_path):
        settings.STATIC_ROOT = tmp_path
        settings.STATIC_URL = "/static/"
        settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if name != WHITENOISE]

        assert checks.check_static_files() == [NOTHING_SERVES]

    @pytest.mark.parametrize(
        "changes",
        [
            {"MIDDLEWARE": ["django.middleware.security.SecurityMiddleware", WHITENOISE]},  # WhiteNoise serves them
            {"MIDDLEWARE": [], "STATIC_URL": "https://cdn.example.com/static/"},  # served from elsewhere
            {
                "STATIC_ROOT": None,
                "STORAGES": {
                    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
                    "staticfiles": {"BACKEND": "storages.backends.s3.S3Storage"},
                },
            },
            {"STATIC_ROOT": None, "INSTALLED_APPS": API_ONLY_APPS},
        ],
        ids=["whitenoise", "absolute-static-url", "s3-storage", "no-staticfiles-app"],
    )
    def test_set_ups_that_work_on_lambda_pass(self, settings, tmp_path, changes):
        settings.STATIC_ROOT = tmp_path
        for name, value in changes.items():
            setattr(settings, name, value)

        assert checks.check_static_files() == []

    def test_they_are_deployment_checks(self, settings):
        from django.core.checks import run_checks

        settings.STATIC_ROOT = None

        assert NO_STATIC_ROOT in run_checks(include_deployment_checks=True)
        assert NO_STATIC_ROOT not in run_checks()


SITE_SETTINGS = """
SECRET_KEY = "not-a-secret"
ROOT_URLCONF = "site_settings"
urlpatterns = []
INSTALLED_APPS = [
    "websockets_app",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
MIDDLEWARE = ["django.middleware.security.SecurityMiddleware"]
STATIC_URL = "static/"
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A site folder Zappa is run from, a clean virtualenv, and the app importable as it is once installed."""
    folder = tmp_path / "site"
    folder.mkdir()
    venv = tmp_path / "venv"
    (venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages").mkdir(parents=True)
    monkeypatch.chdir(folder)
    monkeypatch.setenv("VIRTUAL_ENV", str(venv))
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    return folder


def package(site: Path, settings: str) -> None:
    """The settings callback, as Zappa calls it before ``zappa package dev``."""
    (site / "site_settings.py").write_text(SITE_SETTINGS + textwrap.dedent(settings))
    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"
    zappa_cli = types.SimpleNamespace(
        command="package", api_stage="dev", django_settings="site_settings", runtime=runtime
    )
    zappa_hooks.settings(zappa_cli)


def test_packaging_a_site_without_static_root_is_refused_naming_the_fixes(site):
    with pytest.raises(click.ClickException) as refused:
        package(site, "")

    assert refused.value.message == (
        f"Static files are not set up for Lambda:\n(websockets_app.W003) {NO_STATIC_ROOT.msg}\n"
        f"  HINT: {NO_STATIC_ROOT.hint}"
    )
    assert list(site.iterdir()) == [site / "site_settings.py"]


def test_packaging_a_site_whose_static_files_nothing_serves_is_refused(site):
    with pytest.raises(click.ClickException) as refused:
        package(site, 'STATIC_ROOT = "staticfiles"\nSTATIC_URL = "/static/"')

    assert refused.value.message.startswith("Static files are not set up for Lambda:\n(websockets_app.W004) Nothing")


def test_a_silenced_check_lets_the_package_through(site):
    package(site, 'STATIC_ROOT = "staticfiles"\nSILENCED_SYSTEM_CHECKS = ["websockets_app.W004"]')

    assert (site / "staticfiles" / "admin" / "css" / "base.css").is_file()


def test_with_whitenoise_the_files_are_gathered_into_the_package(site):
    package(site, f'STATIC_ROOT = "staticfiles"\nMIDDLEWARE.append("{WHITENOISE}")')

    assert (site / "staticfiles" / "admin" / "css" / "base.css").is_file()
    assert (site / "staticfiles" / "websockets_app" / "lambda-websocket.js").is_file()


def test_with_s3_storage_the_files_are_uploaded_to_the_bucket(site, moto_server):
    s3 = boto3.client("s3", region_name="eu-west-1")
    s3.create_bucket(Bucket="site-static", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})

    package(
        site,
        """
        STORAGES = {
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {"bucket_name": "site-static"}},
        }
        """,
    )

    keys = {item["Key"] for item in s3.list_objects_v2(Bucket="site-static")["Contents"]}
    assert {"admin/css/base.css", "websockets_app/lambda-websocket.js"} <= keys
    assert list(site.iterdir()) == [site / "site_settings.py"]


def test_a_site_without_the_staticfiles_app_has_nothing_to_gather(site):
    package(site, f"INSTALLED_APPS = {API_ONLY_APPS!r}")

    assert sorted(path.name for path in site.iterdir()) == ["site_settings.py"]
