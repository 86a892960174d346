"""The HTML renderer: one self-contained page (inline CSS from ``style.css``, figures as data
URIs), well-formed (every tag closed)."""

from __future__ import annotations

import base64
import functools
import html
from importlib import resources

from mnist_mlp.judging.gates import FAIL, PASS
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
from mnist_mlp.report.observations import FAILS, HOLDS

VERDICT_CLASSES = {HOLDS: "good", PASS: "good", FAILS: "bad", FAIL: "bad"}


@functools.cache
def stylesheet() -> str:
    """``style.css``, shipped beside this module as package data."""
    return resources.files("mnist_mlp.report").joinpath("style.css").read_text("utf-8")


def _css_class(verdict: str) -> str:
    css = VERDICT_CLASSES.get(verdict)
    return f' class="{css}"' if css else ""


def _table(table: Table) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in table.headers)
    body = "".join(
        "<tr>" + "".join(f"<td{_css_class(c)}>{esc(c)}</td>" for c in row) + "</tr>\n"
        for row in table.rows
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>"


def _figure(figure: Figure) -> str:
    data = base64.b64encode(figure.path.read_bytes()).decode("ascii")
    caption = html.escape(figure.caption)
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{caption}" />'
            f"<figcaption>{caption}</figcaption></figure>")


def render_block(block: Block) -> str:
    esc = html.escape
    match block:
        case Heading(level, text):
            return f"<h{level}>{esc(text)}</h{level}>"
        case Paragraph(text):
            return f"<p>{esc(text)}</p>"
        case Quote(text):
            return f"<blockquote>Notebook: {esc(text)}</blockquote>"
        case Verdict(label, verdict):
            return f"<p><strong>{esc(label)}:</strong> <span{_css_class(verdict)}>{esc(verdict)}</span></p>"
        case BulletList(items):
            return "<ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>"
        case Table():
            return _table(block)
        case Figure():
            return _figure(block)
    raise TypeError(f"not a report block: {block!r}")


def render_html(blocks: list[Block], title: str) -> str:
    """A self-contained page: inline CSS, images as data URIs, well-formed (every tag closed)."""
    title = html.escape(title)
    body = "\n".join(render_block(block) for block in blocks)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8" />\n'
        f"<title>{title}</title>\n<style>\n{stylesheet()}</style>\n</head>\n<body>\n{body}\n"
        "</body>\n</html>\n"
    )
