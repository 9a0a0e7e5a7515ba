"""The quick start's view, page and test fit together: its site, built from the page, chats in a real browser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser import test_browser_client as test_browser
from tests.docs_examples import QUICKSTART_PAGE, copy_project, run_page
from tests.runserver_process import serving

browser = test_browser.browser  # the module's headless Chromium fixture
TIMEOUT_MS = test_browser.TIMEOUT_MS


@pytest.fixture
def quickstart_url(docs_base_project, tmp_path) -> Iterator[str]:
    project = copy_project(docs_base_project, tmp_path / "site")
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
