"""The Lambda package alone: unpacked into an empty folder, run by Python 3.13 with nothing but the package and the
standard library on the path (no site-packages, no PYTHONPATH), it imports pycurl and answers a WebSocket $connect
and a message through ``project.lambda_handler`` as Lambda would call it.

    python3.13 .ci/check_package.py dev-package.zip
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

INSIDE = """
import json, os, sys
root = sys.argv[1]
stdlib = [entry for entry in sys.path if entry.startswith(sys.base_prefix) and "site-packages" not in entry]
sys.path[:] = [root, *stdlib]
os.environ.update(
    DJANGO_SETTINGS_MODULE="project.settings", SECRET_KEY="package-check", DEBUG="false",
    DATABASE_URL="sqlite:///" + os.path.join(sys.argv[2], "db.sqlite3"),
    ALLOWED_HOSTS=".execute-api.eu-west-1.amazonaws.com", AWS_REGION="eu-west-1",
)
import pycurl
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from project.lambda_handler import lambda_handler
from websockets_app.testing.events import connect_event, message_event
connected = lambda_handler(connect_event(connection_id="Pkg1=", origin=None), None)
answered = lambda_handler(message_event(connection_id="Pkg1=", body=json.dumps({"action": "whoami"})), None)
outside = sorted({module.__file__.split(root)[0] for module in list(sys.modules.values())
                  if getattr(module, "__file__", None) and not module.__file__.startswith((root, sys.base_prefix))})
print(json.dumps({"pycurl": pycurl.version, "python": sys.version.split()[0], "connect": connected["statusCode"],
                  "message": answered, "outside": outside}))
"""


def main() -> None:
    package = Path(sys.argv[1]).resolve()
    if sys.version_info[:2] != (3, 13):
        sys.exit(f"Run this with Python 3.13 (the python3.13 Lambda runtime), not {sys.version.split()[0]}.")
    with tempfile.TemporaryDirectory(prefix="package-") as folder, tempfile.TemporaryDirectory() as scratch:
        with zipfile.ZipFile(package) as archive:
            archive.extractall(folder)
        run = subprocess.run(  # noqa: S603  (this interpreter, on the package given)
            [sys.executable, "-I", "-S", "-c", INSIDE, folder, scratch],
            cwd=scratch,
            capture_output=True,
            text=True,
            timeout=120,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        )
    if run.returncode:
        sys.exit(f"The unpacked package failed:\n{run.stdout}{run.stderr}")
    report = json.loads(run.stdout.strip().splitlines()[-1])
    message = report["message"]
    problems = [
        *(["$connect was not answered 200"] if report["connect"] != 200 else []),
        *(["the message was not answered 200"] if message.get("statusCode") != 200 else []),
        *([f"modules loaded from outside the package: {report['outside']}"] if report["outside"] else []),
    ]
    if problems:
        sys.exit(f"{package.name}: " + "; ".join(problems) + f"\n{json.dumps(report, indent=2)}")
    print(f"{package.name}: Python {report['python']}, {report['pycurl']}; $connect 200, message {message['body']}")


if __name__ == "__main__":
    main()
