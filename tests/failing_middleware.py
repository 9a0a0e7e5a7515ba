"""A project middleware that fails after the view answered, for events whose message asks it to."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

MARKER = b"fail-after-the-view"


class FailAfterTheView:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if MARKER in request.body:
            raise RuntimeError("secret database password is hunter2")
        return response
