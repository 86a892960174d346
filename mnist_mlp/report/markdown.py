"""The Markdown renderer: the same blocks as the HTML page, figures linked relative to the run
folder.

Every text it writes is shown, never interpreted: ``<``, ``>`` and ``&`` become HTML entities
(a result.json or a folder name holding ``<script>`` stays text), backslashes and square brackets
are escaped (``[click](javascript:...)`` or ``![t](http://...)`` stays text, never a link or an
image), and in table cells pipes are escaped and line breaks become spaces, so a value cannot
split or end its table.
"""

from __future__ import annotations

import html
from pathlib import Path

from mnist_mlp.report.blocks import (
    Block,
    BulletList,
    Figure,
    Heading,
    Paragraph,
    Quote,
    Table,
    Verdict,
)


def _text(text: str) -> str:
    """``text`` shown as it is: backslashes and link brackets escaped (no link, image or reference
    can start in it), and the characters HTML gives a meaning (quotes stay: no attributes)."""
    escaped = text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    return html.escape(escaped, quote=False)


def _cell(text: str) -> str:
    """A table cell's text: escaped, on one line, its pipes escaped."""
    return " ".join(_text(text).splitlines()).replace("|", "\\|")


def _table(table: Table) -> str:
    lines = [table.headers, ("---",) * len(table.headers), *table.rows]
    return "\n".join("| " + " | ".join(_cell(c) for c in line) + " |" for line in lines)


def render_block(block: Block, run_dir: Path) -> str:
    match block:
        case Heading(level, text):
            return f"{'#' * level} {_text(text)}"
        case Paragraph(text):
            return _text(text)
        case Quote(text):
            return f"> Notebook: {_text(text)}"
        case Verdict(label, verdict):
            return f"**{_text(label)}: {_text(verdict)}**"
        case BulletList(items):
            return "\n".join(f"- {_text(i)}" for i in items)
        case Table():
            return _table(block)
        case Figure(path, caption):
            return f"![{_text(caption)}]({path.relative_to(run_dir).as_posix()})"
    raise TypeError(f"not a report block: {block!r}")


def render_markdown(blocks: list[Block], run_dir: Path) -> str:
    """The report as Markdown, images referenced relative to ``run_dir``."""
    return "\n\n".join(render_block(block, run_dir) for block in blocks) + "\n"
