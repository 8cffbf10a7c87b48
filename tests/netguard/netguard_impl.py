"""Block outbound network access: only loopback addresses (127.0.0.0/8, ::1) and Unix sockets may be reached."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


class OutboundBlocked(OSError):
    """Raised when code under test tries to reach a non-loopback address."""


def _is_loopback(host: Any) -> bool:
    """Return True for loopback hosts."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _check(sock: socket.socket, address: Any) -> None:
    """Raise OutboundBlocked unless the address is loopback or a Unix socket."""
    if sock.family == socket.AF_UNIX:
        return
    host = address[0] if isinstance(address, tuple) else address
    if not _is_loopback(host):
        raise OutboundBlocked(f"tests may not reach {address!r}: only loopback is allowed")


def _connect(self: socket.socket, address: Any) -> None:
    _check(self, address)
    _real_connect(self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    _check(self, address)
    return _real_connect_ex(self, address)


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if host is not None and not _is_loopback(host if not isinstance(host, bytes) else host.decode()):
        raise socket.gaierror(socket.EAI_NONAME, f"tests may not resolve {host!r}: only loopback is allowed")
    return _real_getaddrinfo(host, *args, **kwargs)


def install() -> None:
    """Patch the socket module so only loopback can be reached."""
    socket.socket.connect = _connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _getaddrinfo
