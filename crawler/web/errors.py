"""Error pages for `readouts serve`: Datasette's exception handler, minus its rich traceback on every 404.

Datasette 0.65's default handler prints every exception, 404s included, with rich's `print_exception()` outside
an `except:` block; rich 14 refuses that ("Value for 'trace' required…"), so each 404 became a 500 and a long
traceback. This handler answers the same status and page, logs only real failures (500) with their traceback, and
replaces the default one (blocked in `serve.build`).
"""

from __future__ import annotations

import logging
from typing import Any

from datasette import hookimpl
from datasette.utils.asgi import Base400, Request, Response
from datasette.views.base import DatasetteError
from markupsafe import Markup

logger = logging.getLogger(__name__)

DEFAULT_HANDLER = "datasette.handle_exception"


def describe(exception: BaseException) -> tuple[int, str, str | None]:
    """Return the status, the message and the title a visitor sees for an exception."""
    if isinstance(exception, Base400):
        return exception.status, str(exception.args[0]) if exception.args else "Error", None
    if isinstance(exception, DatasetteError):  # raised on purpose for bad parameters ("Cannot sort table by x")
        message = Markup(exception.message) if exception.message_is_html else exception.message
        return min(exception.status, 400), message, exception.title
    return 500, "The server could not answer this page; the error is in its log.", None


@hookimpl
def handle_exception(datasette: Any, request: Request, exception: BaseException) -> Any:
    """Answer an error page (JSON for .json paths) with the exception's status."""

    async def inner() -> Response:
        status, message, title = describe(exception)
        if status >= 500:
            failure = (type(exception), exception, exception.__traceback__)
            logger.error("%s %s failed", request.method, request.path, exc_info=failure)
        info = {"ok": False, "error": message, "status": status, "title": title}
        if request.path.endswith(".json"):
            return Response.json(info, status=status)
        page = await datasette.render_template([f"{status}.html", "error.html"], info, request=request)
        return Response.html(page, status=status)

    return inner
