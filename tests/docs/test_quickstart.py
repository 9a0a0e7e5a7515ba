"""The quick start, from an empty folder: its site chats in a real browser, and a reader's run of the whole page works.

The browser test builds the site from the page's blocks with the suite's Python. The adoption test does what a reader
does: every block in order in an empty folder, its virtualenv made by the page's own commands with the wheel built
from this checkout in place of the git URL, the page's tests, then ``runserver`` and a real WebSocket client.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from websockets.sync.client import connect

from tests.browser import test_browser_client as test_browser
from tests.docs_examples import QUICKSTART_PAGE, ExampleProject, run_page
from tests.runserver_process import serving

browser = test_browser.browser  # the module's headless Chromium fixture
TIMEOUT_MS = test_browser.TIMEOUT_MS


@pytest.fixture
def quickstart_url(docs_site_packages, tmp_path) -> Iterator[str]:
    project = ExampleProject(tmp_path / "chat", docs_site_packages)
    project.folder.mkdir()
    (tmp_path / "home").mkdir()
    run_page(project, QUICKSTART_PAGE, tests=False)
    command = ["python", "manage.py", "runserver", "--noreload", "127.0.0.1:0"]  # as the page says, on a free port
    with serving(command, cwd=project.folder, env=project.environment()) as (url, _lines):
        yield url


def test_two_tabs_of_the_quickstart_page_chat(browser, quickstart_url):
    first, second, kitchen = (browser.new_context().new_page() for _ in range(3))
    for page, room in ((first, "lobby"), (second, "lobby"), (kitchen, "kitchen")):
        page.goto(f"{quickstart_url}/chat/{room}/")
        page.wait_for_function("() => socket.connected", timeout=TIMEOUT_MS)  # the page script's LambdaWebSocket

    first.fill("#message", "hello from the first tab")
    first.press("#message", "Enter")
    for page in (first, second):
        page.locator("#messages li", has_text="hello from the first tab").wait_for(timeout=TIMEOUT_MS)
    second.fill("#message", "and back")
    second.click("button:text('Send')")
    for page in (first, second):
        page.locator("#messages li", has_text="and back").wait_for(timeout=TIMEOUT_MS)

    expected = ["anonymous: hello from the first tab", "anonymous: and back"]
    assert first.locator("#messages li").all_inner_texts() == expected
    assert second.locator("#messages li").all_inner_texts() == expected
    assert kitchen.locator("#messages li").all_inner_texts() == []
    assert first.title() == "Room lobby"


@pytest.mark.adoption
def test_a_reader_runs_the_quick_start_from_an_empty_folder(built_wheel, tmp_path):
    project = ExampleProject(tmp_path / "chat", None, wheel=built_wheel)
    project.folder.mkdir()
    (tmp_path / "home").mkdir()
    started = time.monotonic()

    run_page(project, QUICKSTART_PAGE)  # every block, the page's own tests included

    assert project.python == project.folder / ".venv" / "bin" / "python"  # the page's virtualenv, not the suite's
    command = [str(project.python), "manage.py", "runserver", "--noreload", "127.0.0.1:0"]
    with serving(command, cwd=project.folder, env=project.environment()) as (url, _lines):
        websocket_url = url.replace("http://", "ws://") + "/?channel=lobby"
        with connect(websocket_url, origin=url) as websocket:
            websocket.send(json.dumps({"action": "sendmessage", "message": "hi"}))
            first_message = json.loads(websocket.recv(timeout=30))
    print(f"\nquick start, empty folder to first message: {time.monotonic() - started:.1f} s")

    assert first_message == {"from": "anonymous", "message": "hi"}
    assert project.module_file("websockets_app").startswith(str(project.folder / ".venv"))  # the wheel's copy
