"""Read the golden/ files: the repository's top-level golden/ in a checkout or an editable
install, ``mnist_mlp/_golden/`` inside an installed wheel (pyproject maps one onto the other).

golden/ holds two kinds of file, one folder each: ``notebook/``, the facts transcribed from the
notebook (and MNIST's digests), which only a new reading of the notebook changes; ``measured/``,
the calibrations and pinned digests this project measured, which a command rewrites."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent.parent  # the mnist_mlp package
_CANDIDATES = (_PACKAGE / "_golden", _PACKAGE.parent / "golden")
NOTEBOOK, MEASURED = "notebook", "measured"
FOLDER = {
    "architectures": NOTEBOOK, "mnist": NOTEBOOK, "recipe": NOTEBOOK, "seed_results": NOTEBOOK,
    "trained_config": NOTEBOOK,
    "gates": MEASURED, "benchmarks": MEASURED, "draws": MEASURED,
}


def golden_dir() -> Path:
    for candidate in _CANDIDATES:
        if (candidate / NOTEBOOK / "mnist.json").is_file():
            return candidate
    raise FileNotFoundError(f"golden/ not found in {', '.join(map(str, _CANDIDATES))}")


def path(name: str) -> Path:
    """Where golden file ``name`` (``"gates"``, ``"recipe"``, ...) lives: its folder by kind."""
    return golden_dir() / FOLDER[name] / f"{name}.json"


@functools.cache
def load(name: str) -> dict[str, Any]:
    """Return the parsed golden file ``name``; cached, so treat the result as read-only."""
    return json.loads(path(name).read_text("utf-8"))


UNRECORDED_BACKEND = "tensorflow"  # results and benchmarks from before backends were recorded


def backend_section(data: dict, backend: str) -> dict:
    """A per-backend golden file's section for ``backend`` (gates.json, benchmarks.json); a
    backend never calibrated is held to the file's ``default_backend`` section."""
    sections = data["backends"]
    return sections.get(backend) or sections[data["default_backend"]]


def with_backend_section(data: dict, backend: str, section: dict) -> dict:
    """A copy of a per-backend golden file with ``backend``'s section replaced, the others kept."""
    return {**data, "backends": {**data["backends"], backend: section}}
