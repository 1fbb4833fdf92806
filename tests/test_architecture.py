"""The direction of imports between the apps (issue 12; docs/architecture.md).

Read from the source with ``ast`` (module-level imports: what runs when a module loads):
no cycle between modules; the core (supportcenter) imports no product app; nothing in talk
imports the call simulator (it plays the carrier, reached through talk.telephony's
gateway setting); the dashboards only read.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = ("supportcenter", "tickets", "talk", "dashboards", "callsim", "demo")


def _modules() -> dict[str, Path]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _owner(name: str) -> str | None:
    """The project module ``name`` is, or lies in (``talk.models.Line`` → ``talk.models``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(path: Path, *, everywhere: bool = False) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = ast.walk(tree) if everywhere else tree.body
    names = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return {owner for owner in map(_owner, names) if owner}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_between_modules():
    graph = {name: _imports(path) - {name} for name, path in MODULES.items()}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():  # the check above can fail
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _app_imports(app: str) -> dict[str, set[str]]:
    """Every project module each module of ``app`` imports, function-local ones included."""
    return {name: {imported.split(".")[0] for imported in _imports(path, everywhere=True)}
            for name, path in MODULES.items() if name.split(".")[0] == app}


PROJECT_WIRING = {"supportcenter.settings", "supportcenter.urls", "supportcenter.ws_urls", "supportcenter.asgi",
                  "supportcenter.wsgi"}  # the project's configuration: it names every app


def test_the_core_imports_no_product_app():
    offenders = {name: apps & {"tickets", "talk", "dashboards", "callsim", "demo"}
                 for name, apps in _app_imports("supportcenter").items() if name not in PROJECT_WIRING}
    assert {name: apps for name, apps in offenders.items() if apps} == {}


def test_talk_never_imports_the_call_simulator_or_the_demo():
    offenders = {name: apps & {"callsim", "demo"} for name, apps in _app_imports("talk").items()}
    assert {name: apps for name, apps in offenders.items() if apps} == {}


WRITES = re.compile(r"\.(save|delete|bulk_create|bulk_update|get_or_create|update_or_create)\(|objects\.create\(|\)\.update\(")


def test_the_dashboards_only_read():
    dashboards = {name: path for name, path in MODULES.items() if name.split(".")[0] == "dashboards"}
    writes = {name: WRITES.findall(path.read_text()) for name, path in dashboards.items()}
    assert {name: found for name, found in writes.items() if found} == {}
    services = {name: {i for i in _imports(path, everywhere=True) if i.rpartition(".")[2] == "services"
                       or ".services." in i} for name, path in dashboards.items()}
    assert {name: found for name, found in services.items() if found} == {}


def test_a_function_local_import_says_why():
    """Imports inside functions only where a real cycle at start-up forces them, each with a comment."""
    silent = []
    for name, path in MODULES.items():
        lines = path.read_text().splitlines()
        for function in ast.walk(ast.parse(path.read_text())):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    said = "#" in lines[node.lineno - 1] or lines[node.lineno - 2].strip().startswith("#")
                    if not said:
                        silent.append(f"{name}:{node.lineno}")
    assert silent == []
