"""The browser client with connect tokens, in a real headless Chromium: a spent token is never retried.

A token connects once, so a client that reconnected with the same ``?token=`` would be refused (403) for ever.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.browser.test_browser_client import (  # noqa: F401  (fixtures)
    SETTLED,
    TIMEOUT_MS,
    browser,
    client_page,
    client_url,
    connect_gate,
    count_events,
    drop_connection,
    event_types,
    message_gate,
)
from websockets_app.security.tokens import issue_connect_token

pytestmark = pytest.mark.django_db(transaction=True)


def connects(recorder) -> list[tuple[str, int]]:
    """The token of every $connect the client under test made, with the answer it got."""
    return [
        (query.get("token"), answer["statusCode"])
        for event, answer in recorder.calls
        if event.get("requestContext", {}).get("eventType") == "CONNECT"
        and (query := event.get("queryStringParameters") or {}).get("channel") == "client-tests"
    ]


def test_a_spent_token_is_not_reconnected_with(client_page, settings):  # noqa: F811
    page, recorder, emulator = client_page
    token = issue_connect_token(get_user_model().objects.create_user("alice"))
    page.evaluate(
        "([url, options]) => openClient(url, options)",
        [f"{client_url(emulator)}&token={token}", {"minReconnectDelay": 50, "maxReconnectDelay": 100}],
    )
    count_events(page, "open", 1)

    drop_connection(settings, recorder.events("CONNECT")[-1]["requestContext"]["connectionId"])
    count_events(page, "close", 1)
    page.wait_for_timeout(1000)  # ten reconnection delays

    assert connects(recorder) == [(token, 200)]
    assert event_types(page) == ["open", "close"]
    assert page.evaluate("window.events[1][1].reconnecting") is False
    assert page.evaluate("window.sockets.length") == 1


def test_a_refused_token_is_tried_once(client_page):  # noqa: F811
    page, recorder, emulator = client_page
    page.evaluate(
        "([url, options]) => openClient(url, options)",
        [f"{client_url(emulator)}&token=never-issued", {"minReconnectDelay": 50, "maxReconnectDelay": 100}],
    )
    count_events(page, "close", 1)
    page.wait_for_timeout(1000)

    assert connects(recorder) == [("never-issued", 403)]
    assert page.evaluate("window.events[0][1].reconnecting") is False


def test_a_url_function_gets_a_fresh_token_for_every_connection(client_page, settings):  # noqa: F811
    page, recorder, emulator = client_page
    get_user_model().objects.create_user("alice", password="pw-a-1")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "pw-a-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{emulator.url}/")
    page.goto(f"{emulator.url}/login/")  # logged in, on a page that opens no WebSocket of its own
    page.add_script_tag(url="/static/websockets_app/lambda-websocket.js")
    page.add_script_tag(content=CLIENT_HARNESS_WITH_TOKENS)
    page.evaluate("(url) => openClientWithTokens(url, {minReconnectDelay: 50})", client_url(emulator))
    count_events(page, "open", 1)

    drop_connection(settings, recorder.events("CONNECT")[-1]["requestContext"]["connectionId"])
    count_events(page, "open", 2)

    tokens = connects(recorder)
    assert [status for _, status in tokens] == [200, 200]
    assert tokens[0][0] != tokens[1][0]
    assert all(token for token, _ in tokens)
    assert event_types(page) == ["open", "close", "open"]
    assert page.evaluate("window.events[1][1].reconnecting") is True
    page.wait_for_function(SETTLED, timeout=TIMEOUT_MS)


# The docs' hook: fetch a token from the site's CSRF-protected endpoint before every connection.
CLIENT_HARNESS_WITH_TOKENS = """
window.sockets = [];
window.WebSocket = class extends WebSocket {
    constructor(...args) {
        super(...args);
        window.sockets.push(this);
    }
};
window.openClientWithTokens = (url, options) => {
    const csrftoken = document.cookie.match(/csrftoken=([^;]+)/)[1];
    const freshUrl = async () => {
        const headers = {"X-CSRFToken": csrftoken};
        const response = await fetch("/websockets/connect-token/", {method: "POST", headers: headers});
        const {token} = await response.json();
        return `${url}&token=${encodeURIComponent(token)}`;
    };
    window.events = [];
    window.socket = new LambdaWebSocket(freshUrl, options);
    for (const type of ["open", "close", "message"]) {
        window.socket.addEventListener(type, (event) => window.events.push([type, event.detail]));
    }
};
"""
