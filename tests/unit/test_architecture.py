"""The house rules (../shared/DESIGN.md), read from the source with ``ast``: no import cycle among
bridge's modules, no module over 400 lines, no submodule importing its own package's __init__,
typer only in bridge/cli/, one event loop (cli/app.py), exits only from the CLI, the bridge knows
nothing of the hub, and a fast path that loads neither typer nor pydantic."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.fixtures import REPO

BRIDGE = REPO / "bridge"
MAX_LINES = 400
# What may know of the hub: the hub itself and the surfaces (CLI, MCP server).
HUB_USERS = ("bridge.hub", "bridge.cli", "bridge.mcp")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(BRIDGE.rglob("*.py"))}


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node that runs (what ``if TYPE_CHECKING:`` guards never does)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _type_checking(node):
            yield from (n for child in node.orelse for n in [child, *_nodes(child)])
            continue
        yield node
        yield from _nodes(node)


def imports(name: str) -> set[str]:
    """The bridge modules ``name`` imports when it runs (at the top or lazily, in a function)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, one level up per extra dot
                parts = package.split(".")
                base = ".".join([*parts[: len(parts) - node.level + 1], *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in MODULES else base)
    return {module for module in found if module in MODULES and module != name}


def cycles() -> list[list[str]]:
    """The import graph's strongly connected components with more than one module (Tarjan)."""
    graph = {name: imports(name) for name in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for name in graph:
        if name not in index:
            visit(name)
    return found


def test_no_import_cycle() -> None:
    """Counted over every import that runs (at the top or lazily in a function; not the ones only
    a type checker reads)."""
    assert cycles() == []


def test_no_module_over_400_lines() -> None:
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in MODULES.items()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_no_submodule_imports_its_own_package() -> None:
    """(``bridge`` itself, which holds only the version, excepted.)"""
    back = []
    for name, path in MODULES.items():
        package = name.rpartition(".")[0] if path.name != "__init__.py" else None
        while package and package != "bridge":
            if package in imports(name):
                back.append((name, package))
            package = package.rpartition(".")[0] if "." in package else None
    assert back == []


def test_the_bridge_knows_nothing_of_the_hub() -> None:
    users = {name for name in MODULES if any(m.startswith("bridge.hub") for m in imports(name))}
    assert {name for name in users if not name.startswith(HUB_USERS)} == set()


def calls(name: str) -> Iterator[str]:
    """Dotted names of the calls and raises in module ``name`` (``asyncio.run``, ``sys.exit``)."""
    for node in ast.walk(ast.parse(MODULES[name].read_text(encoding="utf-8"))):
        target = node.func if isinstance(node, ast.Call) else None
        if isinstance(node, ast.Raise):
            target = node.exc
        if isinstance(target, ast.Call):
            target = target.func
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
            yield f"{target.value.id}.{target.attr}"
        elif isinstance(target, ast.Name):
            yield target.id


def test_typer_only_in_the_cli() -> None:
    using = [name for name in MODULES if "typer" in _all_imports(name)]
    assert [name for name in using if not name.startswith("bridge.cli.")] == []


def _all_imports(name: str) -> set[str]:
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(
    ("call", "allowed"),
    [
        ("asyncio.run", {"bridge.cli.app"}),
        ("sys.exit", {"bridge.cli.app", "bridge.cli.fastpath"}),
        ("SystemExit", {"bridge.demo.__main__"}),
        ("typer.Exit", {"bridge.cli.app"}),
    ],
)
def test_only_the_cli_runs_the_loop_and_exits(call: str, allowed: set[str]) -> None:
    assert {name for name in MODULES if call in set(calls(name))} <= allowed


def test_the_fast_path_loads_neither_typer_nor_pydantic() -> None:
    probe = (
        "import sys, bridge.cli.fastpath, bridge.broker; "
        "print(sorted({'typer', 'pydantic'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr
