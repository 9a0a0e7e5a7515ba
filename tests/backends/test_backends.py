"""The send backends: the same answers from AWS mean the same ``SendResult`` through each, the configured one is the
one used, and the two made for tests (locmem's outbox, boto3's client under moto) work as a user's tests use them."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

import boto3
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test.utils import override_settings
from django.utils import timezone
from moto import mock_aws
from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends
from moto.core import DEFAULT_ACCOUNT_ID

from tests.aws_events import API_ID, REGION, STAGE
from tests.connections_api import BACKENDS
from websockets_app.backends import (
    Boto3Backend,
    CurlBackend,
    LocmemBackend,
    SendBackend,
    SendOptions,
    connection_post,
    get_backend,
    locmem,
)
from websockets_app.backends.loading import load_backend_class
from websockets_app.backends.outcomes import HELD_BACK, SENT, failed
from websockets_app.exceptions import MessageTooLarge
from websockets_app.models import WebSocketSession
from websockets_app.sending.delivery import GONE_REASON, SendResult

pytestmark = pytest.mark.django_db

ENDPOINT = f"https://{API_ID}.execute-api.{REGION}.amazonaws.com/{STAGE}"
ESTABLISHED = timezone.now() - timedelta(minutes=5)  # past the $connect window: 410 means gone for good
LOCMEM = {"SEND_BACKEND": "websockets_app.backends.LocmemBackend"}
BOTO3 = {"SEND_BACKEND": "websockets_app.backends.Boto3Backend"}


def make_session(connection_id: str) -> WebSocketSession:
    return WebSocketSession.objects.create(
        connection_id=connection_id, channel_name="room", api_id=API_ID, stage=STAGE, connected_at=ESTABLISHED
    )


@pytest.mark.parametrize("connections_api", BACKENDS, indirect=True)
def test_each_answer_means_the_same_whichever_backend_posts(connections_api):
    connections_api.open("sent=", "throttled-once=", "throttled=", "too-large=")
    connections_api.fail("throttled-once=", 429)
    connections_api.fail("throttled=", 429, 429, 429)
    connections_api.fail("too-large=", 413)
    for connection_id in ("sent=", "gone=", "throttled-once=", "throttled=", "too-large="):
        make_session(connection_id)

    result = WebSocketSession.objects.all().send_message({"n": 1})

    assert result == SendResult(
        sent=3, gone=["gone="], failed={"too-large=": "PayloadTooLargeException (HTTP 413)"}
    )  # throttling, even past SEND_MAX_ATTEMPTS, slows the sender down: no failure
    assert [connections_api.received(c) for c in ("sent=", "throttled-once=", "throttled=")] == [b'{"n":1}'] * 3
    assert list(WebSocketSession.objects.filter(connected=False).values_list("connection_id", "disconnect_reason")) == [
        ("gone=", GONE_REASON)
    ]
    with pytest.raises(MessageTooLarge):
        WebSocketSession.objects.all().send_message("x" * (128 * 1024 + 1))
    assert len(connections_api.requests) == 1 + 1 + 2 + 4 + 1  # sent, gone, throttled once, throttled, too large


def test_the_default_backend_is_libcurls_and_the_setting_chooses_another():
    assert isinstance(get_backend(), CurlBackend)
    with override_settings(WEBSOCKETS=LOCMEM):
        assert isinstance(get_backend(), LocmemBackend)
        assert get_backend() is get_backend()  # one per process
    with override_settings(WEBSOCKETS=BOTO3):
        assert isinstance(get_backend(), Boto3Backend)


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("websockets_app.backends.NoSuchBackend", "which cannot be imported"),
        ("websockets_app.backends.PostOutcome", "which is not a subclass of websockets_app.backends.SendBackend"),
    ],
)
def test_a_backend_path_that_is_not_a_backend_says_so(path, problem):
    with pytest.raises(ImproperlyConfigured, match=rf"^WEBSOCKETS\['SEND_BACKEND'\] is '{path}', {problem}"):
        load_backend_class(path)


class Recording(SendBackend):
    """A backend of a site's own: it is handed each post and answers for it."""

    posts: list = []

    def post_all(self, posts, payload, options):
        Recording.posts.extend((post.connection_id, payload, options.region) for post in posts)
        return [SENT] * len(posts)


def test_a_backend_of_ones_own_is_named_by_its_dotted_path(monkeypatch):
    monkeypatch.setattr(Recording, "posts", [])
    make_session("A=")
    with override_settings(WEBSOCKETS={"SEND_BACKEND": f"{__name__}.Recording"}):
        assert WebSocketSession.objects.get().send_message("hi") == SendResult(sent=1)
    assert Recording.posts == [("A=", b"hi", REGION)]


class TestLocmem:
    @pytest.fixture(autouse=True)
    def _outbox(self):
        locmem.reset()
        with override_settings(WEBSOCKETS=LOCMEM):
            yield
        locmem.reset()

    def test_messages_land_in_the_outbox_and_nothing_leaves_the_process(self):
        make_session("A=")
        make_session("B=")
        assert WebSocketSession.objects.all().send_message({"type": "hello"}) == SendResult(sent=2)
        assert locmem.outbox == [
            locmem.SentMessage("A=", b'{"type":"hello"}', ENDPOINT),
            locmem.SentMessage("B=", b'{"type":"hello"}', ENDPOINT),
        ]

    def test_gone_connections_and_scripted_answers_are_answered_as_aws_would(self):
        for connection_id in ("A=", "B=", "C="):
            make_session(connection_id)
        locmem.gone.add("B=")
        locmem.answer("C=", 429, 500)

        result = WebSocketSession.objects.all().send_message("hi")

        assert result == SendResult(sent=2, gone=["B="])
        assert [message.connection_id for message in locmem.outbox] == ["A=", "C="]
        assert not WebSocketSession.objects.get(connection_id="B=").connected

    def test_reset_empties_the_outbox_and_forgets_the_script(self):
        make_session("A=")
        locmem.gone.add("A=")
        locmem.answer("A=", 413)
        locmem.reset()
        assert WebSocketSession.objects.get().send_message("hi") == SendResult(sent=1)
        assert [message.data for message in locmem.outbox] == [b"hi"]


def test_the_boto3_backend_posts_through_botocore_so_moto_sees_every_post():
    """As a user's own test would: moto's mock_aws, no fixture of this project."""
    with mock_aws(), override_settings(WEBSOCKETS=BOTO3):
        backend = boto3.client("apigatewaymanagementapi", endpoint_url=ENDPOINT, region_name=REGION)
        make_session("A1")
        make_session("B1")
        result = WebSocketSession.objects.all().send_message({"type": "news"})
        received = apigatewaymanagementapi_backends[DEFAULT_ACCOUNT_ID][REGION].connections
        assert result == SendResult(sent=2)
        assert {connection_id: received[connection_id].data for connection_id in received} == {
            "A1": b'{"type":"news"}',
            "B1": b'{"type":"news"}',
        }
        assert backend.get_connection(ConnectionId="A1")["ConnectedAt"]


def test_with_a_deadline_locmem_retries_throttling_past_max_attempts_at_no_cost_to_the_budget():
    locmem.reset()
    locmem.answer("A=", 429, 429, 429, 429, 429)
    backend = LocmemBackend()
    options = SendOptions(concurrency=1, connect_timeout=1, read_timeout=1, max_attempts=3, region=REGION)
    post = connection_post(ENDPOINT, "A=")
    try:
        in_time = backend.post_all([post], b"hi", replace(options, deadline=time.monotonic() + 60))
        locmem.answer("A=", 429)
        too_late = backend.post_all([post], b"hi", replace(options, deadline=time.monotonic() - 1))
    finally:
        locmem.reset()
    assert in_time == [SENT]
    assert too_late == [failed("LimitExceededException (HTTP 429)", 5, throttled=True)]
    assert backend.retries.budget.tokens == backend.retries.budget.capacity


def test_past_its_deadline_the_boto3_backend_starts_no_post():
    options = SendOptions(
        concurrency=1, connect_timeout=1, read_timeout=1, max_attempts=3, region=REGION, deadline=time.monotonic()
    )
    with mock_aws():
        assert Boto3Backend().post_all([connection_post(ENDPOINT, "A=")], b"hi", options) == [HELD_BACK]
        assert apigatewaymanagementapi_backends[DEFAULT_ACCOUNT_ID][REGION].connections == {}
