"""`readouts compare`: one meeting's readouts side by side, shared statements on one row, one-sided ones marked."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from crawler.cli.terminal import printable
from storage.meetings import meeting_with_texts

if TYPE_CHECKING:
    from rich.console import Console

    from crawler.cli.context import Context


def _label(doc: dict[str, Any]) -> str:
    """A column heading for a document: its id, publisher, language and kind."""
    return f"#{doc['document_id']} {doc['publisher'] or '?'} ({doc['language'] or '?'}, {doc['kind'] or '?'})"


def render(record: dict[str, Any], console: Console) -> None:
    """Print a comparison: each pair of readouts side by side, then the named things only one side mentions."""
    from rich.table import Table
    from rich.text import Text

    from crawler.compare.meeting import alignment_of, side_by_side

    docs = {d["document_id"]: d for d in record["documents"]}
    console.print(
        Text(
            printable(
                f"Meeting #{record['meeting_id']}, {record['date'] or 'undated'}, {record['kind']}: "
                f"{', '.join(record['participants'])}"
            ),
            style="bold",
        )
    )
    if record["note"]:
        console.print(Text(f"Note: {record['note']}", style="yellow"))
    for pair in record["pairs"]:
        a, b = docs[pair["a"]], docs[pair["b"]]
        table = Table(show_lines=True, expand=True)
        table.add_column(Text(printable(_label(a))), ratio=1)
        table.add_column("score", justify="right", width=5)
        table.add_column(Text(printable(_label(b))), ratio=1)
        for i, j, score in side_by_side(alignment_of(record, a["document_id"], b["document_id"])):
            left = Text(printable(a["statements"][i])) if i is not None else Text("(not said)", style="dim")
            right = Text(printable(b["statements"][j])) if j is not None else Text("(not said)", style="dim")
            if score is None:
                (left if i is not None else right).stylize("yellow")
            table.add_row(left, f"{score:.0f}" if score is not None else "only", right)
        console.print(table)
    for document_id, kinds in record["entities"]["only"].items():
        for kind, names in kinds.items():
            console.print(Text(printable(f"only in #{document_id} ({kind}): {'; '.join(names)}")))


def register(main: click.Group) -> None:
    """Add the `compare` command to the `readouts` group."""

    @main.command("compare")
    @click.argument("meeting_id", type=click.IntRange(min=1))
    @click.option("--json", "as_json", is_flag=True, help="One JSON object: the comparison.")
    @click.pass_obj
    def compare_cmd(obj: Context, meeting_id: int, as_json: bool) -> None:
        """Compare what each side said of one meeting (MEETING_ID from `readouts meetings`).

        Readouts in one language from different publishers are split into statements and aligned: shared
        statements (with a similarity score, 0-100), statements only one side reports, each side's order. Named
        things (people, countries, organisations, numbers, agreements, quoted phrases, dates) are compared exactly;
        across languages nothing is aligned, and people, countries, numbers and dates are compared.

        JSON: {"meeting_id", "date", "kind", "participants", "documents": [{"document_id", "title", "language",
        "publisher", "kind", "statements"}], "pairs": [{"a", "b"}], "shared": [{"a", "b", "score", "a_document",
        "b_document", "a_index", "b_index"}], "only": {"<document_id>": [statement, ...]}, "entities":
        {"by_document": {...}, "only": {"<document_id>": {kind: [...]}}}, "note"}.
        """
        # loaded here, not with the command line: rapidfuzz and the people table cost every `readouts crawl` 0.1 s
        from crawler.compare.meeting import compare_meeting

        archive = obj.reader()
        meeting = meeting_with_texts(archive.db, meeting_id)
        if meeting is None:
            raise click.ClickException(f"no meeting {meeting_id} in this archive (see `readouts meetings`)")
        record = compare_meeting(meeting)
        if as_json:
            click.echo(json.dumps(record, ensure_ascii=False))
            return
        from rich.console import Console  # here: every other command would load rich for nothing

        render(record, Console(highlight=False, soft_wrap=False))
