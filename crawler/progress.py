"""Progress of a crawl on a terminal (rich), silent elsewhere."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import Progress as RichProgress
from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

from crawler.pipeline import RunTally


class Progress:
    """A one-line live display of pages fetched and new documents."""

    def __init__(self, enabled: bool) -> None:
        """Prepare the display; it shows only when enabled (stderr is a terminal)."""
        self.enabled = enabled
        self._progress = RichProgress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task = self._progress.add_task("crawling…", total=None)

    def __enter__(self) -> Progress:
        """Start the display."""
        if self.enabled:
            self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        """Stop the display."""
        if self.enabled:
            self._progress.stop()

    def update(self, tally: RunTally) -> None:
        """Show the current counts."""
        if self.enabled:
            self._progress.update(
                self._task,
                description=f"{tally.pages_fetched} pages fetched, {tally.new_documents} new documents, "
                f"{tally.duplicates} duplicates, {tally.failed} failed",
            )
