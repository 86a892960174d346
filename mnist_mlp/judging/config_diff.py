"""A configuration as trained, diffed field by field: one readable line per difference.

No Keras here: the upgrade verdict diffs two stacks' saved descriptions without importing either.
"""

from __future__ import annotations

import json
from typing import Any

SAVED = "trained_config.json"  # beside a model's result.json: its description as it trained


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def diff(expected: Any, actual: Any, path: str = "") -> list[str]:
    """One readable line per field that differs, by dotted path; added and missing keys too."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        lines = []
        for key in [*expected, *(k for k in actual if k not in expected)]:
            child = f"{path}.{key}" if path else key
            if key not in actual:
                lines.append(f"{child}: missing, expected {_show(expected[key])}")
            elif key not in expected:
                lines.append(f"{child}: added, got {_show(actual[key])}")
            else:
                lines.extend(diff(expected[key], actual[key], child))
        return lines
    if isinstance(expected, list) and isinstance(actual, list):
        lines = []
        for i in range(max(len(expected), len(actual))):
            child = f"{path}[{i}]"
            if i >= len(actual):
                lines.append(f"{child}: missing, expected {_show(expected[i])}")
            elif i >= len(expected):
                lines.append(f"{child}: added, got {_show(actual[i])}")
            else:
                lines.extend(diff(expected[i], actual[i], child))
        return lines
    same = expected == actual and type(expected) is type(actual)
    return [] if same else [f"{path}: expected {_show(expected)}, got {_show(actual)}"]
