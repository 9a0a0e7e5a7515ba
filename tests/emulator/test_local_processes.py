"""Any process of the project on the developer's machine (a ``manage.py shell``, a cron script, a worker) sends to
the connections of the emulator ``runserver`` started, with no setting of its own; without a runserver, the error
says what to start."""

from __future__ import annotations

import json
import subprocess

import pytest
from websockets.sync.client import connect

from tests.runserver_process import MANAGE, ROOT, _environment, manage, runserver

SEND = (
    "from websockets_app.models import WebSocketSession; "
    "print(WebSocketSession.objects.filter(connected=True).send_message({'type': 'from-cron'}))"
)


@pytest.fixture
def developer_machine(monkeypatch, tmp_path):
    """A shell with no AWS region and no credentials, as on a new developer's machine."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    return f"sqlite:///{tmp_path / 'db.sqlite3'}"


def shell(database_url: str, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MANAGE, "shell", "-c", code],
        env=_environment(database_url, "project.settings"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_shell_sends_to_the_connections_of_the_running_emulator(developer_machine):
    with runserver(developer_machine) as (url, _), connect(url.replace("http://", "ws://") + "/") as websocket:
        sent = shell(developer_machine, SEND)
        frames = []
        while not frames or frames[-1].get("type") != "from-cron":
            frames.append(json.loads(websocket.recv(timeout=10)))
    assert (sent.returncode, sent.stdout.splitlines()[-1]) == (
        0,
        "SendResult(sent=1, gone=[], failed={}, queued=0, broadcast=None)",
    )
    assert frames[-1] == {"type": "from-cron"}


def test_without_a_running_emulator_the_error_says_to_start_runserver(developer_machine):
    """A row the emulator left open (its runserver was killed before the $disconnect) cannot be reached."""
    manage(developer_machine, "migrate", "--noinput", "-v0")
    left_open = "WebSocketSession.objects.create(connection_id='X=', api_id='local', stage='local'); "
    sent = shell(developer_machine, SEND.replace("; ", "; " + left_open, 1))
    assert sent.returncode == 1
    assert (
        "ImproperlyConfigured: These connections were opened through the local emulator (API 'local'), and no "
        "runserver of this project is running: start `python manage.py runserver`"
    ) in sent.stderr
