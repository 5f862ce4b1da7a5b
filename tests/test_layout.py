"""The shape of the code: every import arrow points one way, and a file fits in a reader's head.

docs/architecture.md draws the arrows; this test keeps them true. It reads the source (ast), so an import
inside a function or under TYPE_CHECKING counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tests.support.paths import ROOT

PACKAGE = ROOT / "bot"
MAX_LINES = 500

# Which top-level parts of `bot` each part may import (besides itself). Wiring (cli, runtime, config's
# users on top) may import anything; everything else has a short list.
ALLOWED: dict[str, set[str]] = {
    "domain": {"store", "logs"},
    "store": {"domain"},
    "together": {"domain", "metrics", "config"},
    "simulator": {"domain", "together"},
    "slack": {"domain", "logs", "metrics"},
    "sandbox": {"slack", "domain"},
    "shell": {"sandbox", "slack", "domain", "together", "simulator", "store", "config", "runtime", "server"},
    # leaves: the metric families, the log formats and the settings import nothing of the bot
    "metrics": set(),
    "logs": set(),
    "config": set(),
}
# The store may read only the domain's plain data types.
STORE_MAY_IMPORT_FROM_DOMAIN = {
    "bot.domain.model",
    "bot.domain.states",
    "bot.domain.clock",
    "bot.domain.events",
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    here = _module_name(path).split(".")
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "bot")
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = here if is_package else here[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] != "bot":
                continue
            # `from bot.x import y` may name a submodule y (then the arrow points at y, not at bot.x)
            for alias in node.names:
                submodule = PACKAGE.parent / Path(*f"{module}.{alias.name}".split("."))
                if submodule.with_suffix(".py").exists() or (submodule / "__init__.py").exists():
                    found.add(f"{module}.{alias.name}")
                else:
                    found.add(module)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for target in _imports(path):
            # point at the module (or the nearest package) that exists
            while target not in modules and "." in target:
                target = target.rsplit(".", 1)[0]
            if target != name and target in modules:
                graph[name].add(target)
    for name in modules:
        graph.setdefault(name, set())
    return graph


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_part_imports_only_what_its_layer_allows() -> None:
    wrong = []
    for module, targets in sorted(_graph().items()):
        mine = _part(module)
        if mine not in ALLOWED:
            continue
        for target in sorted(targets):
            theirs = _part(target)
            if theirs == mine:
                continue
            if theirs not in ALLOWED[mine]:
                wrong.append(f"{module} imports {target}")
            elif mine == "store" and theirs == "domain" and target not in STORE_MAY_IMPORT_FROM_DOMAIN:
                wrong.append(f"{module} imports {target} (the store may read only the domain's plain types)")
            elif mine == "domain" and theirs == "store" and target != "bot.store":
                wrong.append(f"{module} imports {target} (the domain uses the store's front, `bot.store`)")
    assert not wrong, "imports against the layering in docs/architecture.md:\n" + "\n".join(wrong)


def test_no_import_cycles() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    # A package importing its own submodules (an __init__ front) is not a cycle worth reporting unless a
    # submodule imports the package back; Tarjan reports exactly those.
    assert not cycles, "modules that import each other:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_no_product_file_is_longer_than_a_reader_can_hold() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"files over {MAX_LINES} lines (split them by responsibility): {long}"
