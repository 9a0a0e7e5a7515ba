import pytest


@pytest.fixture(scope="session")
def lambda_handler():
    from project.lambda_handler import lambda_handler

    return lambda_handler
