"""The tree is the architecture: layers import only layers below them, and no cycles.

Read from the source with ast: every import (at the top of a module, inside a
function, or under TYPE_CHECKING) and every dotted path Celery loads a class from
("graderq.queue.worker:GraderqNode"). Each package's docstring states its rules; the
tests below hold the docstrings to the rules, and the code to both.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "graderq"

GROUND = frozenset(
    {
        "addresses",
        "config_files",
        "errors",
        "exceptions",
        "keys",
        "languages",
        "limits",
        "plain_json",
        "profiles",
        "request",
        "settings",
        "workdir",
    }
)
"""The top-level modules every layer may import; they import only each other."""
FACES = frozenset({"graderq", "graderq.demo"})
RE_EXPORTS = frozenset({"graderq.tasks", "graderq.callbacks", "graderq.app"})
"""Documented paths kept for code written against them; nothing in graderq imports them."""
PACKAGES = ("sandbox", "engine", "judging", "queue", "client", "service", "cli")

MAY_IMPORT: dict[str, frozenset[str]] = {
    "ground": frozenset(),
    "sandbox": frozenset({"ground"}),
    "engine": frozenset({"ground", "sandbox"}),
    "judging": frozenset({"ground"}),
    "queue": frozenset({"ground", "sandbox", "engine", "judging"}),
    "client": frozenset({"ground", "judging", "queue"}),
    "service": frozenset({"ground", "judging", "queue", "client"}),
    "faces": frozenset({"ground", "engine", "judging", "queue", "client"}),
    "re-exports": frozenset({"queue"}),
    "cli": frozenset(
        {"ground", "sandbox", "engine", "judging", "queue", "client", "service", "faces"}
    ),
}
"""Besides its own modules, what each layer may import."""
PRODUCERS = ("client", "service")
"""Layers whose imports, run or not, must never reach Docker (nor the layers using it)."""
DOCKER_LAYERS = frozenset({"sandbox", "engine"})
DOTTED_PATH = re.compile(r"graderq(\.\w+)+(:\w+)?")
"""A string that may name a module: counted if it names one exactly."""


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def layer(module: str) -> str:
    """The layer `module` belongs to; a new module must be given one here."""
    parts = module.split(".")
    if module in FACES:
        return "faces"
    if module in RE_EXPORTS:
        return "re-exports"
    if len(parts) == 2 and parts[1] in GROUND:
        return "ground"
    if len(parts) >= 2 and parts[1] in PACKAGES:
        return parts[1]
    raise AssertionError(f"{module} is in no layer: add it to tests/test_layers.py")


def known(name: str) -> str | None:
    """The graderq module `name` is or is in (graderq.queue.tasks.run_sandbox: the module)."""
    while name.startswith("graderq"):
        if name in modules():
            return name
        name = name.rpartition(".")[0]
    return None


class Imports(ast.NodeVisitor):
    """What one module imports: graderq modules (eagerly or not), and other packages."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.depth = 0
        """How deep in functions and `if TYPE_CHECKING:` blocks the visit is."""
        self.graderq: set[str] = set()
        """Every graderq module it imports, eagerly or not."""
        self.eager: set[str] = set()
        """Those it imports when it loads."""
        self.dotted: set[str] = set()
        """Modules it names by a dotted path, for Celery to import ("graderq.x:Name")."""
        self.external_eager: set[str] = set()
        """Other top-level packages it imports when it loads (docker, celery, ...)."""

    def add(self, name: str) -> None:
        found = known(name)
        if found is None:
            if not self.depth:
                self.external_eager.add(name.partition(".")[0])
        elif found != self.module:
            self.graderq.add(found)
            if not self.depth:
                self.eager.add(found)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.add(alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            package = self.package.split(".")
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, base] if base else package)
        for alias in node.names:
            name = f"{base}.{alias.name}"
            self.add(name if name in modules() else base)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and DOTTED_PATH.fullmatch(node.value):
            target = node.value.partition(":")[0]
            if target in modules() and target != self.module:
                self.dotted.add(target)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Attribute) and node.func.attr == "getLogger":
            return  # a logger's name, not a module
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        guarded = isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        self.depth += guarded
        for child in node.body:
            self.visit(child)
        self.depth -= guarded
        for child in node.orelse:
            self.visit(child)


@cache
def imports(module: str) -> Imports:
    path = modules()[module]
    found = Imports(module, path.name == "__init__.py")
    found.visit(ast.parse(path.read_text(), str(path)))
    return found


def test_every_module_is_in_a_layer() -> None:
    for module in modules():
        assert layer(module) in MAY_IMPORT


def test_each_layer_imports_only_what_its_rules_allow() -> None:
    broken = []
    for module in modules():
        own = layer(module)
        found = imports(module)
        for target in sorted(found.graderq | found.dotted):
            theirs = layer(target)
            if theirs != own and theirs not in MAY_IMPORT[own]:
                broken.append(f"{module} ({own}) imports {target} ({theirs})")
            elif own == theirs == "re-exports":
                broken.append(f"{module} imports the re-export {target}")
    assert not broken, "\n".join(broken)


def test_no_module_imports_itself_back() -> None:
    graph = {module: imports(module).graderq for module in modules()}
    cycles = []
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = "open"
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert not cycles, "\n".join(cycles)


def test_the_two_cycles_of_old_are_gone() -> None:
    assert "graderq.queue.metrics" not in imports("graderq.queue.records").graderq
    assert "graderq.sandbox.docker_backend" not in imports("graderq.sandbox.docker_pair").graderq
    assert not {known("graderq.sandbox")} & imports("graderq.settings").graderq


@pytest.mark.parametrize("producer", PRODUCERS)
def test_a_producers_imports_never_reach_docker(producer: str) -> None:
    """What a producer's modules import when they load, and what those import in turn:
    no module of the engine or the sandbox, and not the docker package."""
    start = [m for m in modules() if layer(m) == producer]
    if not start:
        pytest.skip(f"graderq/{producer}/ is not in this tree")
    seen, todo = set(start), list(start)
    while todo:
        found = imports(todo.pop())
        assert "docker" not in found.external_eager, f"{found.module} imports docker"
        for target in found.eager - seen:
            assert layer(target) not in DOCKER_LAYERS, f"{found.module} loads {target}"
            seen.add(target)
            todo.append(target)


def rules_in_docstring(module: str) -> dict[str, frozenset[str]]:
    doc = ast.get_docstring(ast.parse(modules()[module].read_text())) or ""
    rules = {}
    for line in doc.splitlines():
        key, _, names = line.removeprefix("- ").partition(": ")
        if key in ("may import", "never imported by"):
            rules[key] = frozenset(names.split(", "))
    return rules


def never_imported_by(own: str) -> frozenset[str]:
    return frozenset(other for other in MAY_IMPORT if other != own and own not in MAY_IMPORT[other])


@pytest.mark.parametrize(
    ("module", "own"), [("graderq", "faces"), *((f"graderq.{p}", p) for p in PACKAGES)]
)
def test_each_packages_docstring_states_its_rules(module: str, own: str) -> None:
    if module not in modules():
        pytest.skip(f"{module} is not in this tree")
    rules = rules_in_docstring(module)
    assert rules.get("may import") == MAY_IMPORT[own], module
    expected = never_imported_by(own)
    stated = rules.get("never imported by")
    if stated == {"every other layer"}:
        stated = frozenset(MAY_IMPORT) - {own}
    assert stated == expected, f"{module}: never imported by {', '.join(sorted(expected))}"


def test_the_rules_are_read_from_real_imports() -> None:
    """The reader sees lazy imports and Celery's dotted paths, not task or logger names."""
    app = imports("graderq.queue.app")
    assert {"graderq.queue.worker", "graderq.queue.timelimits", "graderq.queue.tasks"} <= app.dotted
    assert "graderq" not in imports("graderq.queue.metrics").dotted  # "graderq.run_sandbox"
    assert "graderq.callbacks" not in imports("graderq.queue.callbacks").dotted  # its logger
    tasks = imports("graderq.queue.tasks")
    assert "graderq.queue.testrun" in tasks.graderq - tasks.eager
    assert "graderq.queue.tasks" not in imports("graderq.queue.tasks").graderq
    assert "docker" in imports("graderq.sandbox.docker_backend").external_eager
