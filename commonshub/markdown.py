"""Markdown written by users (comments, later cards in the web UI) rendered to HTML that is safe to show.

Rendering and sanitizing are two steps on purpose: markdown-it-py already escapes raw HTML and
refuses `javascript:` links, but the sanitizer (nh3, an allow-list) is what the output's safety
rests on, so a renderer option or plugin changed later cannot open a hole.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_RENDERER = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(["table", "strikethrough"])


def render_markdown(text: str) -> str:
    """`text` (markdown) as sanitized HTML."""
    return nh3.clean(_RENDERER.render(text), url_schemes={"http", "https", "mailto"})
