"""API Gateway and Lambda quotas the app keeps to: fixed by AWS, the same in every account and region."""

from datetime import timedelta

# A WebSocket message, and one frame of it (larger messages are sent in frames).
MESSAGE_BYTES = 128 * 1024
FRAME_BYTES = 32 * 1024
# API Gateway closes a connection after this long without a message, and after this long in any case.
IDLE_TIMEOUT = timedelta(minutes=10)
MAX_CONNECTION_DURATION = timedelta(hours=2)
# How long API Gateway waits for the Lambda; a $connect can be unanswered (so posts to it get 410) this long.
INTEGRATION_TIMEOUT = timedelta(seconds=29)
# New WebSocket connections API Gateway accepts per second, per account and region (an adjustable quota).
NEW_CONNECTIONS_PER_SECOND = 500
# Request payload of a synchronous Lambda invocation, and of an asynchronous one (Zappa's async tasks).
SYNC_INVOKE_PAYLOAD_BYTES = 6 * 1024 * 1024
ASYNC_INVOKE_PAYLOAD_BYTES = 256_000
