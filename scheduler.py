"""Background crawling on a schedule (APScheduler). Not yet built: see issue 4."""

from __future__ import annotations

import sys


def main() -> int:
    """Explain that the scheduler is not built yet."""
    print("scheduler.py: scheduled crawling is not implemented yet (issue 4); use `readouts crawl`.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
