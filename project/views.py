"""The example project's views: a WebSocket view written the way users of websockets_app write theirs."""

from typing import Any

from django.http import HttpRequest, JsonResponse

from websockets_app.views import WebSocketView


class ChatWebSocketView(WebSocketView):
    """One public method per action; ``request.user`` is whoever opened the connection."""

    def whoami(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        user = request.user.get_username() if request.user.is_authenticated else "anonymous"
        return JsonResponse({"type": "whoami", "user": user, "channel": self.websocket_session.channel_name})
