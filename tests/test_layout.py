"""The house as the docs draw it: every module on the map, each package's public names declared, no import that
runs back up a layer (but the models' facade over sending)."""

import ast
import importlib
import re
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "websockets_app"
ARCHITECTURE = Path(__file__).resolve().parents[1] / "docs" / "topics" / "architecture.md"
# The models' send_message(), close() and info() call into sending/ when called: the one circle allowed.
FACADE = ("websockets_app.models", "websockets_app.sending")


def modules() -> dict[str, Path]:
    """Every module of the app by dotted name, migrations aside."""
    found = {}
    for path in APP.rglob("*.py"):
        relative = path.relative_to(APP.parent).with_suffix("")
        if "migrations" in relative.parts:
            continue
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        found[".".join(parts)] = path
    return found


def runtime_imports(path: Path, name: str) -> list[tuple[str, bool]]:
    """(imported app module, whether the import is deferred into a function), without ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, bool]] = []
    known = modules()

    def visit(node: ast.AST, deferred: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            inner = deferred or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                found.extend((alias.name, inner) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    base = ".".join([*package.split(".")[: len(package.split(".")) - child.level + 1], base]).strip(".")
                # "from package import module" needs the module; "from module import name" needs the module.
                found.extend((f"{base}.{alias.name}", inner) for alias in child.names)
                if any(f"{base}.{alias.name}" not in known for alias in child.names):
                    found.append((base, inner))
            visit(child, inner)

    visit(tree, False)
    return [(module, deferred) for module, deferred in found if module in known]


def import_graph(*, with_deferred_facade: bool) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in modules().items():
        graph[name] = {
            target
            for target, deferred in runtime_imports(path, name)
            if target != name
            and not (deferred and not with_deferred_facade and name == FACADE[0] and target.startswith(FACADE[1]))
        }
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_no_import_runs_back_up_but_the_models_facade():
    assert cycles(import_graph(with_deferred_facade=False)) == []


def test_the_facade_is_the_one_circle_and_its_imports_are_deferred():
    [circle] = cycles(import_graph(with_deferred_facade=True))
    assert "websockets_app.models" in circle
    assert [member for member in circle if not member.startswith(FACADE)] == []
    models_imports = runtime_imports(modules()["websockets_app.models"], "websockets_app.models")
    assert [target for target, deferred in models_imports if target.startswith(FACADE[1]) and not deferred] == []


@pytest.mark.parametrize(
    "package",
    [
        "websockets_app.backends",
        "websockets_app.channels",
        "websockets_app.deployment",
        "websockets_app.emulator",
        "websockets_app.events",
        "websockets_app.provisioning",
        "websockets_app.security",
        "websockets_app.sending",
        "websockets_app.testing",
    ],
)
def test_each_subpackage_declares_its_public_names(package):
    module = importlib.import_module(package)
    assert isinstance(module.__all__, tuple)
    for name in module.__all__:
        assert hasattr(module, name) or importlib.import_module(f"{package}.{name}")


def test_at_most_about_a_dozen_modules_stand_at_the_top():
    top = sorted(path.name for path in APP.glob("*.py"))
    assert top == [
        "__init__.py",
        "_moved.py",
        "admin.py",
        "apps.py",
        "aws_limits.py",
        "checks.py",
        "cleanup.py",
        "conf.py",
        "exceptions.py",
        "lambda_handler.py",
        "models.py",
        "signals.py",
        "urls.py",
        "validators.py",
        "views.py",
        "websocket_url.py",
    ]


def mapped_modules() -> dict[str, str]:
    """The modules the architecture page lists, by path under websockets_app/, with their one line."""
    text = ARCHITECTURE.read_text()
    block = text.split("## Every module", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    folders: list[str] = []
    listed = {}
    for line in block.splitlines()[1:]:
        match = re.fullmatch(r"(?P<indent> *)(?P<name>\S+)(?:\s{2,}(?P<says>.+))?", line)
        if match is None:
            continue
        depth = len(match["indent"]) // 2 - 1
        folders = folders[:depth]
        name = match["name"]
        if name.endswith("/"):
            folders.append(name)
        elif name.endswith(".py"):
            listed["".join(folders) + name] = match["says"] or ""
    return listed


def test_the_architecture_page_lists_every_module_with_a_line_and_no_other():
    actual = sorted(str(path.relative_to(APP)) for path in APP.rglob("*.py") if "migrations" not in path.parts)
    listed = mapped_modules()
    assert sorted(listed) == actual
    assert [path for path, says in listed.items() if not says.strip()] == []
