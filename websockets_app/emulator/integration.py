"""Calling ``lambda_handler`` the way API Gateway's ``AWS_PROXY`` integration does.

Each event runs in a worker thread, as Lambda runs one invocation per event. API Gateway waits at most 29 seconds
(https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-integration-requests.html:
"the default timeout value of 29 seconds", at most 29000 ms) and then answers the caller
``{"message": "Endpoint request timed out"}`` while the function goes on running; a handler that raises, or answers
something that is not a proxy response (``statusCode`` an integer, ``headers`` a map, ``body`` a string), gets
``{"message": "Internal server error"}`` and status 502 (REST API Lambda proxy output format).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from websockets_app.events.translation import LambdaFunction

__all__ = ("INTERNAL_ERROR", "TIMED_OUT", "Integration", "IntegrationAnswer", "LambdaContext")

logger = logging.getLogger(__name__)


# What API Gateway tells the caller when the integration fails, and when it does not answer in time.
INTERNAL_ERROR = "Internal server error"
TIMED_OUT = "Endpoint request timed out"


@dataclass(frozen=True)
class LambdaContext:
    """The few attributes of Lambda's context object that code reads."""

    aws_request_id: str
    function_name: str = "local-emulator"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:local:000000000000:function:local-emulator"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000  # API Gateway's integration timeout


@dataclass(frozen=True)
class IntegrationAnswer:
    """The integration's outcome: the handler's proxy response, or why there is none (``error``)."""

    response: dict[str, Any] | None
    error: str | None = None

    @property
    def status(self) -> int:
        """The status API Gateway gives: the handler's, 504 when it timed out, else 502."""
        if self.response is not None:
            status: int = self.response["statusCode"]  # an int: proxy_response_problem() refused anything else
            return status
        return 504 if self.error == TIMED_OUT else 502


class Integration:
    """Invokes ``lambda_handler`` in worker threads, with API Gateway's timeout and answer checks."""

    def __init__(self, lambda_handler: LambdaFunction, *, workers: int, timeout_seconds: float | None) -> None:
        self.lambda_handler = lambda_handler
        self.timeout_seconds = timeout_seconds
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lambda")

    async def invoke(self, event: dict[str, Any]) -> IntegrationAnswer:
        context = LambdaContext(aws_request_id=event["requestContext"]["requestId"])
        name = event["requestContext"].get("routeKey", event.get("path"))
        loop = asyncio.get_running_loop()
        call = loop.run_in_executor(self.executor, self.lambda_handler, event, context)
        try:
            # shield: the function goes on running after API Gateway gave up on it, as on Lambda.
            response = await asyncio.wait_for(asyncio.shield(call), self.timeout_seconds)
        except TimeoutError:
            logger.warning("lambda_handler took longer than %s s for %s: %s", self.timeout_seconds, name, TIMED_OUT)
            return IntegrationAnswer(None, TIMED_OUT)
        except Exception:
            logger.exception("lambda_handler raised for %s", name)
            return IntegrationAnswer(None, INTERNAL_ERROR)
        problem = proxy_response_problem(response)
        if problem:
            logger.error("lambda_handler answered %s with a malformed proxy response: %s", name, problem)
            return IntegrationAnswer(None, INTERNAL_ERROR)
        return IntegrationAnswer(response)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


def proxy_response_problem(response: Any) -> str | None:
    """What makes ``response`` something API Gateway refuses as a Lambda proxy answer, or ``None``."""
    if not isinstance(response, dict):
        return f"expected a JSON object, got {type(response).__name__}"
    status = response.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        return f"statusCode must be an integer HTTP status, got {status!r}"
    for key in ("headers", "multiValueHeaders"):
        value = response.get(key)
        if value is not None and not isinstance(value, dict):
            return f"{key} must be an object, got {type(value).__name__}"
    multi = response.get("multiValueHeaders") or {}
    if not all(isinstance(values, list) for values in multi.values()):
        return "multiValueHeaders values must be lists"
    body = response.get("body")
    if body is not None and not isinstance(body, str):
        return f"body must be a string, got {type(body).__name__}"
    return None
