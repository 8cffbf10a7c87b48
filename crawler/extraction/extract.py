"""Bytes of an article page -> its clean body text and metadata, or a failure with its reason. Pure, no I/O."""

from __future__ import annotations

import copy
import logging
import re

import lxml.html
import trafilatura
from lxml import etree
from trafilatura.settings import Document

from crawler.extraction.decode import DecodeError, decode_html, sniff_binary
from crawler.extraction.language import detect_language
from crawler.extraction.page_meta import page_meta, text_date
from crawler.extraction.shapes import chinese_footer, hidden, leads_nowhere, speaker_label
from crawler.model import Extracted, Failure

logger = logging.getLogger(__name__)

MAX_DEPTH = 250  # libxml2 stops building the tree near 256 levels: deeper pages are not parsed whole
MAX_REPLACEMENT_SHARE = 0.01
FALLBACK_SHARE = 0.5  # cleaning that keeps less than this share of what plain extraction keeps is not trusted
LISTING_LINK_SHARE = 0.8  # a page whose text is this much link text is a listing or a menu, never an article
_VISIBLE = "//body//text()[not(ancestor::script or ancestor::style)]"
_BLOCKS = ("p", "li", "div")
_HEADINGS = ("h2", "h3", "h4", "h5", "h6")  # not h1: a page's title is no orphan, page_meta may read it
_WRAPPED = "./descendant::*[self::p or self::div or self::ul or self::ol or self::table or self::blockquote][1]"
_BROKEN_OFF = re.compile(r"[^\W\d_],?$")  # a sentence broken at a line's end ends in a word (or a comma)
_FIRST_WORD = re.compile(r"[^\W\d_]+(?=[\s,;]|$)")  # a word, not "fmprc.gov.cn|"
_SENTENCE_END = re.compile(r"[.!?。！？…:;\"'”’»)\]）】]$")
_FILE_NAME = re.compile(r"^[\w\-.%]+\.(?:jpe?g|png|gif|webp|bmp|svg|tiff?|pdf|docx?|xlsx?|pptx?|mp4|mp3)$", re.I)
_COPYRIGHT = re.compile(r"©|\(c\)\s*\d{4}|copyright|all rights reserved", re.I)
_REGISTRATION = re.compile(r"\d{5,}\s*号|ICP|\b\d{6,}-\d\b")
# microformats (h-entry) and schema.org markup for an article's lead paragraph and place
_LEAD = "//*[not(self::meta)][contains(concat(' ', normalize-space(@class), ' '), ' p-summary ')]"
_PLACE = "//*[not(self::meta)][contains(concat(' ', normalize-space(@class), ' '), ' p-location ')]"


def extract(body: bytes, url: str, content_type: str | None = None, language: str | None = None) -> Extracted | Failure:
    """Extract the article body and metadata from raw page bytes."""
    if not body.strip():
        return Failure("empty (no content)")
    kind = sniff_binary(body, content_type)
    if kind:
        return Failure(f"not-html ({kind})")
    try:
        html = decode_html(body, content_type)
    except DecodeError as exc:
        return Failure(f"bad-encoding ({exc})")
    if html.count("\ufffd") > MAX_REPLACEMENT_SHARE * max(len(html), 1):
        return Failure("bad-encoding (too many undecodable characters)")
    # parsed as trafilatura parses (its doctype repair, comments removed): libxml2 loses whole bodies after some
    # doctypes, and a comment left in a paragraph cuts it at the comment
    tree = trafilatura.load_html(html)
    if tree is None:
        return Failure("unparsable (not an HTML document)")
    if _depth(tree) >= MAX_DEPTH:
        return Failure(f"too-deep (DOM nested {MAX_DEPTH}+ levels)")
    _drop_hidden(tree)
    _unwrap_wrapper_links(tree)
    lead, place = _marked(tree, _LEAD), _marked(tree, _PLACE)
    page_chars, link_chars = _text_chars(tree, _VISIBLE), _text_chars(tree, "//body//a//text()")
    _unwrap_layout_tables(tree)
    _drop_link_blocks(tree)
    meta = page_meta(tree, url)  # after the link blocks are gone: a date searched in the text is not a menu's
    full = trafilatura.bare_extraction(
        copy.deepcopy(tree), url=url, with_metadata=False, include_comments=False, include_tables=True
    )
    doc = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=False,  # page_meta has it, without trafilatura's costlier whole-page searches
        favor_precision=True,
        include_comments=False,
        include_tables=True,
    )
    title = _clean_line(meta.title or "") or None
    text = doc.text if isinstance(doc, Document) else None
    if text and isinstance(full, Document) and full.text:
        text = "\n".join(fill_interior(text.splitlines(), full.text.splitlines()))
    found = bool(text)
    lines = clean_lines(text.splitlines(), title, lead) if text else ()
    # plain extraction, bound by the page's text, keeps no more than it: run it only when it could keep much more;
    # a page that marks up its lead (h-entry) was read by its markup: a short text there is a short readout
    marked = bool(lead and lines and lines[0] == _clean_line(lead))
    if not marked and not keeps_enough(_chars(lines), page_chars) and not mostly_links(link_chars, page_chars):
        lines = _fall_back(lines, html, url, title, lead)
    if not lines:
        return Failure("empty (only boilerplate)" if found else "empty (no article body found)")
    return Extracted(
        title=title,
        lines=lines,
        published=meta.published or text_date(tree, url),
        author=meta.author,
        sitename=meta.sitename,
        language=meta.language or language or detect_language("\n".join(lines)),
        place=place,
    )


def fill_interior(precise: list[str], full: list[str]) -> list[str]:
    """Return the full extraction's lines between the precise extraction's first and last, else the precise lines."""
    keys = [_clean_line(line) for line in full]
    inner = [_clean_line(line) for line in precise if _clean_line(line)]
    if not inner or inner[0] not in keys or inner[-1] not in keys:
        return precise
    start, end = keys.index(inner[0]), len(keys) - 1 - keys[::-1].index(inner[-1])
    # precision mode sets the article's edges; lines it dropped inside them (subheadings, short paragraphs) are text
    return full[start : end + 1] if start <= end else precise


def keeps_enough(kept_chars: int, plain_chars: int) -> bool:
    """Return True unless cleaning removed most of what plain extraction keeps (a sign to fall back, not a result)."""
    return kept_chars >= FALLBACK_SHARE * plain_chars


def mostly_links(link_chars: int, page_chars: int) -> bool:
    """Return True for a page whose text is mostly link text: a listing or a menu, with no article to fall back to."""
    return link_chars >= LISTING_LINK_SHARE * page_chars


def least_cleaned(candidates: tuple[tuple[str, ...], ...], plain_chars: int) -> tuple[str, ...]:
    """Return the first (most cleaned) candidate that keeps enough of plain extraction's text, else the last."""
    for lines in candidates:
        if keeps_enough(_chars(lines), plain_chars):
            return lines
    return candidates[-1]


def _fall_back(
    cleaned: tuple[str, ...], html: str, url: str, title: str | None, lead: str | None = None
) -> tuple[str, ...]:
    """Return the cleaned lines, or plain extraction's (shape-cleaned, else raw) when cleaning took most of them."""
    plain = _plain_lines(html, url, title)
    return least_cleaned((cleaned, clean_lines(list(plain), title, lead), plain), _chars(plain))


def _plain_lines(html: str, url: str, title: str | None) -> tuple[str, ...]:
    """Return what trafilatura alone keeps of the page (no precision mode, link-block or table rules), title peeled."""
    tree = trafilatura.load_html(html)
    doc = trafilatura.bare_extraction(tree, url=url, with_metadata=False, include_comments=False, include_tables=True)
    text = doc.text if isinstance(doc, Document) else None
    lines = [line for line in map(_clean_line, text.splitlines()) if line] if text else []
    while lines and title and _same_text(lines[0], title):
        lines.pop(0)
    return tuple(lines)


def clean_lines(raw: list[str], title: str | None = None, lead: str | None = None) -> tuple[str, ...]:
    """Drop lines that are not article text by their shape (file names, the title, non-sentences at the edges)."""
    lines = [line for line in (_clean_line(r) for r in raw) if line and not _FILE_NAME.match(line)]
    lead = _clean_line(lead or "") or None
    # the title is never text, wherever it comes back; the lead is placed first below
    lines = [line for line in lines if not ((title and _same_text(line, title)) or (lead and _same_text(line, lead)))]
    # a menu line above a repeated title ("中文 Français / Title / Updated: …"), not a sentence's first broken line
    while lines and _edge_junk(lines[0]) and not continues(lines[0], lines[1:2]):
        lines.pop(0)
    while lines and (_edge_junk(lines[-1]) or _footer(lines[-1])):
        lines.pop()
    if lead and (_SENTENCE_END.search(lead) or len(lead) > 80) and not any(lead[:60] in line for line in lines):
        lines.insert(0, lead)  # a lead paragraph marked up apart from the body (h-entry p-summary) comes first
    return tuple(lines)


def continues(line: str, following: list[str]) -> bool:
    """Return True when a line's sentence goes on in the next line ("Lorem" / "ipsum dolor sit amet, …")."""
    # text wrapped by hand (<br>, hard newlines) splits sentences; a menu or a dateline is not followed by lowercase
    word = _FIRST_WORD.match(following[0]) if following else None
    return bool(word and word.group().islower() and _BROKEN_OFF.search(line))


def _clean_line(line: str) -> str:
    """Collapse whitespace in a line."""
    return " ".join(line.split())


def _same_text(a: str, b: str) -> bool:
    """Return True when two lines say the same, ignoring case and punctuation."""

    def key(s: str) -> str:
        return re.sub(r"\W+", "", s).lower()

    return key(a) == key(b)


def _edge_junk(line: str) -> bool:
    """Return True for a short line that is not a sentence: a menu, a share tool, a breadcrumb, a dateline."""
    if speaker_label(line):  # a speaker's turn ("President of Russia Vladimir Putin: Friends,") is text
        return False
    words = line.split()
    cjk = len(re.findall(r"[\u3040-\u30ff\u3400-\u9fff]", line))
    if cjk > len(line) / 2:
        return len(line) < 16 and not _SENTENCE_END.search(line)
    return len(words) <= 8 and not _SENTENCE_END.search(line)


def _footer(line: str) -> bool:
    """Return True for a copyright or registration line."""
    if chinese_footer(line):
        return True
    return len(line) < 200 and bool(_COPYRIGHT.search(line) or (_REGISTRATION.search(line) and len(line) < 40))


def _chars(lines: tuple[str, ...]) -> int:
    """Return the number of characters in some lines."""
    return sum(map(len, lines))


def _text_chars(tree: lxml.html.HtmlElement, xpath: str) -> int:
    """Return the characters of the text nodes an xpath finds (the visible text bounds any extraction)."""
    return sum(len(t.strip()) for t in tree.xpath(xpath))


def _depth(tree: lxml.html.HtmlElement) -> int:
    """Return the nesting depth of the parsed tree."""
    depth = deepest = 0
    for event, _ in etree.iterwalk(tree, events=("start", "end")):
        depth += 1 if event == "start" else -1
        deepest = max(deepest, depth)
    return deepest


def _marked(tree: lxml.html.HtmlElement, xpath: str) -> str | None:
    """Return the text of the first element the xpath finds, whitespace collapsed."""
    found = tree.xpath(xpath)
    text = _clean_line(found[0].text_content()) if found else ""
    return text or None


def _unwrap_layout_tables(tree: lxml.html.HtmlElement) -> None:
    """Turn tables used for page layout (holding other tables or long paragraphs) into plain blocks."""
    layout = [
        table
        for table in tree.iter("table")
        if table.xpath(
            ".//table|.//p[string-length(normalize-space()) > 150]|.//div[string-length(normalize-space()) > 600]"
        )
    ]
    for table in layout:
        for el in table.iter("table", "tbody", "thead", "tfoot", "tr", "td", "th"):
            el.tag = "div"


def _unwrap_wrapper_links(tree: lxml.html.HtmlElement) -> None:
    """Keep the content of an anchor that wraps blocks and leads nowhere (an unclosed `<a name>`, a click handler)."""
    # its text is no link text: a page whose body sits inside one is no listing, and no paragraph of it link-dense
    for link in [a for a in tree.iter("a") if leads_nowhere(a.get("href")) and a.xpath(_WRAPPED)]:
        link.drop_tag()


def _drop_hidden(tree: lxml.html.HtmlElement) -> None:
    """Remove what a reader does not see (tooltips, display:none): its text is no link text and no article text."""
    candidates = tree.xpath(  # a cheap first sieve, by attribute, for the rule
        "//@class[contains(., 'hidden') or contains(., 'tooltip')]/.. | //@style[contains(., 'none')"
        " or contains(., 'hidden')]/.. | //*[@hidden]"
    )
    for el in [el for el in candidates if hidden(el.attrib)]:
        if el.getparent() is not None:
            el.drop_tree()


def _drop_link_blocks(tree: lxml.html.HtmlElement) -> None:
    """Remove short blocks whose text is mostly links ("See also: …", menus, breadcrumbs, related lists)."""
    emptied = []
    for el in list(tree.iter(*_BLOCKS)):
        parent = el.getparent()
        if parent is None:
            continue
        text = " ".join(el.text_content().split())
        if not text or len(text) > 200:
            continue
        if not _link_dense(el, text) or el.xpath(".//p|.//div[string-length(normalize-space()) > 200]"):
            continue
        spoken = " ".join(" ".join(el.itertext()).split()) if ":" in text else ""  # "Name</a>:<br>Words"
        label = speaker_label(spoken)
        if label:  # a speaker's name linked to their page is plain text: no link-density rule (nor trafilatura's)
            _unlink(el, label)  # would drop a short turn ("Minister Andrei Belousov: Thank you.")
            if not _link_dense(el, text):
                continue
        el.drop_tree()
        emptied.append(parent)
    for block in dict.fromkeys(emptied):
        _drop_orphan_heading(block)


def _link_dense(block: lxml.html.HtmlElement, text: str) -> bool:
    """Return True when at least half of a block's text is link text."""
    linked = sum(len(" ".join(a.text_content().split())) for a in block.iter("a"))
    return bool(linked) and linked >= 0.5 * len(text)


def _unlink(block: lxml.html.HtmlElement, label: str) -> None:
    """Turn the links inside a speaker's label into plain text."""
    for link in list(block.iter("a")):
        text = " ".join(link.text_content().split())
        if text and text in label:
            link.drop_tag()


def _drop_orphan_heading(block: lxml.html.HtmlElement) -> None:
    """Remove a block left holding only its heading ("See also") once the links under it are gone."""
    while block.getparent() is not None and block.tag not in ("body", "html"):
        found = list(block.iter(*_HEADINGS))
        if not found:
            return
        text = " ".join(block.text_content().split())
        if not text or text != " ".join(" ".join(h.text_content().split()) for h in found):
            return
        parent = block.getparent()
        block.drop_tree()
        block = parent
