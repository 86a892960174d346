"""The report's block types: the document is a list of these, rendered by ``html`` and
``markdown``. Cells and texts are final strings: the renderers only escape and lay them out."""

from __future__ import annotations

import dataclasses
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class Heading:
    level: int  # 1 to 3
    text: str


@dataclasses.dataclass(frozen=True)
class Paragraph:
    text: str


@dataclasses.dataclass(frozen=True)
class Quote:
    """A claim quoted from the notebook."""

    text: str


@dataclasses.dataclass(frozen=True)
class Verdict:
    """``label: verdict``, the verdict coloured by whether it is good news (see VERDICT_CLASSES)."""

    label: str
    verdict: str


@dataclasses.dataclass(frozen=True)
class BulletList:
    items: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Table:
    """Cells as text, already formatted: both renderers print them as they are."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclasses.dataclass(frozen=True)
class Figure:
    """A saved PNG: embedded as a data URI in HTML, linked by relative path in Markdown."""

    path: Path
    caption: str


Block = Heading | Paragraph | Quote | Verdict | BulletList | Table | Figure


@dataclasses.dataclass(frozen=True)
class Drawn:
    """The figures ``draw_all`` saved: run-wide ones, each model's loss figure, and each model's
    weights figure or the sentence saying why it has none."""

    test_accuracy: Path
    val_accuracy: Path
    loss: dict[str, Path]
    weights: dict[str, Path | str]
