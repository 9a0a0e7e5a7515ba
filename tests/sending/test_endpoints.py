"""Where messages go: the endpoint botocore is configured with, the app's override, and the local emulator that a
runserver of the project announced, reached from any other process of it."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test.utils import override_settings
from django.utils import timezone

from tests.aws_events import API_ID, REGION, STAGE
from websockets_app.backends import locmem
from websockets_app.models import WebSocketSession
from websockets_app.sending import endpoints
from websockets_app.sending.delivery import SendResult

pytestmark = pytest.mark.django_db

REGIONAL = f"https://{API_ID}.execute-api.{REGION}.amazonaws.com/{STAGE}"
LOCMEM = {"SEND_BACKEND": "websockets_app.backends.LocmemBackend"}


@pytest.fixture(autouse=True)
def _outbox(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    endpoints._botocore_endpoint_provider.cache_clear()
    locmem.reset()
    yield
    locmem.reset()
    endpoints._botocore_endpoint_provider.cache_clear()


def sent_to(api_id: str = API_ID, **websockets) -> str:
    """The endpoint a message to one connection of ``api_id`` went to."""
    locmem.reset()
    session = WebSocketSession.objects.create(
        connection_id="A=", api_id=api_id, stage=STAGE, connected_at=timezone.now() - timedelta(minutes=5)
    )
    try:
        with override_settings(WEBSOCKETS={**LOCMEM, **websockets}):
            assert session.send_message("hi") == SendResult(sent=1)
    finally:
        session.delete()
    [message] = locmem.outbox
    return message.endpoint


def test_without_configuration_the_endpoint_is_the_apis_regional_one():
    assert sent_to() == REGIONAL


def test_the_endpoint_botocore_is_configured_with_is_used(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://global.example.test/v1")
    assert sent_to() == "https://global.example.test/v1"
    monkeypatch.setenv("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI", "https://service.example.test/dev")
    assert sent_to() == "https://service.example.test/dev"
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    assert sent_to() == REGIONAL


def test_the_config_files_services_section_is_used(monkeypatch, tmp_path):
    config = tmp_path / "config"
    config.write_text(
        "[default]\nservices = local-gateway\n\n"
        "[services local-gateway]\napigatewaymanagementapi =\n  endpoint_url = http://127.0.0.1:4566/dev\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    endpoints._botocore_endpoint_provider.cache_clear()
    assert sent_to() == "http://127.0.0.1:4566/dev"


def test_the_apps_endpoint_url_overrides_botocores(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI", "https://service.example.test/dev")
    assert sent_to(ENDPOINT_URL="https://ws.example.com/live") == "https://ws.example.com/live"


def test_connections_of_the_local_emulator_go_to_the_runserver_that_announced_itself(monkeypatch, tmp_path):
    monkeypatch.setattr(endpoints.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(ImproperlyConfigured, match=r"no runserver of this project is running: start `python manage"):
        sent_to(api_id=endpoints.LOCAL_API_ID)

    path = endpoints.announce_emulator("http://127.0.0.1:8123/local", placeholder_credentials=False)
    assert sent_to(api_id=endpoints.LOCAL_API_ID) == "http://127.0.0.1:8123/local"

    # A runserver that has gone away is not sent to.
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    path.write_text(json.dumps({"endpoint": "http://127.0.0.1:8123/local", "pid": int(finished.stdout)}))
    with pytest.raises(ImproperlyConfigured, match="no runserver of this project is running"):
        sent_to(api_id=endpoints.LOCAL_API_ID)
    assert not path.exists()
