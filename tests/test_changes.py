"""Change monitoring end to end: a fixture web mutated between crawls, re-checked by the real CLI."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from storage import search_words
from tests.conftest import CLIResult, cli, cli_here, write_sources
from tests.fixtureweb import sites
from tests.fixtureweb.fillers import FILLERS
from tests.mockserver import Reply, Route, SiteServer, conditional
from tests.test_crawl import sources_toml

ATOM = "{http://www.w3.org/2005/Atom}"
EDITED_FROM = "Both sides also exchanged views on the situations in Ukraine, on the Korean Peninsula, and other issues."
EDITED_TO = "Both sides also exchanged views on the situation on the Korean Peninsula and other issues."


def decorate(site: str, html: bytes, round_: int) -> bytes:
    """Add a "latest news" sidebar and a visitor counter that differ on every crawl round."""
    text = html.decode("utf-8")
    views = f"Views: {round_ * 137 + 11}"
    if site == "ministry":
        text = text.replace('<div class="share">', f'<p class="views">{views}</p><div class="share">')
    else:
        text = text.replace('<tr><td class="tools">', f'<tr><td class="views">{views}</td></tr><tr><td class="tools">')
    latest = "".join(f'<li><a href="/eng/xw/{round_}{n}.html">Latest headline {round_}-{n}</a></li>' for n in range(5))
    text = text.replace("</body>", f'<div class="sidebar"><h3>Latest news</h3><ul>{latest}</ul></div></body>')
    return text.encode("utf-8")


def site_routes(site: str, round_: int, articles: list[sites.FixtureArticle] | None = None) -> dict[str, Route]:
    """Serve a fixture site with conditional-request support, decorated for this round."""
    items = articles or sites.articles(site)
    routes: dict[str, Route] = {}
    pages = sites.build_site(site)
    for path in sites.listing_paths(site):
        routes[path] = Reply(pages[path].body)
    for index, article in enumerate(items):
        routes[article.path] = conditional(decorate(site, sites.render_article(site, article, index), round_))
    return routes


class Web:
    """Two fixture sites, a sources file and the CLI on one archive."""

    def __init__(self, tmp: Path, notify: str = "") -> None:
        self.tmp = tmp
        self.servers = {
            "ministry": SiteServer("127.0.0.2", site_routes("ministry", 1)).start(),
            "embassy": SiteServer("127.0.0.3", site_routes("embassy", 1)).start(),
        }
        self.sources = write_sources(
            tmp / "sources.toml",
            f"{notify}\n" + sources_toml(self.servers),
        )

    def cli(self, *args: str) -> CLIResult:
        """A command that crawls or sends (crawl, reextract, notify): a real `readouts` process."""
        return cli(self.tmp / "archive.db", *args, sources=self.sources)

    def read(self, *args: str) -> CLIResult:
        """A read command, in this process: the crawls are the processes under test."""
        return cli_here(self.tmp / "archive.db", *args, sources=self.sources)

    def crawl(self, *args: str) -> dict[str, Any]:
        result = self.cli("crawl", "--json", *args)
        assert result.code == 0, result.err
        return dict(result.json())

    def url(self, site: str, path: str) -> str:
        return self.servers[site].url(path)

    def close(self) -> None:
        for server in self.servers.values():
            server.stop()


def mutate(web: Web) -> dict[str, sites.FixtureArticle]:
    """Round 2: edit a sentence, delete one article, soft-404 another, move one, add one; all pages redecorated."""
    ministry = sites.articles("ministry")
    moved, edited, deleted, soft = ministry
    edited_body = tuple(line.replace(EDITED_FROM, EDITED_TO) for line in edited.body_lines)
    assert edited_body != edited.body_lines
    added = replace(
        ministry[2],
        path="/eng/xw/zyxw/202401/t20240110_700001.html",
        seed=None,
        date="2024-01-10",
        title="Wang Yi Meets with Foreign Minister Penny Wong of Australia",
        body_lines=tuple(
            line.replace("Sergey Lavrov", "Penny Wong").replace("Russia", "Australia")
            for line in ministry[2].body_lines
        ),
    )
    target = replace(moved, path="/eng/xw/zyxw/201906/t20190606_999999.html")
    server = web.servers["ministry"]
    routes = site_routes("ministry", 2, [moved, replace(edited, body_lines=edited_body), deleted, soft, added, target])
    routes[moved.path] = Reply(b"", status=301, headers={"Location": target.path})
    routes.pop(deleted.path)
    notice = (
        b'<html><body><div class="news-details"><h1>Page not found</h1><p>Sorry, the page you requested '
        b"does not exist or has been removed.</p></div></body></html>"
    )
    routes[soft.path] = Reply(notice)
    listing = sites.listing_paths("ministry")[0]
    page = server.routes[listing]
    assert isinstance(page, Reply)
    link = f'<li><a href="./202401/t20240110_700001.html">{added.title}</a></li>'.encode()
    routes[listing] = Reply(page.body.replace(b'<div class="list1"><ul>', b'<div class="list1"><ul>' + link))
    server.routes.clear()
    server.routes.update(routes)
    embassy = web.servers["embassy"]
    embassy.routes.clear()
    embassy.routes.update(site_routes("embassy", 2))
    return {"moved": moved, "edited": edited, "deleted": deleted, "soft": soft, "added": added, "target": target}


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Web, dict[str, Any]]]:
    web = Web(tmp_path_factory.mktemp("changes"))
    state: dict[str, Any] = {"first": web.crawl()}
    state["not_due"] = web.crawl()
    state["articles"] = mutate(web)
    before = len(web.servers["embassy"].requests)
    state["second"] = web.crawl("--recheck")
    state["embassy_second"] = web.servers["embassy"].requests[before:]
    deleted = state["articles"]["deleted"]  # round 3: the deleted readout comes back
    web.servers["ministry"].routes[deleted.path] = conditional(
        decorate("ministry", sites.render_article("ministry", deleted, 2), 3)
    )
    before, answered = len(web.servers["embassy"].requests), len(web.servers["embassy"].answers)
    state["third"] = web.crawl("--recheck")
    state["embassy_third"] = web.servers["embassy"].requests[before:]
    state["embassy_third_answers"] = web.servers["embassy"].answers[answered:]
    yield web, state
    web.close()


def events(web: Web, *args: str) -> list[dict[str, Any]]:
    result = web.read("changes", "--json", *args)
    assert result.code == 0, result.err
    return result.jsonl()


def test_first_crawl_gives_new_events_and_nothing_is_due_right_after(web: tuple[Web, dict[str, Any]]) -> None:
    w, state = web
    assert state["first"]["new_pages"] == 8
    assert state["not_due"]["rechecked"] == 0 and state["not_due"]["pages_fetched"] == 0
    new = events(w, "--kind", "new")
    assert len([e for e in new if e["revision"] == 1]) >= 8


def test_one_edited_sentence_is_exactly_one_changed_event_with_both_versions(web: tuple[Web, dict[str, Any]]) -> None:
    w, state = web
    changed = events(w, "--kind", "changed")
    assert len(changed) == 1, changed
    event = changed[0]
    assert event["url"] == w.url("ministry", state["articles"]["edited"].path)
    assert event["revision"] == 2 and event["previous_hash"] != event["content_hash"]
    assert "-" + EDITED_FROM in event["diff"].splitlines()
    assert "+" + EDITED_TO in event["diff"].splitlines()
    assert state["second"]["changed"] == 1


def test_sidebars_and_counters_changing_everywhere_are_no_change(web: tuple[Web, dict[str, Any]]) -> None:
    w, _ = web
    embassy_events = [e for e in events(w, "--source", "embassy") if e["kind"] != "new"]
    assert embassy_events == []
    # the embassy's pages did change bytes (new ETags, full downloads), yet not their text
    texts = [r["text"] for r in w.read("export", "--source", "embassy").jsonl()]
    assert len(texts) == 4 and not any("Views:" in text for text in texts)


def test_deleted_soft_404_moved_and_added_pages(web: tuple[Web, dict[str, Any]]) -> None:
    w, state = web
    a = state["articles"]
    by_url: dict[str, list[str]] = {}
    for event in events(w, "--source", "ministry"):
        by_url.setdefault(event["url"], []).append(event["kind"])
    assert by_url[w.url("ministry", a["deleted"].path)] == ["new", "gone", "back"]
    assert by_url[w.url("ministry", a["soft"].path)] == ["new", "gone"]
    assert by_url[w.url("ministry", a["moved"].path)] == ["new", "moved"]
    assert by_url[w.url("ministry", a["added"].path)] == ["new"]
    assert by_url[w.url("ministry", a["target"].path)] == ["new"]
    moved = events(w, "--kind", "moved")
    assert moved[0]["target"] == w.url("ministry", a["target"].path)
    # gone pages keep their revisions and text
    history = w.read("history", w.url("ministry", a["deleted"].path), "--json").jsonl()
    assert len(history) == 1 and history[0]["text"]


def test_unchanged_recheck_uses_conditional_requests_and_304s(web: tuple[Web, dict[str, Any]]) -> None:
    w, state = web
    third = state["third"]
    assert third["changed"] == 0 and third["new_pages"] == 0 and third["gone"] == 0
    article_paths = {a.path for a in sites.articles("embassy")}
    rechecks = [(path, headers) for path, headers in state["embassy_third"] if path in article_paths]
    assert len(rechecks) == 4
    assert all(headers.get("if-none-match", "").startswith('"') for _, headers in rechecks)  # the ETag, quoted
    answers = [status for path, status in state["embassy_third_answers"] if path in article_paths]
    assert answers == [304, 304, 304, 304]  # the server matched the validators: nothing downloaded
    assert third["unchanged"] >= 4
    (changed,) = events(w, "--kind", "changed")
    assert events(w, "--since", changed["at"], "--kind", "changed") == [changed]
    later = datetime.fromisoformat(changed["at"]) + timedelta(seconds=1)  # the archive keeps whole seconds
    assert events(w, "--since", later.isoformat(), "--kind", "changed") == []


def test_history_diff_capture_and_feed(web: tuple[Web, dict[str, Any]], tmp_path: Path) -> None:
    w, state = web
    url = w.url("ministry", state["articles"]["edited"].path)
    history = w.read("history", url, "--json").jsonl()
    assert [h["revision"] for h in history] == [1, 2]
    assert EDITED_FROM in history[0]["text"] and EDITED_TO in history[1]["text"]
    diff = w.read("diff", url)
    assert diff.code == 0 and "-" + EDITED_FROM in diff.out.splitlines()
    assert w.read("diff", url, "--from", "1", "--to", "9").code == 1
    # the raw bytes as served, for each revision
    first = w.read("capture", url, "--revision", "1", "--output", str(tmp_path / "r1.html"))
    assert first.code == 0, first.err
    raw = (tmp_path / "r1.html").read_bytes()
    assert EDITED_FROM.encode() in raw and b"Views: 148" in raw
    assert w.read("capture", url, "--output", str(tmp_path / "r2.html")).code == 0
    assert EDITED_TO.encode() in (tmp_path / "r2.html").read_bytes()
    assert w.read("capture", "http://127.0.0.2/nowhere").code == 1
    feed = w.read("feed", "--output", str(tmp_path / "feed.xml"))
    assert feed.code == 0, feed.err
    root = ET.parse(tmp_path / "feed.xml").getroot()
    assert root.tag == ATOM + "feed"
    entries = root.findall(ATOM + "entry")
    kinds = [e.find(ATOM + "category").get("term") for e in entries]  # type: ignore[union-attr]
    assert sorted(set(kinds)) == ["back", "changed", "gone", "moved", "new"]


def test_warc_files_open_in_a_standard_reader(web: tuple[Web, dict[str, Any]]) -> None:
    from warcio.archiveiterator import ArchiveIterator

    w, _ = web
    files = sorted((w.tmp / "archive.db.warc").glob("*.warc.gz"))
    assert files
    kinds: dict[str, int] = {}
    for file in files:
        with open(file, "rb") as stream:
            for record in ArchiveIterator(stream):
                kinds[record.rec_type] = kinds.get(record.rec_type, 0) + 1
    assert kinds["response"] >= 10 and kinds["request"] >= kinds["response"]
    with sqlite3.connect(w.tmp / "archive.db") as db:
        revisits = db.execute("select count(*) from captures where revisit_of is not null").fetchone()[0]
    assert kinds.get("revisit", 0) == revisits


def test_reextract_refreshes_texts_without_fetching(web: tuple[Web, dict[str, Any]]) -> None:
    w, _ = web
    db_path = w.tmp / "archive.db"
    with sqlite3.connect(db_path) as db:  # as if an older extractor had kept a worse text of one page
        search_words.register(db)  # the word index's triggers call it
        page_id, good = db.execute("select id, content_hash from pages where source = 'embassy' limit 1").fetchone()
        db.execute("insert into documents (content_hash, text, first_seen) values ('stale', 'old text', 'x')")
        stale = db.execute("select id from documents where content_hash = 'stale'").fetchone()[0]
        db.execute("update pages set content_hash = 'stale', document_id = ? where id = ?", [stale, page_id])
    hits = sum(len(s.hits) for s in w.servers.values())
    result = w.cli("reextract", "--json")
    assert result.code == 0, result.err
    counts = result.json()
    assert counts["updated"] == 1 and counts["missing"] == 0
    assert counts["unchanged"] == counts["pages"] - 1  # the rest cleaned as the crawl did, site templates included
    assert sum(len(s.hits) for s in w.servers.values()) == hits
    with sqlite3.connect(db_path) as db:
        assert db.execute("select content_hash from pages where id = ?", [page_id]).fetchone()[0] == good


def test_mfa_system_page_for_deleted_articles_is_gone(tmp_path: Path) -> None:
    """The MFA answers a deleted article with a redirect to a generic "system" page served with 200."""
    web = Web(tmp_path)
    try:
        text = web.sources.read_text().replace(
            "[source.ministry]\n", "[source.ministry]\ngone_urls = ['/web/system/', 'index_17321']\n"
        )
        web.sources.write_text(text)
        assert web.crawl()["new_pages"] == 8
        deleted = sites.articles("ministry")[1]
        server = web.servers["ministry"]
        server.routes[deleted.path] = Reply(b"", status=302, headers={"Location": "/web/system/index_17321.shtml"})
        server.routes["/web/system/index_17321.shtml"] = Reply(
            b"<html><body><div class='nav'><a href='/'>Home</a></div><p>System notice.</p></body></html>"
        )
        second = web.crawl("--recheck")
        assert second["gone"] == 1 and second["moved"] == 0
        gone = events(web, "--kind", "gone")
        assert [e["url"] for e in gone] == [web.url("ministry", deleted.path)]
    finally:
        web.close()


def test_reextract_strips_each_site_template_as_the_crawl_did(tmp_path: Path, serve, readouts) -> None:
    footer = "This readout is published by the press office of the ministry for the information of the public."
    routes: dict[str, Route] = {"/news/": Reply("".join(f'<a href="/a/{n}.html">x</a>' for n in range(6)).encode())}
    for n in range(6):
        f = FILLERS[n]
        body = "".join(f"<p>{line}</p>" for line in f.body) + f"<p>{footer}</p>"
        page = f"<html><head><title>{f.title}</title></head><body><h1>{f.title}</h1><article>{body}</article></body>"
        routes[f"/a/{n}.html"] = Reply(f"{page}</html>".encode())
    site = serve("127.0.0.47", routes)
    sources = write_sources(
        tmp_path / "s.toml", f"[source.s]\nstart_urls = ['{site.url('/news/')}']\narticles = ['/a/']\ndelay = 0\n"
    )
    assert readouts("--sources", str(sources), "crawl", "--json").json()["new_documents"] == 6
    texts = lambda: [r["text"] for r in readouts("export").jsonl()]  # noqa: E731
    assert len(texts()) == 6 and not any(footer in t for t in texts())  # learned as the site's template
    counts = readouts("--sources", str(sources), "reextract", "--json").json()
    assert counts["pages"] == counts["unchanged"] == 6 and counts["updated"] == 0
    assert not any(footer in t for t in texts())
