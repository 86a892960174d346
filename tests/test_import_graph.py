"""The package's import graph (every import statement, function-local ones too): no cycle, and no
more floors (the longest chain of imports, counted in modules) than the design has now."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

TREE = Path(__file__).resolve().parent.parent
MAX_FLOORS = 9  # __main__ -> cli.main -> cli.commands -> (reproduce, report, matrix) -> ... -> errors


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
    edges["mnist_mlp.compat"].add("mnist_mlp.cli.main")
    found = cycle_through(edges)
    assert found is not None and found[0] == found[-1] and "mnist_mlp.compat" in found


def longest_chain(edges: dict[str, set[str]]) -> int:
    """The floors: the longest chain of imports, counted in modules."""

    @functools.cache
    def floors(module: str) -> int:
        return 1 + max((floors(t) for t in edges[module]), default=0)

    return max(floors(m) for m in edges)


def test_the_import_chain_is_no_longer_than_the_design():
    assert longest_chain(graph()) <= MAX_FLOORS


def test_a_planted_deep_import_is_caught():
    """The recipe (a fact every stage reads) importing the compile cache (training's) would stack
    training under the whole judging and reporting side."""
    edges = graph()
    edges["mnist_mlp.notebook.recipe"].add("mnist_mlp.training.compile_cache")
    assert longest_chain(edges) > MAX_FLOORS
