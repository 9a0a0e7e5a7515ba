"""A view written as the README's "Greeting a new connection" shows: announce on connect, greet on hello."""

from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.urls import path

from websockets_app.models import WebSocketSession
from websockets_app.views import WebSocketView


class GreetingView(WebSocketView):
    def connect(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase | None:
        response = super().connect(request, *args, **kwargs)
        joined = {"type": "joined", "connection": self.event["requestContext"]["connectionId"]}
        WebSocketSession.objects.filter(channel_name=self.channel_name).send_message(joined)
        return response

    def hello(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        self.websocket_session.send_message({"type": "welcome", "channel": self.websocket_session.channel_name})


urlpatterns = [path("ws/<slug:route>", GreetingView.as_view())]
