"""``manage.py runserver`` in a process of its own on a free loopback port, for browser tests and benchmarks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(ROOT / "manage.py")]


def manage(database_url: str, *arguments: str, settings: str = "project.settings") -> None:
    """Run one management command against ``database_url``."""
    subprocess.run([*MANAGE, *arguments], env=_environment(database_url, settings), check=True, cwd=ROOT)


@contextmanager
def runserver(
    database_url: str, *, settings: str = "project.settings", log_level: str = "INFO"
) -> Iterator[tuple[str, list[str]]]:
    """Migrate, start the server, and yield its base URL and the lines it logs (read as they come)."""
    manage(database_url, "migrate", "--noinput", "-v0", settings=settings)
    environment = {**_environment(database_url, settings), "WEBSOCKETS_LOG_LEVEL": log_level}
    with serving([*MANAGE, "runserver", "--noreload", "127.0.0.1:0"], cwd=ROOT, env=environment) as started:
        yield started


@contextmanager
def serving(command: list[str], *, cwd: Path, env: dict[str, str]) -> Iterator[tuple[str, list[str]]]:
    """Run a ``runserver`` command until the block ends; yield its base URL and the lines it logs."""
    server = subprocess.Popen(
        command,
        env={**env, "PYTHONUNBUFFERED": "1"},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(line.rstrip("\n") for line in server.stdout), daemon=True)
    try:
        for line in server.stdout:
            lines.append(line.rstrip("\n"))
            # "Starting development server at" (Django 5.2) or "Starting WSGI development server at" (6.1).
            started = re.search(r"Starting (?:WSGI )?development server at (http://127\.0\.0\.1:\d+)/", line)
            if started:
                break
        else:
            raise RuntimeError("runserver exited before serving:\n" + "\n".join(lines))
        reader.start()  # keep reading, or a full pipe would stall the server
        yield started.group(1), lines
    finally:
        server.terminate()
        server.wait(10)
        if reader.is_alive():
            reader.join(10)
        server.stdout.close()


def _environment(database_url: str, settings: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": settings, "PYTHONUNBUFFERED": "1"}
