"""A local stand-in for API Gateway WebSocket APIs, served by ``python manage.py runserver``.

It turns browser traffic into the same AWS-shaped events API Gateway sends and hands them to the project's
``lambda_handler``, so the app cannot tell whether it runs locally or on AWS. It is driven through ``runserver`` and
the ``WEBSOCKETS["EMULATOR_*"]`` settings, so nothing is imported here (``server`` needs the ``[local]`` extra).

- ``server``: uvicorn serving the app, and pointing the site's settings at the emulator
- ``app``: the ASGI application: HTTP, WebSocket upgrades and ``@connections`` on one port
- ``asgi_events``: handshakes, frames, closes and HTTP requests as the events API Gateway sends
- ``integration``: calling ``lambda_handler`` as API Gateway's ``AWS_PROXY`` integration does, with its timeout
- ``route_selection``: the API's route selection expression over a message's body
- ``route_responses``: what the sender of a message receives on a two-way route
- ``registry``: the live connections
- ``connections_api``: ``POST``, ``GET`` and ``DELETE /@connections/{id}`` as AWS answers them
- ``signatures``: SigV4 checked on ``@connections``, as AWS checks it
- ``browser_guard``: web pages kept away from ``@connections``
- ``throttling``: a share of ``@connections`` calls answered 429, on demand
- ``connection_rate``: AWS's quota of new connections per second
- ``limits``: AWS's quotas (message and frame sizes, idle and total time)
- ``parity``: where AWS's behaviour is inconvenient locally, and the settings that relax it
- ``redaction``: secrets left out of the log lines
"""

__all__: tuple[str, ...] = ()
