"""A message's text on the pages (docs/decisions.md D78): stored as written (plain
text, also what is mailed), shown with its Markdown formatted — paragraphs, line
breaks, emphasis, lists, quotes, code, links — by markdown-it-py (CommonMark, raw
HTML off, no headings that would break the page's outline, no images that would
load from elsewhere), then cleaned by nh3 (the Ammonia sanitiser) to the few tags
that formatting needs, links to http, https and mailto only, opened with
``rel="noopener noreferrer nofollow"``. What a customer writes can never become
markup of the page."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_MARKDOWN = MarkdownIt("commonmark", {"html": False, "breaks": True}).disable(["heading", "lheading", "image"])
TAGS = {"p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr"}
ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
SCHEMES = {"http", "https", "mailto"}


def message_html(text: str) -> Markup:
    """The message as safe HTML (see the module)."""
    html = _MARKDOWN.render(text or "")
    return Markup(
        nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes=SCHEMES, link_rel="noopener noreferrer nofollow")
    )
