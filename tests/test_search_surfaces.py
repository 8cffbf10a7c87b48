"""Short Chinese and Latin terms on every search surface: readouts search, serve, plain Datasette, sqlite-utils."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from datasette.app import Datasette
from datasette.plugins import pm

from crawler.web import plugin
from crawler.web.serve import CELL_PREVIEW, PAGE_SIZE, build
from storage import query
from storage.archive import Archive, ArticleText, PageRecord
from storage.schema import migrations
from storage.search_words import MAX_GRAM, index_words, is_gram, match_term
from tests.conftest import CLIResult, subprocess_env

ZH_TEXT = (
    "2019年6月5日，国家主席习近平在莫斯科同俄罗斯总统普京举行会谈。两国元首一致同意发展新时代全面战略协作伙伴关系。"
)
EN_TEXT = "On June 5, 2019 President Xi Jinping held talks with President Vladimir Putin in Moscow."
RU_TEXT = "Владимир Путин провёл переговоры с Председателем КНР Си Цзиньпином."
DECOY_TEXT = "Xinhua reports a conference on agriculture; the minister spoke about trade."
DOCS = {
    "zh": ("习近平同俄罗斯总统普京举行会谈", ZH_TEXT),
    "en": ("Xi Jinping holds talks with Vladimir Putin", EN_TEXT),
    "ru": ("Переговоры с Си Цзиньпином", RU_TEXT),
    "decoy": ("Agriculture conference", DECOY_TEXT),
}
# term -> the documents it must find (and no other)
EXPECTED = {"普京": {"zh"}, "会谈": {"zh"}, "Xi": {"en"}}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Xi met Putin", "Xi met Putin"),  # Latin words as they are
        ("普京", " 普 普京 京 "),  # every 1..4-gram of a Chinese run
        ("会谈。Xi", " 会 会谈 谈 。Xi"),
        ("习近平同普", " 习 习近 习近平 习近平同 近 近平 近平同 近平同普 平 平同 平同普 同 同普 普 "),
        ("Путина", "Пут Пути Путин Путина"),  # Cyrillic words with their prefixes of 3+ letters
        ("Си", "Си"),
        (None, None),
    ],
)
def test_index_words(text: str | None, expected: str | None) -> None:
    assert index_words(text) == expected


@pytest.mark.parametrize("length", range(1, 13))
def test_index_words_spells_every_gram_of_a_run_of_any_length_in_reading_order(length: int) -> None:
    """Planted: the tail of a run (its last three characters' grams) dropped or reordered."""
    run = "习近平同俄罗斯总统普京举行会谈"[:length]
    grams = [run[i : i + n] for i in range(len(run)) for n in range(1, MAX_GRAM + 1) if i + n <= len(run)]
    assert index_words(run) == f" {' '.join(grams)} "


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("普京", '"普京"'),
        ("Xi", '"Xi"'),
        ('a"b', '"a""b"'),
        ("Xi习近平", '"Xi" AND "习近平"'),
        ("普京举行会谈", 'NEAR("普京举行" "举行会谈", 24)'),
        ("习近平同俄罗斯总统", 'NEAR("习近平同" "俄罗斯总" "罗斯总统", 36)'),
    ],
)
def test_match_term(term: str, expected: str) -> None:
    assert match_term(term) == expected


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("普", True),
        ("普京", True),
        ("战略伙伴", True),
        ("战略伙伴关", False),
        ("Xi", False),
        ("普京x", False),
        ("", False),
    ],
)
def test_is_gram(term: str, expected: bool) -> None:
    assert is_gram(term) is expected  # a Chinese term of up to MAX_GRAM characters is one token of the word index


@pytest.mark.parametrize(
    ("text", "term", "expected"),
    [
        ("Xi met XI and xi", "Xi", 3),  # an ASCII term in any case
        ("Xi met XI", "xI", 2),
        ("普京会见普京。", "普京", 2),  # a term without case, counted as it is
        ("Путин, ПУТИН, путин", "Путин", 3),  # a term with case beyond ASCII, casefolded
        ("Xi Jinping", "普京", 0),
        ("XiXi", "xixi", 1),
    ],
)
def test_occurrences(text: str, term: str, expected: int) -> None:
    assert query.occurrences(text, term) == expected


def _record(store: Archive, key: str, title: str, text: str) -> None:
    """Archive one page holding the text."""
    art = ArticleText(content_hash=key.ljust(64, "0"), text=text, title=title, published="2019-06-05")
    url = f"http://127.0.0.9/{key}.html"
    store.record(PageRecord(url=url, source=f"site-{key}", host="127.0.0.9", status=200, article=art))


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An archive of a Chinese, an English, a Russian and a decoy readout."""
    db = tmp_path_factory.mktemp("surfaces") / "arch.db"
    store = Archive(db)
    for key, (title, text) in DOCS.items():
        _record(store, key, title, text)
    store.close()
    return db


def _keys(titles: list[str]) -> set[str]:
    """The document keys of these titles."""
    return {key for key, (title, _) in DOCS.items() if title in titles}


def test_readouts_search_finds_short_terms(archive: Path, readouts: Any) -> None:
    for term, expected in EXPECTED.items():
        result: CLIResult = readouts("search", term, "--json", db=archive)
        assert _keys([row["title"] for row in result.jsonl()]) == expected, term
    store = Archive(archive, readonly=True)
    found = lambda q: _keys([row["title"] for row in query.search(store.db, q)])  # noqa: E731
    assert found("Путин") == {"ru"}  # the prefix of "Путин провёл" and of "Путина"
    assert found("习近平 普京") == {"zh"}  # a long and a short term together
    assert found("Xi talks") == {"en"}
    assert found("全面战略协作") == {"zh"}  # long terms stay on the trigram index
    assert found("战略协作 普京") == {"zh"} and found("战略协作 Putin") == set()  # four characters: the word index
    store.close()


def test_sqlite_utils_search_finds_short_terms(archive: Path) -> None:
    for term, expected in EXPECTED.items():
        done = subprocess.run(
            [sys.executable, "-m", "sqlite_utils", "search", str(archive), "documents", term, "-c", "title"],
            env=subprocess_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert _keys([row["title"] for row in json.loads(done.stdout)]) == expected, term


def _get_json(ds: Datasette, paths: list[str]) -> list[Any]:
    """GET each path from the Datasette in-process and return the JSON bodies (each must answer 200)."""

    async def fetch() -> list[Any]:
        await ds.invoke_startup()
        out = []
        for path in paths:
            answer = await ds.client.get(path)
            assert answer.status_code == 200, (path, answer.text[:300])
            out.append(answer.json())
        return out

    return asyncio.run(fetch())


def _search_paths(table: str, terms: list[str]) -> list[str]:
    """The JSON search URLs of the archive's table for these terms."""
    return [f"/arch/{table}.json?_shape=array&_search={quote(term)}" for term in terms]


def test_serve_search_box_finds_short_and_long_terms(archive: Path) -> None:
    terms = [*EXPECTED, "普京举行会谈", "全面战略协作伙伴关系"]
    ds = build(str(archive))
    for table in ("readouts", "documents"):
        bodies = _get_json(ds, _search_paths(table, terms))
        found = [_keys([row["title"] for row in rows]) for rows in bodies]
        assert found == [*EXPECTED.values(), {"zh"}, {"zh"}], table


def test_serve_lists_a_search_newest_first_unless_sorted(tmp_path: Path) -> None:
    store = Archive(tmp_path / "arch.db")
    for n, published in enumerate(["2019-06-05", "2024-01-02", "2015-03-04"]):
        _record(store, f"zh{n}", f"普京 {n}", f"{ZH_TEXT} {n}")
        store.db.execute("update documents set published = ? where title = ?", [published, f"普京 {n}"])
    store.close()
    ds = build(str(tmp_path / "arch.db"))
    paths = [f"/arch/readouts.json?_shape=objects&_search={quote('普京')}{order}" for order in ("", "&_sort=published")]
    newest, by_date = _get_json(ds, paths)
    # in the word index's order, so a page reads only its own rows; the count stays exact
    assert newest["human_description_en"].endswith("sorted by id descending")
    assert newest["filtered_table_rows_count"] == 3 and "order by id desc" in newest["query"]["sql"]
    assert [row["title"] for row in newest["rows"]] == ["普京 2", "普京 1", "普京 0"]
    assert [row["title"] for row in by_date["rows"]] == ["普京 2", "普京 0", "普京 1"]  # a sort asked for is kept
    assert by_date["human_description_en"].endswith("sorted by published")


@pytest.mark.parametrize(
    ("query_string", "expected"),
    [
        (b"_search=Xi", b"_search=Xi&_sort_desc=id"),
        (b"_size=20&_search=%E6%99%AE", b"_size=20&_search=%E6%99%AE&_sort_desc=id"),
        (b"_search=Xi&_sort=published", b"_search=Xi&_sort=published"),
        (b"_search=Xi&_sort_desc=title", b"_search=Xi&_sort_desc=title"),
        (b"_search=Xi&_sort_by_desc=on", b"_search=Xi&_sort_by_desc=on"),
        (b"_search=+", b"_search=+"),  # no search: browsing keeps the view's order (published, newest first)
        (b"language=en", b"language=en"),
        (b"", b""),
    ],
)
def test_search_newest_first(query_string: bytes, expected: bytes) -> None:
    assert plugin.search_newest_first(query_string) == expected


def test_plain_datasette_finds_short_terms(archive: Path) -> None:
    registered = pm.is_registered(plugin)
    if registered:
        pm.unregister(plugin)
    try:
        ds = Datasette(files=[str(archive)])  # no readouts metadata, no plugin: the FTS table is detected
        bodies = _get_json(ds, _search_paths("documents", list(EXPECTED)))
    finally:
        if registered:
            pm.register(plugin, name="readouts")
    assert [_keys([row["title"] for row in rows]) for rows in bodies] == list(EXPECTED.values())


def test_the_word_index_follows_edits_and_deletes(tmp_path: Path) -> None:
    store = Archive(tmp_path / "a.db")
    _record(store, "zh", *DOCS["zh"])
    hits = lambda q: store.db.execute(  # noqa: E731
        "select count(*) from documents_words where documents_words match ?", [q]
    ).fetchone()[0]
    assert hits('"普京"') == 1
    with store._write() as db:
        db.execute("update documents set title = '会见', text = '王毅同拉夫罗夫会谈' where content_hash like 'zh%'")
    assert hits('"普京"') == 0 and hits('"王毅"') == 1
    with store._write() as db:
        for sql in ("delete from revisions", "delete from copies", "update pages set document_id = null"):
            db.execute(sql)
        db.execute("delete from documents")
    assert hits('"王毅"') == 0
    store.db.execute("insert into documents_words (documents_words, rank) values ('integrity-check', 0)")
    store.close()


def test_an_older_archive_gets_the_word_index(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = Archive(tmp_path / "scratch.db")  # a connection with the project's settings, then the old schema
    old.close()
    import sqlite3

    from sqlite_utils import Database

    db = Database(sqlite3.connect(path))
    migrations.apply(db, stop_before="0011_word_index")
    db.execute(
        "insert into documents (content_hash, title, text, first_seen) values (?, ?, ?, '2019-06-05')",
        ["a" * 64, DOCS["zh"][0], ZH_TEXT],
    )
    db.conn.commit()
    db.close()
    store = Archive(path)  # migrates
    assert store.db["documents"].detect_fts() == "documents_words"
    assert [row["title"] for row in query.search(store.db, "普京")] == [DOCS["zh"][0]]
    assert [row["title"] for row in query.search(store.db, "全面战略协作")] == [DOCS["zh"][0]]
    store.db.execute("insert into documents_fts (documents_fts, rank) values ('integrity-check', 1)")
    store.close()


def _sqlite_utils(*args: str) -> None:
    """Run the real sqlite-utils CLI; it has no readouts_words() function."""
    cmd = [sys.executable, "-m", "sqlite_utils", *args]
    done = subprocess.run(cmd, env=subprocess_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_other_tools_can_write_documents_and_readouts_indexes_them(tmp_path: Path) -> None:
    import sqlite3

    from storage.maintenance import check

    path = tmp_path / "a.db"
    store = Archive(path)
    _record(store, "zh", *DOCS["zh"])
    _record(store, "ru", *DOCS["ru"])
    store.close()
    conn = sqlite3.connect(path)  # the stdlib module, no readouts function registered
    with conn:
        conn.execute("update documents set title = '会见', text = '王毅同拉夫罗夫会谈' where content_hash like 'zh%'")
    conn.close()
    row = json.dumps({"content_hash": "b" * 64, "title": "Lavrov", "text": "Лавров встретился", "first_seen": "x"})
    (tmp_path / "row.json").write_text(row)
    _sqlite_utils("insert", str(path), "documents", str(tmp_path / "row.json"))
    _sqlite_utils("query", str(path), "update documents set text = 'Ван И встретился' where content_hash like 'b%'")
    readonly = Archive(path, readonly=True)
    word_check = [r for r in check(readonly.db, fts=False) if r["check"] == "word index up to date"]
    assert word_check[0]["ok"] is False and word_check[0]["detail"].startswith("2 documents")
    readonly.close()
    store = Archive(path)  # catches up with what the other tools wrote
    assert search_words_pending(store) == 0
    titles = lambda q: [row["title"] for row in query.search(store.db, q)]  # noqa: E731
    assert titles("王毅") == ["会见"] and titles("普京") == []
    assert titles("Ван") == ["Lavrov"] and titles("Лавров") == []
    _record(store, "en", *DOCS["en"])  # readouts' own writes are indexed at once
    assert titles("Xi") == [DOCS["en"][0]] and search_words_pending(store) == 0
    store.db.execute("insert into documents_words (documents_words, rank) values ('integrity-check', 0)")
    assert all(r["ok"] for r in check(store.db) if r["check"] == "word index up to date")
    store.close()
    _sqlite_utils("transform", str(path), "documents", "--not-null", "title")  # rebuilds it without its triggers
    _sqlite_utils("query", str(path), "update documents set text = '普京会见王毅' where content_hash like 'b%'")
    store = Archive(path)  # re-creates the triggers and rebuilds both indexes
    assert titles("普京") == ["Lavrov"] and titles("Ван") == []
    _record(store, "c", "会晤", "李强同米舒斯京会晤")
    assert titles("李强") == ["会晤"]
    store.db.execute("insert into documents_words (documents_words, rank) values ('integrity-check', 0)")
    store.db.execute("insert into documents_fts (documents_fts, rank) values ('integrity-check', 1)")
    store.close()


def search_words_pending(store: Archive) -> int:
    """How many documents wait for the word index."""
    from storage.search_words import pending

    return pending(store.db.conn)


@pytest.mark.parametrize(
    ("query_string", "expected"),
    [
        (b"_search=Xi", b"_search=Xi&_nofacet=1"),
        (b"_search=%E6%99%AE&_size=20", b"_search=%E6%99%AE&_size=20&_nofacet=1"),
        (b"_search=Xi&_facet=sources", b"_search=Xi&_facet=sources"),  # facets asked for are computed
        (b"_search=Xi&_facet_array=sources", b"_search=Xi&_facet_array=sources"),
        (b"_search=Xi&_nofacet=0", b"_search=Xi&_nofacet=0"),
        (b"_search=+", b"_search=+"),  # no search: browsing keeps its facets
        (b"language=en", b"language=en"),
        (b"", b""),
    ],
)
def test_search_facets_off(query_string: bytes, expected: bytes) -> None:
    assert plugin.search_facets_off(query_string) == expected


@pytest.mark.parametrize(
    ("query_string", "expected"),
    [
        (b"_search=Xi", b"_search=Xi&_nocount=1"),
        (b"_search=Xi&_sort_desc=id&_nofacet=1", b"_search=Xi&_sort_desc=id&_nofacet=1&_nocount=1"),
        (b"_search=Xi&_facet=sources", b"_search=Xi&_facet=sources&_nocount=1"),  # facets filter nothing
        (b"_search=Xi&_searchmode=raw&_next=20", b"_search=Xi&_searchmode=raw&_next=20&_nocount=1"),
        (b"_search=Xi&language=en", b"_search=Xi&language=en"),  # a filter: Datasette counts
        (b"_search=Xi&title__contains=a", b"_search=Xi&title__contains=a"),
        (b"_search=Xi&_where=id>1", b"_search=Xi&_where=id>1"),
        (b"_search=Xi&_fts_table=documents_fts", b"_search=Xi&_fts_table=documents_fts"),  # another index
        (b"_search_title=Xi", b"_search_title=Xi"),  # one column of the index
        (b"_search=Xi&_nocount=1", b"_search=Xi&_nocount=1"),  # no count asked for: none given
        (b"_search=+", b"_search=+"),
        (b"", b""),
    ],
)
def test_count_on_word_index(query_string: bytes, expected: bytes) -> None:
    assert plugin.count_on_word_index(query_string) == expected


def _get_html(ds: Datasette, path: str) -> str:
    """GET a page of the Datasette in-process (it must answer 200) and return its HTML."""

    async def fetch() -> str:
        await ds.invoke_startup()
        answer = await ds.client.get(path)
        assert answer.status_code == 200, (path, answer.text[:300])
        return answer.text

    return asyncio.run(fetch())


def _page_count(html: str) -> int:
    """The count of rows a table page states in its title."""
    title = html.split("<title>", 1)[1].split("</title>", 1)[0]
    return int(title.split(": ")[-1].split(" row")[0].replace(",", ""))


def test_serve_search_page_counts_on_the_word_index(tmp_path: Path) -> None:
    store = Archive(tmp_path / "arch.db")
    for n in range(4):
        _record(store, f"zh{n}", f"普京 {n}", f"{ZH_TEXT} {n}")
    _record(store, "en", *DOCS["en"])
    store.close()
    conn = sqlite3.connect(tmp_path / "arch.db")  # another tool deletes one: the word index holds it, queued
    with conn:
        conn.execute("delete from documents where title = '普京 3'")
    assert conn.execute("select count(*) from documents_words_pending where indexed").fetchone() == (1,)
    conn.close()
    ds = build(str(tmp_path / "arch.db"))
    for search, expected in (("普京", 3), ("普京 0", 1), ("Xi", 1), ("俄罗斯总统普京举行", 3), ("nothing", 0)):
        page = f"/arch/readouts?_search={quote(search)}"
        assert _page_count(_get_html(ds, page)) == expected, search
        assert _get_json(ds, [page.replace("readouts?", "readouts.json?")])[0]["filtered_table_rows_count"] == expected
    # a filter besides the search: Datasette's own count
    assert _page_count(_get_html(ds, f"/arch/readouts?_search={quote('普京')}&title__contains=0")) == 1


def test_serve_search_page_shows_twenty_rows_each_text_as_a_preview(tmp_path: Path) -> None:
    store = Archive(tmp_path / "arch.db")
    long_text = ZH_TEXT * 8  # 464 characters
    for n in range(PAGE_SIZE + 1):
        _record(store, f"zh{n:02d}", f"普京 {n}", f"{n} {long_text}")
    store.close()
    ds = build(str(tmp_path / "arch.db"))
    html = _get_html(ds, f"/arch/readouts?_search={quote('普京')}")
    cells = html.split('<td class="col-text type-str">')[1:]
    assert len(cells) == PAGE_SIZE and "Next page" in html
    previews = [cell.split("</td>")[0] for cell in cells]
    assert all(text.endswith("…") and len(text) == CELL_PREVIEW + 1 for text in previews)
    row_page = _get_html(ds, "/arch/documents/1")
    assert f"0 {long_text}" in row_page  # a document's own page shows all its text


def test_serve_runs_its_queries_in_the_event_loop(archive: Path) -> None:
    # a pool of threads costs about 4 ms of CPU a search page in hand-offs (docs/benchmarks.md)
    assert _get_json(build(str(archive)), ["/-/threads.json"])[0]["num_threads"] == 0
