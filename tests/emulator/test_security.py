"""The emulator on a developer's machine: other sites' pages cannot post to its sockets, and its log keeps no token.

The drive-by is played by a real headless Chromium showing a page of another site; DNS rebinding by the request
such a page sends once the attacker's name points at 127.0.0.1 (the attacker's host name in ``Host``).
"""

from __future__ import annotations

import http.client
import http.server
import logging
import threading

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.browser.test_browser_client import TIMEOUT_MS, browser  # noqa: F401  (the browser fixture)
from websockets_app.emulator import app as emulator_app

pytestmark = pytest.mark.django_db(transaction=True)

FORBIDDEN = (403, "ForbiddenException", b'{"message": "Forbidden"}')


@pytest.fixture
def victim(emulator, recorder):
    """A socket open on the emulator, as the developer's own page holds one, and its connection id."""
    with connect(f"ws://{emulator.app.api.domain_name}/") as websocket:
        yield websocket, recorder.events("CONNECT")[-1]["requestContext"]["connectionId"]


def post(emulator, connection_id: str, headers: dict[str, str], host: str | None = None, *, sign: bool = True) -> tuple:
    """POST to the emulator's @connections with exactly these headers and ``Host``, SigV4-signed as boto3 signs."""
    host = host or emulator.app.api.domain_name
    path = f"/{emulator.app.api.stage}/@connections/{connection_id}"
    body = b"pwned"
    all_headers = dict(headers)
    if sign:
        request = AWSRequest(method="POST", url=f"http://{host}{path}", data=body, headers=headers)
        SigV4Auth(boto3.Session().get_credentials(), "execute-api", "us-east-1").add_auth(request)
        all_headers = {name: value for name, value in request.headers.items() if name.lower() != "host"}
    host_name, port = emulator.app.api.domain_name.rsplit(":", 1)
    connection = http.client.HTTPConnection(host_name, int(port), timeout=10)
    connection.putrequest("POST", path, skip_host=True)
    connection.putheader("Host", host)
    for name, value in all_headers.items():
        connection.putheader(name, value)
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    response = connection.getresponse()
    answer = (response.status, response.getheader("x-amzn-ErrorType"), response.read())
    connection.close()
    return answer


def nothing_arrives(websocket) -> bool:
    try:
        websocket.recv(timeout=0.5)
    except TimeoutError:
        return True
    return False


ATTACKS = {
    "no-cors post from another site": {
        "Origin": "https://evil.example",
        "Sec-Fetch-Site": "cross-site",
        "Sec-Fetch-Mode": "no-cors",
        "Sec-Fetch-Dest": "empty",
        "Content-Type": "text/plain;charset=UTF-8",
    },
    "sandboxed page (Origin null)": {"Origin": "null", "Content-Type": "text/plain"},
    "fetch metadata without Origin": {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors"},
    "navigation by a form": {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Fetch-User": "?1"},
}
REBOUND_HOSTS = ["rebind.evil.example:{port}", "rebind.evil.example", "127.0.0.1.evil.example:{port}"]


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_requests_a_browser_marks_are_refused(emulator, victim, attack):
    """Signed, so that what refuses them is the browser rule, not the missing signature a page would also lack."""
    websocket, connection_id = victim

    assert post(emulator, connection_id, ATTACKS[attack]) == FORBIDDEN
    assert nothing_arrives(websocket)


@pytest.mark.parametrize("host", REBOUND_HOSTS)
def test_dns_rebinding_is_refused(emulator, victim, host):
    websocket, connection_id = victim
    port = emulator.app.api.domain_name.rsplit(":", 1)[1]

    assert post(emulator, connection_id, {}, host=host.format(port=port)) == FORBIDDEN
    assert nothing_arrives(websocket)


@pytest.mark.parametrize("host", ["localhost:{port}", "127.0.0.1:{port}", "localhost"])
def test_server_side_clients_on_this_machine_still_post(emulator, victim, host):
    websocket, connection_id = victim
    port = emulator.app.api.domain_name.rsplit(":", 1)[1]

    assert post(emulator, connection_id, {}, host=host.format(port=port)) == (200, None, b"")
    assert websocket.recv(timeout=10) == "pwned"


def test_an_unsigned_post_is_refused_as_on_aws(emulator, victim):
    websocket, connection_id = victim

    status, error_type, _ = post(emulator, connection_id, {}, sign=False)

    assert (status, error_type) == (403, "ForbiddenException")
    assert nothing_arrives(websocket)


class AttackerSite(http.server.BaseHTTPRequestHandler):
    """Another site (another origin, on a name of its own) whose page posts to the emulator."""

    page = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args) -> None:
        pass


@pytest.mark.parametrize("defence", ["both", "the signature alone"])
def test_a_page_of_another_site_cannot_post_to_a_connection(
    browser,  # noqa: F811
    emulator,
    victim,
    caplog,
    monkeypatch,
    defence,
):
    """Either defence stops the drive-by: the browser rule (it answers first), and SigV4 without it."""
    if defence == "the signature alone":
        monkeypatch.setattr(emulator_app, "browser_refusal", lambda scope, own_host: None)
    websocket, connection_id = victim
    target = f"http://{emulator.app.api.domain_name}/{emulator.app.api.stage}/@connections/{connection_id}"
    options = "{method: 'POST', mode: 'no-cors', body: 'pwned', headers: {'Content-Type': 'text/plain'}}"
    AttackerSite.page = (
        f"<script>window.done = fetch('{target}', {options}).then(() => 'sent', (error) => String(error));</script>"
    ).encode()
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), AttackerSite)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    page = browser.new_context().new_page()
    try:
        with caplog.at_level(logging.INFO, logger="websockets_app.emulator"):
            page.goto(f"http://localhost:{site.server_address[1]}/", timeout=TIMEOUT_MS)
            assert page.evaluate("window.done") == "sent"  # no-cors: the page never sees the answer
            assert nothing_arrives(websocket)
    finally:
        page.context.close()
        site.shutdown()
        site.server_close()
    refusals = [record.getMessage() for record in caplog.records if "@connections" in record.getMessage()]
    assert len(refusals) == 1
    expected = "403 (refused: a web page sent it (Origin or Sec-Fetch-* header))" if defence == "both" else "403"
    assert refusals[0].endswith(f'@connections/{connection_id}" {expected}')


def test_the_log_masks_connect_tokens(emulator, caplog):
    url = f"ws://{emulator.app.api.domain_name}/?channel=room&token=s3cr3t-t0ken-value"
    with caplog.at_level(logging.INFO, logger="websockets_app.emulator"), pytest.raises(InvalidStatus):
        connect(url).close()  # refused: not a token the site issued
    lines = [record.getMessage() for record in caplog.records if "$connect" in record.getMessage()]

    assert len(lines) == 1
    assert '"/?channel=room&token=***" 403' in lines[0]
    assert "s3cr3t" not in caplog.text
