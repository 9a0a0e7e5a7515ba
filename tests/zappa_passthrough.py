"""Run in a fresh process the way Lambda runs the package Zappa builds: zappa_settings.py on the path."""

import json
import sys

CALLS: list[str] = []


def record_call(event: dict, context: object) -> str:
    """A function `zappa invoke STAGE tests.zappa_passthrough.record_call` would run."""
    CALLS.append(event["command"])
    return "recorded"


if __name__ == "__main__":
    sys.path.insert(0, sys.argv[1])  # where zappa_settings.py was generated
    from project.lambda_handler import lambda_handler

    manage = lambda_handler({"manage": "check --tag models"}, None)
    command = lambda_handler({"command": "tests.zappa_passthrough.record_call"}, None)
    keep_warm = lambda_handler(
        {
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "resources": [
                "arn:aws:events:eu-west-1:123456789012:rule/django-lambda-websockets-dev-zappa-keep-warm-handler.keep_warm_callback"
            ],
        },
        None,
    )
    from tests import zappa_passthrough

    print(
        "RESULTS "
        + json.dumps({"manage": manage, "command": command, "keep_warm": keep_warm, "calls": zappa_passthrough.CALLS})
    )
