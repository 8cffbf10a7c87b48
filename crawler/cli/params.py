"""Command-line value types: dates and times checked before they reach a query."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import click

from storage.clock import format_time


class Day(click.ParamType):
    """A calendar date, YYYY-MM-DD, passed on as that string."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        """Return the date as YYYY-MM-DD, or fail with a usage error naming the option."""
        try:
            return date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            self.fail(f"{value!r} is not a date like 2023-03-21", param, ctx)


class Moment(click.ParamType):
    """A date or an ISO 8601 time (UTC unless it says otherwise), passed on in the archive's format."""

    name = "DATETIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        """Return the time as YYYY-MM-DDTHH:MM:SSZ, or fail with a usage error naming the option."""
        text = str(value).strip().replace(" ", "T")
        try:
            when = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            self.fail(f"{value!r} is not a date or time like 2023-03-21 or 2023-03-21T10:00:00Z", param, ctx)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return format_time(when)


DAY = Day()
MOMENT = Moment()
