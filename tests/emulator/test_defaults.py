"""What the emulator gives a site that configured nothing for it: a startproject site's defaults."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest
from django.urls import set_script_prefix
from websockets.exceptions import ConnectionClosedError, InvalidStatus
from websockets.frames import Frame, Opcode
from websockets.sync.client import connect

import websockets_app
from tests.aws_events import rest_v1_event
from tests.emulator_support import RecordingHandler, running_emulator
from websockets_app.emulator.server import load_lambda_handler
from websockets_app.security.origins import origin_allowed

CLIENT_SCRIPT = "/static/websockets_app/lambda-websocket.js"
CLIENT_SCRIPT_FILE = Path(websockets_app.__file__).parent / "static/websockets_app/lambda-websocket.js"


@pytest.fixture
def startproject_site(settings):
    """The demo's settings less what a startproject site lacks: WhiteNoise and a handler for the emulator."""
    settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if "whitenoise" not in name]
    settings.WEBSOCKETS = {}
    return settings


def static_answer(path: str) -> dict:
    set_script_prefix("/")  # as when runserver starts: earlier requests of the suite may have left a stage prefix
    handler = load_lambda_handler()
    # As the emulator builds them: no stage in the path, as behind a custom domain mapped at its root.
    return handler(rest_v1_event(method="GET", path=path, domain_name="127.0.0.1:8000", base_path=""), None)


@pytest.mark.django_db
def test_serves_the_apps_static_files_with_debug_on(startproject_site):
    startproject_site.DEBUG = True

    answer = static_answer(CLIENT_SCRIPT)

    assert answer["statusCode"] == 200
    body = base64.b64decode(answer["body"]) if answer["isBase64Encoded"] else answer["body"].encode()
    assert body == CLIENT_SCRIPT_FILE.read_bytes()


@pytest.mark.django_db
def test_serves_no_static_files_with_debug_off(startproject_site):
    startproject_site.DEBUG = False

    assert static_answer(CLIENT_SCRIPT)["statusCode"] == 404


@pytest.mark.parametrize(
    ("debug", "origin", "allowed"),
    [
        (True, "http://127.0.0.1:8000", True),
        (True, "http://localhost:8000", True),
        (True, "http://[::1]:8000", True),
        (True, "http://evil.example", False),
        (False, "http://127.0.0.1:8000", False),
    ],
)
def test_origins_follow_startproject_allowed_hosts_as_django_does(settings, debug, origin, allowed):
    """``ALLOWED_HOSTS = []``: with DEBUG on Django accepts the local hosts, so the page's own origin may connect."""
    settings.ALLOWED_HOSTS = []
    settings.DEBUG = debug
    settings.WEBSOCKETS = {}

    assert origin_allowed(origin) is allowed


@pytest.fixture
def uvicorn_log():
    """What uvicorn's error logger lets through (it does not propagate to the root logger)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


@pytest.fixture
def emulator(settings, lambda_handler):
    with running_emulator(settings, RecordingHandler(lambda_handler)) as server:  # closes its threads' connections
        yield f"ws://{server.app.api.domain_name}/"


@pytest.mark.django_db(transaction=True)
def test_a_refused_upgrade_logs_no_handshake_error(emulator, uvicorn_log):
    with pytest.raises(InvalidStatus):
        connect(f"{emulator}?channel=bad%21")
    with connect(emulator) as websocket:  # one whole connection after it: the refusal's ASGI call has returned
        websocket.send('{"action": "whoami"}')

    assert [record.getMessage() for record in uvicorn_log] == []


@pytest.mark.django_db(transaction=True)
def test_an_invalid_utf8_frame_closes_1007_with_one_log_line(emulator, uvicorn_log):
    with connect(emulator) as websocket:
        with websocket.send_context():
            websocket.protocol.send_frame(Frame(Opcode.TEXT, b"\xff\xfe"))
        with pytest.raises(ConnectionClosedError) as closed:
            websocket.recv(timeout=10)

    assert closed.value.rcvd.code == 1007
    assert [(record.getMessage(), record.exc_info) for record in uvicorn_log] == [
        ("Invalid UTF-8 sequence received from client.", None)
    ]
