"""One outcome type for a post: the same answer from AWS means the same outcome, however it reached the app."""

import pytest
from botocore.exceptions import ClientError

from websockets_app.backends.outcomes import GONE, PostOutcome, from_botocore, from_http_answer


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PostToConnection")


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (410, "GoneException", GONE),
        (429, "LimitExceededException", PostOutcome("failed", "LimitExceededException (HTTP 429)", 5, throttled=True)),
        (500, "InternalServerErrorException", PostOutcome("failed", "InternalServerErrorException (HTTP 500)", 14)),
        (403, "ForbiddenException", PostOutcome("failed", "ForbiddenException (HTTP 403)")),
        (413, "PayloadTooLargeException", PostOutcome("failed", "PayloadTooLargeException (HTTP 413)")),
    ],
)
def test_an_answer_means_the_same_through_botocore_and_over_http(status, code, expected):
    over_http = from_http_answer(status, f"{code}:http://internal.amazon.com/coral/com.amazonaws.gatewayservice/", b"")
    in_the_body = from_http_answer(status, None, b'{"__type": "com.amazonaws.gatewayservice#%s"}' % code.encode())

    assert (from_botocore(client_error(code, status)), over_http, in_the_body) == (expected, expected, expected)


def test_a_gone_exception_is_gone_whatever_the_status_says():
    assert from_http_answer(400, "GoneException", b"") is GONE
    assert from_botocore(client_error("GoneException", 400)) is GONE


def test_what_is_not_an_answer_of_aws_is_reported_as_it_is():
    assert from_botocore(ValueError("bad")) == PostOutcome("failed", "ValueError: bad")
    assert from_http_answer(502, None, b"<html>Bad gateway</html>") == PostOutcome("failed", "Error (HTTP 502)", 14)
