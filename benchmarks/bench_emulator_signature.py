"""The emulator's SigV4 check on ``@connections``, against botocore signing the same request.

The emulator now checks every management call's signature, as API Gateway does, on its event loop; the figure says
what that costs per call next to what the caller already pays to sign it with botocore (``SigV4Auth.add_auth``, as
boto3 does for ``close()`` and ``info()``). A broadcast through the emulator pays the check once per connection.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import expect, report, side_by_side, verdict

# The check may cost as much as signing, not more: the emulator's loop must keep up with the sender.
GOAL = 1.0


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import ReadOnlyCredentials

    from websockets_app.emulator.signatures import SignatureChecker, SignedRequest

    credentials = ReadOnlyCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None)
    url = "http://127.0.0.1:8000/local/@connections/R1kmxc2VNjMCFIA%3D"
    body = b'{"type": "message", "user": "anonymous", "message": "hello room"}'

    def sign() -> AWSRequest:
        request = AWSRequest(method="POST", url=url, data=body)
        SigV4Auth(credentials, "execute-api", "eu-west-1").add_auth(request)
        return request

    signed = sign()
    request = SignedRequest(
        method="POST",
        raw_path="/local/@connections/R1kmxc2VNjMCFIA%3D",
        query_string="",
        headers=[("host", "127.0.0.1:8000"), *((name.lower(), value) for name, value in signed.headers.items())],
        body=body,
    )
    checker = SignatureChecker(lambda: credentials)
    expect(checker.problem(request) is None, "the check accepts botocore's signature")

    check, signing = side_by_side(lambda: checker.problem(request), sign, per_round=500, rounds=15)
    report(
        "Emulator SigV4 check per @connections call",
        [
            ("emulator's check (SignatureChecker.problem)", f"{check * 1e6:.0f} us"),
            ("botocore signing the same request", f"{signing * 1e6:.0f} us"),
            ("ratio", verdict(check / signing, GOAL)),
        ],
    )


if __name__ == "__main__":
    main()
