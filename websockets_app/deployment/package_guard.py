"""Refusing to package a virtualenv that holds the test and dev tools, before Zappa zips it for Lambda.

Zappa packages the active virtualenv whole. The development one (``make test``'s ``.venv``) holds pytest, moto,
Playwright, Sphinx and what they bring: a 128 MiB zip, over 400 MB unzipped, past Lambda's 250 MB limit. The
Makefile's deploy targets package from a virtualenv built from ``requirements.txt`` alone.
"""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

__all__ = ("TEST_ONLY_PACKAGES", "test_only_packages")

# Never needed at run time on Lambda, and large or pulling large dependencies in.
TEST_ONLY_PACKAGES = frozenset(
    {
        "cfn-lint",
        "coverage",
        "django-stubs",
        "furo",
        "hypothesis",
        "moto",
        "mypy",
        "nox",
        "playwright",
        "pytest",
        "pytest-cov",
        "pytest-django",
        "pytest-env",
        "ruff",
        "sphinx",
    }
)


def test_only_packages(virtualenv: Path) -> list[str]:
    """The test-only distributions installed in ``virtualenv``, by their normalised names, sorted."""
    found: set[str] = set()
    for site_packages in virtualenv.glob("lib/python*/site-packages"):
        for distribution in importlib.metadata.distributions(path=[str(site_packages)]):
            found.add(_normalised(distribution.metadata["Name"] or ""))
    return sorted(found & TEST_ONLY_PACKAGES)


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
