"""What a piece of a page is, told by its shape: a speaker's label, a Chinese footer line, hidden markup, links."""

from __future__ import annotations

import re
from collections.abc import Mapping

# "President of Russia Vladimir Putin:", "… Xi Jinping (retranslated):", "Rostec State Corporation CEO Sergei Chemezov:"
# words of a title and a name: capitalised words, joined by a few small words and dashes; the last word is a name
_SMALL = r"(?:of|the|and|for|on|in|at|to|de|la|le|du|von|van|der|al|bin|ibn|и|по|при)"
_CAPITAL = r"(?:[^\W\d_a-zа-яё][\w'’.\-]*)"
_SPEAKER = re.compile(
    rf"^((?:(?:{_CAPITAL}|{_SMALL}|[–—-])\s+){{0,18}}{_CAPITAL})"
    r"(\s*\([^()]{1,40}\))?\s*:(?=\s|$)"
)
# field labels, filing numbers and the copyright phrase of Chinese government sites' footers
_CN_FOOTER = re.compile(
    r"版权所有"
    r"|(?:^|\s)(?:地址|邮编|邮政编码|电话|传真|主办|承办|协办)(?:单位)?\s*[:：]"
    r"|ICP\s*[备证]\s*\d+"
    r"|公网安备\s*\d+"
)
_CN_SENTENCE_END = ("。", "！", "？", "；")
MAX_FOOTER_CHARS = 150  # a footer line is short; a paragraph that mentions a copyright is not one
# classes of the parts of a tooltip (drawn on hover, hidden until then) and of elements hidden by a stylesheet
_HIDDEN_CLASS = re.compile(r"^(?:hidden|tooltip|tooltip_.*|tooltip__.*|.*__tooltip|tooltip-(?:text|content|inner))$")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_NOWHERE = re.compile(r"^\s*(?:#?|javascript:.*)\s*$", re.I | re.S)


def speaker_label(line: str) -> str | None:
    """Return the speaker's label a transcript line starts with ("Title Name (retranslated):"), else None."""
    match = _SPEAKER.match(line)
    if not match:
        return None
    words = match.group(1).split()
    if len(words) < 2 and "." not in words[0].strip("."):  # one word ("Note:") is no speaker; "V.Putin:" is
        return None
    return match.group(0)


def chinese_footer(line: str) -> bool:
    """Return True for a footer line of a Chinese site: copyright, address, postcode, sponsor, ICP or police filing."""
    text = line.strip()
    if len(text) > MAX_FOOTER_CHARS or text.endswith(_CN_SENTENCE_END):
        return False
    return bool(_CN_FOOTER.search(text))


def hidden(attrib: Mapping[str, str]) -> bool:
    """Return True for an element a reader does not see: `hidden`, display:none, a hidden class or a tooltip's parts."""
    if "hidden" in attrib or _HIDDEN_STYLE.search(attrib.get("style", "")):
        return True
    return any(_HIDDEN_CLASS.match(token) for token in attrib.get("class", "").split())


def leads_nowhere(href: str | None) -> bool:
    """Return True for an anchor a reader cannot follow: no href (a named anchor), a bare "#" or a javascript: URL."""
    return href is None or bool(_NOWHERE.match(href))
