"""What guards the event path: origins, identity bound to the login, connect tokens, permissions, rate limits.

``origins`` checks the browser's ``Origin`` on ``$connect``, ``identity`` ends a connection's identity (and its
unused tokens) with the login it was opened with, ``tokens`` and ``token_views`` issue and redeem single-use connect
tokens, ``permissions`` checks what a user may do, ``rate_limits`` counts attempts where every container sees them,
``message_rate`` judges one connection's message rate, and ``closing`` closes connections from the server.
"""

from websockets_app.security.identity import close_user_connections
from websockets_app.security.permissions import AnyOf, has_permissions
from websockets_app.security.tokens import issue_connect_token

__all__ = ("AnyOf", "close_user_connections", "has_permissions", "issue_connect_token")
