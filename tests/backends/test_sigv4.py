"""The sender's SigV4 signature is botocore's, for the same request, and its credentials follow botocore's chain."""

import hashlib
import os
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from botocore import auth as botocore_auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotocoreCredentials
from botocore.credentials import RefreshableCredentials
from botocore.session import Session
from hypothesis import given
from hypothesis import strategies as st

from tests.aws_events import API_ID, REGION, STAGE
from websockets_app.backends.base import connection_post
from websockets_app.backends.sigv4 import Credentials, RequestSigner, sign_request
from websockets_app.models import WebSocketSession

ENDPOINTS = [
    f"https://{API_ID}.execute-api.{REGION}.amazonaws.com/{STAGE}",
    "http://127.0.0.1:8123/local",  # the emulator: a port in Host
    "https://ws.example.com",  # a custom domain without a stage path
]
CONNECTION_IDS = ["A=", "L0SM9cOFvHcCIhw=", "a/b+c d~e"]
BEFORE_MIDNIGHT = datetime(2026, 12, 1, 23, 59, 59, tzinfo=UTC)
AFTER_MIDNIGHT = datetime(2026, 12, 2, 0, 0, 1, tzinfo=UTC)


def botocore_headers(url: str, body: bytes, credentials: Credentials, now: datetime, monkeypatch) -> dict[str, str]:
    monkeypatch.setattr(botocore_auth, "get_current_datetime", lambda: now.replace(tzinfo=None))
    request = AWSRequest(method="POST", url=url, data=body)
    SigV4Auth(BotocoreCredentials(*credentials), "execute-api", REGION).add_auth(request)
    return dict(request.headers)


@pytest.mark.parametrize("token", [None, "IQoJb3JpZ2luX2VjEHQaCWV1LXdlc3QtMSJIMEYCIQ=="])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("connection_id", CONNECTION_IDS)
def test_the_signature_is_botocores_across_the_utc_date_change(monkeypatch, token, endpoint, connection_id):
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    body = b'{"type":"news","text":"caf\xc3\xa9"}'
    post = connection_post(endpoint, connection_id)

    for now in (BEFORE_MIDNIGHT, AFTER_MIDNIGHT, BEFORE_MIDNIGHT + timedelta(days=1)):
        ours = sign_request(
            method="POST",
            host=post.host,
            path=post.path,
            payload_sha256=hashlib.sha256(body).hexdigest(),
            credentials=credentials,
            region=REGION,
            now=now,
        )
        assert ours == botocore_headers(post.url, body, credentials, now, monkeypatch)
        assert ours["X-Amz-Date"] == now.strftime("%Y%m%dT%H%M%SZ")


@pytest.mark.parametrize("token", [None, "IQoJb3JpZ2luX2VjEHQaCWV1LXdlc3QtMSJIMEYCIQ=="])
def test_one_signer_signs_a_batch_as_botocore_signs_each_request(monkeypatch, token):
    """A batch's signer puts together what its requests share once a second: each signature is still botocore's,
    within a second, at the next one, and across the UTC date change."""
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    body = b'{"type":"news"}'
    first = connection_post(ENDPOINTS[0], "L0SM9cOFvHcCIhw=")
    signer = RequestSigner(
        host=first.host, payload_sha256=hashlib.sha256(body).hexdigest(), credentials=credentials, region=REGION
    )
    requests = [
        (BEFORE_MIDNIGHT, first),
        (BEFORE_MIDNIGHT + timedelta(microseconds=999_999), connection_post(ENDPOINTS[0], "a/b+c d~e")),
        (AFTER_MIDNIGHT - timedelta(seconds=1), first),
        (AFTER_MIDNIGHT, connection_post(ENDPOINTS[0], "A=")),
    ]
    for now, post in requests:
        lines = signer.header_lines(post.path, now.timestamp())
        expected = {"Host": post.host, **botocore_headers(post.url, body, credentials, now, monkeypatch)}
        assert dict(line.split(": ", 1) for line in lines) == expected, now
        assert len(lines) == len(expected)  # no header twice


# What a path may hold unencoded and still be one path to botocore's URL parsing ("." would make dot segments,
# which URLs resolve before signing).
PATH_CHARACTERS = st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="%?#/.")


@given(
    stage=st.from_regex(r"[A-Za-z0-9_-]{0,12}", fullmatch=True),  # what AWS allows in a stage name
    connection_id=st.text(min_size=1, max_size=24).filter(lambda text: text not in {".", ".."}),
    unencoded=st.text(PATH_CHARACTERS, min_size=1, max_size=24),
)
def test_the_signed_path_is_botocores_for_encoded_and_unencoded_paths(stage, connection_id, unencoded):
    """The sender's encoded paths take a shortcut and any other path the general rule; botocore signs both alike."""
    now = BEFORE_MIDNIGHT
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None)
    post = connection_post(f"https://{API_ID}.execute-api.{REGION}.amazonaws.com/{stage}", connection_id)
    for path in (post.path, f"/{unencoded}"):
        request = AWSRequest(method="POST", url=f"https://{post.host}{path}", data=b"{}")
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(botocore_auth, "get_current_datetime", lambda: now.replace(tzinfo=None))
            SigV4Auth(BotocoreCredentials(*credentials), "execute-api", REGION).add_auth(request)
        ours = sign_request(
            method="POST",
            host=post.host,
            path=path,
            payload_sha256=hashlib.sha256(b"{}").hexdigest(),
            credentials=credentials,
            region=REGION,
            now=now,
        )
        assert ours["Authorization"] == request.headers["Authorization"], path


def test_urls_are_encoded_as_botocore_encodes_connection_ids():
    host = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
    post = connection_post(ENDPOINTS[0], "a/b+c d~e=")
    assert post == (
        ENDPOINTS[0],
        "a/b+c d~e=",
        f"https://{host}/{STAGE}/@connections/a%2Fb%2Bc%20d~e%3D",
        f"/{STAGE}/@connections/a%2Fb%2Bc%20d~e%3D",
        host,
    )
    post = connection_post("http://127.0.0.1:80/x/", "A")
    assert (post.host, post.path) == ("127.0.0.1", "/x/@connections/A")
    assert connection_post("http://127.0.0.1:8123/x/", "A").host == "127.0.0.1:8123"
    assert connection_post("http://[::1]:8123/x/", "A").host == "[::1]:8123"
    assert connection_post("https://exa mple.com/dev", "A").host == ""  # not a URL a request can be written for


@given(connection_id=st.text(max_size=40) | st.text(st.characters(max_codepoint=0x7F), max_size=40))
def test_a_connection_id_is_encoded_as_urllib_quote_encodes_it(connection_id):
    """Any id, ASCII or not, is percent-encoded in the path as ``quote(id, safe="-_.~")`` encodes it (botocore's)."""
    post = connection_post(ENDPOINTS[0], connection_id)
    assert post.path == f"/{STAGE}/@connections/{quote(connection_id, safe='-_.~')}"


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://example.com/dev\r\nX-Injected: 1",  # would end the request line and add a header
        "https://example.com/my stage",
        "https://exa mple.com/dev",
        "https://example.com:99999/dev",
        "ftp://example.com/dev",
        "https:///dev",
    ],
)
def test_an_endpoint_a_request_cannot_be_written_for_has_no_host(endpoint):
    assert connection_post(endpoint, "A").host == ""


@pytest.mark.django_db
def test_credentials_come_from_botocores_chain_and_are_refreshed_when_they_expire(connections_api, monkeypatch):
    """Each send asks botocore's credentials for a frozen set, which refreshes them once they are about to expire."""
    issued = iter(["AKIDFIRST", "AKIDSECOND"])
    secret = os.environ["AWS_SECRET_ACCESS_KEY"]  # the one the endpoint verifies with

    def refresh() -> dict[str, str]:
        # Expiring within botocore's mandatory-refresh window: the next send must refresh again.
        expiry = datetime.now(UTC) + timedelta(minutes=5)
        return {"access_key": next(issued), "secret_key": secret, "token": "t", "expiry_time": expiry.isoformat()}

    expired = {
        "access_key": "AKIDEXPIRED",
        "secret_key": secret,
        "token": "t",
        "expiry_time": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
    }
    chain = RefreshableCredentials.create_from_metadata(expired, refresh_using=refresh, method="sts-assume-role")
    monkeypatch.setattr(Session, "get_credentials", lambda self: chain)
    connections_api.open("A=")
    session = WebSocketSession.objects.create(
        connection_id="A=", api_id=API_ID, stage=STAGE, connected_at=datetime.now(UTC) - timedelta(minutes=5)
    )

    assert (session.send_message("one").sent, session.send_message("two").sent) == (1, 1)
    assert connections_api.access_keys == ["AKIDFIRST", "AKIDSECOND"]
    assert connections_api.received("A=") == b"onetwo"
