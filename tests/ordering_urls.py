"""A room joined at run time, for the ordering tests: ``join`` replies once joined, ``say`` speaks to a room."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path

from websockets_app.models import WebSocketSession
from websockets_app.views import WebSocketView


class RoomView(WebSocketView):
    def join(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        """Join ``channel``; the reply tells the caller so: only then may it rely on being in the room."""
        self.join_channel(request, self.body["channel"])
        return JsonResponse({"type": "joined", "channel": self.body["channel"]})

    def say(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        WebSocketSession.objects.in_channel(self.body["channel"]).send_message(
            {"type": "said", "text": self.body["text"]}
        )


urlpatterns = [path("ws/<slug:route>", RoomView.as_view(), name="websocket")]
