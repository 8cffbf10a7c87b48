"""One page, one URL: the canonical form every URL is stored and compared in (no Scrapy: `import` and `backfill` use
it without loading a crawler)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

# query parameters that name a visit, not a page: dropped so one page has one URL
_TRACKING = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "jsessionid",
    "phpsessid",
    "sid",
    "sessionid",
    "fbclid",
    "gclid",
    "from",
)
_PATH_SESSION = re.compile(r";(jsessionid|phpsessid|sid|sessionid)=[^/;?]*", re.IGNORECASE)


def canonical_url(url: str) -> str:
    """Return the URL with sorted query, no fragment, no session or tracking parameters (any case, `;jsessionid=`)."""
    parts = urlsplit(url)
    path = _PATH_SESSION.sub("", parts.path)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    return canonicalize_url(urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), "")), keep_fragments=False)


def _is_tracking(name: str) -> bool:
    """Return True for a query parameter that names a visit or a campaign, not a page."""
    name = name.lower()
    return name in _TRACKING or name.startswith("utm_")
