"""Every exception the app raises to its users, in one hierarchy under :class:`WebSocketsError`.

::

    WebSocketsError
    ├── RejectEvent                  raised by a handler: answer the event with a 4xx and a reason
    ├── InvalidWebSocketEvent        an event claiming to be a WebSocket event lacks what AWS always sends
    ├── InvalidMessageId             a message's "id" that cannot be echoed on its answer
    ├── SendError                    a message, a close or an info that did not go through
    │   ├── MessageTooLarge          over API Gateway's 128 KB: refused before anything is sent
    │   ├── ConnectionNotReady       sent to a connection still inside its own $connect
    │   └── ManagementApiError       AWS refused close() or info() (403, throttling, 5xx, timeout)
    ├── ProvisioningError            AWS refused a provisioning call, or something it needs is missing
    │   ├── NoLambdaFunction         no Lambda function named for the routes to invoke
    │   ├── InvalidRoutes            the routes setting is neither a list of route keys nor a mapping
    │   └── InvalidThrottling        a stage's throttling is not a rate and a burst of 1 or more
    └── InvalidExpression            a route selection expression API Gateway does not accept

``except WebSocketsError`` catches all of them. Those that mean a bad value also derive from ``ValueError`` (or
``LookupError``, ``RuntimeError``), as they did before the hierarchy existed. Errors of configuration are Django's
``ImproperlyConfigured``, as everywhere in Django.
"""

from __future__ import annotations

__all__ = (
    "ConnectionNotReady",
    "InvalidExpression",
    "InvalidMessageId",
    "InvalidRoutes",
    "InvalidThrottling",
    "InvalidWebSocketEvent",
    "ManagementApiError",
    "MessageTooLarge",
    "NoLambdaFunction",
    "ProvisioningError",
    "RejectEvent",
    "SendError",
    "WebSocketsError",
)


class WebSocketsError(Exception):
    """The base of every exception the app raises to its users."""


class RejectEvent(WebSocketsError):
    """Answer the current event with ``status`` and a short ``reason`` (refuses the connection on $connect).

    Raise it from a handler, or from code a handler calls, instead of building a response by hand.
    """

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class InvalidWebSocketEvent(WebSocketsError, ValueError):
    """The event claims to be a WebSocket event but lacks what one always carries."""


class InvalidMessageId(WebSocketsError, ValueError):
    """The message's ``"id"`` is neither a short string nor a safe integer: it is refused before any handler runs."""


class SendError(WebSocketsError):
    """Something sent to connections did not go through; the subclasses say what."""


class MessageTooLarge(SendError, ValueError):
    """A message over API Gateway's 128 KB limit: refused before anything is sent."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"The message is {size} bytes; API Gateway accepts at most {limit} bytes per WebSocket message. "
            "Send less, or split it into several messages."
        )
        self.size = size
        self.limit = limit


class ConnectionNotReady(SendError, RuntimeError):
    """A message was sent to a connection during its own ``$connect``, which AWS refuses (410)."""

    def __init__(self, connection_id: str) -> None:
        super().__init__(
            f"Connection {connection_id} is still in $connect: API Gateway refuses messages to it until connect() "
            "has answered. Greet it when it sends its first message (docs: 'Greeting a new connection' under "
            "sending messages)."
        )
        self.connection_id = connection_id


class ManagementApiError(SendError):
    """The management API refused to close or describe a connection (403, throttling left, 5xx, timeout)."""

    def __init__(self, connection_id: str, reason: str) -> None:
        super().__init__(f"Connection {connection_id}: {reason}")
        self.connection_id = connection_id
        self.reason = reason


class ProvisioningError(WebSocketsError):
    """AWS refused a call or lacks something the API needs.

    ``outcome`` is the reconcile's ``ProvisioningOutcome`` so far (what was done before the refusal), or None when
    nothing ran. It is typed ``object`` here so that this module, the lowest layer, imports nothing of the app.
    """

    def __init__(self, message: str, outcome: object = None) -> None:
        super().__init__(message)
        self.outcome = outcome


class NoLambdaFunction(ProvisioningError, LookupError):
    """Provisioning from Django needs to know which Lambda function the routes invoke."""


class InvalidRoutes(ProvisioningError, ValueError):
    """The ``routes`` setting is not a list of route keys or a mapping of route key to Django path."""


class InvalidThrottling(ProvisioningError, ValueError):
    """A stage's route throttling is not a rate (requests a second) and a burst, each of 1 or more."""


class InvalidExpression(WebSocketsError, ValueError):
    """The expression is not one API Gateway accepts for route selection on message bodies."""
