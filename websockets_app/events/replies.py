"""What the sender of a message receives on a two-way route: the handler's reply, or one error frame.

API Gateway passes a proxy integration's ``body`` to the caller as one message when the route has a ``$default``
route response, whatever the ``statusCode`` says (AWS, "Set up route responses for WebSocket APIs" and "Setting up
a WebSocket API integration responses"); an empty body still arrives as an empty message (serverless/serverless
#6816). So the Lambda's answer to a message *is* the reply, and everything the client must learn, refusals and
failures included, has to be in that body. docs/topics/replies.md gives the rules and the sources.

Pure functions: the view hands them the response and the message's ``"id"``; they give back the body to answer.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from websockets_app import aws_limits
from websockets_app.exceptions import InvalidMessageId
from websockets_app.validators import is_whole_number

__all__ = (
    "ERROR_KEY",
    "INTERNAL_ERROR_MESSAGE",
    "MAX_ERROR_MESSAGE_LENGTH",
    "MAX_MESSAGE_ID_LENGTH",
    "MESSAGE_ID_KEY",
    "REPLY_KEY",
    "MessageId",
    "error_frame",
    "message_id",
    "reason_phrase",
    "reply_frame",
    "returned_error_message",
    "too_large",
)

logger = logging.getLogger(__name__)

MessageId = str | int
# The key a client puts its question's id under, and the keys the answer uses for it.
MESSAGE_ID_KEY = "id"
REPLY_KEY = "reply"
ERROR_KEY = "error"
# Ids are the client's to choose: a string this long, or an integer JavaScript represents exactly.
MAX_MESSAGE_ID_LENGTH = 128
MAX_SAFE_INTEGER = 2**53 - 1
# An error frame's message is cut to this many characters (the last one an ellipsis): whatever a reason echoes of
# the message (an unknown action, a handler's text), the frame stays a few KB, far under API Gateway's 128 KB.
MAX_ERROR_MESSAGE_LENGTH = 500
# What a client is told of a failure on the server's side, and nothing more.
INTERNAL_ERROR_MESSAGE = "Internal server error."
# Keys that would make a reply object ambiguous once the id is added: such replies are wrapped instead.
_RESERVED_KEYS = frozenset({MESSAGE_ID_KEY, REPLY_KEY, ERROR_KEY})


def message_id(body: dict[str, Any]) -> MessageId | None:
    """The ``"id"`` the client gave its message, to be echoed on the answer; ``None`` when it gave none."""
    if MESSAGE_ID_KEY not in body:
        return None
    value = body[MESSAGE_ID_KEY]
    if isinstance(value, str) and 1 <= len(value) <= MAX_MESSAGE_ID_LENGTH and _is_text(value):
        return value
    if is_whole_number(value, -MAX_SAFE_INTEGER, MAX_SAFE_INTEGER):
        return value
    raise InvalidMessageId(
        f'"{MESSAGE_ID_KEY}" must be a string of 1 to {MAX_MESSAGE_ID_LENGTH} characters '
        f"or an integer of at most {MAX_SAFE_INTEGER} in size."
    )


def error_frame(status: int, message: str, message_id: MessageId | None = None) -> str:
    """The one documented error frame: ``{"error": {"status": ..., "message": ...}}``, with the message's id.

    Always UTF-8 text of a few KB, whatever ``message`` holds: it is cut to :data:`MAX_ERROR_MESSAGE_LENGTH`
    characters, and what is not text (a lone surrogate) becomes ``?``.
    """
    if len(message) > MAX_ERROR_MESSAGE_LENGTH:
        message = message[: MAX_ERROR_MESSAGE_LENGTH - 1] + "\u2026"
    if not _is_text(message):
        message = message.encode("utf-8", "replace").decode("utf-8")
    frame: dict[str, Any] = {ERROR_KEY: {"status": status, "message": message}}
    if message_id is not None:
        frame[MESSAGE_ID_KEY] = message_id
    return _dumps(frame)


def returned_error_message(status: int, content: bytes, content_type: str) -> str:
    """What a client is told about a non-2xx response a handler returned; a 5xx says nothing of the server's side."""
    phrase = reason_phrase(status)
    if status >= 500 or not content_type.startswith("text/"):
        return phrase
    try:
        text = content.decode("utf-8").strip()
    except UnicodeDecodeError:
        return phrase
    return text or phrase


def reply_frame(text: str, message_id: MessageId | None) -> str:
    """The body of a handler's 2xx answer as the client receives it.

    Without an id it is the body as is ("" for ``None``: AWS sends that as an empty message). With one, a JSON
    object that uses none of ``id``, ``reply`` and ``error`` gets ``"id"`` added as its first key and is otherwise
    kept byte for byte; any other body (an array, a string, text that is not JSON, nothing at all, or an object
    using one of those keys) is wrapped as ``{"id": ..., "reply": <the body>}``, the body as a JSON value when it
    is one, else as a string, ``null`` when empty.
    """
    if message_id is None:
        return text
    encoded_id = _dumps(message_id)
    try:
        value = json.loads(text) if text else None
    except (ValueError, RecursionError):
        return f'{{"{MESSAGE_ID_KEY}":{encoded_id},"{REPLY_KEY}":{_dumps(text)}}}'
    if isinstance(value, dict) and not _RESERVED_KEYS.intersection(value):
        opening = text.index("{") + 1
        separator = "," if value else ""
        return f'{text[:opening]}"{MESSAGE_ID_KEY}":{encoded_id}{separator}{text[opening:]}'
    return f'{{"{MESSAGE_ID_KEY}":{encoded_id},"{REPLY_KEY}":{text.strip() if text else "null"}}}'


def too_large(frame: str) -> bool:
    """Whether API Gateway could carry this frame as one message (128 KB, the same limit ``send_message`` keeps)."""
    return len(frame.encode("utf-8")) > aws_limits.MESSAGE_BYTES


def reason_phrase(status: int) -> str:
    """``Not Found.``: what a client is told of a status when there is nothing more to say."""
    if status == HTTPStatus.INTERNAL_SERVER_ERROR:
        return INTERNAL_ERROR_MESSAGE
    try:
        return HTTPStatus(status).phrase + "."
    except ValueError:
        return "Error." if status < 500 else INTERNAL_ERROR_MESSAGE


def _is_text(value: str) -> bool:
    """Whether ``value`` can be sent as UTF-8: JSON lets a message carry lone surrogates, which are not."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
