"""A real redis-server on a free loopback port, started for a test and waited for by its log line, not a sleep."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest

READY = "Ready to accept connections"


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One redis-server process; start() and stop() it (again) on the same port and data folder."""

    def __init__(self, folder: Path) -> None:
        """Choose a port and a data folder."""
        self.folder, self.port = folder, free_port()
        self.proc: subprocess.Popen[str] | None = None
        self.drain: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Return the server's redis:// URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start the server and return once it says it accepts connections."""
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.skip("redis-server is not installed (apt-get install redis-server)")
        args = [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)]
        args += ["--save", "", "--appendonly", "yes", "--appendfsync", "always", "--protected-mode", "no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if READY in line:  # what it logs from now on is read and dropped, so its pipe never fills
                self.drain = threading.Thread(target=self.proc.stdout.read, daemon=True)
                self.drain.start()
                return self
        raise RuntimeError(f"redis-server exited with {self.proc.wait()}")

    def stop(self) -> None:
        """Stop the server (SIGTERM) and wait for it."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        if self.drain:
            self.drain.join(timeout=30)
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()


class ReplyDropper:
    """A loopback proxy to Redis that passes one command matching `marker` on, then cuts the connection before
    its reply: Redis ran the command, the client never heard (as when Redis stops between the two)."""

    def __init__(self, upstream_port: int, marker: bytes) -> None:
        """Listen on a free loopback port; armed for one command containing marker."""
        self.upstream, self.marker, self.dropped = upstream_port, marker, 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        """Return the proxy's redis:// URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self) -> None:
        """Serve each client connection in its own thread until the listener is closed."""
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._pump, args=(client,), daemon=True).start()

    def _pump(self, client: socket.socket) -> None:
        """Relay both ways; after the marked command went up, drop the reply and close both ends."""
        import selectors

        server = socket.create_connection(("127.0.0.1", self.upstream))
        cut = False
        with client, server, selectors.DefaultSelector() as sel:
            sel.register(client, selectors.EVENT_READ, server)
            sel.register(server, selectors.EVENT_READ, client)
            while True:
                for key, _ in sel.select():
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    if key.fileobj is server and cut:
                        self.dropped += 1
                        return  # the reply is lost with the connection
                    if key.fileobj is client and not self.dropped and self.marker in data:
                        cut = True
                    key.data.sendall(data)

    def close(self) -> None:
        """Stop accepting connections."""
        self.listener.close()
