"""Progress of a crawl on a terminal (rich): a line for the run and one per source, silent elsewhere."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID

    from spiders.pipeline import RunTally


class Progress:
    """A live display: the run's counts, then each source's pages fetched (done sources marked)."""

    def __init__(self, enabled: bool, console: Console | None = None) -> None:
        """Prepare the display; it shows only when enabled (stderr is a terminal)."""
        self.enabled = enabled
        if not enabled:  # rich is loaded only to be shown: a crawl run by a script or the scheduler never pays for it
            return
        from rich.console import Console
        from rich.progress import Progress as RichProgress
        from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress = RichProgress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            transient=True,
        )
        self._task = self._progress.add_task("crawling…", total=None)
        self._sources: dict[str, TaskID] = {}

    def __enter__(self) -> Progress:
        """Start the display."""
        if self.enabled:
            self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        """Stop the display."""
        if self.enabled:
            self._progress.stop()

    def update(self, tally: RunTally, source: str, responses: int, finished: bool) -> None:
        """Show the run's counts and one source's."""
        if not self.enabled:
            return
        self._progress.update(
            self._task,
            description=f"{tally.pages_fetched} article pages fetched, {tally.new_documents} new documents, "
            f"{tally.duplicates} duplicates, {tally.failed} failed",
        )
        if source not in self._sources:
            self._sources[source] = self._progress.add_task(source, total=None)
        state = "done" if finished else "crawling"
        self._progress.update(self._sources[source], description=f"  {source}: {responses} pages, {state}")
        if finished:
            self._progress.stop_task(self._sources[source])

    def lines(self) -> list[str]:
        """Return the current descriptions (the run's line first); none when not shown."""
        return [task.description for task in self._progress.tasks] if self.enabled else []
