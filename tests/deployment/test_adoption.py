"""A new user's path, for real: the wheel built from this checkout, in a fresh virtualenv, added to a startproject site.

The site follows docs/existing-project.md block by block (its install command with the wheel for the git URL; its
commands include ``check --deploy`` and the page's test through the test client), then ``runserver`` answers a real
WebSocket client. The virtualenv gets this suite's Django version, so each nox session adopts the app on its own
Django. It prints how long the user's part took, from ``startproject`` to the first message (a figure for the docs,
never an assertion).
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
import venv
from pathlib import Path

import django
import pytest
from websockets.sync.client import connect

from tests.docs_examples import BASE_PAGE, ExampleProject, run_page
from tests.runserver_process import serving

pytestmark = pytest.mark.adoption
INSTALL_TIMEOUT = 600


def _run(command: list[str], **kwargs) -> None:
    completed = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False, **kwargs)
    assert completed.returncode == 0, f"$ {' '.join(command)}\n{completed.stdout}\n{completed.stderr}"


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory, built_wheel) -> Path:
    """A new virtualenv holding the wheel with its ``local`` extra, this Django, and pytest-django for the tests."""
    environment = tmp_path_factory.mktemp("adopter") / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    requirements = [f"{built_wheel}[local]", f"Django=={django.__version__}", "pytest-django"]
    _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements])
    return python


def test_a_startproject_site_adopts_the_app_from_the_wheel(fresh_python, built_wheel, tmp_path):
    project = ExampleProject(tmp_path / "site", None, python=fresh_python, wheel=built_wheel)
    project.folder.mkdir()
    (tmp_path / "home").mkdir()
    started = time.monotonic()

    project.start()
    run_page(project, BASE_PAGE)
    command = [str(fresh_python), "manage.py", "runserver", "--noreload", "127.0.0.1:0"]
    with serving(command, cwd=project.folder, env=project.environment()) as (url, lines):
        websocket_url = url.replace("http://", "ws://") + "/"
        with connect(websocket_url, origin=url) as websocket:
            websocket.send(json.dumps({"action": "echo", "message": "hi"}))
            first_message = json.loads(websocket.recv(timeout=30))
        elapsed = time.monotonic() - started
        with urllib.request.urlopen(f"{url}/static/admin/css/base.css") as response:  # the admin's look
            admin_css = response.status

    print(f"\nstartproject to first message, following {BASE_PAGE.name}: {elapsed:.1f} s")
    assert first_message == {"echo": "hi"}
    assert admin_css == 200
    assert "site-packages" in project.module_file("websockets_app")  # the wheel's copy, not this checkout
    assert any(" WebSocket $connect " in line and '"/" 200' in line for line in lines)
