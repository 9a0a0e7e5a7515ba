"""Every code example of the docs runs, from the Markdown files themselves (convention: docs/README-docs.md)."""

from __future__ import annotations

import pytest

from tests.docs_examples import (
    BASE_PAGE,
    QUICKSTART_PAGE,
    ROOT,
    ExampleProject,
    copy_project,
    excerpt_mismatch,
    pages,
    read_page,
    run_page,
)

PAGES = pages()
# Pages that make their own site: the base page from a bare startproject one, the quick start from an empty folder.
OWN_SITE = (BASE_PAGE, QUICKSTART_PAGE)


def test_every_code_block_says_what_it_is():
    errors = [f"{error.where}: {error.reason}" for path in PAGES for error in read_page(path).errors]

    assert errors == []


def test_the_docs_have_examples_to_run():
    """A parser that found nothing would pass every page below: the base page alone has several."""
    roles = {example.role for example in read_page(BASE_PAGE).executable}

    assert {"file", "append", "run"} <= roles


def test_existing_project_page_runs_from_a_bare_startproject_site(tmp_path, docs_site_packages):
    project = ExampleProject(tmp_path / "site", docs_site_packages)
    project.folder.mkdir()
    (tmp_path / "home").mkdir()
    project.start()

    run_page(project, BASE_PAGE)


def test_quick_start_runs_from_an_empty_folder(tmp_path, docs_site_packages):
    """Its install block is the one thing skipped here (tests/docs/test_quickstart.py runs it with the wheel)."""
    project = ExampleProject(tmp_path / "chat", docs_site_packages)
    project.folder.mkdir()
    (tmp_path / "home").mkdir()

    run_page(project, QUICKSTART_PAGE)

    assert (project.folder / "manage.py").is_file()


@pytest.mark.parametrize(
    "path",
    [path for path in PAGES if path not in OWN_SITE and read_page(path).executable],
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_page_examples_run(path, docs_base_project, tmp_path):
    run_page(copy_project(docs_base_project, tmp_path / "site"), path)


EXCERPTS = [example for path in PAGES for example in read_page(path).excerpts]


def test_the_docs_quote_files():
    assert EXCERPTS, "no excerpt= block left: the check below would pass on nothing"


@pytest.mark.parametrize("example", EXCERPTS, ids=lambda example: example.where)
def test_every_excerpt_is_what_the_file_says(example):
    assert excerpt_mismatch(example) is None
