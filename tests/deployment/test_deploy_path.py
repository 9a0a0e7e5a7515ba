"""A new user's whole deploy path, for real: startproject to a deployed stage, as docs/deploy.md tells it.

A fresh virtualenv gets the wheel built from this checkout; ``django-admin startproject`` makes a site with an app, a
model and the admin (and a local ``db.sqlite3`` holding an admin's password hash); the site follows
docs/existing-project.md and docs/deploy.md block by block: their settings, ``websocket_deploy_settings dev`` and
the deploy virtualenv under Python 3.13, made from the site's requirements. Then, as the page says, ``zappa package
dev``: the zip must be small and hold nothing of the developer's machine. Unpacked into an empty folder, with only its
contents importable (Python started isolated, without its site-packages), its handler answers ``$connect``, a
message and ``$disconnect`` (and a page of the admin) against SQLite, called as Lambda calls it. Last, ``zappa deploy
dev`` to a local moto server provisions the WebSocket API, as the demo's end-to-end test checks.

It prints the figures the docs and the report quote: the zip's size, and how long each part took (never asserted).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import venv
import zipfile
from pathlib import Path, PurePosixPath

import boto3
import django
import pytest

from tests.aws_events import rest_v1_event
from tests.aws_state import ACCOUNT, REGION
from tests.docs_examples import BASE_PAGE, DOCS, ExampleProject, run_page
from websockets_app.testing.events import connect_event, disconnect_event, message_event

pytestmark = pytest.mark.adoption
DEPLOY_PAGE = DOCS / "deploy.md"
COMMAND_TIMEOUT = 600
MAX_ZIP_BYTES = 25_000_000
# Top-level folders the package must not hold: test tools and their cache, the SDK Lambda provides, virtualenvs, VCS.
LEFT_OUT = {"pytest", "_pytest", ".pytest_cache", "boto3", "botocore", ".venv", ".venv-deploy", ".git"}
TEST_FILES = ("tests.py", "conftest.py", "pytest.ini")
SITE = "shop-site"  # the folder's name, so the function is shop-site-dev
FUNCTION = f"{SITE}-dev"
ROLE = f"{FUNCTION}-ZappaLambdaExecutionRole"
API = f"{FUNCTION}-websocket"
# Where a Python 3.13 may be: PYTHON313 (CI may name it), on PATH, pyenv's versions, the usual prefixes.
PYTHON_313_CANDIDATES = (
    *([os.environ["PYTHON313"]] if os.environ.get("PYTHON313") else []),
    "python3.13",
    *sorted(str(path) for path in Path("/root/.pyenv/versions").glob("3.13*/bin/python3.13")),
    *sorted(str(path) for path in (Path.home() / ".pyenv" / "versions").glob("3.13*/bin/python3.13")),
    "/usr/local/bin/python3.13",
    "/usr/bin/python3.13",
)

SHOP_MODELS = """from django.db import models


class Product(models.Model):
    name = models.CharField(max_length=100)
    price = models.DecimalField(max_digits=8, decimal_places=2)
"""
SHOP_ADMIN = """from django.contrib import admin

from shop.models import Product

admin.site.register(Product)
"""
# What Lambda provides a function of this stage, and what its remote_env file would add.
LAMBDA_ENVIRONMENT = {
    "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "LAMBDA_TASK_ROOT": "/var/task",
    "DJANGO_SECRET_KEY": "not-a-secret-but-long-enough-for-django-1234567890",
}
# Run by the isolated Python in the unpacked package: each event from stdin through the handler, each answer out.
CALL_HANDLER = """
import json, sys, types
sys.path.insert(0, ".")
from websockets_app.lambda_handler import lambda_handler

context = types.SimpleNamespace(
    function_name="{function}", aws_request_id="req-1", get_remaining_time_in_millis=lambda: 30_000
)
for line in sys.stdin:
    answer = lambda_handler(json.loads(line), context)
    print(json.dumps({{key: answer[key] for key in ("statusCode", "body")}}))
"""
MIGRATE = """
import sys
sys.path.insert(0, ".")
import django
from django.core.management import call_command
django.setup()
call_command("migrate", verbosity=0)
"""


def find_python313() -> str | None:
    for candidate in PYTHON_313_CANDIDATES:
        found = shutil.which(candidate)
        if found is None:
            continue
        probe = subprocess.run(
            [found, "-c", "import sys, venv, ssl, sqlite3; assert sys.version_info[:2] == (3, 13)"],
            capture_output=True,
            check=False,
        )
        if probe.returncode == 0:
            return found
    return None


def run(command: list[str], *, cwd: Path, env: dict[str, str], stdin: str | None = None) -> str:
    completed = subprocess.run(
        command, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
    )
    assert completed.returncode == 0, f"$ {' '.join(command)}\n{completed.stdout}\n{completed.stderr}"
    return completed.stdout + completed.stderr


@pytest.fixture(scope="module")
def python313() -> str:
    found = find_python313()
    if found is None:
        message = "No working Python 3.13 (the stage's Lambda runtime): install it (pyenv install 3.13) and rerun."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture
def site(built_wheel, python313, tmp_path) -> ExampleProject:
    """The startproject site once the docs' steps are done, with its development and deploy virtualenvs.

    The development virtualenv lives in the site's folder, as the quick start makes it (``.venv``), with the test
    tools in it; a ``.env`` file holds a secret, as many sites keep theirs: neither may reach the package.
    """
    folder = tmp_path / SITE
    environment = folder / ".venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    requirements = [f"{built_wheel}[local]", f"Django=={django.__version__}", "pytest-django"]
    run([str(python), "-m", "pip", "install", "--quiet", *requirements], cwd=tmp_path, env=dict(os.environ))
    (folder / ".env").write_text("DJANGO_SECRET_KEY=a-local-secret\n")
    project = ExampleProject(folder, None, python=python, wheel=built_wheel, tools=(Path(python313).parent,))
    (tmp_path / "home").mkdir()

    project.start()
    project.run("python manage.py startapp shop", "an app")
    (project.folder / "shop" / "models.py").write_text(SHOP_MODELS)
    (project.folder / "shop" / "admin.py").write_text(SHOP_ADMIN)
    with (project.folder / "mysite" / "settings.py").open("a") as settings:
        settings.write('\nINSTALLED_APPS += ["shop"]\n')
    run_page(project, BASE_PAGE)  # install, settings, view, URL, migrate, the page's test, the stage
    project.run("python manage.py makemigrations shop && python manage.py migrate", "the app's table")
    project.run(
        "DJANGO_SUPERUSER_PASSWORD=correct-horse-battery python manage.py createsuperuser --noinput "
        "--username admin --email admin@example.com",
        "an admin in the local database",
    )
    run_page(project, DEPLOY_PAGE)  # the Lambda settings, requirements.txt, the stage, .venv-deploy (Python 3.13)
    project.python = project.folder / ".venv-deploy" / "bin" / "python"  # `source .venv-deploy/bin/activate`
    return project


def test_a_startproject_site_packages_runs_and_deploys_as_the_docs_say(site, python313, tmp_path, moto_server):
    zip_path = tmp_path / "dev-package.zip"
    present = [".venv", ".env", "db.sqlite3", ".pytest_cache", "pytest.ini", "mysite/tests.py"]
    assert [name for name in present if not (site.folder / name).exists()] == []  # what must stay behind is there
    started = time.monotonic()
    packaging = run(["zappa", "package", "dev", "--output", str(zip_path)], cwd=site.folder, env=site.environment())
    packaged_in = time.monotonic() - started

    names = zipfile.ZipFile(zip_path).namelist()
    parts = [PurePosixPath(name).parts for name in names]
    size = zip_path.stat().st_size
    print(f"\nzappa package dev: {size / 1e6:.1f} MB ({size} bytes), {len(names)} files, {packaged_in:.1f} s")
    assert "Collecting static files.." in packaging
    assert size <= MAX_ZIP_BYTES
    assert [name for name in names if name.endswith((".sqlite3", "pytest.ini", ".env"))] == []
    assert [name for name, path in zip(names, parts, strict=True) if "tests" in path or path[-1] in TEST_FILES] == []
    assert sorted({path[0] for path in parts} & LEFT_OUT) == []
    assert {
        "zappa_settings.py",
        "manage.py",
        "mysite/settings.py",
        "shop/models.py",
        "shop/migrations/0001_initial.py",
        "staticfiles/admin/css/base.css",
        "websockets_app/lambda_handler.py",
        "whitenoise/middleware.py",
    } <= set(names)

    # Unpacked into an empty folder, only its contents importable: the handler answers as on Lambda.
    task_root = tmp_path / "task"
    task_root.mkdir()
    zipfile.ZipFile(zip_path).extractall(task_root)
    isolated = [python313, "-I", "-S"]  # no site-packages, no environment variables of Python's, no script folder
    lambda_environment = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", **LAMBDA_ENVIRONMENT}
    settings_module = {"DJANGO_SETTINGS_MODULE": "mysite.settings"}
    run([*isolated, "-c", MIGRATE], cwd=task_root, env={**lambda_environment, **settings_module})
    connection = {"connection_id": "deploy-path-1=", "domain_name": f"abc123defg.execute-api.{REGION}.amazonaws.com"}
    events = [
        connect_event(origin=None, query={"channel": "lobby"}, **connection),
        message_event(body=json.dumps({"action": "echo", "message": "hi from Lambda"}), **connection),
        disconnect_event(status_code=1000, reason="", **connection),
        rest_v1_event(path="/static/admin/css/base.css"),
        rest_v1_event(path="/admin/login/"),
    ]
    answers = run(
        [*isolated, "-c", CALL_HANDLER.format(function=FUNCTION)],
        cwd=task_root,
        env=lambda_environment,
        stdin="".join(json.dumps(event) + "\n" for event in events),
    )
    replies = [json.loads(line) for line in answers.splitlines() if line.startswith("{")]
    assert [reply["statusCode"] for reply in replies] == [200, 200, 200, 200, 200]
    assert replies[:3] == [
        {"statusCode": 200, "body": ""},
        {"statusCode": 200, "body": '{"echo": "hi from Lambda"}'},
        {"statusCode": 200, "body": ""},
    ]

    # zappa deploy to a local moto server: the function, then the WebSocket API the post callback provisions.
    stage_file = site.folder / "zappa_settings.json"
    stages = json.loads(stage_file.read_text())
    stages["dev"]["touch"] = False  # no request to the deployed URL: it exists only inside moto
    stage_file.write_text(json.dumps(stages, indent=4))
    aws = {"AWS_ENDPOINT_URL": moto_server, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    started = time.monotonic()
    deployed = run(["zappa", "deploy", "dev"], cwd=site.folder, env={**site.environment(), **aws})
    print(f"zappa deploy dev (moto): {time.monotonic() - started:.1f} s")

    session = boto3.session.Session(region_name=REGION)
    gateway = session.client("apigatewayv2")
    [api] = [item for item in gateway.get_apis()["Items"] if item["ProtocolType"] == "WEBSOCKET"]
    api_id = api["ApiId"]
    report = deployed.splitlines()
    start = report.index(f"Reconciling WebSocket API {API}..")
    assert report[start + 1 : start + 13] == [
        f"  + api {API}",
        "  + integration AWS_PROXY",
        "  + route $connect",
        "  + route $disconnect",
        "  + route $default (two-way)",
        "  + route response $default of route $default",
        "  + stage dev (auto-deploy, throttled to 1000 requests/s, bursts of 500)",
        f"  + permission websocket-api-{api_id} (arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*)",
        f"  + role policy websocket-api-{api_id}-connections ({ROLE})",
        f"  ~ environment {FUNCTION} (WEBSOCKET_API_ID, WEBSOCKET_ROUTE_PATHS, WEBSOCKET_STAGE, WEBSOCKET_URL)",
        "  10 changes made.",
        f"WebSocket URL: wss://{api_id}.execute-api.{REGION}.amazonaws.com/dev",
    ]
    function = session.client("lambda").get_function_configuration(FunctionName=FUNCTION)
    assert (function["Handler"], function["Runtime"], function["MemorySize"], function["Timeout"]) == (
        "websockets_app.lambda_handler.lambda_handler",
        "python3.13",
        512,
        30,
    )
    assert function["Environment"]["Variables"]["WEBSOCKET_URL"] == (
        f"wss://{api_id}.execute-api.{REGION}.amazonaws.com/dev"
    )
