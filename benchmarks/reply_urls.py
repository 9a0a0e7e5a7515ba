"""One WebSocket view answering the same question two ways: by returning it, or by ``send_message``."""

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path

from websockets_app.views import WebSocketView


class AnswerView(WebSocketView):
    def reply(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        """The answer is the response: API Gateway carries it back on the two-way route."""
        return JsonResponse(self.answer())

    def push(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        """The same answer through the management API (one signed POST), the way it was done before replies."""
        self.websocket_session.send_message(self.answer())

    def answer(self) -> dict[str, Any]:
        return {"type": "answer", "n": self.body.get("n"), "channel": self.websocket_session.channel_name}


urlpatterns = [path("ws/<slug:route>", AnswerView.as_view(), name="websocket")]
