"""The Markdown renderer: the same blocks as the HTML page, figures linked relative to the run
folder."""

from __future__ import annotations

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


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(table: Table) -> str:
    lines = [table.headers, ("---",) * len(table.headers), *table.rows]
    return "\n".join("| " + " | ".join(_cell(c) for c in line) + " |" for line in lines)


def render_block(block: Block, run_dir: Path) -> str:
    match block:
        case Heading(level, text):
            return f"{'#' * level} {text}"
        case Paragraph(text):
            return text
        case Quote(text):
            return f"> Notebook: {text}"
        case Verdict(label, verdict):
            return f"**{label}: {verdict}**"
        case BulletList(items):
            return "\n".join(f"- {i}" for i in items)
        case Table():
            return _table(block)
        case Figure(path, caption):
            return f"![{caption}]({path.relative_to(run_dir).as_posix()})"
    raise TypeError(f"not a report block: {block!r}")


def render_markdown(blocks: list[Block], run_dir: Path) -> str:
    """The report as Markdown, images referenced relative to ``run_dir``."""
    return "\n\n".join(render_block(block, run_dir) for block in blocks) + "\n"
