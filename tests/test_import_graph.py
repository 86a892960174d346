"""The package's import graph (every import statement, function-local ones too): no cycle, and no
more floors (the longest chain of imports, counted in modules) than the design has now."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

TREE = Path(__file__).resolve().parent.parent
MAX_FLOORS = 12  # the chain __main__ -> cli -> commands -> reproduce -> report -> ... -> compat


def module_name(path: Path) -> str:
    parts = path.relative_to(TREE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in (TREE / "mnist_mlp").rglob("*.py")}
    edges: dict[str, set[str]] = {m: set() for m in files}
    for module, path in files.items():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            for name in names:
                while name and name not in files:
                    name = name.rpartition(".")[0]
                if name and name != module and not module.startswith(name + "."):
                    edges[module].add(name)
    return edges


def cycle_through(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the modules along it, or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        state[module] = 2
        path.pop()
        return None

    for module in sorted(edges):
        if module not in state and (found := visit(module)):
            return found
    return None


def test_the_package_has_no_import_cycle():
    assert cycle_through(graph()) is None


def test_a_planted_cycle_is_found():
    edges = graph()
    edges["mnist_mlp.compat"].add("mnist_mlp.cli")
    found = cycle_through(edges)
    assert found is not None and found[0] == found[-1] and "mnist_mlp.compat" in found


def test_the_import_chain_is_no_longer_than_the_design():
    edges = graph()

    @functools.cache
    def floors(module: str) -> int:
        return 1 + max((floors(t) for t in edges[module]), default=0)

    assert max(floors(m) for m in edges) <= MAX_FLOORS
