"""What each side said: two readouts of one meeting split into statements, aligned, and their named things compared."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from rapidfuzz.process import cdist

from crawler.extraction.meetings import dates_in, participants_in, people, without_dates

# a statement ends at . ! ? (then a space and a capital, digit or quote) or at Chinese 。！？；
SENTENCE_END = re.compile(
    r"(?:(?<=[.!?])|(?<=[.!?][\"”’»]))\s+(?=[A-ZА-ЯЁ\d\"“«(])|(?<=[。！？；])(?![”’」』])|(?<=[。！？；][”’」』])"
)
# abbreviations after which a full stop ends no sentence
ABBREVIATIONS = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|St|No|Nos|Jr|Sr|Gen|Col|Lt|Prof|vs|Inc|Ltd|Co|U\.S|U\.N|г|ул)|\b[A-Z])\.$"
)
# paraphrases score at least this (rapidfuzz token-sort ratio of content words, 0–100); chosen on
# benchmarks/compare (python benchmarks/compare.py --threshold N): precision first, an analyst must trust a pair
THRESHOLD = 50.0
# words are cut to this many letters, so "signed" meets "signing" and "cooperation" meets "cooperative"
STEM = 6
# words every readout of a meeting holds: they say nothing of whether two statements report the same thing
GENERIC = frozenset(
    [
        "president",
        "presidents",
        "head",
        "heads",
        "state",
        "states",
        "russia",
        "russian",
        "china",
        "chinese",
        "people",
        "peoples",
        "republic",
        "federation",
        "country",
        "countries",
        "leader",
        "leaders",
        "side",
        "sides",
        "mr",
    ]
)
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "and",
        "or",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "by",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "that",
        "this",
        "these",
        "those",
        "it",
        "its",
        "his",
        "her",
        "their",
        "they",
        "he",
        "she",
        "we",
        "our",
        "two",
        "sides",
        "side",
        "both",
        "also",
        "said",
        "noted",
        "stressed",
        "added",
        "which",
        "who",
        "will",
        "would",
        "has",
        "have",
        "had",
        "not",
        "but",
        "into",
        "over",
        "than",
        "more",
        "most",
        "such",
        "all",
        "any",
        "each",
        "other",
    ]
)
# one name per country whatever the language, so readouts in two languages compare
COUNTRIES = {
    "Russia": ("Russia", "Russian", "俄罗斯", "俄方", "Росси", "российск"),
    "China": ("China", "Chinese", "中国", "中方", "Китай", "Китая", "КНР", "китайск"),
    "Mongolia": ("Mongolia", "蒙古", "Монголи"),
    "India": ("India", "印度", "Инди"),
    "Brazil": ("Brazil", "巴西", "Бразили"),
    "South Africa": ("South Africa", "南非", "ЮАР"),
    "Iran": ("Iran", "伊朗", "Иран"),
    "Pakistan": ("Pakistan", "巴基斯坦", "Пакистан"),
    "Kazakhstan": ("Kazakhstan", "哈萨克斯坦", "Казахстан"),
    "Ukraine": ("Ukraine", "Ukrainian", "乌克兰", "Украин"),
    "United States": ("United States", "U.S.", "美国", "США"),
    "Japan": ("Japan", "日本", "Япони"),
    "Korean Peninsula": ("Korean Peninsula", "朝鲜半岛", "Корейском полуострове"),
    "Germany": ("Germany", "德国", "Германи"),
    "France": ("France", "法国", "Франци"),
    "Syria": ("Syria", "叙利亚", "Сири"),
    "Afghanistan": ("Afghanistan", "阿富汗", "Афганистан"),
    "Taiwan": ("Taiwan", "台湾", "Тайван"),
}
ORGANISATION = re.compile(
    r"\b(?:SCO|BRICS|UN|UNSC|NATO|WTO|G20|G7|APEC|ASEAN|EAEU|EAS|CICA|CSTO|IMF|WHO|EU|OPEC)\b"
    r"|\b(?:the )?(?:[A-Z][\w-]+ ){1,6}(?:Organi[sz]ation|Union|Council|Forum|Bank|Commission|Initiative|Games)\b"
    r"|上海合作组织|上合组织|金砖|联合国|亚信|一带一路|欧亚经济联盟|ШОС|БРИКС|ООН|ЕАЭС"
)
AGREEMENT = re.compile(
    r"\b(?:[A-Z][\w'-]+ )*(?:Joint Statement|Treaty|Agreement|Declaration|Memorandum|Action Plan|Plan|Programme"
    r"|Program|Roadmap)\b(?: (?:on|of|for|between) [\w ’'-]{3,120}?(?=[,.;]| and (?:a|the) |$))?"
    r"|《[^》]{1,80}》"
)
QUOTED = re.compile(r"[\"“«「]([^\"”»」]{2,80})[\"”»」]")
NUMBER = re.compile(
    r"\d+(?:[.,]\d+)*(?:\s?(?:%|percent|per cent|billion|million|trillion))?|[一二三四五六七八九十百千万亿]+(?:周年)"
)


ENTITY_KINDS = ("people", "countries", "organisations", "numbers", "agreements", "quoted", "dates")
# named things that read the same in any language; the others are compared only within one language
LANGUAGE_FREE = ("people", "countries", "numbers", "dates")


@dataclass(frozen=True)
class Pair:
    """A statement both readouts report: its index in each, and how alike the two wordings are (0–100)."""

    a: int
    b: int
    score: float


@dataclass(frozen=True)
class Alignment:
    """Two readouts' statements: the shared pairs (in the first's order) and the indexes each reports alone."""

    shared: tuple[Pair, ...]
    only_a: tuple[int, ...]
    only_b: tuple[int, ...]


@dataclass
class Entities:
    """Named things a readout mentions, compared exactly between two readouts."""

    people: set[str] = field(default_factory=set)
    countries: set[str] = field(default_factory=set)
    organisations: set[str] = field(default_factory=set)
    numbers: set[str] = field(default_factory=set)
    agreements: set[str] = field(default_factory=set)
    quoted: set[str] = field(default_factory=set)
    dates: set[str] = field(default_factory=set)


def statements(text: str) -> list[str]:
    """Split a readout into statements: its lines, each cut into sentences (Chinese punctuation included)."""
    out: list[str] = []
    for line in text.splitlines():
        pieces = [p.strip() for p in SENTENCE_END.split(line) if p and p.strip()]
        for piece in pieces:
            if out and ABBREVIATIONS.search(out[-1]) and not out[-1].endswith("\n"):
                out[-1] = f"{out[-1]} {piece}"  # "St. Petersburg", "Mr. Putin": one sentence
            else:
                out.append(piece)
        if out:
            out[-1] = out[-1].rstrip()
    return [s for s in out if re.search(r"\w", s)]


def name_words(texts: list[str]) -> frozenset[str]:
    """Return the words of the names of the people the texts mention: they are in every statement of a readout."""
    found = set(participants_in("\n".join(texts)))
    known = people()
    forms = [form for name in found for form in (name, *known.get(name, ()))]
    return frozenset(w.casefold() for form in forms for w in re.findall(r"\w+", form))


def content(statement: str, names: frozenset[str] = frozenset()) -> str:
    """Return a statement's content words without `names`, folded and cut to stems (characters, for Chinese)."""
    if re.search(r"[\u4e00-\u9fff]", statement):
        return " ".join(ch for ch in statement if "\u4e00" <= ch <= "\u9fff" or ch.isalnum())
    skip = STOPWORDS | GENERIC | names
    return " ".join(w[:STEM] for w in re.findall(r"\w+", statement.casefold()) if w not in skip)


def align(a: list[str], b: list[str], threshold: float = THRESHOLD) -> Alignment:
    """Pair the statements of two readouts one to one, best scores first; the rest are one-sided.

    Scores are rapidfuzz's token-sort ratio over content words (no names, no words every readout holds; characters
    for Chinese), so reworded or reordered statements still pair while unrelated ones sharing a name do not.
    """
    if not a or not b:
        return Alignment((), tuple(range(len(a))), tuple(range(len(b))))
    names = name_words(a + b)
    scores = cdist([content(s, names) for s in a], [content(s, names) for s in b], scorer=fuzz.token_sort_ratio)
    ranked = sorted(
        ((float(scores[i][j]), i, j) for i in range(len(a)) for j in range(len(b)) if scores[i][j] >= threshold),
        key=lambda t: (-t[0], t[1], t[2]),
    )
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for score, i, j in ranked:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        pairs.append(Pair(i, j, round(score, 1)))
    pairs.sort(key=lambda p: p.a)
    return Alignment(
        tuple(pairs),
        tuple(i for i in range(len(a)) if i not in used_a),
        tuple(j for j in range(len(b)) if j not in used_b),
    )


def entities(text: str, published: str | None = None) -> Entities:
    """Return the named things of a text: people, countries, organisations, numbers, agreements, quoted phrases."""
    found = Entities()
    found.people = set(participants_in(text))
    found.countries = {
        c for c, forms in COUNTRIES.items() if any(re.search(rf"(?<!\w){re.escape(f)}", text) for f in forms)
    }
    found.organisations = {m.group().removeprefix("the ").strip() for m in ORGANISATION.finditer(text)}
    found.numbers = {m.group().replace(",", "") for m in NUMBER.finditer(without_dates(text))}
    found.agreements = {m.group().strip() for m in AGREEMENT.finditer(text)}
    found.quoted = {m.group(1).strip() for m in QUOTED.finditer(text)}
    found.dates = dates_in(text, published)
    return found


def one_sided(mine: Entities, theirs: Entities) -> dict[str, list[str]]:
    """Return, kind by kind, the named things in `mine` that `theirs` never mentions (exact match)."""
    out = {}
    for kind in ENTITY_KINDS:
        missing = sorted(getattr(mine, kind) - getattr(theirs, kind))
        if missing:
            out[kind] = missing
    return out
