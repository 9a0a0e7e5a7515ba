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
# Requests a second API Gateway serves per account and region, and the burst above it (a token bucket): shared by
# every API there, HTTP, REST, WebSocket messages and the @connections callback API alike (adjustable quotas).
ACCOUNT_REQUESTS_PER_SECOND = 10_000
ACCOUNT_REQUEST_BURST = 5_000
# What provisioning throttles a stage's routes to unless told otherwise: a tenth of the account's quota, so a flood
# into one WebSocket API leaves the account's other APIs, and the site's own @connections sends, their share.
DEFAULT_STAGE_RATE_LIMIT = ACCOUNT_REQUESTS_PER_SECOND / 10
DEFAULT_STAGE_BURST_LIMIT = ACCOUNT_REQUEST_BURST // 10
# Request payload of a synchronous Lambda invocation, and of an asynchronous one (Zappa's async tasks).
SYNC_INVOKE_PAYLOAD_BYTES = 6 * 1024 * 1024
ASYNC_INVOKE_PAYLOAD_BYTES = 256_000
