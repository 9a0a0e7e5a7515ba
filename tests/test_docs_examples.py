"""Every code example of the docs runs, from the Markdown files themselves (convention: docs/README-docs.md)."""

from __future__ import annotations

import pytest

from tests.docs_examples import (
    BASE_PAGE,
    ROOT,
    ExampleProject,
    build_base,
    copy_project,
    make_site_packages,
    pages,
    read_page,
)

PAGES = pages()


def test_every_code_block_says_what_it_is():
    errors = [f"{error.where}: {error.reason}" for path in PAGES for error in read_page(path).errors]

    assert errors == []


def test_the_docs_have_examples_to_run():
    """A parser that found nothing would pass every page below: the base page alone has several."""
    roles = {example.role for example in read_page(BASE_PAGE).executable}

    assert {"file", "append", "run"} <= roles


@pytest.fixture(scope="session")
def site_packages(tmp_path_factory):
    return make_site_packages(tmp_path_factory.mktemp("docs-site-packages"))


@pytest.fixture(scope="session")
def base_project(tmp_path_factory, site_packages) -> ExampleProject:
    return build_base(tmp_path_factory.mktemp("docs-base") / "site", site_packages)


def _run_page(project: ExampleProject, path) -> None:
    for example in read_page(path).examples:
        project.apply(example)
    project.import_modules()
    project.run_tests()


def test_existing_project_page_runs_from_a_bare_startproject_site(tmp_path, site_packages):
    project = ExampleProject(tmp_path / "site", site_packages)
    project.folder.mkdir()
    (tmp_path / "home").mkdir()
    project.start()

    _run_page(project, BASE_PAGE)


@pytest.mark.parametrize(
    "path",
    [path for path in PAGES if path != BASE_PAGE and read_page(path).executable],
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_page_examples_run(path, base_project, tmp_path):
    _run_page(copy_project(base_project, tmp_path / "site"), path)
