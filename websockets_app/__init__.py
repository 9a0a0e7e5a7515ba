"""WebSockets for Django sites served from AWS Lambda through API Gateway WebSocket APIs."""

from websockets_app import _moved

_moved.install()
