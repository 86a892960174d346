"""The two gates behind one protocol: ``accuracy`` (a run's test accuracies against
golden/measured/gates.json) and ``speed`` (benchmark step times against golden/measured/benchmarks.json).

Each gate module has the same parts: a frozen row type (``.model``, ``.passed``, ``.verdict``),
``section(backend)`` (its golden file's section, via ``golden.backend_section``), ``rows(...)``
(pure: no I/O), ``COLUMNS`` for ``format_table`` and ``calibrate(...)`` (a new section from
measurements). The CLI prints any gate with ``format_table`` and ``failures``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from mnist_mlp.training.results import ResultError

PASS, FAIL, MISSING = "PASS", "FAIL", "MISSING"

# (header, width, cell): negative widths align left. Header and rows come from one spec, so their
# widths cannot drift apart.
Column = tuple[str, int, Callable[[Any], str]]


class GateRow(Protocol):
    model: str

    @property
    def verdict(self) -> str: ...  # PASS, FAIL or MISSING

    @property
    def passed(self) -> bool: ...


class CalibrationError(ResultError):
    """Measurements that cannot calibrate a gate (mixed backends, a seed missing a model...)."""


def number(value: float | None, spec: str) -> str:
    """``value`` formatted with ``spec``, or ``-`` where there is none."""
    return "-" if value is None else format(value, spec)


def format_table(rows: Sequence[GateRow], columns: Sequence[Column]) -> str:
    """A fixed-width text table: header, rule, one line per row."""

    def line(cells) -> str:
        return " ".join(
            format(cell, f"<{-width}" if width < 0 else f">{width}")
            for cell, (_, width, _) in zip(cells, columns)
        ).rstrip()

    header = line(title for title, _, _ in columns)
    return "\n".join([header, "-" * len(header), *(line(cell(row) for *_, cell in columns)
                                                    for row in rows)])


def failures(rows: Sequence[GateRow]) -> list[str]:
    """The models whose rows did not pass, in order."""
    return [row.model for row in rows if not row.passed]
