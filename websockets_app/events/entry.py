"""The Lambda entry point: WebSocket and HTTP events through apig-wsgi to Django, the rest to Zappa.

Which path an event takes decides what the view may trust: only the WebSocket path puts the event into the WSGI
environ under ``ENVIRON_EVENT_KEY``, so an HTTP request can never pose as a WebSocket event.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable
from typing import Any

from apig_wsgi import make_lambda_handler as make_apig_wsgi_handler

from websockets_app.conf import conf
from websockets_app.events.invocation import serving
from websockets_app.events.replies import error_frame, reason_phrase
from websockets_app.events.translation import (
    ENVIRON_EVENT_KEY,
    ORIGINAL_EVENT_KEY,
    VIEW_ANSWER_HEADER,
    LambdaFunction,
    WSGIApp,
    is_websocket_event,
    source_ip,
    to_http_event,
    to_websocket_response,
)
from websockets_app.exceptions import InvalidWebSocketEvent

__all__ = ("is_http_event", "load_zappa_environment", "make_lambda_handler", "script_name_for")

logger = logging.getLogger(__name__)


def make_lambda_handler(wsgi_app: WSGIApp) -> LambdaFunction:
    """Build ``lambda_handler(event, context)`` around a Django WSGI application."""
    from websockets_app.events.middleware import event_application  # Django's handlers: once settings are chosen

    http_handler = make_apig_wsgi_handler(_http_environ_from_event(wsgi_app), binary_support=True)
    websocket_handler = make_apig_wsgi_handler(_websocket_environ_from_event(event_application(wsgi_app)))

    def lambda_handler(event: dict[str, Any], context: Any) -> Any:
        if is_websocket_event(event):
            return _handle_websocket_event(websocket_handler, event, context)
        if is_http_event(event):
            return http_handler(event, context)
        return _zappa_handler(event, context)

    return lambda_handler


def is_http_event(event: Any) -> bool:
    """REST API v1, HTTP API payload 1.0 and 2.0, ALB and function URL events."""
    if not isinstance(event, dict):
        return False
    context = event.get("requestContext")
    if event.get("version") == "2.0":
        return isinstance(context, dict) and isinstance(context.get("http"), dict)
    return isinstance(event.get("httpMethod"), str) and isinstance(event.get("path"), str)


def script_name_for(event: dict[str, Any], path_info: str) -> tuple[str, str]:
    """Split the stage prefix off the path, so ``reverse()`` and redirects keep it on the execute-api URL.

    Returns ``(SCRIPT_NAME, PATH_INFO)``. REST API events give the path without the stage and the full one in
    ``requestContext.path`` (custom-domain base paths included); HTTP API events (payload 1.0 and 2.0) keep the
    stage in the path unless it is ``$default`` or a custom domain already removed it.
    """
    context = event.get("requestContext")
    if not isinstance(context, dict) or "elb" in context:
        return "", path_info
    if event.get("version") in ("1.0", "2.0"):
        stage = context.get("stage")
        if isinstance(stage, str) and stage and stage != "$default":
            prefix = f"/{stage}"
            if path_info == prefix or path_info.startswith(prefix + "/"):
                return prefix, path_info[len(prefix) :]
        return "", path_info
    full_path = context.get("path")
    event_path = event.get("path")
    if (
        isinstance(full_path, str)
        and isinstance(event_path, str)
        and full_path != event_path
        and full_path.endswith(event_path)
        and full_path.startswith("/")
    ):
        return full_path[: len(full_path) - len(event_path)].rstrip("/"), path_info
    return "", path_info


def _http_environ_from_event(wsgi_app: WSGIApp) -> WSGIApp:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        event = environ["apig_wsgi.full_event"]
        environ["SCRIPT_NAME"], environ["PATH_INFO"] = script_name_for(event, environ["PATH_INFO"])
        if not environ.get("HTTP_HOST"):
            # A client may leave Host out; API Gateway still knows which domain it answered on (ALB events do not).
            domain = (event.get("requestContext") or {}).get("domainName")
            if isinstance(domain, str) and domain:
                environ["HTTP_HOST"] = domain
        caller = source_ip(event)
        if caller:
            environ["REMOTE_ADDR"] = caller
        return wsgi_app(environ, start_response)

    return app


def _websocket_environ_from_event(wsgi_app: WSGIApp) -> WSGIApp:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        original = environ["apig_wsgi.full_event"][ORIGINAL_EVENT_KEY]
        environ[ENVIRON_EVENT_KEY] = original
        environ["REMOTE_ADDR"] = source_ip(original) or "127.0.0.1"
        environ["wsgi.url_scheme"] = "https"
        return _without_error_pages(wsgi_app, environ, start_response)

    return app


def _without_error_pages(wsgi_app: WSGIApp, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
    """Answer an event with the view's answer, or with the status alone: WebSocket events never carry a page.

    Django answers with an HTML page what fails outside the view: a refusal before it (a disallowed Host, no URL for
    the route), a middleware failing after it, and with ``DEBUG`` on that page is Django's ~80 KB debug page of
    settings and code. Only an answer carrying the view's mark (:data:`VIEW_ANSWER_HEADER`) passes as it is; any
    other error becomes the documented error frame on a message (plain text on ``$connect``), and so does an
    exception that escapes Django altogether (a page it could not even encode).
    """
    is_message = environ[ENVIRON_EVENT_KEY]["requestContext"]["eventType"] != "CONNECT"
    replaced: list[bytes] = []

    def guarded_start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        from_the_view = any(name == VIEW_ANSWER_HEADER for name, _ in headers)
        headers = [(name, value) for name, value in headers if name != VIEW_ANSWER_HEADER]
        code = int(status[:3])
        if code < 400 or from_the_view:
            return start_response(status, headers, exc_info)
        replaced.append(_status_alone(code, is_message))
        return start_response(status, [("Content-Type", _status_alone_type(is_message))], exc_info)

    try:
        body = wsgi_app(environ, guarded_start_response)
    except Exception:
        logger.exception("A WebSocket event failed outside its view; answered with 500 alone")
        start_response("500 Internal Server Error", [("Content-Type", _status_alone_type(is_message))])
        return [_status_alone(500, is_message)]
    if not replaced:
        return body
    if hasattr(body, "close"):
        body.close()
    return replaced


def _status_alone(code: int, is_message: bool) -> bytes:
    """A status as an event's answer: the error frame of a message, the reason phrase for ``$connect``."""
    return (error_frame(code, reason_phrase(code)) if is_message else reason_phrase(code)).encode()


def _status_alone_type(is_message: bool) -> str:
    return "application/json" if is_message else "text/plain; charset=utf-8"


def _handle_websocket_event(websocket_handler: LambdaFunction, event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        http_event = to_http_event(event, path_prefix=conf.PATH_PREFIX, route_paths=conf.ROUTE_PATHS)
    except InvalidWebSocketEvent as error:
        logger.warning("Refused a malformed WebSocket event: %s", error)
        return {"statusCode": 400, "body": f"Bad Request: {error}."}
    http_response = websocket_handler(http_event, context)
    return to_websocket_response(http_response, event_type=event["requestContext"]["eventType"])


def _zappa_handler(event: Any, context: Any) -> Any:
    """Every other event (``manage``, ``command``, keep-warm, event sources) is Zappa's own business."""
    from zappa.handler import LambdaHandler as ZappaLambdaHandler

    with serving(context):  # asynchronous tasks stop before the timeout (websockets_app.sending.batches)
        return ZappaLambdaHandler.lambda_handler(event, context)


def load_zappa_environment() -> None:
    """On Lambda, apply the settings Zappa packaged (``zappa_settings.py``) before Django starts.

    Zappa writes ``zappa_settings.py`` into the package it deploys; its absence means we are not on a Zappa-built
    Lambda (tests, the local emulator), and there is nothing to load. The usual settings (environment variables,
    log level, Django settings module) are applied here without importing Zappa's handler, which brings boto3 and
    werkzeug into every cold start; settings only Zappa's machinery can apply (``remote_env`` from S3,
    ``slim_handler``'s project archive) are handed to it.
    """
    if importlib.util.find_spec("zappa_settings") is None:
        return
    import zappa_settings  # type: ignore[import-not-found]  # written by Zappa into the package it builds

    if getattr(zappa_settings, "REMOTE_ENV", None) or getattr(zappa_settings, "ARCHIVE_PATH", None):
        from zappa.handler import LambdaHandler as ZappaLambdaHandler

        ZappaLambdaHandler()
        return
    if getattr(zappa_settings, "LOG_LEVEL", None):
        logging.getLogger().setLevel(zappa_settings.LOG_LEVEL)
    os.environ["SERVERTYPE"] = "AWS Lambda"
    os.environ["FRAMEWORK"] = "Zappa"
    for name, setting in (("PROJECT", "PROJECT_NAME"), ("STAGE", "API_STAGE")):
        if isinstance(getattr(zappa_settings, setting, None), str):
            os.environ[name] = getattr(zappa_settings, setting)
    os.environ.update(getattr(zappa_settings, "ENVIRONMENT_VARIABLES", None) or {})
    if getattr(zappa_settings, "DJANGO_SETTINGS", None):
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", zappa_settings.DJANGO_SETTINGS)
