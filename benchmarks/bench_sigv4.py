"""SigV4 per request: the sender's signing (a signing key cached per day and credential) against botocore's.

Both sign the same ``POST @connections/{id}`` with the same credentials and session token, one request after the
other in interleaved rounds; the signatures are checked equal first (the suite proves it on more cases). botocore's
``SigV4Auth.add_auth`` is what boto3 runs for every request. The sender signs a batch's posts with one
``RequestSigner``: the key derived once a day, the message hashed once per broadcast, what the posts share put together
once a second, so per request one SHA-256 of the canonical request and one HMAC from a keyed copy. ``sign_request``
(one request, a signer of its own) is measured too.
"""

import hashlib
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support import expect, interleaved, report

GOAL_US = 7


def main() -> None:
    from botocore import auth as botocore_auth
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotocoreCredentials

    from websockets_app.backends import connection_post
    from websockets_app.backends.sigv4 import Credentials, RequestSigner, sign_request

    credentials = Credentials("ASIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "IQoJb3JpZ2luX2VjEHQaCWV1")
    post = connection_post("https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod", "R1kmxc2VNjMCFIA=")
    body = b'{"type": "chat", "user": "alice", "text": "Hello, everyone!"}'
    body_sha256 = hashlib.sha256(body).hexdigest()
    now = datetime.now(UTC).replace(microsecond=0)
    botocore_auth.get_current_datetime = lambda: now.replace(tzinfo=None)
    botocore_signer = SigV4Auth(BotocoreCredentials(*credentials), "execute-api", "eu-west-1")
    signer = RequestSigner(host=post.host, payload_sha256=body_sha256, credentials=credentials, region="eu-west-1")

    def batch_signer() -> list[str]:
        return signer.header_lines(post.path, now.timestamp())

    def one_request() -> dict[str, str]:
        return sign_request(
            method="POST",
            host=post.host,
            path=post.path,
            payload_sha256=body_sha256,
            credentials=credentials,
            region="eu-west-1",
            now=now,
        )

    def botocores() -> dict[str, str]:
        request = AWSRequest(method="POST", url=post.url, data=body)
        botocore_signer.add_auth(request)
        return dict(request.headers)

    expect(one_request() == botocores(), "the same signature from sign_request and botocore")
    expect(dict(line.split(": ", 1) for line in batch_signer()) == {"Host": post.host, **botocores()}, "and the signer")
    batch, single, theirs = (
        statistics.median(times)
        for times in interleaved([batch_signer, one_request, botocores], per_round=2000, rounds=15)
    )
    report(
        "SigV4 per request (median of 15 rounds of 2,000)",
        [
            ("sender's RequestSigner (one per batch)", f"{batch * 1e6:.1f} us (goal <= {GOAL_US} us)"),
            ("sign_request (one request)", f"{single * 1e6:.1f} us"),
            ("botocore SigV4Auth.add_auth", f"{theirs * 1e6:.1f} us"),
            ("ratio", f"{theirs / batch:.1f}x faster"),
        ],
    )


if __name__ == "__main__":
    main()
