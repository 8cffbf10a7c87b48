"""A small site's template: learned from its listing pages too, and archived texts cleaned again when learned late."""

from __future__ import annotations

import asyncio
import sqlite3
from html import escape
from pathlib import Path
from typing import Any

import pytest

from crawler.config.sources import load_sources
from crawler.extraction.article import article_text
from crawler.extraction.boilerplate import page_keys
from crawler.extraction.extract import Extracted, Failure, extract
from crawler.extraction.page_lines import page_lines
from crawler.extraction.pool import ExtractedCut
from crawler.model import FetchedPage
from spiders.pipeline import ArchivePipeline, CrawlContext, RunTally
from storage.archive import Archive, ArticleText, PageRecord
from storage.warc import WarcStore, store_for
from tests.conftest import write_sources
from tests.fixtureweb.fillers import FILLERS
from tests.mockserver import Reply, SiteServer

MENU = "Home Embassy Info About China Consular Affairs Culture and Education"  # on every page of the small site
SHARE = "Suggest to a Friend:"  # on its article pages only (a sentence by its shape: only learning drops it)
EDIT = ("are good friends and partners who trust each other", "are close friends and partners")


def _article(n: int, chrome: bool, edited: bool = False) -> bytes:
    """Filler readout n; with the small site's menu above it and its share tool below it when `chrome`."""
    f = FILLERS[n]
    lines = [line.replace(*EDIT) if edited else line for line in f.body]
    if chrome:
        lines = [MENU, *lines, SHARE]
    body = "".join(f"<p>{escape(line)}</p>" for line in lines)
    return (
        f"<html><head><title>{escape(f.title)}</title><meta name='date' content='{f.date}'></head>"
        f"<body><article><h1>{escape(f.title)}</h1>{body}</article></body></html>"
    ).encode()


def _listing(ns: list[int], chrome: bool) -> bytes:
    """A listing page of articles n; the small site's menu above the list when `chrome`."""
    links = "".join(f"<li><a href='/a/{n}.html'>{escape(FILLERS[n].title)}</a></li>" for n in ns)
    menu = f"<p>{escape(MENU)}</p>" if chrome else ""
    return f"<html><body><div>{menu}<ul>{links}</ul></div></body></html>".encode()


def _sources(path: Path, small: SiteServer, wire: SiteServer) -> Path:
    """A sources file for the small site and the wire that republishes one of its readouts."""
    return write_sources(
        path,
        "".join(
            f"[source.{name}]\nstart_urls = ['{site.url('/news/')}']\narticles = ['/a/']\ndelay = 0\n"
            for name, site in (("small", small), ("wire", wire))
        ),
    )


@pytest.mark.slow  # three crawls in subprocesses (~13 s on an idle 2-core machine)
def test_template_learned_late_cleans_archived_pages_without_false_changes(tmp_path: Path, serve, readouts) -> None:
    # crawl 1: the small site has a listing and two readouts: its menu is on three pages (learned, the listing
    # counting), its share tool on two (too few): both readouts are archived with it
    small = serve("127.0.0.61", {"/news/": Reply(_listing([0, 1], True))})
    small.routes.update({f"/a/{n}.html": Reply(_article(n, True)) for n in (0, 1)})
    wire = serve("127.0.0.62", {"/news/": Reply(_listing([0], False)), "/a/0.html": Reply(_article(0, False))})
    sources = _sources(tmp_path / "s.toml", small, wire)
    first = readouts("--sources", str(sources), "crawl", "--json")
    assert first.code == 0, first.err
    db = sqlite3.connect(tmp_path / "archive.db")
    one = lambda sql, *args: db.execute(sql, args).fetchone()  # noqa: E731
    page_of = lambda url: one("select id, content_hash, document_id from pages where url = ?", url)  # noqa: E731
    text_of = lambda url: one(  # noqa: E731
        "select d.text from pages p join documents d on d.id = p.document_id where p.url = ?", url
    )[0]
    a, e, wire_a = small.url("/a/0.html"), small.url("/a/1.html"), wire.url("/a/0.html")
    assert not text_of(a).startswith(MENU)  # learned from the listing and the two readouts
    assert text_of(a).endswith(SHARE) and text_of(e).endswith(SHARE)
    assert page_of(a)[2] != page_of(wire_a)[2]  # the share tool keeps the small site's copy a document of its own
    stale_doc = page_of(a)[2]
    meeting, story = one("select meeting_id, story_id from documents where id = ?", stale_doc)
    assert meeting is not None
    meetings_before = one("select count(*) from meetings")[0]

    # crawl 2 re-checks both: readout 0 is unchanged, readout 1 was really edited; two new readouts teach the
    # share tool as template, so what was archived with it is cleaned again from its capture
    small.routes["/news/"] = Reply(_listing([0, 1, 2, 3], True))
    small.routes["/a/1.html"] = Reply(_article(1, True, edited=True))
    small.routes.update({f"/a/{n}.html": Reply(_article(n, True)) for n in (2, 3)})
    second = readouts("--sources", str(sources), "crawl", "--recheck", "--json")
    assert second.code == 0, second.err
    out = second.json()
    assert out["recleaned"] == 2 and out["changed"] == 1 and out["new_documents"] == 2

    for n in range(4):
        text = text_of(small.url(f"/a/{n}.html"))
        assert SHARE not in text and MENU not in text, n
        assert text.splitlines()[0] == FILLERS[n].body[0].replace(*(EDIT if n == 1 else ("", ""))), n
    # hashes and copies follow: the small site's readout 0 is now the wire's document, with both copies current
    assert page_of(a)[1:] == page_of(wire_a)[1:]
    doc = page_of(a)[2]
    copies = db.execute("select url, current from copies where document_id = ? order by url", [doc]).fetchall()
    assert copies == sorted([(a, 1), (wire_a, 1)])
    assert one("select content_hash, document_id from revisions where page_id = ? and number = 1", page_of(a)[0]) == (
        page_of(a)[1],
        doc,
    )
    # the stale document is gone, with its copy, its near-duplicate bands and nothing left pointing to it
    assert one("select count(*) from documents where id = ?", stale_doc)[0] == 0
    assert one("select count(*) from copies where document_id = ?", stale_doc)[0] == 0
    assert one("select count(*) from lsh_bands where document_id = ?", stale_doc)[0] == 0
    # stories and meetings follow: the same meeting as before, no meeting left without documents
    assert one("select meeting_id from documents where id = ?", doc)[0] == meeting
    assert one("select story_id from documents where id = ?", doc)[0] in (story, doc)
    assert one("select count(*) from meetings")[0] == meetings_before + 2  # readouts 2 and 3 are two more meetings
    assert (
        one("select count(*) from meetings m where not exists (select 1 from documents where meeting_id = m.id)")[0]
        == 0
    )
    # no false change: the only `changed` event is the real edit, and its diff shows only the edit
    changed = db.execute("select url, diff from events where kind = 'changed'").fetchall()
    assert [url for url, _ in changed] == [e]
    removed = [line for line in changed[0][1].splitlines() if line.startswith("-") and not line.startswith("---")]
    assert len(removed) == 1 and EDIT[0] in removed[0]
    assert one("select content_hash from events where kind = 'changed'")[0] == page_of(e)[1]
    check = readouts("check", "--json")
    assert check.code == 0, check.out

    # a third crawl of the unchanged site changes nothing and cleans nothing again
    third = readouts("--sources", str(sources), "crawl", "--recheck", "--json").json()
    assert third["recleaned"] == 0 and third["changed"] == 0 and third["unchanged"] == 5
    # the listing page, read by every crawl, was counted once: its lines would swamp the site's otherwise
    assert one("select pages from site_pages where host = '127.0.0.61'")[0] == 5
    db.close()


@pytest.mark.slow  # two crawls in subprocesses (~12 s on an idle 2-core machine)
def test_a_recheck_held_back_with_the_pages_that_teach_the_template_is_not_a_change(
    tmp_path: Path, serve, readouts
) -> None:
    # crawl 1: a listing and one readout, two pages: nothing can be learned, the readout keeps the menu
    small = serve("127.0.0.63", {"/news/": Reply(_listing([0], True)), "/a/0.html": Reply(_article(0, True))})
    wire = serve("127.0.0.64", {"/news/": Reply(_listing([5], False)), "/a/5.html": Reply(_article(5, False))})
    sources = _sources(tmp_path / "s.toml", small, wire)
    assert readouts("--sources", str(sources), "crawl", "--json").json()["new_documents"] == 2
    export = lambda: {r["url"]: r for r in readouts("export").jsonl()}  # noqa: E731
    a = small.url("/a/0.html")
    assert export()[a]["text"].startswith(MENU)
    # crawl 2: the re-check of that readout is held back with a new one until the site has enough pages; the
    # menu is learned in that batch, and the stored text is cleaned before the re-check is compared with it
    small.routes["/news/"] = Reply(_listing([0, 2], True))
    small.routes["/a/2.html"] = Reply(_article(2, True))
    out = readouts("--sources", str(sources), "crawl", "--recheck", "--json").json()
    assert out["changed"] == 0 and out["unchanged"] == 2 and out["recleaned"] == 1
    texts = export()
    assert not texts[a]["text"].startswith(MENU) and not texts[small.url("/a/2.html")]["text"].startswith(MENU)
    assert readouts("changes", "--kind", "changed", "--json").jsonl() == []


def test_a_document_still_held_by_another_page_stays_when_one_page_is_cleaned_again(tmp_path: Path) -> None:
    f = FILLERS[0]
    stale = article_text(Extracted(f.title, (*f.body, SHARE), published=f.date), frozenset())
    clean = article_text(Extracted(f.title, f.body, published=f.date), frozenset())
    assert stale and clean and stale.meeting and stale.signature
    archive = Archive(tmp_path / "a.db")
    for n in (1, 2):
        archive.record(
            PageRecord(url=f"http://127.0.0.9/a/{n}.html", source="s", host="127.0.0.9", status=200, article=stale)
        )
    one = lambda sql, *args: archive.db.execute(sql, args).fetchone()  # noqa: E731
    (old_doc, meeting) = one("select id, meeting_id from documents")
    assert archive.recleaned(1, clean) and not archive.recleaned(1, clean)  # the second time there is nothing to do
    assert one("select count(*) from copies where document_id = ?", old_doc)[0] == 1  # page 2 still holds it
    assert one("select count(*) from lsh_bands where document_id = ?", old_doc)[0] > 0
    assert archive.recleaned(2, clean)
    assert one("select count(*) from documents where id = ?", old_doc)[0] == 0
    assert one("select count(*) from lsh_bands where document_id = ?", old_doc)[0] == 0
    assert one("select count(*), min(meeting_id) from documents")[0:2] == (1, meeting)
    assert one("select count(*) from copies")[0] == 2 and one("select count(*) from events")[0] == 2  # the two new
    archive.close()


class _GatedPool:
    """The extraction pool's calls run in-process; one URL's cleaning waits for a gate, to force an order."""

    def __init__(self, gated_url: str) -> None:
        """Gate the cleaning of the page extracted from `gated_url`."""
        self.gated_url = gated_url
        self.gated_lines: tuple[str, ...] | None = None
        self.entered, self.release = asyncio.Event(), asyncio.Event()
        self.extracted: dict[str, asyncio.Event] = {}
        self.cut_with: list[frozenset[str]] = []  # the template each extraction was cut of, in order

    async def extract(
        self, body: bytes, url: str, content_type: str | None, language: str | None, timeout: float | None = None
    ) -> Extracted | Failure:
        """Extract in-process and signal that this URL was extracted."""
        result = extract(body, url, content_type, language)
        if url == self.gated_url and isinstance(result, Extracted):
            self.gated_lines = result.lines
        self.extracted.setdefault(url, asyncio.Event()).set()
        return result

    async def extract_cut(self, *args: Any, timeout: float | None = None) -> ExtractedCut:
        """Extract in-process and cut the page of its template as a worker does (never gated: the cut at store is).

        `args`: the pool's (body, url, content_type, language, template).
        """
        *page, template = args
        result = await self.extract(*page)
        if isinstance(result, Failure):
            return ExtractedCut(result, frozenset(), None, None)
        keys = frozenset(page_keys(result.lines))
        self.cut_with.append(template)
        return ExtractedCut(result, keys, article_text(result, template), template & keys)

    async def article(
        self, extracted: Extracted, template: frozenset[str], timeout: float | None = None
    ) -> ArticleText | Failure | None:
        """Clean in-process; the gated page's cleaning waits until the test releases it."""
        if extracted.lines == self.gated_lines and not self.release.is_set():
            self.entered.set()
            await self.release.wait()
        return article_text(extracted, template)

    async def page_lines(self, body: bytes, content_type: str | None, timeout: float | None = None) -> tuple[str, ...]:
        """Return a listing page's lines in-process."""
        return tuple(page_lines(body, content_type))


def _item(url: str, body: bytes, recheck: bool = False, listing: bool = False) -> FetchedPage:
    """A page as the spider yields it for an article page (or a listing page)."""
    if listing:
        return FetchedPage(url, url, "small", 200, body, content_type="text/html", listing=True)
    return FetchedPage(url, url, "small", 200, body, content_type="text/html; charset=utf-8", recheck=recheck)


def _pipeline(archive: Archive, pool: Any, warc: WarcStore, known: frozenset[str], tmp_path: Path) -> ArchivePipeline:
    """The archive pipeline of one spider of one run, its pool given, without Scrapy."""
    context = CrawlContext(archive, pool, RunTally(), warc)
    text = "[source.small]\nstart_urls = ['http://127.0.0.65/news/']\narticles = ['/a/']\n"
    source = load_sources(write_sources(tmp_path / "small.toml", text))["small"]
    return ArchivePipeline(context, source, known)


def test_a_page_cleaned_while_its_site_learns_a_template_line_keeps_its_edit_and_loses_the_line(tmp_path: Path) -> None:
    # the bad order, forced: a re-checked (edited) readout is being cleaned with the template as it was when a new
    # readout teaches the share line and the site's archived pages are cleaned again; the edited readout, stored
    # after that, must not keep the share line (nor, crawled again, be reported changed by the cleaning)
    url = lambda n: f"http://127.0.0.65/a/{n}.html"  # noqa: E731
    listing = "http://127.0.0.65/news/"

    async def main(archive: Archive, warc: WarcStore) -> RunTally:
        """Crawl twice: the second time, the edited readout's cleaning waits until the share line is learned."""
        pool = _GatedPool(url(1))
        pool.release.set()
        first = _pipeline(archive, pool, warc, frozenset(), tmp_path)
        await first.process_item(_item(listing, _listing([0, 1], True), listing=True))
        for n in (0, 1):
            await first.process_item(_item(url(n), _article(n, True)))
        await first.close_spider()
        pool.release.clear()
        pipeline = _pipeline(archive, pool, warc, frozenset({url(0), url(1)}), tmp_path)
        edited = asyncio.create_task(pipeline.process_item(_item(url(1), _article(1, True, edited=True), True)))
        await pool.entered.wait()  # the edited readout is being cleaned, with the share line not yet template
        taught = asyncio.create_task(pipeline.process_item(_item(url(2), _article(2, True))))
        await pool.extracted.setdefault(url(2), asyncio.Event()).wait()  # it has gone as far as it may go alone
        pool.release.set()
        await asyncio.gather(edited, taught)
        await pipeline.close_spider()
        return pipeline.tally

    archive, warc = Archive(tmp_path / "a.db"), store_for(tmp_path / "a.db")
    text_of = lambda n: archive.db.execute(  # noqa: E731
        "select d.text from pages p join documents d on d.id = p.document_id where p.url = ?", [url(n)]
    ).fetchone()[0]
    second = asyncio.run(main(archive, warc))
    warc.close()
    assert (second.changed, second.new_documents) == (1, 1)
    for n in range(3):
        assert not text_of(n).endswith(SHARE), n
    # the edit is kept: the re-cleaning did not put the text of the readout's earlier capture over it
    assert EDIT[1] in text_of(1) and EDIT[0] not in text_of(1)
    assert text_of(1).splitlines()[0] == FILLERS[1].body[0]
    kinds = archive.db.execute("select url, kind from events where kind = 'changed'").fetchall()
    assert kinds == [(url(1), "changed")]
    archive.close()


def test_pages_are_held_until_the_site_has_enough_counted_pages_and_a_warm_site_is_not_counted_again(
    tmp_path: Path,
) -> None:
    # a new site's first pages wait for the warm-up; a known page (a re-check) is not counted, so a site whose
    # counted pages stay under the warm-up keeps holding; a site past it never holds again
    url = lambda n: f"http://127.0.0.65/a/{n}.html"  # noqa: E731
    held = lambda p: [page.url for page in p.holding()]  # noqa: E731

    async def main(archive: Archive, warc: WarcStore) -> list[list[str]]:
        """Feed pages one at a time; note what is held after each."""
        pool = _GatedPool("")
        pool.release.set()
        seen = []
        first = _pipeline(archive, pool, warc, frozenset(), tmp_path)
        await first.process_item(_item(url(0), _article(0, True)))
        await first.close_spider()  # one page counted
        known = _pipeline(archive, pool, warc, frozenset(url(n) for n in range(1, 5)), tmp_path)
        for n in range(1, 5):  # four known pages: 1 counted + 3 held reach the warm-up, and none is counted
            await known.process_item(_item(url(n), _article(n, True)))
            seen.append(held(known))
        await known.close_spider()
        fresh = _pipeline(archive, pool, warc, frozenset(), tmp_path)
        for n in range(5, 10):  # new pages: 1 counted + 3 held, then past the warm-up, each at once
            await fresh.process_item(_item(url(n), _article(n % len(FILLERS), True)))
            seen.append(held(fresh))
        return seen

    archive, warc = Archive(tmp_path / "a.db"), store_for(tmp_path / "a.db")
    seen = asyncio.run(main(archive, warc))
    warc.close()
    assert seen[:4] == [[url(1)], [url(1), url(2)], [], [url(4)]]
    assert seen[4:] == [[url(5)], [url(5), url(6)], [], [], []]
    assert archive.site_page_count("127.0.0.65") == 6  # page 0 and the five new ones, the known ones not
    archive.close()


class _SyncSpy(WarcStore):
    """A WARC store that notes, for every page the archive records, whether its capture was on disk by then."""

    unsynced_at_record: list[bool]

    def watch(self, archive: Archive) -> None:
        """Note the store's state each time the archive records a page."""
        self.unsynced_at_record = []
        record = archive.record

        def noted(page: PageRecord) -> tuple[str, bool]:
            self.unsynced_at_record.append(self._unsynced)
            return record(page)

        archive.record = noted  # type: ignore[method-assign]


def test_each_capture_is_on_disk_before_the_archive_refers_to_it_and_pages_are_stored_in_order(tmp_path: Path) -> None:
    # captures are written without an fsync each and put on disk by one fsync for all written before it: the page's
    # row must still never point at a record that is not on disk yet
    url = lambda n: f"http://127.0.0.65/a/{n}.html"  # noqa: E731
    archive = Archive(tmp_path / "a.db")
    warc = _SyncSpy(tmp_path / "a.db.warc", archive="a.db")
    warc.watch(archive)

    async def main() -> None:
        """Six pages of one site, side by side, as Scrapy hands them over."""
        pool = _GatedPool("")
        pool.release.set()
        pipeline = _pipeline(archive, pool, warc, frozenset(), tmp_path)
        await asyncio.gather(*(pipeline.process_item(_item(url(n), _article(n, True))) for n in range(6)))
        await pipeline.close_spider()

    asyncio.run(main())
    warc.close()
    assert warc.unsynced_at_record == [False] * 6
    assert archive.db.execute("select count(*) from captures").fetchone()[0] == 6
    # a batch is cleaned side by side and stored in the order its pages came
    assert [row[0] for row in archive.db.execute("select url from pages order by id")] == [url(n) for n in range(6)]
    archive.close()


def test_a_page_is_cut_of_its_sites_template_where_it_is_extracted_and_cut_again_only_when_it_changed(
    tmp_path: Path,
) -> None:
    # the worker that extracts a page cuts it of the template the site's last flush knew; the cut is stored when the
    # template at the page's own flush removes the same lines, else the page is cut again
    url = lambda n: f"http://127.0.0.65/a/{n}.html"  # noqa: E731
    archive, warc = Archive(tmp_path / "a.db"), store_for(tmp_path / "a.db")
    pool = _GatedPool("")
    pool.release.set()
    pipeline = _pipeline(archive, pool, warc, frozenset(), tmp_path)

    async def main() -> None:
        """Seven new pages of one site, one after another."""
        for n in range(7):
            await pipeline.process_item(_item(url(n), _article(n, True)))
        await pipeline.close_spider()

    asyncio.run(main())
    warc.close()
    # the warm-up's four pages were cut of nothing and cut again at their flush; the next three kept their cut
    assert [bool(t) for t in pool.cut_with] == [False] * 4 + [True] * 3
    assert pipeline.cuts == {"recut": 4, "kept": 3}
    stored = "select d.text from pages p join documents d on d.id = p.document_id"
    texts = [row[0] for row in archive.db.execute(stored)]
    assert len(texts) == 7 and not any(MENU in t or SHARE in t for t in texts)
    archive.close()
