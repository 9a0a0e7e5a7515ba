"""The supported Django versions, one session each, on the Python each needs: ``nox -s django-5.2``, ``nox -l``.

Each session installs the dev requirements, then its Django over the pinned one, and runs the migrations check and
the whole suite (lint runs once, in ``make test``). ``DATABASE_URL`` chooses the database, as for ``make test``;
extra arguments go to pytest (``nox -s django-6.1 -- -k adoption``).
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["django-5.2", "django-6.1"]

# Django's own floors: 5.2 LTS runs on Python 3.10+, 6.1 on 3.12+. The patch releases are pinned for repeatable runs.
SUPPORTED = {"5.2": ("3.11", "5.2.19"), "6.1": ("3.12", "6.1.3")}


def _suite(session: nox.Session, django: str) -> None:
    session.install("--quiet", "-r", "requirements-dev.txt")
    session.install("--quiet", f"Django=={django}")
    session.run("python", "-c", "import django; print('Django', django.__version__)")
    session.run("python", "manage.py", "makemigrations", "--check", "--dry-run")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(name="django-5.2", python=SUPPORTED["5.2"][0])
def django_52(session: nox.Session) -> None:
    """Django 5.2 LTS, the version requirements.txt pins and ``make test`` runs."""
    _suite(session, SUPPORTED["5.2"][1])


@nox.session(name="django-6.1", python=SUPPORTED["6.1"][0])
def django_61(session: nox.Session) -> None:
    """Django 6.1, the current release."""
    _suite(session, SUPPORTED["6.1"][1])
