"""Why a crawl's requests failed, in words a user can act on: errors grouped by cause."""

from __future__ import annotations

from collections.abc import Iterable

UNRESOLVED = "could not be resolved: check the network or a proxy"
REFUSED = "refused the connection: the site may be down, or a firewall blocks it"
TIMED_OUT = "did not answer in time: the site or the network is slow"
UNREACHABLE = "could not be reached: check the network or a proxy"
HTTP_ERROR = "answered with HTTP errors"
NO_LISTING = "had no listing page, feed or sitemap that could be read"
EXTRACTION = "could not be extracted in time (see the log)"
OTHER = "failed for other reasons (see the log)"

# (words in an error message, the cause); the first match wins
_RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("extraction timed out",), EXTRACTION),
    (("DNSLookupError", "CannotResolveHost", "DNS lookup failed", "gaierror"), UNRESOLVED),
    (("ConnectionRefused", "Connection was refused"), REFUSED),
    (("TimeoutError", "TCPTimedOut", "took longer than", "timed out"), TIMED_OUT),
    (("NoRouteError", "ConnectError", "ConnectionLost", "ResponseNeverReceived", "OutboundBlocked"), UNREACHABLE),
    (("HTTP ", "Ignoring non-200"), HTTP_ERROR),
    (("no listing page, feed or sitemap",), NO_LISTING),
)
NETWORK = frozenset({UNRESOLVED, REFUSED, TIMED_OUT, UNREACHABLE})


def cause_of(error: str) -> str:
    """Return the cause of one error message (one of this module's constants)."""
    for words, cause in _RULES:
        if any(word in error for word in words):
            return cause
    return OTHER


def source_cause(errors: Iterable[str]) -> str:
    """Return the cause that best explains a source's errors: the first one that is not the generic "no listing"."""
    causes = [cause_of(e) for e in errors]
    specific = [c for c in causes if c != NO_LISTING]
    return specific[0] if specific else causes[0] if causes else OTHER
