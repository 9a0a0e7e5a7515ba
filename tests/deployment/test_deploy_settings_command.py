"""``manage.py websocket_deploy_settings STAGE``: a working stage for the site, merged without losing anything."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from websockets_app.deployment.zappa_hooks import desired_from_stage
from websockets_app.provisioning.desired import LambdaTarget

BUCKET = re.compile(r"zappa-[a-z0-9]{9}")
CALLBACKS = {
    "settings": "websockets_app.deployment.zappa_hooks.settings",
    "zip": "websockets_app.deployment.zappa_hooks.slim_package",
    "post": "websockets_app.deployment.zappa_hooks.post",
}
EXCLUDE = [
    "*.sqlite3",
    "*.sqlite3-journal",
    "*.sqlite3-wal",
    "*.sqlite3-shm",
    ".env",
    ".env.*",
    "tests",
    "tests.py",
    "test_*.py",
    "conftest.py",
    "pytest.ini",
    "tox.ini",
    "noxfile.py",
    ".coverage",
    "htmlcov",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    ".tox",
    ".nox",
    ".git",
    ".hg",
    ".svn",
    ".idea",
    ".vscode",
    ".venv",
    "venv",
    "node_modules",
    "*.po",
    "boto3",
    "botocore",
    "s3transfer",
    "troposphere",
    "cfn_flip",
    "cfn_tools",
    "yaml",
    "_yaml",
    "click",
    "kappa",
    "placebo",
    "hjson",
    "toml",
    "tqdm",
    "argcomplete",
    "slugify",
    "text_unidecode",
    "pip",
    "setuptools",
    "pkg_resources",
    "_distutils_hack",
    "wheel",
]
WEBSOCKET_API = {
    "routes": [],
    "two_way": True,
    "route_selection_expression": "$request.body.action",
    "api_key_selection_expression": "$request.header.x-api-key",
    "default_channel_name": "",
    "stage_description": "",
    "tags": {},
    "domain_name": "",
    "certificate_arn": "",
    "hosted_zone_id": "",
    "take_over_domain": False,
    "lambda_alias": "",
    "throttling_rate_limit": 1000.0,
    "throttling_burst_limit": 500,
}


@pytest.fixture
def site(settings, tmp_path):
    """A site folder named like a startproject one, whose zappa_settings.json the command writes."""
    folder = tmp_path / "My Shop_Site 2026"
    folder.mkdir()
    settings.BASE_DIR = folder
    settings.STATIC_ROOT = folder / "staticfiles"
    return folder


def deploy_settings(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("websocket_deploy_settings", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def read(site) -> dict:
    return json.loads((site / "zappa_settings.json").read_text())


def expected_stage(bucket: str, region: str = "eu-west-1") -> dict:
    return {
        "project_name": "my-shop-site-20",
        "django_settings": "project.settings",
        "lambda_handler": "websockets_app.lambda_handler.lambda_handler",
        "aws_region": region,
        "s3_bucket": bucket,
        "runtime": "python3.13",
        "memory_size": 512,
        "timeout_seconds": 30,
        "exclude": EXCLUDE,
        "callbacks": CALLBACKS,
        "websocket_api": WEBSOCKET_API,
    }


def test_a_new_file_gets_the_whole_stage_in_order(site):
    out, err = deploy_settings("dev", "--region", "eu-west-1")

    written = read(site)
    bucket = written["dev"]["s3_bucket"]
    assert BUCKET.fullmatch(bucket)
    assert written == {"dev": expected_stage(bucket)}
    assert list(written["dev"]) == list(expected_stage(bucket))
    assert out.splitlines() == [
        f"Added stage dev in {site / 'zappa_settings.json'}:",
        "  + project_name",
        "  + django_settings",
        "  + lambda_handler",
        "  + aws_region",
        "  + s3_bucket",
        "  + runtime",
        "  + memory_size",
        "  + timeout_seconds",
        "  + exclude",
        "  + callbacks",
        "  + websocket_api",
        "Next, from a virtualenv holding only what the site runs on (Python 3.13): zappa deploy dev, then zappa "
        "manage dev migrate.",
    ]
    assert err == ""


def test_the_region_comes_from_the_environment_when_not_given(site, monkeypatch):
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")

    deploy_settings("dev", "--s3-bucket", "shop-deployments")

    assert read(site) == {"dev": expected_stage("shop-deployments", region="ap-southeast-2")}


def test_running_it_again_changes_nothing(site):
    deploy_settings("dev", "--region", "eu-west-1")
    before = (site / "zappa_settings.json").read_text()

    out, _ = deploy_settings("dev")

    assert (site / "zappa_settings.json").read_text() == before
    assert out.splitlines()[0] == f"Stage dev in {site / 'zappa_settings.json'} is up to date."


def test_merging_keeps_other_stages_and_the_sites_own_values(site):
    production = {"extends": "dev", "memory_size": 2048, "aws_environment_variables": {"LOG": "1"}}
    (site / "zappa_settings.json").write_text(
        json.dumps(
            {
                "dev": {
                    "project_name": "shop",
                    "django_settings": "shop.old_settings",
                    "lambda_handler": "shop.handler.lambda_handler",
                    "aws_region": "us-east-1",
                    "s3_bucket": "shop-zappa",
                    "memory_size": 1024,
                    "slim_handler": True,
                    "exclude": ["media", "*.sqlite3"],
                    "environment_variables": {"ALLOWED_HOSTS": ".example.com"},
                    "callbacks": {"settings": "shop.hooks.settings", "post": "shop.hooks.post"},
                    "websocket_api": {"routes": ["sendmessage"], "domain_name": "ws.example.com"},
                },
                "production": production,
            }
        )
    )

    out, _ = deploy_settings("dev", "--s3-bucket", "shop-packages")

    written = read(site)
    assert written["production"] == production
    assert written["dev"] == {
        "project_name": "shop",
        "django_settings": "project.settings",
        "lambda_handler": "websockets_app.lambda_handler.lambda_handler",
        "aws_region": "us-east-1",
        "s3_bucket": "shop-packages",
        "memory_size": 1024,
        "exclude": ["media", *EXCLUDE],
        "environment_variables": {"ALLOWED_HOSTS": ".example.com"},
        "callbacks": CALLBACKS,
        "websocket_api": {**WEBSOCKET_API, "routes": ["sendmessage"], "domain_name": "ws.example.com"},
        "runtime": "python3.13",
        "timeout_seconds": 30,
    }
    assert out.splitlines()[1:-1] == [
        '  ~ django_settings ("shop.old_settings" -> "project.settings")',
        '  ~ lambda_handler ("shop.handler.lambda_handler" -> "websockets_app.lambda_handler.lambda_handler")',
        '  ~ s3_bucket ("shop-zappa" -> "shop-packages")',
        "  ~ callbacks (+ zip; ~ settings, post)",
        "  - slim_handler (Lambda could not import the app's handler from S3)",
        "  ~ exclude (+ 51 entries)",
        "  ~ websocket_api (+ 12 keys)",
        "  + runtime",
        "  + timeout_seconds",
    ]


def test_a_stage_that_extends_another_gets_only_what_it_lacks(site):
    deploy_settings("dev", "--region", "eu-west-1")
    dev = read(site)["dev"]
    settings_file = site / "zappa_settings.json"
    settings_file.write_text(
        json.dumps({"dev": {**dev, "slim_handler": True}, "production": {"extends": "dev", "memory_size": 1024}})
    )

    out, _ = deploy_settings("production")

    assert read(site)["production"] == {"extends": "dev", "memory_size": 1024, "slim_handler": False}
    assert out.splitlines()[1:-1] == ["  - slim_handler (Lambda could not import the app's handler from S3)"]
    assert read(site)["dev"] == {**dev, "slim_handler": True}


def test_the_written_websocket_api_block_means_what_no_block_means():
    target = LambdaTarget(
        "arn:aws:lambda:eu-west-1:123456789012:function:shop-dev",
        "arn:aws:iam::123456789012:role/shop-dev-ZappaLambdaExecutionRole",
    )

    def desired(stage_config):
        return desired_from_stage(stage_config, lambda_name="shop-dev", stage="dev", target=target)

    assert desired({"websocket_api": WEBSOCKET_API}) == desired({})


def test_the_site_hears_now_what_packaging_would_refuse(site, settings):
    settings.STATIC_ROOT = None

    _, err = deploy_settings("dev", "--region", "eu-west-1")

    assert err.startswith("(websockets_app.W003) STATIC_ROOT is not set: collectstatic, which the Zappa settings")
    assert read(site)["dev"]["lambda_handler"] == "websockets_app.lambda_handler.lambda_handler"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dev stage", "--region", "eu-west-1"], "Stage 'dev stage': use letters, digits, '-' and '_' only"),
        (["dev", "--region", "Ireland"], "'Ireland' is not an AWS region name (such as eu-west-1)."),
        (["dev", "--region", "eu-west-1", "--s3-bucket", "My_Bucket"], "'My_Bucket' is not an S3 bucket name"),
        (
            ["a-stage-name-long-enough-to-overflow", "--region", "eu-west-1"],
            "The function would be named 'my-shop-site-20-a-stage-name-long-enough-to-overflow', and its role",
        ),
    ],
)
def test_names_aws_would_refuse_are_refused_and_nothing_is_written(site, args, message):
    with pytest.raises(CommandError) as refused:
        deploy_settings(*args)

    assert str(refused.value).startswith(message)
    assert not (site / "zappa_settings.json").exists()


def test_no_region_anywhere_is_refused(site, monkeypatch, tmp_path):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))

    with pytest.raises(CommandError) as refused:
        deploy_settings("dev")

    assert str(refused.value) == (
        "No AWS region: pass --region (such as --region eu-west-1), or set AWS_REGION or your AWS profile's."
    )


def test_an_unreadable_file_is_left_as_it_is(site):
    (site / "zappa_settings.json").write_text('{"dev": {"aws_region": "eu-west-1",}}')

    with pytest.raises(CommandError) as refused:
        deploy_settings("dev")

    assert str(refused.value).startswith(f"{site / 'zappa_settings.json'} is not valid JSON (")
    assert (site / "zappa_settings.json").read_text() == '{"dev": {"aws_region": "eu-west-1",}}'
