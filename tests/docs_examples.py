"""The code examples of the docs, read from the Markdown files themselves, and the project they build.

Each fenced block says in its info string, after the language, what it is (docs/README-docs.md has the convention):
``file=PATH`` (the whole file at PATH), ``append=PATH`` (lines added to the end of PATH), ``run`` (shell
commands), ``install`` (the virtualenv and ``pip install`` commands), ``test`` (a pytest module), ``excerpt=PATH``
(lines quoted from a file of this repository) or ``skip="reason"`` (shown, not executed). ``text`` blocks are output
or diagrams, not code. A page's examples run, in the order of the page, in a ``django-admin startproject mysite``
site set up as the "existing project" page says; that page itself starts from the bare site, and the quick start
from an empty folder.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# The page every other page's examples build on: it turns a bare startproject site into one using the app.
BASE_PAGE = DOCS / "existing-project.md"
# The page that starts from an empty folder: it makes its own site.
QUICKSTART_PAGE = DOCS / "quickstart.md"
NOT_CODE = frozenset({"text"})
ROLES = ("file", "append", "run", "install", "test", "excerpt", "skip")
# Roles whose block names a path: in the example project, or (excerpt) in this repository.
PATH_ROLES = ("file", "append", "excerpt")
COMMAND_TIMEOUT = 300
# Until a release is on PyPI the docs install the app from its git repository; the suite installs the wheel built
# from this checkout in its place, and nothing else of the command changes.
GIT_REQUIREMENT = re.compile(r"(django-lambda-websockets(?:\[[a-z,]+\])?) @ git\+https://[^\s\"']+")


@dataclass(frozen=True)
class Example:
    """One fenced block: where it is, its language, its role and the role's argument (a path or a reason)."""

    page: Path
    line: int
    language: str
    role: str | None
    argument: str
    code: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


@dataclass
class ExampleError:
    """A block whose info string breaks the convention."""

    where: str
    reason: str


@dataclass
class Page:
    path: Path
    examples: list[Example] = field(default_factory=list)
    errors: list[ExampleError] = field(default_factory=list)

    @property
    def executable(self) -> list[Example]:
        """The blocks the docs suite runs (``install`` ones run only where a wheel is installed in their place)."""
        return [example for example in self.examples if example.role not in (None, "skip", "install", "excerpt")]

    @property
    def excerpts(self) -> list[Example]:
        return [example for example in self.examples if example.role == "excerpt"]


def pages() -> list[Path]:
    """Every Markdown file whose examples must run: the README and the docs site."""
    found = [path for path in sorted(DOCS.rglob("*.md")) if "_build" not in path.parts]
    return [ROOT / "README.md", *found]


def read_page(path: Path) -> Page:
    page = Page(path)
    for token in MarkdownIt("commonmark").parse(path.read_text()):
        if token.type != "fence" or token.info.strip().startswith("{"):
            continue  # MyST directives (toctree, include) are not examples
        line = token.map[0] + 1 if token.map else 0
        example, error = _example(path, line, token.info, token.content)
        if error:
            page.errors.append(ExampleError(f"{path.relative_to(ROOT)}:{line}", error))
        if example:
            page.examples.append(example)
    return page


def _example(path: Path, line: int, info: str, code: str) -> tuple[Example | None, str | None]:
    try:
        words = shlex.split(info)
    except ValueError as error:
        return None, f"unreadable info string {info!r}: {error}"
    if not words:
        return None, "a code block needs a language and a role (see docs/README-docs.md)"
    language, *roles = words
    if not roles:
        if language in NOT_CODE:
            return Example(path, line, language, None, "", code), None
        return None, f"a {language!r} block needs a role: file=PATH, append=PATH, run, test or skip=REASON"
    if len(roles) > 1:
        return None, f"one role per block, not {roles}"
    name, _, argument = roles[0].partition("=")
    if name not in ROLES:
        return None, f"unknown role {name!r}: use one of {', '.join(ROLES)}"
    if name in (*PATH_ROLES, "skip") and not argument.strip():
        return None, f"{name}= needs {'a reason' if name == 'skip' else 'a path'}"
    if name in ("run", "install", "test") and argument:
        return None, f"{name} takes no argument"
    if name in PATH_ROLES:
        relative = PurePosixPath(argument)
        if relative.is_absolute() or ".." in relative.parts:
            where = "this repository" if name == "excerpt" else "the example project"
            return None, f"{argument!r} must be a path inside {where}"
    return Example(path, line, language, name, argument, code), None


def excerpt_mismatch(example: Example) -> str | None:
    """Why an ``excerpt=PATH`` block is not what PATH says, or None when it is.

    A line holding only ``...`` stands for lines left out; every run of lines between them must be in the file as
    it is (trailing spaces aside), one after another, and the runs in the file's order.
    """
    quoted = ROOT / example.argument
    if not quoted.is_file():
        return f"{example.where}: {example.argument} does not exist"
    lines = [line.rstrip() for line in quoted.read_text().splitlines()]
    runs: list[list[str]] = [[]]
    for line in example.code.splitlines():
        if line.strip() == "...":
            runs.append([])
        else:
            runs[-1].append(line.rstrip())
    start = 0
    for run in filter(None, runs):
        found = next((n for n in range(start, len(lines) - len(run) + 1) if lines[n : n + len(run)] == run), None)
        if found is None:
            return f"{example.where}: these lines are not in {example.argument} (after line {start}):\n" + "\n".join(
                run
            )
        start = found + len(run)
    return None


class ExampleProject:
    """A folder holding a startproject site, where a page's examples are written and run."""

    def __init__(
        self,
        folder: Path,
        site_packages: Path | None,
        *,
        python: Path = Path(sys.executable),
        wheel: Path | None = None,
        tools: tuple[Path, ...] = (),
    ) -> None:
        """``site_packages`` is put on ``PYTHONPATH``; ``None`` when ``python``'s own environment has the app.

        With ``wheel``, ``install`` blocks run, installing it where they (or a requirements file) name the app's git
        repository; without, they are skipped (the suite's Python already has the app). ``tools``: folders put on
        ``PATH`` after the Python's, as a user's shell has them (another Python the page names, such as python3.13).
        """
        self.folder = folder
        self.site_packages = site_packages
        self.python = python
        self.wheel = wheel
        self.tools = tools
        self.tests: list[Path] = []
        self.modules: list[str] = []

    def environment(self) -> dict[str, str]:
        """A user's shell: this interpreter first on PATH, the app importable, nothing from the project's tests."""
        folders = [str(self.python.parent), *map(str, self.tools), os.environ.get("PATH", "/usr/bin:/bin")]
        return {
            "PATH": os.pathsep.join(folders),
            **({"PYTHONPATH": str(self.site_packages)} if self.site_packages else {}),
            **({"VIRTUAL_ENV": str(self.python.parent.parent)} if self.python.is_relative_to(self.folder) else {}),
            "HOME": str(self.folder.parent / "home"),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    def start(self) -> None:
        self.run("django-admin startproject mysite .", "django-admin startproject")

    def apply(self, example: Example, *, tests: bool = True) -> None:
        """Write a file, append to one, run the commands or (with ``tests``) keep a test for ``run_tests``."""
        if example.role == "file":
            self._write(example.argument, self._installable(example.code))
            if example.language == "python" and example.argument.endswith(".py"):
                self.modules.append(example.argument.removesuffix(".py").replace("/", "."))
        elif example.role == "append":
            target = self.folder / example.argument
            existing = target.read_text() if target.exists() else ""
            self._write(example.argument, f"{existing.rstrip()}\n\n{example.code}")
        elif example.role == "run":
            self.run(example.code, example.where)
        elif example.role == "install" and self.wheel is not None:
            self.install(example)
        elif example.role == "test" and tests:
            name = f"test_docs_{example.page.stem.replace('-', '_')}_{example.line}.py"
            self._write(name, example.code)
            self.tests.append(self.folder / name)

    def install(self, example: Example) -> None:
        """Run the page's install commands with the wheel for the git URL; a virtualenv they made stays active."""
        self.run(self._installable(example.code), example.where)
        virtualenv_python = self.folder / ".venv" / "bin" / "python"
        if virtualenv_python.exists():  # what `source .venv/bin/activate` does for the page's later commands
            self.python = virtualenv_python
            self.site_packages = None

    def import_modules(self) -> None:
        """A Python file no other block imports is still imported once, in the configured site."""
        if self.modules:
            imports = "; ".join(f"import {module}" for module in dict.fromkeys(self.modules))
            self.run(f"python manage.py shell -c {shlex.quote(imports)}", "the page's Python files")

    def run_tests(self) -> None:
        if self.tests:
            names = " ".join(shlex.quote(path.name) for path in self.tests)
            self.run(f"python -m pytest -p no:cacheprovider -q {names}", "the page's test blocks")

    def run(self, script: str, where: str) -> None:
        completed = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=self.folder,
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        if completed.returncode:
            raise AssertionError(
                f"{where}: exit {completed.returncode}\n$ {script}\n{completed.stdout}\n{completed.stderr}"
            )

    def module_file(self, module: str) -> str:
        """Where this project's Python imports ``module`` from (to tell an installed copy from this checkout)."""
        completed = subprocess.run(
            [str(self.python), "-c", f"import {module}; print({module}.__file__)"],
            cwd=self.folder,
            env=self.environment(),
            capture_output=True,
            text=True,
            check=True,
        )
        return completed.stdout.strip()

    def _installable(self, text: str) -> str:
        """``text`` with the wheel where it names the app's git repository, when this project installs a wheel."""
        return GIT_REQUIREMENT.sub(rf"\1 @ file://{self.wheel}", text) if self.wheel else text

    def _write(self, relative: str, content: str) -> None:
        target = self.folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)


def make_site_packages(folder: Path) -> Path:
    """A folder where only the reusable app is importable, as after ``pip install`` (not the demo project)."""
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "websockets_app"
    if not link.exists():
        link.symlink_to(ROOT / "websockets_app", target_is_directory=True)
    return folder


def build_base(folder: Path, site_packages: Path) -> ExampleProject:
    """The startproject site after the existing-project page's files and commands (its tests are not run here)."""
    project = ExampleProject(folder, site_packages)
    folder.mkdir(parents=True)
    (folder.parent / "home").mkdir(exist_ok=True)
    project.start()
    for example in read_page(BASE_PAGE).examples:
        project.apply(example, tests=False)
    return project


def copy_project(base: ExampleProject, folder: Path) -> ExampleProject:
    shutil.copytree(base.folder, folder, symlinks=True)
    (folder.parent / "home").mkdir(exist_ok=True)
    return ExampleProject(folder, base.site_packages)


def run_page(project: ExampleProject, path: Path, *, tests: bool = True) -> None:
    """Every block of the page in order, then (with ``tests``) its Python files imported and its tests run."""
    for example in read_page(path).examples:
        project.apply(example, tests=tests)
    if tests:
        project.import_modules()
        project.run_tests()


@pytest.fixture(scope="session")
def docs_site_packages(tmp_path_factory) -> Path:
    return make_site_packages(tmp_path_factory.mktemp("docs-site-packages"))


@pytest.fixture(scope="session")
def docs_base_project(tmp_path_factory, docs_site_packages) -> ExampleProject:
    return build_base(tmp_path_factory.mktemp("docs-base") / "site", docs_site_packages)


INSTALL_TIMEOUT = 600


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory) -> Path:
    """The wheel ``pip install`` of a clone would build, built from this checkout (once per run)."""
    out = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False)
    assert completed.returncode == 0, f"$ {' '.join(command)}\n{completed.stdout}\n{completed.stderr}"
    (wheel,) = out.glob("django_lambda_websockets-*.whl")
    return wheel
