"""A real headless Chromium: the demo chat resumes after a drop, shows recent messages and who is online, and the
browser client delivers numbered messages once and in order (websockets_app/static/websockets_app/lambda-websocket.js).
"""

from __future__ import annotations

import json
import types

import boto3
import pytest
from django.contrib.auth import get_user_model

from tests.browser.test_browser_client import (  # noqa: F401  (fixtures used by name)
    TIMEOUT_MS,
    EventGate,
    browser,
    client_page,
    connect_gate,
    count_events,
    drop_connection,
    message_gate,
    open_client,
)
from tests.emulator_support import RecordingHandler, of_type, running_emulator
from websockets_app.channels.history import record
from websockets_app.emulator.limits import Limits

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def chat(browser, settings, lambda_handler):  # noqa: F811
    """The demo chat served by the in-process emulator, whose ``$connect`` events can be held at a gate."""
    gate = EventGate(lambda_handler)
    recorder = RecordingHandler(gate)
    contexts = []
    with running_emulator(settings, recorder, Limits()) as emulator:

        def open_page(channel, context=None):
            if context is None:
                context = browser.new_context()
                contexts.append(context)
            page = context.new_page()
            page.goto(f"{emulator.url}/?channel={channel}")
            page.locator("#status.connected").wait_for(timeout=TIMEOUT_MS)
            return page, recorder.events("CONNECT")[-1]["requestContext"]["connectionId"]

        def logged_in_context(username, password):
            context = browser.new_context()
            contexts.append(context)
            page = context.new_page()
            page.goto(f"{emulator.url}/login/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.locator("#status.connected").wait_for(timeout=TIMEOUT_MS)
            page.close()
            return context

        yield types.SimpleNamespace(open=open_page, login=logged_in_context, gate=gate, recorder=recorder)
        gate.release()
        for context in contexts:
            context.close()
        # Every $disconnect handled (their presence events sent) before the emulator they post to stops.
        for event in recorder.events("CONNECT"):
            recorder.wait_for(of_type("DISCONNECT", event["requestContext"]["connectionId"]))


# console.debug lines, kept where the test can read them in order.
DEBUG_RECORDER = """
window.debugged = [];
const debug = console.debug;
console.debug = (...parts) => {
    window.debugged.push(parts.map(String).join(" "));
    debug(...parts);
};
"""


def say(page, text):
    page.fill("#message", text)
    page.press("#message", "Enter")
    wait_for_line(page, text)


def wait_for_line(page, text):
    page.locator("#messages li.message", has_text=text).wait_for(timeout=TIMEOUT_MS)


def lines(page):
    return page.locator("#messages li.message").all_inner_texts()


def online(page):
    return page.locator("#users li").all_inner_texts()


def test_a_page_whose_connection_drops_shows_what_it_missed_once_and_in_order(chat, settings):
    a, _ = chat.open("room-r")
    b, b_connection = chat.open("room-r")
    say(a, "before the drop")
    wait_for_line(b, "before the drop")

    chat.gate.shut()  # B's reconnection waits at $connect until A has sent three messages
    drop_connection(settings, b_connection)
    b.locator("#status:not(.connected)").wait_for(timeout=TIMEOUT_MS)
    for text in ("one", "two", "three"):
        say(a, text)
    assert lines(b) == ["anonymousbefore the drop"]
    chat.gate.release()

    b.locator("#messages li.notice", has_text="3 message(s) above arrived while you were reconnecting.").wait_for(
        timeout=TIMEOUT_MS
    )
    say(a, "after")
    wait_for_line(b, "after")
    expected = ["anonymousbefore the drop", "anonymousone", "anonymoustwo", "anonymousthree", "anonymousafter"]
    assert lines(b) == expected
    assert lines(a) == expected

    later, _ = chat.open("room-r")
    wait_for_line(later, "after")
    assert lines(later) == expected  # the room's recent messages, on load
    assert later.locator("#messages li.notice").count() == 0


def test_two_tabs_of_one_user_are_one_entry_until_both_close(chat):
    get_user_model().objects.create_user("alice", password="pw-a-1")
    watcher, _ = chat.open("room-p")
    alice = chat.login("alice", "pw-a-1")
    first, first_connection = chat.open("room-p", alice)
    second, second_connection = chat.open("room-p", alice)

    for page in (watcher, first, second):
        page.wait_for_function("document.querySelectorAll('#users li').length === 1", timeout=TIMEOUT_MS)
        assert online(page) == ["alice"]
        page.locator("#anonymous", has_text="and 1 anonymous").wait_for(timeout=TIMEOUT_MS)

    first.close()
    chat.recorder.wait_for(of_type("DISCONNECT", first_connection))
    say(watcher, "still here?")  # the room's frames come in order: a "left" would have come first
    assert online(watcher) == ["alice"]

    second.close()
    chat.recorder.wait_for(of_type("DISCONNECT", second_connection))
    watcher.wait_for_function("document.querySelectorAll('#users li').length === 0", timeout=TIMEOUT_MS)
    assert watcher.inner_text("#anonymous") == "and 1 anonymous"


def test_the_client_drops_duplicates_and_fills_a_gap_in_order(client_page, settings):  # noqa: F811
    page, recorder, emulator = client_page
    page.evaluate(DEBUG_RECORDER)
    open_client(page, emulator, debug=True, gapWait=200)
    connection_id = recorder.events("CONNECT")[-1]["requestContext"]["connectionId"]
    first, second, third = (record("client-tests", {"n": n}) for n in (1, 2, 3))
    management = boto3.client("apigatewaymanagementapi", endpoint_url=settings.WEBSOCKETS["ENDPOINT_URL"])

    for message in (first, first, third):  # a retried batch repeats the first; the second is late
        management.post_to_connection(ConnectionId=connection_id, Data=message.frame.encode())
    event, _ = recorder.wait_for(lambda event: '"action":"history"' in (event.get("body") or ""))
    assert json.loads(event["body"]) == {"channel": "client-tests", "after": 1, "id": 1, "action": "history"}
    count_events(page, "message", 3)
    management.post_to_connection(ConnectionId=connection_id, Data=second.frame.encode())  # arrives at last
    page.wait_for_function(
        "window.debugged.some((line) => line.includes('dropped client-tests 2'))", timeout=TIMEOUT_MS
    )

    assert page.evaluate("window.events.filter((event) => event[0] === 'message').map((event) => event[1])") == [
        {"n": 1},
        {"n": 2},
        {"n": 3},
    ]
    assert [line for line in page.evaluate("window.debugged") if "duplicate" in line] == [
        f"LambdaWebSocket: duplicate dropped client-tests 1 {first.message_id}",  # the batch's second copy
        f"LambdaWebSocket: duplicate dropped client-tests 3 {third.message_id}",  # the live copy the replay had too
        f"LambdaWebSocket: duplicate dropped client-tests 2 {second.message_id}",  # the late one
    ]
