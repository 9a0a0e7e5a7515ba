"""A real headless Chromium against the emulator: two pages chat, and the browser client survives what AWS does.

Debian's ``chromium`` is driven by Playwright through its executable path (Playwright never downloads a browser).
Without it the tests are skipped locally; in CI (``CI`` set) they fail, so a missing browser cannot hide.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import boto3
import pytest

from tests.emulator_support import RecordingHandler, of_type, running_emulator
from tests.runserver_process import manage, runserver
from websockets_app.emulator.limits import Limits

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "_generated"
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package.")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's synchronous API keeps an asyncio loop marked as running in this thread, which Django takes
    # for async code; the database set-up and tear-down pytest-django runs here are safe, so allow them.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def server_url(tmp_path):
    """``manage.py runserver`` in its own process, on a fresh SQLite database with one user."""
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    with runserver(database_url) as (url, _):
        create_user = (
            "from django.contrib.auth.models import User; User.objects.create_user('alice', password='pw-a-1')"
        )
        manage(database_url, "shell", "-c", create_user)
        yield url


def wait_for_text(page, text):
    page.locator("#messages li", has_text=text).wait_for(timeout=TIMEOUT_MS)


def messages(page):
    return page.locator("#messages li").all_inner_texts()


def test_two_pages_chat_through_runserver(browser, server_url):
    anonymous = browser.new_context().new_page()
    alice = browser.new_context().new_page()
    elsewhere = browser.new_context().new_page()
    anonymous.goto(f"{server_url}/?channel=room-1")
    alice.goto(f"{server_url}/login/?next=/%3Fchannel%3Droom-1")
    alice.fill("input[name=username]", "alice")
    alice.fill("input[name=password]", "pw-a-1")
    alice.click("button[type=submit]")
    elsewhere.goto(f"{server_url}/?channel=room-2")
    for page in (anonymous, alice, elsewhere):
        page.locator("#status.connected").wait_for(timeout=TIMEOUT_MS)
    assert alice.inner_text("#me") == "alice"

    anonymous.fill("#message", "hello from a tab")
    anonymous.press("#message", "Enter")
    for page in (anonymous, alice):
        wait_for_text(page, "hello from a tab")
    alice.fill("#message", "hi, this is alice")
    alice.click("button:text('Send')")
    for page in (anonymous, alice):
        wait_for_text(page, "hi, this is alice")

    expected = ["anonymoushello from a tab", "alicehi, this is alice"]
    assert messages(anonymous) == expected
    assert messages(alice) == expected
    assert messages(elsewhere) == []

    # whoami is answered by the handler's return value; refusals come back with their reason.
    assert alice.inner_text("#whoami") == "Signed in as alice in room room-1"
    assert anonymous.inner_text("#whoami") == "Signed in as anonymous in room room-1"
    alice.fill("#message", "   ")
    alice.press("#message", "Enter")
    wait_for_text(alice, "Not sent: message must be a non-empty string.")
    alice.fill("#message", "x" * 2001)
    alice.press("#message", "Enter")
    wait_for_text(alice, "Not sent: message must be at most 2000 characters.")
    assert messages(alice)[2:] == [
        "Not sent: message must be a non-empty string.",
        "Not sent: message must be at most 2000 characters.",
    ]
    assert messages(anonymous) == expected
    SCREENSHOTS.mkdir(exist_ok=True)
    alice.set_viewport_size({"width": 900, "height": 640})
    alice.screenshot(path=str(SCREENSHOTS / "chat-alice.png"))
    anonymous.screenshot(path=str(SCREENSHOTS / "chat-anonymous.png"))


# The browser client (websockets_app/static/websockets_app/lambda-websocket.js), against the in-process emulator.


# Every WebSocket the page creates is kept in window.sockets, so a test sees connections the client lost track of.
CLIENT_HARNESS = """
window.sockets = [];
window.WebSocket = class extends WebSocket {
    constructor(...args) {
        super(...args);
        window.sockets.push(this);
    }
};
window.openClient = (url, options) => {
    window.events = [];
    window.socket = new LambdaWebSocket(url, options);
    for (const type of ["open", "close", "message", "error"]) {
        window.socket.addEventListener(type, (event) => window.events.push([type, event.detail]));
    }
};
"""
SETTLED = "window.sockets.every((socket) => socket.readyState !== WebSocket.CONNECTING)"


class EventGate:
    """Holds events of one type while shut (``$connect`` by default), so a test can act while they wait."""

    def __init__(self, handler, event_type="CONNECT"):
        self.handler = handler
        self.event_type = event_type
        self._open = threading.Event()
        self._open.set()
        self._held = threading.Event()

    def __call__(self, event, context):
        if event.get("requestContext", {}).get("eventType") == self.event_type and not self._open.is_set():
            self._held.set()
            self._open.wait(TIMEOUT_MS / 1000)
        return self.handler(event, context)

    def shut(self):
        self._held.clear()
        self._open.clear()

    def wait_until_held(self):
        assert self._held.wait(TIMEOUT_MS / 1000), f"no {self.event_type} event reached the gate"

    def release(self):
        self._open.set()


def count_events(page, event_type, at_least):
    page.wait_for_function(
        f"window.events.filter((event) => event[0] === {event_type!r}).length >= {at_least}", timeout=TIMEOUT_MS
    )


def socket_states(page):
    """readyState of every socket the page created, once none is still connecting: 1 open, 3 closed."""
    page.wait_for_function(SETTLED, timeout=TIMEOUT_MS)
    return page.evaluate("window.sockets.map((socket) => socket.readyState)")


def event_types(page):
    return page.evaluate("window.events.map((event) => event[0])")


@pytest.fixture
def message_gate(lambda_handler):
    gate = EventGate(lambda_handler, "MESSAGE")
    yield gate
    gate.release()


@pytest.fixture
def connect_gate(message_gate):
    gate = EventGate(message_gate)
    yield gate
    gate.release()


@pytest.fixture
def client_page(browser, settings, connect_gate):
    recorder = RecordingHandler(connect_gate)
    with running_emulator(settings, recorder, Limits()) as emulator:
        page = browser.new_context().new_page()
        page.goto(f"{emulator.url}/login/")  # a page of the site that opens no WebSocket of its own
        page.add_script_tag(url="/static/websockets_app/lambda-websocket.js")
        page.add_script_tag(content=CLIENT_HARNESS)
        yield page, recorder, emulator
        page.context.close()


def client_url(emulator):
    return f"ws://{emulator.app.api.domain_name}/local?channel=client-tests"


def open_client(page, emulator, **options):
    page.evaluate("([url, options]) => openClient(url, options)", [client_url(emulator), options])
    count_events(page, "open", 1)


def drop_connection(settings, connection_id):
    """What API Gateway does to a connection at its limits: the client sees it closed by the server."""
    management = boto3.client("apigatewaymanagementapi", endpoint_url=settings.WEBSOCKETS["ENDPOINT_URL"])
    management.delete_connection(ConnectionId=connection_id)


@pytest.mark.django_db(transaction=True)
def test_client_reconnects_with_backoff_and_sends_what_was_queued(client_page, settings):
    page, recorder, emulator = client_page
    open_client(page, emulator, minReconnectDelay=200)
    first = recorder.events("CONNECT")[-1]["requestContext"]["connectionId"]
    drop_connection(settings, first)
    count_events(page, "close", 1)
    page.evaluate("window.socket.send('sendmessage', {message: 'queued while away'})")
    count_events(page, "open", 2)
    event, _ = recorder.wait_for(lambda event: "queued while away" in (event.get("body") or ""))
    assert event["requestContext"]["connectionId"] != first
    assert event["requestContext"]["routeKey"] == "$default"
    assert event_types(page)[:3] == ["open", "close", "open"]
    assert page.evaluate("window.events[1][1]") == {
        "code": 1000,
        "reason": "Connection closed by the server",
        "reconnecting": True,
    }


@pytest.mark.django_db(transaction=True)
def test_client_sends_heartbeats_when_quiet(client_page):
    page, recorder, emulator = client_page
    open_client(page, emulator, heartbeatInterval=200)
    connection_id = recorder.events("CONNECT")[-1]["requestContext"]["connectionId"]
    _, answer = recorder.wait_for(
        lambda event: of_type("MESSAGE", connection_id)(event) and event["body"] == '{"action":"heartbeat"}'
    )
    assert answer["statusCode"] == 200


@pytest.mark.django_db(transaction=True)
def test_client_renews_its_connection_before_the_limit_and_closes_the_old_one(client_page):
    page, recorder, emulator = client_page
    open_client(page, emulator, renewAfter=300)
    first = recorder.events("CONNECT")[-1]["requestContext"]["connectionId"]
    count_events(page, "open", 2)
    event, _ = recorder.wait_for(of_type("DISCONNECT", first))
    context = event["requestContext"]
    assert (context["disconnectStatusCode"], context["disconnectReason"]) == (1000, "Renewed")
    assert page.evaluate("window.events.map((event) => [event[0], event[1] && event[1].renewed])")[:2] == [
        ["open", False],
        ["open", True],
    ]


@pytest.mark.django_db(transaction=True)
def test_client_closed_during_its_first_connect_never_opens(client_page):
    page, _, emulator = client_page
    page.evaluate("(url) => { openClient(url, {}); window.socket.close(); }", client_url(emulator))
    assert socket_states(page) == [3]
    assert page.evaluate("window.events") == [["close", {"code": 1006, "reason": "", "reconnecting": False}]]


@pytest.mark.django_db(transaction=True)
def test_client_closed_while_reconnecting_never_opens_again(client_page, connect_gate, settings):
    page, recorder, emulator = client_page
    page.clock.install()
    open_client(page, emulator, minReconnectDelay=1000, maxReconnectDelay=1000)
    connect_gate.shut()
    drop_connection(settings, recorder.events("CONNECT")[-1]["requestContext"]["connectionId"])
    count_events(page, "close", 1)
    page.clock.run_for(1000)  # the reconnection is due: its socket is connecting, held at $connect
    connect_gate.wait_until_held()
    page.evaluate("window.socket.close()")
    connect_gate.release()
    assert socket_states(page) == [3, 3]
    assert event_types(page) == ["open", "close", "close"]
    assert page.evaluate("window.events[2][1]") == {"code": 1006, "reason": "", "reconnecting": False}


@pytest.mark.django_db(transaction=True)
def test_client_keeps_one_connection_when_the_old_one_drops_during_a_renewal(client_page, connect_gate, settings):
    page, recorder, emulator = client_page
    page.clock.install()
    open_client(page, emulator, renewAfter=60_000, minReconnectDelay=1000, maxReconnectDelay=1000)
    first = recorder.events("CONNECT")[-1]["requestContext"]["connectionId"]
    connect_gate.shut()
    page.clock.run_for(60_000)  # the renewal starts, held at $connect
    connect_gate.wait_until_held()
    drop_connection(settings, first)
    count_events(page, "close", 1)
    connect_gate.release()
    count_events(page, "open", 2)
    page.clock.run_for(1000)  # when the reconnection scheduled by the drop was due
    assert socket_states(page) == [3, 1]
    assert page.evaluate("window.events.map((event) => [event[0], event[1].renewed])") == [
        ["open", False],
        ["close", None],
        ["open", True],
    ]


# Replies: request() and error frames.

OUTCOME = """([action, payload, options]) => {
    window.outcome = null;
    window.socket.request(action, payload, options).then(
        (reply) => { window.outcome = ["resolved", reply]; },
        (error) => { window.outcome = [error.name, error.reason, error.status, error.message]; }
    );
}"""


def request(page, action, payload=None, **options):
    """Start ``socket.request`` in the page; :func:`outcome` waits for how it ended."""
    page.evaluate(OUTCOME, [action, payload or {}, options])


def outcome(page):
    page.wait_for_function("window.outcome !== null", timeout=TIMEOUT_MS)
    return page.evaluate("window.outcome")


@pytest.mark.django_db(transaction=True)
def test_request_resolves_with_the_handlers_reply(client_page):
    page, recorder, emulator = client_page
    open_client(page, emulator)
    request(page, "whoami")
    assert outcome(page) == ["resolved", {"type": "whoami", "user": "anonymous", "channel": "client-tests"}]
    event, _ = recorder.wait_for(lambda event: "whoami" in (event.get("body") or ""))
    assert json.loads(event["body"]) == {"action": "whoami", "id": 1}
    request(page, "sendmessage", {"message": "asked"})
    assert outcome(page) == ["resolved", None]


@pytest.mark.django_db(transaction=True)
def test_request_rejects_with_the_error_frame_that_answers_it(client_page):
    page, _, emulator = client_page
    open_client(page, emulator)
    request(page, "sendmessage", {"message": " "})
    assert outcome(page) == ["RequestError", "error", 400, "message must be a non-empty string."]


@pytest.mark.django_db(transaction=True)
def test_error_frames_answering_no_request_are_error_events_and_empty_replies_are_swallowed(client_page):
    page, _, emulator = client_page
    open_client(page, emulator)
    page.evaluate("window.socket.send('sendmessage', {message: ''})")
    page.evaluate("window.socket.send('sendmessage', {message: 'fire and forget'})")
    request(page, "whoami")
    assert outcome(page)[0] == "resolved"
    # A connection's messages are handled in no set order (as on AWS): wait for both answers, then for any stray
    # frame an empty reply that was not swallowed would have caused.
    count_events(page, "error", 1)
    count_events(page, "message", 1)
    page.wait_for_timeout(300)
    events = page.evaluate("window.events.filter((event) => event[0] !== 'open')")
    assert sorted(events, key=lambda event: event[0]) == [
        ["error", {"status": 400, "message": "message must be a non-empty string."}],
        ["message", {"type": "message", "user": "anonymous", "message": "fire and forget"}],
    ]


@pytest.mark.django_db(transaction=True)
def test_request_rejects_when_no_reply_comes_in_time(client_page, message_gate):
    page, _, emulator = client_page
    page.clock.install()
    open_client(page, emulator)
    message_gate.shut()
    request(page, "whoami", timeout=60_000)
    message_gate.wait_until_held()
    page.clock.run_for(30_000)  # the page's clock also runs on its own meanwhile, by far less than this
    assert page.evaluate("window.outcome") is None
    page.clock.run_for(30_000)
    assert outcome(page) == ["RequestError", "timeout", 0, "No reply to whoami within 60000 ms"]
    message_gate.release()


@pytest.mark.django_db(transaction=True)
def test_request_rejects_when_its_connection_closes_first(client_page, message_gate, settings):
    page, recorder, emulator = client_page
    open_client(page, emulator, minReconnectDelay=60_000)
    message_gate.shut()
    request(page, "whoami")
    message_gate.wait_until_held()
    drop_connection(settings, recorder.events("CONNECT")[-1]["requestContext"]["connectionId"])
    assert outcome(page) == ["RequestError", "closed", 0, "The connection closed before the reply came"]
    message_gate.release()
