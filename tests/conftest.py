import pytest

from websockets_app.testing import WebSocketTestClient, keep_test_database_connection


@pytest.fixture
def lambda_handler():
    """The real Lambda entry point, with the test's database connection kept open (as Django's test client does)."""
    from project.lambda_handler import lambda_handler

    with keep_test_database_connection():
        yield lambda_handler


@pytest.fixture
def websocket_client(db):
    """The app's own test client, driving the project's real lambda_handler."""
    with WebSocketTestClient("project.lambda_handler.lambda_handler") as client:
        yield client
