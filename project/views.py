"""The example project's views: a chat whose WebSocket side is written the way users of websockets_app write theirs."""

from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render

from websockets_app.channels.broadcasting import broadcast
from websockets_app.exceptions import RejectEvent
from websockets_app.validators import validate_channel_name
from websockets_app.views import WebSocketView
from websockets_app.websocket_url import websocket_url

MAX_MESSAGE_LENGTH = 2000


class ChatWebSocketView(WebSocketView):
    """One public method per action; ``request.user`` is whoever opened the connection."""

    def sendmessage(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        """``{"action": "sendmessage", "message": "..."}``: everyone in the room gets it, the sender included, and
        it is kept in the room's history for those who come later or were away."""
        text = self.body.get("message")
        if not isinstance(text, str) or not text.strip():
            raise RejectEvent(400, "message must be a non-empty string.")
        if len(text) > MAX_MESSAGE_LENGTH:
            raise RejectEvent(400, f"message must be at most {MAX_MESSAGE_LENGTH} characters.")
        broadcast(
            self.websocket_session.channel_name, {"type": "message", "user": _display_name(request), "message": text}
        )

    def whoami(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse(
            {"type": "whoami", "user": _display_name(request), "channel": self.websocket_session.channel_name}
        )


def chat(request: HttpRequest) -> HttpResponse:
    """The chat page; ``?channel=`` picks the room. The WebSocket URL comes from the server, never the page."""
    channel = request.GET.get("channel") or "lobby"
    try:
        validate_channel_name(channel)
    except ValidationError as error:
        return HttpResponseBadRequest(error.messages[0])
    try:
        url = websocket_url(request)
    except ImproperlyConfigured as error:  # no API yet: say so, rather than answer 500
        return HttpResponse(str(error), status=503, content_type="text/plain; charset=utf-8")
    context = {
        "channel": channel,
        "user_name": _display_name(request),
        "websocket_url": f"{url}?{urlencode({'channel': channel})}",
    }
    return render(request, "chat.html", context)


def _display_name(request: HttpRequest) -> str:
    return request.user.get_username() if request.user.is_authenticated else "anonymous"
