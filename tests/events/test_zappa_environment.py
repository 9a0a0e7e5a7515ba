"""load_zappa_environment: Zappa's packaged settings applied on a cold start without importing Zappa's handler."""

import os
import sys
from unittest import mock

import pytest

from websockets_app.events.entry import load_zappa_environment


@pytest.fixture
def packaged_settings(tmp_path, monkeypatch):
    """Write a zappa_settings.py where Lambda would find it; forget it and every variable it set afterwards."""

    def write(source: str) -> None:
        (tmp_path / "zappa_settings.py").write_text(source)
        monkeypatch.syspath_prepend(str(tmp_path))

    monkeypatch.delitem(sys.modules, "zappa.handler", raising=False)
    with mock.patch.dict(os.environ):
        yield write
    sys.modules.pop("zappa_settings", None)


def test_applies_the_environment_without_importing_zappas_handler(packaged_settings):
    packaged_settings(
        "API_STAGE = 'dev'\n"
        "PROJECT_NAME = 'django-lambda-websockets'\n"
        "LOG_LEVEL = 'INFO'\n"
        "DJANGO_SETTINGS = 'project.settings'\n"
        "ENVIRONMENT_VARIABLES = {'ALLOWED_HOSTS': 'ws.example.com', 'FEATURE': 'on'}\n"
    )

    load_zappa_environment()

    assert {name: os.environ[name] for name in ("ALLOWED_HOSTS", "FEATURE", "STAGE", "PROJECT", "SERVERTYPE")} == {
        "ALLOWED_HOSTS": "ws.example.com",
        "FEATURE": "on",
        "STAGE": "dev",
        "PROJECT": "django-lambda-websockets",
        "SERVERTYPE": "AWS Lambda",
    }
    assert "zappa.handler" not in sys.modules


def test_nothing_happens_outside_a_zappa_package(monkeypatch):
    monkeypatch.delitem(sys.modules, "zappa.handler", raising=False)
    with mock.patch.dict(os.environ):
        load_zappa_environment()
        assert "SERVERTYPE" not in os.environ
    assert "zappa.handler" not in sys.modules
