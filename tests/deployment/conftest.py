"""What the deployment tests share: a local moto server that answers what the real zappa CLI asks of AWS."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

import pytest
from moto.moto_server import threaded_moto_server
from moto.server import ThreadedMotoServer

from tests.aws_state import answer_route_responses, answer_stage_updates, report_domain_targets

FUNCTION_URL_LIST = re.compile(r"^/2021-10-31/functions/[^/]+/urls/?$")


def answer_function_url_listing(app: Any) -> Any:
    """Teach moto ``ListFunctionUrlConfigs`` (which every ``zappa update`` calls): this function has none."""

    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] == "GET" and FUNCTION_URL_LIST.match(environ.get("PATH_INFO", "")):
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps({"FunctionUrlConfigs": []}).encode()]
        return app(environ, start_response)

    return wrapped


@pytest.fixture
def moto_server(monkeypatch):
    """An empty AWS on a local moto server on a free port, named by ``AWS_ENDPOINT_URL`` for every AWS client."""
    application = threaded_moto_server.DomainDispatcherApplication
    monkeypatch.setattr(
        threaded_moto_server,
        "DomainDispatcherApplication",
        lambda *args, **kwargs: answer_function_url_listing(application(*args, **kwargs)),
    )
    report_domain_targets(monkeypatch)
    answer_route_responses(monkeypatch)
    answer_stage_updates(monkeypatch)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    # moto keeps its accounts in this process, whichever server answered: each test starts from an empty AWS.
    reset = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset).close()
    yield url
    server.stop()
