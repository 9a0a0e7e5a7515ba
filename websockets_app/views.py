"""``WebSocketView``: one method per action, ``request.user`` restored for every event of a connection.

The view acts only on events the Lambda entry point put into the WSGI environ (:data:`ENVIRON_EVENT_KEY`). A plain
HTTP request to the same URL, whatever headers it forges, is refused and changes nothing.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache, partial
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.signals import got_request_exception
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from django.utils.log import log_response
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from websockets_app import aws_limits
from websockets_app.channels.actions import ChannelActions
from websockets_app.conf import conf
from websockets_app.events.replies import (
    INTERNAL_ERROR_MESSAGE,
    MessageId,
    error_frame,
    message_id,
    reason_phrase,
    reply_frame,
    returned_error_message,
    too_large,
)
from websockets_app.events.session_lookup import count_message, load_event_session
from websockets_app.events.translation import ENVIRON_EVENT_KEY, VIEW_ANSWER_HEADER, is_websocket_event, source_ip
from websockets_app.exceptions import InvalidMessageId, RejectEvent
from websockets_app.models import LAST_SEEN_RESOLUTION, ApiGateway, ConnectToken, WebSocketSession
from websockets_app.security.closing import end_connection
from websockets_app.security.identity import LOGIN_ENDED_REASON, identity_binding, identity_holds
from websockets_app.security.message_rate import FLOODING_REASON, Verdict, epoch_microseconds, message_allowance
from websockets_app.security.origins import origin_allowed
from websockets_app.security.permissions import Requirement, has_permissions
from websockets_app.security.rate_limits import client_address_identity, within_limit
from websockets_app.security.tokens import redeem_connect_token
from websockets_app.sending.delivery import connecting
from websockets_app.signals import websocket_connected, websocket_disconnected, websocket_message
from websockets_app.validators import is_whole_number, validate_channel_name

__all__ = ("WebSocketView",)

logger = logging.getLogger(__name__)


class WebSocketView(ChannelActions, View):
    """Base class for WebSocket handlers: subclass it and add one public method per action.

    ``$connect`` calls :meth:`connect`, ``$disconnect`` calls :meth:`disconnect`, a custom route key calls the
    method of that name, and ``$default`` calls the method named by ``body[route_selection_key]``, else
    :meth:`default`. Handlers take ``(self, request, *args, **kwargs)`` and return ``None`` (200) or a response.
    On a message, the response's body is the reply its sender receives (message routes are two-way); refusals and
    errors become one error frame, and the message's ``"id"`` comes back on either
    (:mod:`websockets_app.events.replies`).
    """

    http_method_names = ["post"]
    #: The key of a ``$default`` message's JSON body that names the method to call.
    route_selection_key = "action"
    #: ``as_view(debug=True)``: record what the view did in ``self.debug_log``.
    debug = False
    #: Refuse anonymous connections (403 on $connect).
    login_required = False
    #: Permissions needed to connect and to send any message: a name, a list (all of them) or AnyOf([...]).
    permission_required: Requirement = ()
    #: Extra permissions per action: {"kick": "chat.kick_user", "post": AnyOf(["chat.post", "chat.moderate"])}.
    action_permissions: dict[str, Requirement] = {}

    #: The message parsed as a JSON object; ``{}`` when it is not one (and on $connect, $disconnect).
    body: dict[str, Any]
    #: Why the message is not a JSON object ("" when it is): default() tells the sender.
    body_problem: str
    #: The "id" the sender gave its message, echoed on the answer.
    message_id: MessageId | None
    #: The API Gateway event as Lambda received it, the only source of truth about the connection.
    event: dict[str, Any]
    #: The connection's row (with its user); ``None`` inside connect() until ``super().connect()`` made it.
    websocket_session: WebSocketSession | None
    #: The channel the connection opened with (on $connect: the one it is joining).
    channel_name: str

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., HttpResponseBase]:
        # Exempt the view itself, so a subclass that overrides dispatch() stays exempt too. Browsers cannot
        # forge the events this view accepts, so there is no cross-site request to protect against.
        return csrf_exempt(super().as_view(**initkwargs))

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        self.body = {}
        self.body_problem = ""
        self.message_id = None
        self.debug_log: list[str] = []
        self.websocket_session = None
        # The connect token the connection was opened with, bound to the login that asked for it; None: the cookie's.
        self._token: ConnectToken | None = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        event = request.META.get(ENVIRON_EVENT_KEY)  # WSGIRequest.META is the WSGI environ itself
        if not is_websocket_event(event):
            return HttpResponse("Forbidden: this URL only accepts API Gateway WebSocket events.", status=403)
        self.event = event
        context = event["requestContext"]
        self._debug(f"{context['eventType']} {context['routeKey']} connection={context['connectionId']}")
        answer = self._answer(request, context["eventType"], *args, **kwargs)
        # The Lambda entry lets an error through only when the view made it (events.entry strips the mark).
        answer[VIEW_ANSWER_HEADER] = "1"
        return answer

    def _answer(self, request: HttpRequest, event_type: str, *args: Any, **kwargs: Any) -> HttpResponse:
        """The event's answer, every byte of it built here, inside the error handling.

        A handler's streamed response is read, a reply framed and sized, a refusal or a failure turned into the
        documented error frame (plain text on ``$connect`` and ``$disconnect``) before anything leaves the view, so
        nothing after it can fail on the answer and hand the event to Django's error pages.
        """
        try:
            if event_type == "CONNECT":
                return self._dispatch_connect(request, *args, **kwargs)
            response = self._dispatch_existing(request, event_type, *args, **kwargs)
            return self._answer_message(response) if event_type == "MESSAGE" else response
        except RejectEvent as rejection:
            self._debug(f"rejected: {rejection.status} {rejection.reason}")
            return self._refusal(event_type, rejection.status, rejection.reason)
        except (Http404, PermissionDenied) as refusal:
            # What get_object_or_404() and Django's permission checks raise: refusals, as in any view.
            status = 404 if isinstance(refusal, Http404) else 403
            return self._refusal(event_type, status, reason_phrase(status))
        except Exception as error:
            return self._failure(request, event_type, error)

    def _refusal(self, event_type: str, status: int, reason: str) -> HttpResponse:
        if event_type == "MESSAGE":
            answer = _frame(status, error_frame(status, reason, self.message_id))
        else:
            answer = HttpResponse(reason.encode("utf-8", "replace"), status=status, content_type="text/plain")
        if status == 429:
            _mark_logged(answer)  # not one django.request warning per refused attempt: a flood would flood the logs
        return answer

    def _failure(self, request: HttpRequest, event_type: str, error: Exception) -> HttpResponse:
        """An exception from a handler or the app: heard of as a view's would be, answered with nothing of it.

        ``got_request_exception`` fires and ``django.request`` logs it once, with the view, route and connection (so
        ``mail_admins`` and error trackers hooked to either hear of it), as Django's own handler does for views.
        """
        got_request_exception.send(sender=None, request=request)
        answer = self._refusal(event_type, 500, INTERNAL_ERROR_MESSAGE)
        context = self.event["requestContext"]
        log_response(
            "%s: %s (%s, route %s, connection %s)",
            answer.reason_phrase,
            request.path,
            type(self).__name__,
            context["routeKey"],
            context["connectionId"],
            response=answer,
            request=request,
            exception=error,
        )
        return answer

    # Handlers users override (call super() to keep the bookkeeping).

    def connect(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase | None:
        """Record the connection with its user and channel. Return a 4xx (or raise RejectEvent) to refuse it."""
        context = self.event["requestContext"]
        user = request.user if request.user.is_authenticated else None
        fields = {
            "channel_name": self.channel_name,
            "user": user,
            "api_id": context["apiId"],
            "stage": context["stage"],
            "domain_name": context["domainName"],
            "source_ip": source_ip(self.event),
            **identity_binding(request, user, self._token),
            "connected_at": _epoch_millis(context.get("connectedAt")) or timezone.now(),
        }
        try:
            with transaction.atomic():
                self.websocket_session = WebSocketSession.objects.create(
                    connection_id=context["connectionId"], **fields
                )
        except IntegrityError:
            # A $disconnect overtook this $connect, or API Gateway sent $connect twice.
            existing = WebSocketSession.objects.get(connection_id=context["connectionId"])
            if not existing.connected:
                raise RejectEvent(410, "Gone: this connection has already disconnected.") from None
            self.websocket_session = existing
        return None

    def disconnect(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase | None:
        """Mark the connection closed; the row stays until ``clear_websocket_sessions`` removes it."""
        session = self.websocket_session
        if session is None:
            raise RejectEvent(410, "Gone: unknown connection.")
        WebSocketSession.objects.filter(pk=session.pk).mark_closed(**self._disconnect_details())
        session.connected = False
        websocket_disconnected.send(type(self), session=session, user=request.user, event=self.event)
        return None

    def heartbeat(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase | None:
        """The browser client's keep-alive: the message itself resets API Gateway's 10-minute idle timer."""
        return None

    def default(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase | None:
        """Messages whose action names no handler. Override it to handle them."""
        if self.body_problem:
            raise RejectEvent(400, self.body_problem)
        action = self.body.get(self.route_selection_key)
        raise RejectEvent(400, f"Unknown action: {action!r}." if action is not None else "No action given.")

    # Hooks.

    def get_channel_name(self, request: HttpRequest) -> str:
        """The channel a new connection joins: ``?channel=``, else the API's default channel ("" for none).

        Whatever it returns is validated and checked with :meth:`may_join_channel`, defaults included.
        """
        requested = request.GET.get("channel", "")
        if requested:
            return requested
        api_default = (
            ApiGateway.objects.filter(api_id=self.event["requestContext"]["apiId"])
            .values_list("default_channel_name", flat=True)
            .first()
        )
        return api_default or conf.DEFAULT_CHANNEL_NAME

    def may_join_channel(self, request: HttpRequest, channel_name: str) -> bool:
        """Whether ``request.user`` may join ``channel_name`` (on connect and through :meth:`join_channel`)."""
        return True

    def join_channel(self, request: HttpRequest, channel_name: str) -> bool:
        """Add this connection to a channel after the same checks as ``?channel=`` on connect."""
        if self.websocket_session is None:
            raise RejectEvent(410, "Gone: unknown connection.")
        checked = self._checked_channel_name(request, channel_name)
        try:
            return self.websocket_session.join(checked)
        except ValidationError as error:
            raise RejectEvent(400, error.messages[0]) from None

    def get_handler_name(self) -> str:
        """The method that handles this MESSAGE event, chosen from the event's route key and the body."""
        route_key = self.event["requestContext"]["routeKey"]
        wanted = self.body.get(self.route_selection_key) if route_key == "$default" else route_key
        if isinstance(wanted, str) and wanted in handler_names(type(self)):  # type: ignore[arg-type]  # mypy finds classes unhashable under functools.cache
            return wanted
        return "default"

    def _debug(self, message: str) -> None:
        """Record what the view did, when the view was built with ``as_view(debug=True)``."""
        if self.debug:
            self.debug_log.append(message)

    # The event path.

    def _dispatch_connect(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        address = client_address_identity(source_ip(self.event))
        if not within_limit("connect:ip", address, conf.CONNECT_RATE_LIMIT_PER_IP):
            raise RejectEvent(429, "Too many connections from this address; try again later.")
        if not origin_allowed(request.headers.get("Origin")):
            raise RejectEvent(403, "Forbidden: origin not allowed.")
        # AWS answers 410 to posts during $connect: messaging must neither send to it nor mark it closed.
        with connecting(self.event["requestContext"]["connectionId"]), transaction.atomic():
            # Everything a refused connection wrote (a redeemed token, the session row) is rolled back.
            request.user = self._connecting_user(request)
            if request.user.is_authenticated and not within_limit(
                "connect:user", str(request.user.pk), conf.CONNECT_RATE_LIMIT_PER_USER
            ):
                raise RejectEvent(429, "Too many connections for this user; try again later.")
            self._check_permissions(request, self.permission_required)
            channel_name = self.get_channel_name(request)
            self.channel_name = self._checked_channel_name(request, channel_name) if channel_name else ""
            response = self._call("connect", request, *args, **kwargs)
            if not 200 <= response.status_code < 300:
                transaction.set_rollback(True)
            elif self.websocket_session is not None:
                transaction.on_commit(
                    partial(
                        websocket_connected.send,
                        type(self),
                        session=self.websocket_session,
                        user=request.user,
                        event=self.event,
                    )
                )
        return response

    def _connecting_user(self, request: HttpRequest) -> Any:
        """The cookie's user, or the user of a valid ``?token=``; a token for someone else is refused."""
        cookie_user = request.user
        token = request.GET.get("token")
        if token is None:
            return cookie_user
        redeemed = redeem_connect_token(token)
        if redeemed is None:
            raise RejectEvent(403, "Forbidden: invalid, expired or used token.")
        if cookie_user.is_authenticated:
            if cookie_user.pk != redeemed.user.pk:
                raise RejectEvent(403, "Forbidden: the token belongs to another user.")
            return cookie_user
        self._token = redeemed
        return redeemed.user

    def _check_permissions(self, request: HttpRequest, required: Requirement) -> None:
        if self.login_required and not request.user.is_authenticated:
            raise RejectEvent(403, "Forbidden: log in first.")
        if not has_permissions(request.user, required):
            raise RejectEvent(403, "Forbidden: permission denied.")

    def _checked_channel_name(self, request: HttpRequest, channel_name: str) -> str:
        try:
            validate_channel_name(channel_name)
        except ValidationError as error:
            raise RejectEvent(400, error.messages[0]) from None
        if not self.may_join_channel(request, channel_name):
            raise RejectEvent(403, "Forbidden: you may not join this channel.")
        return channel_name

    def _dispatch_existing(self, request: HttpRequest, event_type: str, *args: Any, **kwargs: Any) -> HttpResponse:
        connection_id = self.event["requestContext"]["connectionId"]
        self.body, self.body_problem = _parse_body(request.body)
        if event_type == "DISCONNECT":
            return self._dispatch_disconnect(request, connection_id, *args, **kwargs)
        try:
            self.message_id = message_id(self.body)
            bad_id = ""
        except InvalidMessageId as error:
            bad_id = str(error)
        now = timezone.now()
        allowance = message_allowance()
        if allowance is None:
            session, clock = load_event_session(connection_id), None
        else:
            # One query: the row and its user, and the message counted against the connection's rate limit.
            session, clock = count_message(connection_id, allowance, now) or (None, None)
        if session is None or not session.connected:
            raise RejectEvent(410, "Gone: unknown or closed connection.")
        self.websocket_session = session
        if allowance is not None and clock is not None:
            self._check_message_rate(session, allowance.verdict(clock, epoch_microseconds(now)))
        if bad_id:
            raise RejectEvent(400, bad_id)
        user = session.user
        if user is not None and not identity_holds(session):
            end_connection(session, LOGIN_ENDED_REASON)
            raise RejectEvent(403, "Forbidden: the login this connection was opened with has ended.")
        request.user = user if user is not None else AnonymousUser()
        if now - session.last_seen_at >= LAST_SEEN_RESOLUTION:
            WebSocketSession.objects.filter(pk=session.pk).update(last_seen_at=now)
            session.last_seen_at = now
        handler = self.get_handler_name()
        self._check_permissions(request, self.permission_required)
        self._check_permissions(request, self.action_permissions.get(handler, ()))
        response = self._call(handler, request, *args, **kwargs)
        websocket_message.send(
            type(self), session=session, user=request.user, event=self.event, handler=handler, response=response
        )
        return response

    def _dispatch_disconnect(self, request: HttpRequest, connection_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
        session = load_event_session(connection_id)
        if session is None:
            self._leave_tombstone(connection_id)
            return HttpResponse(status=200)
        if not session.connected:
            return HttpResponse(status=200)
        self.websocket_session = session
        user = session.user
        request.user = user if user is not None and identity_holds(session) else AnonymousUser()
        return self._call("disconnect", request, *args, **kwargs)

    def _check_message_rate(self, session: WebSocketSession, verdict: Verdict) -> None:
        """Refuse a message over the connection's rate limit before its handler runs; close a connection that floods."""
        if verdict is Verdict.HANDLE:
            return
        if verdict is Verdict.CLOSE:
            end_connection(session, FLOODING_REASON)
            logger.warning(
                "Connection %s closed: it kept sending past MESSAGE_RATE_LIMIT %s",
                session.connection_id,
                conf.MESSAGE_RATE_LIMIT,
            )
            raise RejectEvent(429, "Too many messages: this connection is closed.")
        raise RejectEvent(429, "Too many messages: slow down.")

    def _call(self, name: str, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Run a handler; what it returns is read whole here, a stream included, so its failures are the handler's."""
        self._debug(f"handler {name}")
        response = getattr(self, name)(request, *args, **kwargs)
        if response is None:
            return HttpResponse(status=200)
        if isinstance(response, HttpResponse):
            return response
        if isinstance(response, StreamingHttpResponse):
            return _read_whole(response)
        raise TypeError(f"{type(self).__name__}.{name}() must return None or an HttpResponse.")

    def _answer_message(self, response: HttpResponse) -> HttpResponse:
        """Shape a handler's answer to a message as the reply its sender receives (the body is the reply)."""
        status = response.status_code
        content = response.content
        if not 200 <= status < 300:
            message = returned_error_message(status, content, response.get("Content-Type", ""))
            return _frame(status, error_frame(status, message, self.message_id))
        context = self.event["requestContext"]
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            logger.error(
                "Reply from %s for %s on connection %s is not UTF-8 text, which API Gateway cannot send: refused "
                "with 500",
                type(self).__name__,
                context["routeKey"],
                context["connectionId"],
            )
            return _frame(500, error_frame(500, INTERNAL_ERROR_MESSAGE, self.message_id), logged=True)
        frame = reply_frame(text, self.message_id)
        if too_large(frame):
            size = len(frame.encode("utf-8"))
            logger.warning(
                "Reply of %d bytes from %s for %s on connection %s is over API Gateway's %d-byte message limit: "
                "refused with 413",
                size,
                type(self).__name__,
                context["routeKey"],
                context["connectionId"],
                aws_limits.MESSAGE_BYTES,
            )
            reason = f"The reply is {size} bytes; API Gateway sends at most {aws_limits.MESSAGE_BYTES} per message."
            return _frame(413, error_frame(413, reason, self.message_id), logged=True)
        if frame == text:
            return response
        return _frame(status, frame)

    def _leave_tombstone(self, connection_id: str) -> None:
        """Remember a $disconnect that came first, so a late $connect cannot mark the connection open."""
        try:
            with transaction.atomic():
                WebSocketSession.objects.get_or_create(
                    connection_id=connection_id,
                    defaults={"connected": False, "channel_name": "", "disconnected_at": timezone.now()},
                )
        except IntegrityError:
            pass  # a $connect committed meanwhile: its row is closed just below
        WebSocketSession.objects.filter(connection_id=connection_id).mark_closed(**self._disconnect_details())

    def _disconnect_details(self) -> dict[str, Any]:
        context = self.event["requestContext"]
        status_code = context.get("disconnectStatusCode")
        reason = context.get("disconnectReason")
        return {
            "status_code": status_code if is_whole_number(status_code, 0, 65535) else None,
            "reason": reason.replace("\x00", "") if isinstance(reason, str) else "",
        }


# Actions WebSocketView answers itself (and subclasses may override).
BUILT_IN_ACTIONS = frozenset({"heartbeat", *ChannelActions.ACTIONS})


@cache
def handler_names(view_class: type[object]) -> frozenset[str]:
    """Public methods defined on the user's WebSocketView subclasses: the only names an action may call."""
    reserved = set(dir(WebSocketView))
    names: set[str] = set(BUILT_IN_ACTIONS)
    for klass in view_class.__mro__:
        if klass is WebSocketView or not issubclass(klass, WebSocketView):
            continue
        for name, value in vars(klass).items():
            if not name.startswith("_") and name not in reserved and inspect.isfunction(value):
                names.add(name)
    return frozenset(names)


def _parse_body(raw: bytes) -> tuple[dict[str, Any], str]:
    """The message as a JSON object, and why it is not one ("" when it is, or when there is no message)."""
    if not raw:
        return {}, ""
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):
        return {}, "The message is not JSON: send a JSON object with an action."
    if not isinstance(parsed, dict):
        return {}, "The message is JSON but not an object: send a JSON object with an action."
    return parsed, ""


def _read_whole(streamed: StreamingHttpResponse) -> HttpResponse:
    """A streamed response as one body, its status and headers kept: an event's answer is one message."""
    content = b"".join(streamed.streaming_content)  # type: ignore[arg-type]  # a sync stream: the view is sync
    response = HttpResponse(content, status=streamed.status_code, reason=streamed.reason_phrase)
    for header, value in streamed.items():
        response[header] = value
    return response


def _frame(status: int, frame: str, *, logged: bool = False) -> HttpResponse:
    response = HttpResponse(frame, status=status, content_type="application/json")
    if logged:
        _mark_logged(response)
    return response


def _mark_logged(response: HttpResponse) -> None:
    """Django's own marker: the view said what mattered, so django.request does not log the answer again."""
    response._has_been_logged = True  # type: ignore[attr-defined]  # a private attribute the stubs omit


def _epoch_millis(value: Any) -> datetime | None:
    if is_whole_number(value, 1, 10**14 - 1):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    return None
