"""Settings of the Lambda containers of ``bench_broadcast_throttled.py``: the load benchmarks' settings, sending to
the throttled endpoint the benchmark started, in batches of the size it chose."""

import os

from benchmarks.settings import *  # noqa: F403

WEBSOCKETS = {
    **WEBSOCKETS,  # noqa: F405
    "ENDPOINT_URL": os.environ["BENCH_ENDPOINT_URL"],
    "SEND_BATCH_SIZE": int(os.environ["BENCH_SEND_BATCH_SIZE"]),
    "SEND_RATE_LIMIT": int(os.environ["BENCH_SEND_RATE_LIMIT"]),
}
