"""Size of the zip ``zappa package`` builds, against a blank Django project packaged the same way.

``zappa package`` zips the active virtualenv's site-packages with the project, so each side gets a virtualenv with
only its runtime requirements: ours, requirements.txt; the baseline, the Django and Zappa pinned there. The
virtualenvs are cached in the temp directory, keyed by what they install.
"""

import hashlib
import json
import os
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from support import ROOT, blank_zappa_project, expect, report, run, verdict

from websockets_app.testing.events import connect_event, message_event

GOAL_MB = 20.0
MB = 1024 * 1024
CHILD = str(Path(__file__).resolve().parent / "support" / "cold_process.py")


def virtualenv(requirements: list[str]) -> Path:
    """A virtualenv with exactly these requirements (built once, then reused)."""
    key = hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:12]
    venv = Path(tempfile.gettempdir()) / f"package-size-venv-{key}"
    if not (venv / ".complete").exists():
        run([sys.executable, "-m", "venv", "--clear", str(venv)], cwd=ROOT)
        run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *requirements], cwd=ROOT)
        (venv / ".complete").touch()
    return venv


def package(venv: Path, project_dir: Path, stage: str, output: Path) -> None:
    env = {
        **os.environ,
        "VIRTUAL_ENV": str(venv),
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    env.pop("PYTHONHOME", None)
    run([str(venv / "bin" / "zappa"), "package", stage, "-o", str(output)], cwd=project_dir, env=env)


def boot(zip_path: Path, directory: Path, venv: Path) -> str:
    """Run the package the way Lambda does, to show nothing it needs was left out.

    Only the package and the AWS SDK (which Lambda's runtime provides, so the package leaves it out) are importable:
    no site-packages. It migrates a SQLite database, then answers $connect, a message, and ``zappa manage``.
    """
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(directory)
    runtime = directory.parent / "lambda-runtime"
    runtime.mkdir()
    site_packages = next((venv / "lib").glob("python3*/site-packages"))
    for name in ("boto3", "botocore", "s3transfer"):
        (runtime / name).symlink_to(site_packages / name)
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(runtime),
        "PYTHONNOUSERSITE": "1",
        "AWS_LAMBDA_FUNCTION_NAME": "package-boot",
        "AWS_REGION": "eu-west-1",
        "SECRET_KEY": "package-boot",
        "DATABASE_URL": f"sqlite:///{directory.parent / 'boot.sqlite3'}",
    }
    python = [sys.executable, "-S"]
    run([*python, "manage.py", "migrate", "--verbosity", "0"], cwd=directory, env=env)
    answers = []
    for event in (
        connect_event(connection_id="boot=", origin=None),
        message_event(connection_id="boot=", body='{"action": "whoami"}'),
        {"manage": "check"},
    ):
        args = [*python, CHILD, str(directory), "project.lambda_handler.lambda_handler", json.dumps(event)]
        answers.append(json.loads(run(args, cwd=directory, env=env).strip().splitlines()[-1])["response"])
    expect(answers[0]["statusCode"] == 200 and answers[1]["statusCode"] == 200, f"answers: {answers}")
    return f"$connect {answers[0]['statusCode']}, message {answers[1]['body']}, zappa manage check {answers[2]}"


def largest(zip_path: Path, count: int = 6) -> str:
    sizes: Counter[str] = Counter()
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            sizes[info.filename.split("/", 1)[0]] += info.compress_size
    return ", ".join(f"{name} {size / MB:.1f}" for name, size in sizes.most_common(count))


def main() -> None:
    requirements = [
        line.split("#", 1)[0].strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.split("#", 1)[0].strip()
    ]
    baseline_requirements = [r for r in requirements if r.lower().startswith(("django==", "zappa=="))]
    with tempfile.TemporaryDirectory(prefix="package-size-") as directory:
        work = Path(directory)
        ours_zip, baseline_zip = work / "ours.zip", work / "baseline.zip"
        package(virtualenv(requirements), ROOT, "dev", ours_zip)

        blank = work / "blank"
        blank.mkdir()
        baseline_venv = virtualenv(baseline_requirements)
        stage = blank_zappa_project(blank, baseline_venv / "bin")
        package(baseline_venv, blank, stage, baseline_zip)

        boots = boot(ours_zip, work / "unzipped", virtualenv(requirements))
        ours, baseline = ours_zip.stat().st_size / MB, baseline_zip.stat().st_size / MB
        report(
            "zappa package size",
            [
                (
                    "ours (requirements.txt)",
                    f"{ours:.1f} MB (goal <= {GOAL_MB:.0f} MB: {'met' if ours <= GOAL_MB else 'NOT met'})",
                ),
                ("baseline (blank Django + Zappa, Zappa's defaults)", f"{baseline:.1f} MB"),
                ("ratio", verdict(ours / baseline, round(GOAL_MB / baseline, 2)) + f" ({GOAL_MB:.0f} MB as a ratio)"),
                ("largest in ours (MB, compressed)", largest(ours_zip)),
                ("ours, unzipped and run as on Lambda", boots),
            ],
        )


if __name__ == "__main__":
    main()
