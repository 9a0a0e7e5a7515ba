"""Cold start as a whole process: start Python, import the Lambda handler, answer the first event.

Ours: the project's ``lambda_handler`` answering a WebSocket MESSAGE. Baseline: a blank ``django-admin
startproject`` behind Zappa's own handler answering an HTTP request. Both run the way Zappa's package runs on
Lambda: ``zappa_settings.py`` (written by ``zappa save-python-settings-file``) importable, Lambda's variables set.
"""

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from support import ROOT, blank_zappa_project, expect, report, run, verdict

from websockets_app.testing.events import message_event

GOAL = 1.2
ROUNDS = 15
BIN = Path(sys.executable).parent
CHILD = str(Path(__file__).resolve().parent / "support" / "cold_process.py")
BASELINE_EVENT = {
    "httpMethod": "GET",
    "path": "/admin/",
    "headers": {"Host": "localhost"},
    "body": None,
    "queryStringParameters": None,
    "isBase64Encoded": False,
    "requestContext": {"stage": "dev", "identity": {"sourceIp": "203.0.113.7"}},
}


def prepare(work: Path) -> tuple[dict, dict]:
    """Write both packages' zappa_settings.py and a migrated database with one open connection."""
    lambda_env = {
        **os.environ,
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "SECRET_KEY": "cold-start-benchmark",
        "DATABASE_URL": f"sqlite:///{work / 'ours.sqlite3'}",
        "PYTHONDONTWRITEBYTECODE": "",
    }
    lambda_env.pop("DJANGO_SETTINGS_MODULE", None)
    ours_dir = work / "ours"
    ours_dir.mkdir()
    run(
        [str(BIN / "zappa"), "save-python-settings-file", "dev", "-o", str(ours_dir / "zappa_settings.py")],
        cwd=ROOT,
        env=lambda_env,
    )
    run([str(BIN / "python"), "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=lambda_env)
    run(
        [
            str(BIN / "python"),
            "manage.py",
            "shell",
            "-c",
            "from websockets_app.models import WebSocketSession as S; S.objects.create(connection_id='cold=')",
        ],
        cwd=ROOT,
        env=lambda_env,
    )

    stage = blank_zappa_project(work, BIN, lambda_env)
    run([str(BIN / "zappa"), "save-python-settings-file", stage], cwd=work, env=lambda_env)
    # As on Lambda, the package root holds the project and zappa_settings.py.
    (ours_dir / "project").symlink_to(ROOT / "project")
    (ours_dir / "websockets_app").symlink_to(ROOT / "websockets_app")
    message = message_event(connection_id="cold=", body='{"action": "whoami"}')
    ours_args = [str(ours_dir), "project.lambda_handler.lambda_handler", json.dumps(message)]
    baseline_args = [str(work), "zappa.handler.lambda_handler", json.dumps(BASELINE_EVENT)]
    ours = {"args": [str(BIN / "python"), CHILD, *ours_args], "cwd": ours_dir, "env": lambda_env}
    baseline = {"args": [str(BIN / "python"), CHILD, *baseline_args], "cwd": work, "env": lambda_env}
    return ours, baseline


def measure(spec: dict) -> tuple[float, dict]:
    start = time.perf_counter()
    output = run(spec["args"], cwd=spec["cwd"], env=spec["env"])
    wall = time.perf_counter() - start
    return wall, json.loads(output.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="cold-start-") as directory:
        ours, baseline = prepare(Path(directory))
        results: dict[str, list[tuple[float, dict]]] = {"ours": [], "baseline": []}
        for round_number in range(ROUNDS + 1):
            for name, spec in (("baseline", baseline), ("ours", ours)):
                wall, inside = measure(spec)
                expect(inside["status"] in (200, 302), f"{name} answered {inside['status']}")
                if round_number:  # the first round warms the file cache and writes bytecode
                    results[name].append((wall, inside))

    def median(name: str, key: str | None = None) -> float:
        return statistics.median(wall if key is None else inside[key] for wall, inside in results[name])

    def summary(name: str) -> str:
        return (
            f"{median(name) * 1000:.0f} ms (import {median(name, 'import') * 1000:.0f} ms, "
            f"first event {median(name, 'event') * 1000:.0f} ms)"
        )

    report(
        f"Cold start (whole process: Python start, import, first event; median of {ROUNDS})",
        [
            ("ours: lambda_handler + MESSAGE", summary("ours")),
            ("baseline: blank Django + Zappa's handler", summary("baseline")),
            ("ratio", verdict(median("ours") / median("baseline"), GOAL)),
        ],
    )


if __name__ == "__main__":
    main()
