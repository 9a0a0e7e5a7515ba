"""How posts reach API Gateway's ``@connections`` API: the send backends, chosen by ``WEBSOCKETS["SEND_BACKEND"]``.

``base`` says what a backend is; ``curl`` (the default: libcurl, hundreds in flight), ``boto3`` (every post through
boto3's client: moto, Stubber, X-Ray) and ``locmem`` (an outbox for tests) are the three shipped; ``loading`` builds
the configured one. ``sigv4`` signs libcurl's posts, ``pacing`` decides how fast they start, ``retries`` decides what
is tried again, and ``outcomes`` turns whatever AWS answered into one :class:`PostOutcome` per connection.
"""

from websockets_app.backends.base import Post, SendBackend, SendOptions, connection_post
from websockets_app.backends.boto3 import Boto3Backend
from websockets_app.backends.curl import CurlBackend
from websockets_app.backends.loading import get_backend
from websockets_app.backends.locmem import LocmemBackend
from websockets_app.backends.outcomes import GONE, SENT, PostOutcome

__all__ = (
    "GONE",
    "SENT",
    "Boto3Backend",
    "CurlBackend",
    "LocmemBackend",
    "Post",
    "PostOutcome",
    "SendBackend",
    "SendOptions",
    "connection_post",
    "get_backend",
)
