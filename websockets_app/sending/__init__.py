"""Sending messages to connections: one, a channel or everyone, in batches past one Lambda's reach.

``messaging`` is what ``send_message()`` calls, ``delivery`` posts one message to a list of connections and records
what became of each, ``batches`` is the Zappa asynchronous task for the rest of a large broadcast, ``capacity`` how
many one invocation sends, ``encoding`` what the bytes of a message are, ``endpoints`` where a connection's messages
go, and ``connections`` closes one connection or asks about it.
"""

from websockets_app.sending.connections import close_connection, connection_info
from websockets_app.sending.delivery import SendResult, connecting, deliver_to_pks, prepare_payload
from websockets_app.sending.endpoints import endpoint_url
from websockets_app.sending.messaging import send_to_queryset, send_to_session

__all__ = (
    "SendResult",
    "close_connection",
    "connecting",
    "connection_info",
    "deliver_to_pks",
    "endpoint_url",
    "prepare_payload",
    "send_to_queryset",
    "send_to_session",
)
