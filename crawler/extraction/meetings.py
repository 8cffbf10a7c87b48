"""Readouts as meetings: the kind, participants (canonical names), date and place, read from title and lead."""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import cache

from crawler.config.people_file import all_people
from crawler.extraction.alternation import alternation
from crawler.extraction.meeting_kinds import document_kind, is_announcement
from crawler.model import Meeting

MONTHS = {
    m: i
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        start=1,
    )
}
RU_MONTHS = {
    m: i
    for i, m in enumerate(
        [
            "января",
            "февраля",
            "марта",
            "апреля",
            "мая",
            "июня",
            "июля",
            "августа",
            "сентября",
            "октября",
            "ноября",
            "декабря",
        ],
        start=1,
    )
}
WEEKDAYS = {d: i for i, d in enumerate(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])}
# (kind, pattern) in order of precedence; a press conference or briefing is no meeting
NOT_A_MEETING = re.compile(r"press conference|briefing|spokesperson|答记者问|记者会|брифинг", re.I)
KINDS = (
    (
        "video call",
        re.compile(r"video (?:call|link|conference|talks)|virtual (?:meeting|talks)|视频会晤|视频通话|видеосвяз", re.I),
    ),
    ("phone call", re.compile(r"phone|telephone|通电话|телефонн", re.I)),
    (
        "exchange of messages",
        re.compile(r"exchang\w* (?:\w+ )?(?:messages|letters)|互致贺电|贺电|обменял\w* послани", re.I),
    ),
    ("talks", re.compile(r"\btalks\b|会谈|переговор", re.I)),
    ("meeting", re.compile(r"\bmeets?\b|\bmet\b|\bmeeting\b|会见|会晤|встреч", re.I)),
)
# "President of Mongolia Khaltmaagiin Battulga", "Mongolian President …", "Foreign Minister of India …": the name after
# a role is a participant even when people.toml does not know it (two to four capitalised words)
ROLE = re.compile(
    r"\b(?:President|Prime Minister|Premier|Chancellor|Foreign Minister|Minister of Foreign Affairs"
    r"|Minister for Foreign Affairs|Foreign Secretary|Secretary of State|Vice President|Emir|King|Crown Prince)"
    r"(?: of (?:the )?(?:[A-Z][\w-]+ ?)+?)?,? "
    r"(?P<name>[A-Z][\w'-]+(?: (?!(?:Of|And|In|At|On|With|For|To|The|Holds?|Held|Meets?|Met|Talks|Says?|Said)\b)"
    r"(?:bin |al-|de |da |dos |van |von )?[A-Z][\w'-]+){1,3})"
)
# capitalised words that follow a role but are no name
NOT_A_NAME = re.compile(r"^(?:of|the|and|Republic|Federation|Kingdom|State|Council|Office|Administration|Government)\b")
# landmarks that name their city, then cities (English, Chinese, Russian forms)
PLACES = (
    ("Kremlin", "Moscow"),
    ("Great Hall of the People", "Beijing"),
    ("Diaoyutai", "Beijing"),
    ("Zhongnanhai", "Beijing"),
    ("Xijiao", "Shanghai"),
    ("Кремл", "Moscow"),
    ("人民大会堂", "Beijing"),
    ("钓鱼台", "Beijing"),
    ("MOSCOW", "Moscow"),
    ("BEIJING", "Beijing"),
)
CITIES = {
    "Moscow": ["Moscow", "莫斯科", "Москв"],
    "Beijing": ["Beijing", "北京", "Пекин"],
    "Shanghai": ["Shanghai", "上海", "Шанха"],
    "Sochi": ["Sochi", "索契", "Сочи"],
    "Hangzhou": ["Hangzhou", "杭州"],
    "Qingdao": ["Qingdao", "青岛"],
    "Astana": ["Astana", "阿斯塔纳", "Астан"],
    "Samarkand": ["Samarkand", "撒马尔罕"],
    "Kazan": ["Kazan", "喀山", "Казан"],
    "Vladivostok": ["Vladivostok", "符拉迪沃斯托克", "Владивосток"],
    "Saint Petersburg": ["St Petersburg", "St. Petersburg", "Saint Petersburg", "圣彼得堡", "Петербург"],
    "Munich": ["Munich", "慕尼黑"],
    "Athens": ["Athens", "雅典"],
    "Brasilia": ["Brasilia", "巴西利亚"],
    "Jakarta": ["Jakarta", "雅加达"],
    "Kuala Lumpur": ["Kuala Lumpur", "吉隆坡"],
    "Islamabad": ["Islamabad"],
    "Tehran": ["Tehran", "德黑兰"],
    "Bishkek": ["Bishkek", "比什凯克"],
    "Dushanbe": ["Dushanbe", "杜尚别"],
}


@cache
def people() -> dict[str, tuple[str, ...]]:
    """Return canonical name -> aliases, from the bundled people.toml and the user's beside their sources file."""
    return all_people()


def meeting_kind(title: str | None) -> str | None:
    """Return the kind of meeting a title announces (talks, call, …), or None."""
    if not title or NOT_A_MEETING.search(title):
        return None
    return next((k for k, pattern in KINDS if pattern.search(title)), None)


@cache
def _alias_patterns() -> tuple[dict[str, str], list[re.Pattern[str]]]:
    """Return alias -> canonical name, and one pattern for all lettered aliases and one for CJK ones, longest first.

    One trie alternation scans a text once, instead of one search per alias (a readout is checked against ~760).
    """
    names: dict[str, str] = {}
    for name, aliases in people().items():
        for alias in aliases:
            names.setdefault(alias, name)
    lettered = [a for a in names if re.search(r"[A-Za-zА-Яа-я]", a)]
    other = [a for a in names if not re.search(r"[A-Za-zА-Яа-я]", a)]
    patterns = []
    if lettered:  # word boundaries for letters; "Xi" must not match "Xi'an"; CJK names need none
        patterns.append(re.compile(rf"(?<![\w-])(?:{alternation(lettered)})(?![\w-]|['’]an)"))
    if other:
        patterns.append(re.compile(alternation(other)))
    return names, patterns


def canonical(name: str) -> str | None:
    """Return the canonical name for any alias (case-insensitive), or None."""
    folded = name.strip().casefold()
    for canon, aliases in people().items():
        if folded == canon.casefold() or any(folded == a.casefold() for a in aliases):
            return canon
    return None


def participants_in(text: str) -> list[str]:
    """Return the canonical names of the people mentioned in a text, in order of first mention.

    Known people by any of their forms; unknown ones by the role before their name ("President of Mongolia …").
    """
    names, patterns = _alias_patterns()
    found: dict[str, int] = {}
    for pattern in patterns:
        for match in pattern.finditer(text):
            name = names[match.group()]
            if name not in found or match.start() < found[name]:
                found[name] = match.start()
    for name, start in role_names(text):
        known = canonical(name) or next((names[a] for a in _known_within(name)), None)
        key = known or name
        if key not in found or start < found[key]:
            found[key] = start
    return sorted(found, key=found.__getitem__)


def role_names(text: str) -> list[tuple[str, int]]:
    """Return the names that follow a role ("Prime Minister of India Narendra Modi"), with where each starts."""
    out = []
    for match in ROLE.finditer(text):
        name = match.group("name")
        if not NOT_A_NAME.match(name):
            out.append((name, match.start("name")))
    return out


def _known_within(name: str) -> list[str]:
    """Return the known aliases a longer name holds ("Vladimir Putin" in "Vladimir Putin Said"), longest first."""
    _, patterns = _alias_patterns()
    return [m.group() for p in patterns for m in p.finditer(name)]


def recognise(title: str | None, text: str, published: str | None, place_hint: str | None = None) -> Meeting | None:
    """Return the meeting a readout reports, or None when the page is no readout of a meeting.

    The kind and the parties come from the title first, then the first sentence; a site that is itself a party
    (the Kremlin: "Russian-Chinese talks") names the people only in the body, so its first-mentioned people fill in.
    """
    if NOT_A_MEETING.search(title or ""):
        return None
    lines = [line for line in text.splitlines() if line.strip()]
    first = re.split(r"(?<=[.!?])\s+|(?<=[。！？])", lines[0], maxsplit=1)[0] if lines else ""
    title_kind = next((k for k, pattern in KINDS if pattern.search(title or "")), None)
    kind = title_kind or next((k for k, pattern in KINDS if pattern.search(first)), None)
    own_kind = document_kind(title or first, title_kind)
    if kind is None and own_kind is None:
        return None
    names = participants_in(title or "")
    in_lead = participants_in(first)
    if names:  # the lead names the site's own side, and the others of a meeting of three or more
        names += [name for name in in_lead if name not in names]
    _up_to_two(names, in_lead)
    if len(names) < 2:  # the body is read only when title and lead name fewer than two people
        _up_to_two(names, participants_in(text))
    if not names or (kind is None and len(names) < 2):
        return None
    kind = kind or str(own_kind)
    lead = f"{title or ''} {' '.join(lines[:2])}"
    where = (place(lead) or place(place_hint or "")) if kind in ("talks", "meeting") else None
    ahead = is_announcement(title, first, " ".join(lines[:3]))
    return Meeting(
        kind,
        meeting_date(lead, published, ahead),
        where,
        tuple(sorted(names)),
        document_kind=own_kind or kind,
        announcement=ahead,
    )


def _up_to_two(names: list[str], found: list[str]) -> None:
    """Add the people found, in order, to `names` until it holds two."""
    for name in found:
        if len(names) >= 2:
            return
        if name not in names:
            names.append(name)


def meeting_date(lead: str, published: str | None, ahead: bool = False) -> str | None:
    """Return the meeting date said in the lead (explicit or a weekday), else the publication date.

    A date without its year is the latest such day up to the publication date, or the next from it when `ahead`
    (an announcement speaks of a day to come).
    """
    pub = date.fromisoformat(published) if published else None
    month_names = "|".join(MONTHS)
    match = re.search(rf"\b({month_names})\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,\s*(\d{{4}}))?", lead, re.I)
    if not match:
        match_dm = re.search(rf"\b(\d{{1,2}})\s+({month_names})(?:\s+(\d{{4}}))?", lead, re.I)
        if match_dm:
            month = MONTHS[match_dm.group(2).lower()]
            return _build(int(match_dm.group(3) or 0), month, int(match_dm.group(1)), pub, ahead)
    if match:
        return _build(int(match.group(3) or 0), MONTHS[match.group(1).lower()], int(match.group(2)), pub, ahead)
    match = re.search(r"(\d{4})年(\d{1,2})月(\d{1,2})日", lead) or re.search(r"()(\d{1,2})月(\d{1,2})日", lead)
    if match:
        return _build(int(match.group(1) or 0), int(match.group(2)), int(match.group(3)), pub, ahead)
    match = re.search(rf"(\d{{1,2}})\s+({'|'.join(RU_MONTHS)})(?:\s+(\d{{4}}))?", lead)
    if match:
        return _build(int(match.group(3) or 0), RU_MONTHS[match.group(2)], int(match.group(1)), pub, ahead)
    match = re.search(rf"\bon\s+({'|'.join(WEEKDAYS)})\b", lead, re.I)
    if match and pub:
        back = (pub.weekday() - WEEKDAYS[match.group(1).lower()]) % 7
        return (pub - timedelta(days=back)).isoformat()
    return pub.isoformat() if pub else None


def _build(year: int, month: int, day: int, pub: date | None, ahead: bool = False) -> str | None:
    """Return a date, taking a missing year from the publication date (the year before if it would be later).

    When `ahead`, the year after if it would be earlier.
    """
    try:
        if year:
            return date(year, month, day).isoformat()
        if pub is None:
            return None
        found = date(pub.year, month, day)
        if ahead:
            return (found if found >= pub else date(pub.year + 1, month, day)).isoformat()
        return (found if found <= pub else date(pub.year - 1, month, day)).isoformat()
    except ValueError:
        return pub.isoformat() if pub else None


def place(lead: str) -> str | None:
    """Return the city where the meeting took place, from landmarks or city names in the lead."""
    for landmark, city in PLACES:
        if landmark in lead:
            return city
    best: tuple[int, str] | None = None
    for city, forms in CITIES.items():
        for form in forms:
            index = lead.find(form)
            if index >= 0 and (best is None or index < best[0]):
                best = (index, city)
    return best[1] if best else None


# every way a date is written: "June 5, 2019", "5 June 2019", "2019年6月5日", "5 июня 2019"
EN_MONTH_DAY = re.compile(rf"\b({'|'.join(MONTHS)})\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,\s*(\d{{4}}))?", re.I)
EN_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})\s+({'|'.join(MONTHS)})(?:\s+(\d{{4}}))?", re.I)
ZH_DATE = re.compile(r"(?:(\d{4})年)?(\d{1,2})月(\d{1,2})日")
RU_DATE = re.compile(rf"(\d{{1,2}})\s+({'|'.join(RU_MONTHS)})(?:\s+(\d{{4}}))?")
DATES = (EN_MONTH_DAY, EN_DAY_MONTH, ZH_DATE, RU_DATE)


def dates_in(text: str, published: str | None) -> set[str]:
    """Return every date a text names (English, Chinese or Russian), as YYYY-MM-DD, years filled from `published`."""
    pub = date.fromisoformat(published) if published else None
    found = set()
    for m in EN_MONTH_DAY.finditer(text):
        found.add(_build(int(m.group(3) or 0), MONTHS[m.group(1).lower()], int(m.group(2)), pub))
    for m in EN_DAY_MONTH.finditer(text):
        found.add(_build(int(m.group(3) or 0), MONTHS[m.group(2).lower()], int(m.group(1)), pub))
    for m in ZH_DATE.finditer(text):
        found.add(_build(int(m.group(1) or 0), int(m.group(2)), int(m.group(3)), pub))
    for m in RU_DATE.finditer(text):
        found.add(_build(int(m.group(3) or 0), RU_MONTHS[m.group(2)], int(m.group(1)), pub))
    return {d for d in found if d}


def without_dates(text: str) -> str:
    """Return the text with its dates blanked, so their day and year numbers are not taken for figures."""
    for pattern in DATES:
        text = pattern.sub(" ", text)
    return text
