"""The Markdown the study writes (claims.md), as HTML for the Snakemake report.

Only the subset the study's own pages use is read: ``#`` headings, paragraphs (lines
joined until a blank line), ``- `` list items with indented continuation lines, pipe
tables, and inline ``**bold**`` and ```code```. Text is escaped before any markup is
added, so nothing in a run name or label can inject HTML.
"""

from __future__ import annotations

import html
import re

_BOLD = re.compile(r"\*\*(.+?)\*\*")
STYLE = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.45}"
    "code{background:#f3f3f3;padding:0 .2em;border-radius:3px}"
    "li{margin:.3em 0}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}"
)


def inline(text: str) -> str:
    """Escaped text with ```code``` spans and ``**bold**`` outside them."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick stays a backtick
        parts[-2:] = ["`".join(parts[-2:])]
    out = []
    for i, part in enumerate(parts):
        escaped = html.escape(part, quote=False)
        out.append(f"<code>{escaped}</code>" if i % 2 else _BOLD.sub(r"<b>\1</b>", escaped))
    return "".join(out)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _table(lines: list[str]) -> str:
    header, *rows = [line for line in lines if not set(line.strip()) <= set("|-: ")]
    head = "".join(f"<th>{inline(c)}</th>" for c in _cells(header))
    body = "".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in _cells(row)) + "</tr>"
                   for row in rows)  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _list(lines: list[str]) -> str:
    items: list[list[str]] = []
    for line in lines:
        if line.startswith("- "):
            items.append([line[2:]])
        else:
            items[-1].append(line.strip())
    return "<ul>" + "".join(f"<li>{inline(' '.join(item))}</li>" for item in items) + "</ul>"


def blocks(text: str) -> list[list[str]]:
    """Lines grouped into blocks: a heading is a block alone; blank lines end blocks."""
    found: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            if current:
                found.append(current)
            current = []
            if line.startswith("#"):
                found.append([line])
            continue
        if line.startswith("- ") and current and not current[0].startswith("- "):
            found.append(current)  # a list right after a paragraph line
            current = []
        current.append(line)
    if current:
        found.append(current)
    return found


def to_html(text: str, title: str) -> str:
    """A self-contained HTML page of the Markdown `text`."""
    body = []
    for block in blocks(text):
        first = block[0]
        if first.startswith("#"):
            level = min(len(first) - len(first.lstrip("#")), 6)
            body.append(f"<h{level}>{inline(first.lstrip('#').strip())}</h{level}>")
        elif first.startswith("- "):
            body.append(_list(block))
        elif first.startswith("|"):
            body.append(_table(block))
        else:
            body.append(f"<p>{inline(' '.join(line.strip() for line in block))}</p>")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{STYLE}</style></head><body>\n" + "\n".join(body)
            + "\n</body></html>\n")  # fmt: skip
