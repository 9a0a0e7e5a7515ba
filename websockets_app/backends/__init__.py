"""How one message reaches many connections through API Gateway's ``@connections`` API.

``sender`` posts from one event loop per container with hundreds of requests in flight, over the connections
``http_pool`` keeps alive, each request signed by ``sigv4``; ``outcomes`` turns whatever AWS answered into one
:class:`PostOutcome` per connection.
"""

from websockets_app.backends.outcomes import GONE, SENT, PostOutcome
from websockets_app.backends.sender import Post, Sender, SendOptions, connection_post

__all__ = ("GONE", "SENT", "Post", "PostOutcome", "SendOptions", "Sender", "connection_post")
