"""One Lambda execution environment for ``lambda_service``: import the project's handler once, then run invocations.

It reads one invocation a line on stdin (``{"event": ..., "timeout_ms": ...}``) and writes its outcome on a line
of its own, after a mark (the handler and Zappa may print too). ``zappa_settings.py`` comes from the directory named
by ``LAMBDA_PACKAGE_DIR``, as it sits at the root of the package Zappa builds.
"""

import json
import os
import sys
import time
import traceback
import types

RESULT_MARK = "@@INVOCATION-RESULT@@ "

sys.path.insert(0, os.environ["LAMBDA_PACKAGE_DIR"])
from project.lambda_handler import lambda_handler  # noqa: E402  (the cold start)

for line in sys.stdin:
    message = json.loads(line)
    deadline = time.monotonic() + message["timeout_ms"] / 1000
    context = types.SimpleNamespace(
        function_name=os.environ.get("AWS_LAMBDA_FUNCTION_NAME", ""),
        aws_request_id=str(time.time_ns()),
        get_remaining_time_in_millis=lambda deadline=deadline: max(0, int((deadline - time.monotonic()) * 1000)),
    )
    try:
        result = lambda_handler(message["event"], context)
        outcome = {"ok": True, "result": result if isinstance(result, dict | list | str | int | None) else repr(result)}
    except Exception:
        outcome = {"ok": False, "error": traceback.format_exc(limit=5)}
    print(RESULT_MARK + json.dumps(outcome, default=repr), flush=True)
