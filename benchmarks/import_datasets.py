"""Rebuild the extraction benchmarks' data in the Zyte layout from git copies of their public repositories.

Usage: python benchmarks/import_datasets.py READABILITY_GIT_DIR WCXB_GIT_DIR

Each dataset becomes `benchmarks/<name>/html/<key>.html.gz` (the page's bytes as published in the repository)
and `benchmarks/<name>/ground-truth.json` (`{key: {"articleBody": text}}`), which `benchmarks/zyte.py` reads.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import lxml.html

HERE = Path(__file__).parent
READABILITY_COMMIT = "ab4027a8b37669745016869a37a504727992b2ba"
WCXB_COMMIT = "c039d5ee9f5a3a984a0e167e63aacd04e76e78a9"
BLOCKS = {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "br", "tr", "td", "th", "pre", "blockquote",
          "figcaption", "dt", "dd", "section", "article", "table", "ul", "ol"}  # fmt: skip


def git_show(git_dir: str, commit: str, path: str) -> bytes:
    """Return one file's bytes at a commit of a bare repository."""
    return subprocess.run(
        ["git", "--git-dir", git_dir, "show", f"{commit}:{path}"], check=True, capture_output=True
    ).stdout


def git_names(git_dir: str, commit: str, folder: str) -> list[str]:
    """Return the entry names of a folder at a commit, sorted."""
    out = subprocess.run(
        ["git", "--git-dir", git_dir, "ls-tree", "--name-only", f"{commit}:{folder}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return sorted(out.split())


def html_text(fragment: bytes) -> str:
    """Return the text of an HTML fragment with a line break around every block element."""
    tree = lxml.html.fragment_fromstring(fragment.decode("utf-8"), create_parent="div")
    for el in tree.iter():
        if isinstance(el.tag, str) and el.tag in BLOCKS:
            el.text = "\n" + (el.text or "")
            el.tail = "\n" + (el.tail or "")
    return "\n".join(" ".join(line.split()) for line in tree.text_content().splitlines() if line.strip())


def write(name: str, pages: dict[str, tuple[bytes, str]]) -> None:
    """Write one dataset: gzipped pages and the ground-truth file."""
    out = HERE / name / "html"
    out.mkdir(parents=True, exist_ok=True)
    for key, (body, _) in pages.items():
        (out / f"{key}.html.gz").write_bytes(gzip.compress(body, 9, mtime=0))
    truth = {key: {"articleBody": text} for key, (_, text) in pages.items()}
    (HERE / name / "ground-truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1, sort_keys=True))
    print(f"{name}: {len(pages)} pages")


def readability(git_dir: str) -> None:
    """All of mozilla/readability's test pages: source.html, and the text of expected.html as the truth."""
    base = "test/test-pages"
    pages = {
        key: (git_show(git_dir, READABILITY_COMMIT, f"{base}/{key}/source.html"),
              html_text(git_show(git_dir, READABILITY_COMMIT, f"{base}/{key}/expected.html")))
        for key in git_names(git_dir, READABILITY_COMMIT, base)
    }  # fmt: skip
    write("readability-test-pages", pages)


def wcxb(git_dir: str) -> None:
    """Every second article page (by sorted file id) of WCXB's held-out test split that has a main_content."""
    files = json.loads(git_show(git_dir, WCXB_COMMIT, "metadata.json"))["files"]
    ids = sorted(k for k, v in files.items() if v["split"] == "test" and v["page_type"] == "article")
    truths = {k: json.loads(git_show(git_dir, WCXB_COMMIT, f"test/ground-truth/{k}.json")) for k in ids}
    kept = [k for k in ids if truths[k]["ground_truth"].get("main_content")][::2]
    pages = {
        key: (gzip.decompress(git_show(git_dir, WCXB_COMMIT, f"test/html/{key}.html.gz")),
              truths[key]["ground_truth"]["main_content"])
        for key in kept
    }  # fmt: skip
    write("wcxb-articles", pages)


if __name__ == "__main__":
    readability(sys.argv[1])
    wcxb(sys.argv[2])
