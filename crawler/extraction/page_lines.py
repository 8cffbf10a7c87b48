"""Every text line of a page (listing pages included), for learning a site's template. Pure, no I/O."""

from __future__ import annotations

import lxml.html
from lxml import etree

from crawler.extraction.decode import DecodeError, decode_html, sniff_binary

# elements that start a new line of text; a block holding none of them is one line (split at <br>)
BLOCKS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "caption", "center", "dd", "div", "dl", "dt", "figcaption"),
        *("footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "li", "main", "nav", "ol", "p", "pre"),
        *("section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul"),
    }
)
_SKIPPED = ("script", "style", "noscript", "template", "head")


def page_lines(body: bytes, content_type: str | None = None) -> tuple[str, ...]:
    """Return the text lines of a page: each innermost block's text, split at <br>, whitespace collapsed."""
    if not body.strip() or sniff_binary(body, content_type):
        return ()
    try:
        tree = lxml.html.document_fromstring(decode_html(body, content_type))
    except (DecodeError, etree.ParserError, ValueError):
        return ()
    etree.strip_elements(tree, *_SKIPPED, with_tail=False)
    for br in tree.iter("br"):
        br.tail = "\n" + (br.tail or "")
    lines: list[str] = []
    for el in tree.iter(*BLOCKS):
        if any(child.tag in BLOCKS for child in el.iterdescendants()):
            continue
        lines += (" ".join(part.split()) for part in el.text_content().split("\n"))
    return tuple(line for line in lines if line)
