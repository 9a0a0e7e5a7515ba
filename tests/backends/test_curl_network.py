"""The libcurl backend in the network its users have: proxies, CA bundles and endpoints as botocore honours them.

Every post here goes through ``send_message`` to the ``connections_api`` fixture's TLS endpoint, which holds a
certificate for the real API Gateway host name from a test CA and checks each SigV4 signature.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta

import botocore.httpsession
import pytest
import trustme
from django.utils import timezone

from tests.aws_events import API_ID, REGION, STAGE
from websockets_app.backends import curl
from websockets_app.backends.loading import get_backend
from websockets_app.models import WebSocketSession
from websockets_app.sending.delivery import SendResult

pytestmark = pytest.mark.django_db

HOST = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
ESTABLISHED = timezone.now() - timedelta(minutes=5)


def open_sessions(connections_api, *connection_ids: str) -> None:
    connections_api.open(*connection_ids)
    for connection_id in connection_ids:
        WebSocketSession.objects.create(
            connection_id=connection_id, channel_name="room", api_id=API_ID, stage=STAGE, connected_at=ESTABLISHED
        )


def endpoint_port() -> int:
    """The fixture's TLS endpoint, where the fixture's backend connects for every host name."""
    [connect_to] = get_backend()._connect_to
    return int(connect_to.rsplit(":", 1)[1])


@contextlib.contextmanager
def connect_proxy(upstream_port: int) -> Iterator[dict]:
    """An HTTP CONNECT proxy on 127.0.0.1 that tunnels every CONNECT to the local TLS endpoint, recording each
    CONNECT line and the local address of each tunnel's upstream connection."""
    seen: dict = {"connects": [], "upstreams": []}
    listener = socket.create_server(("127.0.0.1", 0))

    def pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def tunnel(client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                data = client.recv(4096)
                if not data:
                    return
                head += data
            seen["connects"].append(head.split(b"\r\n", 1)[0].decode())
            with socket.create_connection(("127.0.0.1", upstream_port)) as upstream:
                seen["upstreams"].append(upstream.getsockname())
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                back = threading.Thread(target=pipe, args=(upstream, client), daemon=True)
                back.start()
                pipe(client, upstream)
                back.join(5)

    def accept() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=tunnel, args=(client,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    seen["url"] = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        yield seen
    finally:
        listener.close()


def test_with_https_proxy_set_every_post_goes_through_the_proxy(connections_api, monkeypatch):
    open_sessions(connections_api, "A=", "B=", "C=")
    with connect_proxy(endpoint_port()) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy["url"])
        result = WebSocketSession.objects.all().send_message("hi")
    assert result == SendResult(sent=3)
    assert [connections_api.received(c) for c in ("A=", "B=", "C=")] == [b"hi", b"hi", b"hi"]
    assert proxy["connects"]
    assert all(line.startswith("CONNECT ") for line in proxy["connects"])
    # Every post reached the endpoint from one of the proxy's tunnels, none directly.
    assert len(connections_api.peers) == 3
    assert set(connections_api.peers) <= set(proxy["upstreams"])


@pytest.mark.parametrize("no_proxy", [HOST, f".{REGION}.amazonaws.com", "*"])
def test_no_proxy_matching_the_endpoint_sends_directly(connections_api, monkeypatch, no_proxy):
    open_sessions(connections_api, "A=", "B=")
    with connect_proxy(endpoint_port()) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy["url"])
        monkeypatch.setenv("NO_PROXY", no_proxy)
        result = WebSocketSession.objects.all().send_message("hi")
    assert result == SendResult(sent=2)
    assert (proxy["connects"], len(connections_api.peers)) == ([], 2)


def test_aws_ca_bundle_naming_the_private_ca_verifies_and_without_it_nothing_is_sent(connections_api, monkeypatch):
    """The fixture sets AWS_CA_BUNDLE to the test CA that issued the endpoint's certificate: that is what verifies.
    Without it, botocore's own bundle is used, which does not trust a private CA."""
    open_sessions(connections_api, "A=")
    assert WebSocketSession.objects.get().send_message("trusted") == SendResult(sent=1)
    monkeypatch.delenv("AWS_CA_BUNDLE")
    result = WebSocketSession.objects.get().send_message("untrusted")
    assert result.sent == 0
    assert result.failed["A="].startswith(
        f'SSLError: SSL validation failed for "https://{HOST}/{STAGE}/@connections/A%3D"'
    )
    assert connections_api.received("A=") == b"trusted"


def test_a_wrong_ca_bundle_fails_once_and_is_never_retried(connections_api, monkeypatch, tmp_path):
    open_sessions(connections_api, "A=")
    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    monkeypatch.setenv("AWS_CA_BUNDLE", str(other_ca))
    result = WebSocketSession.objects.get().send_message("hi")
    assert list(result.failed) == ["A="]
    assert result.failed["A="].startswith("SSLError: SSL validation failed for ")
    # One connection (under TLS 1.3 the client refuses the certificate after the server's side of the handshake);
    # no request, no backoff, nothing taken from the retry budget.
    for _ in range(100):
        if connections_api.handshakes:
            break
        threading.Event().wait(0.05)
    threading.Event().wait(0.2)  # time for a retry's connection, were there one
    assert (len(connections_api.handshakes), connections_api.requests, connections_api.sleeps) == (1, [], [])
    assert get_backend().budget.tokens == get_backend().budget.capacity
    assert WebSocketSession.objects.get().connected


def test_without_aws_ca_bundle_the_bundle_is_botocores(monkeypatch, tmp_path):
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent"))
    assert curl.botocore_ca_bundle() == botocore.httpsession.get_cert_path(True)
    config = tmp_path / "config"
    config.write_text(f"[default]\nca_bundle = {tmp_path / 'corporate.pem'}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    assert curl.botocore_ca_bundle() == str(tmp_path / "corporate.pem")
    monkeypatch.setenv("AWS_CA_BUNDLE", str(tmp_path / "from-env.pem"))
    assert curl.botocore_ca_bundle() == str(tmp_path / "from-env.pem")
