"""The HTTP endpoint that issues connect tokens to logged-in users of the site."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from websockets_app.conf import conf
from websockets_app.security.rate_limits import within_limit
from websockets_app.security.tokens import issue_connect_token


@never_cache
@require_POST
def connect_token(request: HttpRequest) -> JsonResponse:
    """POST (CSRF-protected, logged in): a single-use token to pass as ``?token=`` when connecting."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "Log in first."}, status=403)
    if not within_limit("token:user", str(request.user.pk), conf.CONNECT_TOKEN_RATE_LIMIT_PER_USER):
        return JsonResponse({"error": "Too many connect tokens asked for; try again later."}, status=429)
    token = issue_connect_token(request.user, request.session.session_key)
    return JsonResponse({"token": token, "expires_in": conf.CONNECT_TOKEN_MAX_AGE})
