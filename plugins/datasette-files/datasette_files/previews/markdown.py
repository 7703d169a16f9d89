"""Markdown to safe HTML with markdown-it-py.

Raw HTML in the file is shown as text; links keep only http, https, mailto and
relative targets (any other is left as text) and carry ``rel="nofollow
noopener noreferrer"``. Images become links to them: an image would make every
viewer's browser fetch a URL chosen by whoever wrote the file.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"
_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.\-]*):")


def is_safe_link(url: str) -> bool:
    """A relative URL, or one whose scheme is in SAFE_SCHEMES."""
    scheme = _SCHEME.match(url)
    return scheme is None or scheme.group(1).lower() in SAFE_SCHEMES


def _link_open(self, tokens, idx, options, env) -> str:
    tokens[idx].attrSet("rel", LINK_REL)
    return self.renderToken(tokens, idx, options, env)


def _image_as_link(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env)
    label = f"Image: {alt}" if alt else "Image"
    return (f'<a class="df-md-image" href="{escapeHtml(token.attrGet("src") or "")}" '
            f'rel="{LINK_REL}">{escapeHtml(label)}</a>')


def markdown_parser() -> MarkdownIt:
    """CommonMark with tables and strikethrough, raw HTML off, links checked."""
    parser = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    parser.validateLink = is_safe_link
    parser.add_render_rule("link_open", _link_open)
    parser.add_render_rule("image", _image_as_link)
    return parser


def render_markdown(text: str) -> str:
    """The HTML of ``text``, with nothing from the file live in it."""
    return markdown_parser().render(text)
