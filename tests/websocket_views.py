"""WebSocket views the suite dispatches to, written the way users write theirs."""

import threading
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse

from websockets_app.exceptions import RejectEvent
from websockets_app.models import WebSocketSession
from websockets_app.security.permissions import AnyOf
from websockets_app.views import WebSocketView


def describe(view: WebSocketView, request: HttpRequest, handler: str) -> JsonResponse:
    session = view.websocket_session
    return JsonResponse(
        {
            "handler": handler,
            "user": request.user.get_username() if request.user.is_authenticated else None,
            "channel": session.channel_name if session else None,
            "body": view.body,
        }
    )


def broken_stream() -> Iterator[bytes]:
    """A streamed answer whose iterator fails half-way, as a generator reading a closed cursor would."""
    yield b'{"part": 1, '
    raise RuntimeError("secret database password is hunter2")


class ActionView(WebSocketView):
    def connect(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse | None:
        super().connect(request, *args, **kwargs)
        if request.GET.get("refuse") == "after-super":
            return HttpResponse("Forbidden: not today.", status=403)
        if request.GET.get("protocol"):
            return HttpResponse(headers={"Sec-WebSocket-Protocol": request.GET["protocol"]})
        if request.GET.get("answer") == "broken-stream":
            return StreamingHttpResponse(broken_stream())
        if request.GET.get("refuse") == "with-a-lone-surrogate":
            raise RejectEvent(403, "Forbidden: \ud800 is not text.")
        return None

    def echo(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return describe(self, request, "echo")

    def sendmessage(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return describe(self, request, "sendmessage")

    def broadcast(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        result = WebSocketSession.objects.in_channel(self.websocket_session.channel_name).send_message(self.body)
        return JsonResponse({"sent": result.sent, "gone": len(result.gone), "failed": len(result.failed)})

    def debuglog(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse({"log": self.debug_log})

    def say(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        """Send the text to everyone in the sender's channel, the sender included."""
        WebSocketSession.objects.filter(channel_name=self.websocket_session.channel_name).send_message(
            {"from": request.user.get_username() or "anonymous", "text": self.body.get("text")}
        )

    def reject(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        raise RejectEvent(422, "Unprocessable: reject always refuses.")

    def default(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return describe(self, request, "default")

    def _secret(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return describe(self, request, "_secret")

    @staticmethod
    def helper(request: HttpRequest) -> JsonResponse:
        return JsonResponse({"handler": "helper"})


class AuditMixin:
    """A plain mixin (no WebSocketView in its bases): its public methods are helpers, never actions."""

    def audit(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse({"handler": "audit"})


class MixedView(AuditMixin, ActionView):
    """A view built from a plain mixin and a WebSocketView."""


class CustomDispatchView(ActionView):
    """Overrides dispatch() without any CSRF decoration of its own."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().dispatch(request, *args, **kwargs)
        response["X-Dispatched-By"] = "CustomDispatchView"
        return response


class PlainView(WebSocketView):
    """No handlers of its own: every message reaches the built-in default."""


class GuardedView(WebSocketView):
    """Permissions per view and per action, a channel rule, runtime channels and a bug."""

    login_required = True
    permission_required = "auth.view_user"
    action_permissions = {
        "kick": ["auth.delete_user", "auth.change_user"],
        "post": AnyOf(["auth.add_user", "auth.change_user"]),
    }

    def may_join_channel(self, request: HttpRequest, channel_name: str) -> bool:
        return not channel_name.startswith("staff") or request.user.is_staff

    def kick(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse({"handler": "kick"})

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse({"handler": "post"})

    def join(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        joined = self.join_channel(request, self.body.get("channel"))
        return JsonResponse({"joined": joined, "channels": self.websocket_session.channel_names()})

    def leave(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        left = self.websocket_session.leave(self.body.get("channel"))
        return JsonResponse({"left": left, "channels": self.websocket_session.channel_names()})

    def boom(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret database password is hunter2")


class SlowConnectView(ActionView):
    """Holds its $connect transaction open until told to finish, to let a $disconnect overtake it."""

    row_written = threading.Event()
    may_finish = threading.Event()

    def connect(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse | None:
        response = super().connect(request, *args, **kwargs)
        type(self).row_written.set()
        type(self).may_finish.wait(timeout=10)
        return response


class ReplyView(WebSocketView):
    """Handlers answering their sender in every way a handler can."""

    def text(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return HttpResponse("plain words", content_type="text/plain")

    def me(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse({"type": "me", "channel": self.websocket_session.channel_name})

    def record(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse({"id": 7, "name": "seven"})

    def items(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse([1, 2], safe=False)

    def nothing(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        return None

    def empty(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse({})

    def missing(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return HttpResponse("No such room.", status=404, content_type="text/plain")

    def conflict(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse({"detail": "taken"}, status=409)

    def unavailable(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return HttpResponse("database at 10.0.0.5 refused: password hunter2", status=503, content_type="text/plain")

    def huge(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse({"data": "x" * int(self.body.get("size", 0))})

    def binary(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return HttpResponse(b"\xff\xfe\x00", content_type="application/octet-stream")

    def boom(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret database password is hunter2")

    def refuse(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        raise RejectEvent(403, "Forbidden: not yours.")

    def stream(self, request: HttpRequest, *args: Any, **kwargs: Any) -> StreamingHttpResponse:
        return StreamingHttpResponse(iter([b'{"part": 1, ', b'"of": 2}']), content_type="application/json")

    def broken_stream(self, request: HttpRequest, *args: Any, **kwargs: Any) -> StreamingHttpResponse:
        return StreamingHttpResponse(broken_stream(), content_type="application/json")

    def refuse_oddly(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        raise RejectEvent(409, "Conflict over \ud800, which is not text.")

    def refuse_at_length(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        raise RejectEvent(400, "Too long: " + self.body.get("echo", ""))

    def lookup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        raise Http404("No room with that name.")

    def forbidden(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        raise PermissionDenied("Not your room.")

    def join(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse({"joined": self.join_channel(request, "room-9")})
