import pytest

# The management_api fixture: moto's @connections API answering 410/413/429 as AWS does.
pytest_plugins = ["tests.management_api"]


@pytest.fixture(scope="session")
def lambda_handler():
    from project.lambda_handler import lambda_handler

    return lambda_handler
