"""The emulator's ``@connections``: SigV4 required and throttling on demand, as on AWS.

AWS authorizes management calls with IAM ("Use @connections commands in your backend service"), so an unsigned or
badly signed call is refused with 403 ``ForbiddenException``; under load it answers 429 ``LimitExceededException``.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import ClientError
from websockets.sync.client import connect

from tests.emulator_support import running_emulator, signed_request
from websockets_app.emulator.parity import Parity
from websockets_app.emulator.signatures import SignatureChecker, SignedRequest
from websockets_app.emulator.throttling import Throttle
from websockets_app.models import WebSocketSession

pytestmark = pytest.mark.django_db(transaction=True)

CREDENTIALS = ReadOnlyCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None)
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def open_connection(emulator, recorder):
    websocket = connect(f"ws://{emulator.app.api.domain_name}/")
    return websocket, recorder.events("CONNECT")[-1]["requestContext"]["connectionId"]


def management_client(settings, **credentials):
    return boto3.client(
        "apigatewaymanagementapi", endpoint_url=settings.WEBSOCKETS["ENDPOINT_URL"], config=NO_RETRIES, **credentials
    )


def raw_post(settings, connection_id, data=b"hi", headers=None):
    request = urllib.request.Request(
        f"{settings.WEBSOCKETS['ENDPOINT_URL']}/@connections/{connection_id}",
        data=data,
        method="POST",
        headers=headers or {},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    return refused.value.code, refused.value.headers.get("x-amzn-ErrorType"), json.loads(refused.value.read())


def test_an_unsigned_post_is_refused_and_delivers_nothing(emulator, recorder, settings):
    websocket, connection_id = open_connection(emulator, recorder)
    with websocket:
        answer = raw_post(settings, connection_id)
        management_client(settings).post_to_connection(ConnectionId=connection_id, Data=b"signed")
        assert websocket.recv(timeout=10) == "signed"  # the first frame is the signed one: nothing came before
    assert answer == (403, "ForbiddenException", {"message": "Missing Authentication Token"})


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        (
            {"aws_access_key_id": "testing", "aws_secret_access_key": "not-the-secret"},
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
        ),
        (
            {"aws_access_key_id": "AKIAUNKNOWN", "aws_secret_access_key": "testing"},
            "The security token included in the request is invalid.",
        ),
    ],
)
def test_a_call_signed_with_other_credentials_is_refused(emulator, recorder, settings, credentials, message):
    websocket, connection_id = open_connection(emulator, recorder)
    with websocket, pytest.raises(ClientError) as refused:
        management_client(settings, **credentials).post_to_connection(ConnectionId=connection_id, Data=b"x")
    error = refused.value.response
    assert (error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
        "ForbiddenException",
        message,
        403,
    )


def test_a_method_the_api_has_no_route_for_gets_api_gateways_answer_not_405(emulator, recorder, settings):
    websocket, connection_id = open_connection(emulator, recorder)
    put = signed_request("PUT", f"{settings.WEBSOCKETS['ENDPOINT_URL']}/@connections/{connection_id}", b"x")
    with websocket, pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(put, timeout=10)
    assert (refused.value.code, refused.value.headers.get("x-amzn-ErrorType"), json.loads(refused.value.read())) == (
        403,
        "ForbiddenException",
        {"message": "Missing Authentication Token"},
    )


OVERSIZED = b"x" * (128 * 1024 + 1)
TOO_LARGE = (413, "PayloadTooLargeException", {"message": "Message too long: over 131072 bytes."})


@pytest.mark.parametrize("method", ["DELETE", "GET", "POST"])
def test_an_oversized_unsigned_call_is_refused_and_does_nothing(emulator, recorder, settings, method):
    websocket, connection_id = open_connection(emulator, recorder)
    request = urllib.request.Request(
        f"{settings.WEBSOCKETS['ENDPOINT_URL']}/@connections/{connection_id}", data=OVERSIZED, method=method
    )
    with websocket:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        answer = (refused.value.code, refused.value.headers.get("x-amzn-ErrorType"), json.loads(refused.value.read()))
        management_client(settings).post_to_connection(ConnectionId=connection_id, Data=b"still open")
        assert websocket.recv(timeout=10) == "still open"
    assert answer == TOO_LARGE


@pytest.mark.parametrize("connection_id", ["unknown=", None])
def test_an_oversized_call_tells_nothing_of_which_connections_exist(emulator, recorder, settings, connection_id):
    websocket, known = open_connection(emulator, recorder)
    request = urllib.request.Request(
        f"{settings.WEBSOCKETS['ENDPOINT_URL']}/@connections/{connection_id or known}", data=OVERSIZED, method="GET"
    )
    with websocket, pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert (refused.value.code, json.loads(refused.value.read())) == TOO_LARGE[::2]


def test_signatures_can_be_switched_off(settings, recorder):
    with running_emulator(settings, recorder, parity=Parity(require_signature=False)) as emulator:
        websocket, connection_id = open_connection(emulator, recorder)
        with websocket:
            request = urllib.request.Request(
                f"{settings.WEBSOCKETS['ENDPOINT_URL']}/@connections/{connection_id}", data=b"unsigned", method="POST"
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                status = response.status
            assert websocket.recv(timeout=10) == "unsigned"
    assert status == 200


# Throttling on demand


def test_a_share_of_calls_is_answered_429_exactly(settings, recorder):
    with running_emulator(settings, recorder, parity=Parity(throttle_share=0.25)) as emulator:
        websocket, connection_id = open_connection(emulator, recorder)
        client = management_client(settings)
        outcomes = []
        with websocket:
            for number in range(8):
                try:
                    client.post_to_connection(ConnectionId=connection_id, Data=f"m{number}".encode())
                    outcomes.append("sent")
                except ClientError as error:
                    outcomes.append(
                        (error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"])
                    )
            received = [websocket.recv(timeout=10) for _ in range(6)]
    throttled = ("LimitExceededException", 429)
    assert outcomes == ["sent", "sent", "sent", throttled, "sent", "sent", "sent", throttled]
    assert received == ["m0", "m1", "m2", "m4", "m5", "m6"]


def test_the_senders_retries_ride_out_throttling_and_sendresult_counts_what_did_not(settings, recorder):
    settings.WEBSOCKETS = {**settings.WEBSOCKETS, "SEND_MAX_ATTEMPTS": 3}
    with running_emulator(settings, recorder, parity=Parity(throttle_share=0.5)) as emulator:
        first, first_id = open_connection(emulator, recorder)
        second, second_id = open_connection(emulator, recorder)
        with first, second:
            # Every other call is throttled: each message is refused once at most, and its retry goes through.
            result = WebSocketSession.objects.filter(connection_id__in=[first_id, second_id]).send_message("hello")
            assert (first.recv(timeout=10), second.recv(timeout=10)) == ("hello", "hello")
    assert (result.sent, result.failed, result.gone) == (2, {}, [])


def test_when_every_call_is_throttled_sendresult_says_so(settings, recorder):
    settings.WEBSOCKETS = {**settings.WEBSOCKETS, "SEND_MAX_ATTEMPTS": 2}
    with running_emulator(settings, recorder, parity=Parity(throttle_share=1.0)) as emulator:
        websocket, connection_id = open_connection(emulator, recorder)
        with websocket:
            result = WebSocketSession.objects.filter(connection_id=connection_id).send_message("hello")
    assert (result.sent, list(result.failed), result.gone) == (0, [connection_id], [])
    assert result.failed[connection_id]


@pytest.mark.parametrize(("share", "throttled"), [(0, []), (1, list(range(1, 9))), (0.5, [2, 4, 6, 8]), (0.3, [4, 7])])
def test_the_throttle_is_exact_and_even(share, throttled):
    throttle = Throttle(share)
    assert [call for call in range(1, 9) if throttle.next_call_throttled()] == throttled


def test_a_throttle_share_outside_0_to_1_is_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        Parity(throttle_share=1.5)


# The signature check itself, against botocore's signer.


def signed(method="POST", path="/dev/@connections/abc%3D", body=b"data", credentials=CREDENTIALS, region="eu-west-1"):
    request = AWSRequest(method=method, url=f"http://127.0.0.1:8000{path}", data=body)
    SigV4Auth(credentials, "execute-api", region).add_auth(request)
    return SignedRequest(
        method=method,
        raw_path=path,
        query_string="",
        headers=[("host", "127.0.0.1:8000"), *((name.lower(), value) for name, value in request.headers.items())],
        body=body,
    )


def test_a_botocore_signature_is_valid_in_any_region():
    checker = SignatureChecker(lambda: CREDENTIALS)
    assert checker.problem(signed()) is None
    assert checker.problem(signed(region="ap-northeast-1")) is None


def test_a_request_changed_after_signing_is_refused():
    checker = SignatureChecker(lambda: CREDENTIALS)
    request = signed()
    tampered = SignedRequest(**{**request.__dict__, "raw_path": "/dev/@connections/other%3D"})
    assert checker.problem(tampered).startswith("The request signature we calculated does not match")
    with_body = SignedRequest(**{**request.__dict__, "body": b"other data"})
    assert checker.problem(with_body) in {
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method.",
    }


def test_a_stale_signature_is_refused():
    checker = SignatureChecker(lambda: CREDENTIALS)
    later = datetime.now(UTC) + timedelta(minutes=16)
    assert checker.problem(signed(), now=later) == (
        "Signature expired: X-Amz-Date is more than 15 minutes away from the current time."
    )
    assert checker.problem(signed(), now=datetime.now(UTC) + timedelta(minutes=14)) is None


def test_a_signature_for_another_service_is_refused():
    request = AWSRequest(method="POST", url="http://127.0.0.1:8000/dev/@connections/abc%3D", data=b"data")
    SigV4Auth(CREDENTIALS, "s3", "eu-west-1").add_auth(request)
    headers = [("host", "127.0.0.1:8000"), *((name.lower(), value) for name, value in request.headers.items())]
    checker = SignatureChecker(lambda: CREDENTIALS)
    problem = checker.problem(SignedRequest("POST", "/dev/@connections/abc%3D", "", headers, b"data"))
    assert problem == "Credential should be scoped to correct service: 'execute-api'."


def test_temporary_credentials_need_their_session_token():
    temporary = ReadOnlyCredentials(CREDENTIALS.access_key, CREDENTIALS.secret_key, "session-token")
    checker = SignatureChecker(lambda: temporary)
    assert checker.problem(signed(credentials=temporary)) is None
    assert checker.problem(signed()) == "The security token included in the request is invalid."


def test_a_payload_hash_that_lies_is_refused():
    request = signed()
    headers = [(name, value) for name, value in request.headers if name != "x-amz-content-sha256"]
    headers.append(("x-amz-content-sha256", hashlib.sha256(b"something else").hexdigest()))
    checker = SignatureChecker(lambda: CREDENTIALS)
    problem = checker.problem(SignedRequest(**{**request.__dict__, "headers": headers}))
    assert problem == "The provided 'x-amz-content-sha256' header does not match what was computed."


def test_a_signed_payload_hash_header_and_a_repeated_day_are_checked_like_any_other():
    body = b"data"
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:8000/dev/@connections/abc%3D",
        data=body,
        headers={"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()},
    )
    SigV4Auth(CREDENTIALS, "execute-api", "eu-west-1").add_auth(request)
    headers = [("host", "127.0.0.1:8000"), *((name.lower(), value) for name, value in request.headers.items())]
    checker = SignatureChecker(lambda: CREDENTIALS)
    assert "x-amz-content-sha256" in request.headers["Authorization"]
    # Twice: the second check uses the day's signing key derived by the first.
    assert [checker.problem(SignedRequest("POST", "/dev/@connections/abc%3D", "", headers, body)) for _ in "ab"] == [
        None,
        None,
    ]
