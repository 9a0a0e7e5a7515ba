"""Every code example of the docs runs, from the Markdown files themselves (convention: docs/README-docs.md)."""

from __future__ import annotations

import pytest

from tests.docs_examples import BASE_PAGE, ROOT, ExampleProject, copy_project, pages, read_page, run_page

PAGES = pages()


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


@pytest.mark.parametrize(
    "path",
    [path for path in PAGES if path != BASE_PAGE and read_page(path).executable],
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_page_examples_run(path, docs_base_project, tmp_path):
    run_page(copy_project(docs_base_project, tmp_path / "site"), path)
