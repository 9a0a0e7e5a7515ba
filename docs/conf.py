"""Sphinx configuration: Markdown pages (MyST) with the Furo theme, built with warnings as errors (`make docs`)."""

import tomllib
from pathlib import Path

_pyproject = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())

project = "django-lambda-websockets"
release = _pyproject["project"]["version"]
version = release
copyright = "the django-lambda-websockets authors"

extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"
# README-docs.md is the writers' guide, read on its own; _build is the output.
exclude_patterns = ["_build", "README-docs.md"]

myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]
# A code fence's info string carries the example's role after the language ("python file=myapp/views.py"): Pygments
# reads the language only, so the roles stay invisible in the pages.
highlight_language = "text"

html_theme = "furo"
html_title = "Django WebSockets on AWS Lambda"
html_static_path: list[str] = []
