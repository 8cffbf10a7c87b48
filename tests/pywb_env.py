"""pywb, the replay server the WARC tests replay captures with, in a venv of its own.

pywb 2.10 pins brotlipy (which installs a module named `brotli` over Brotli 1.2, whose bounded decompression Scrapy
needs), werkzeug and an old redis client, so it cannot share the project's venv. The venv is made once from the
package registry and reused: `python -m tests.pywb_env DIR` makes it ahead of the tests (`.ci/run` does).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.once import built_once

PYWB = "pywb==2.10.0"
DEFAULT_DIR = Path(__file__).resolve().parent.parent / ".pytest_cache" / "pywb-venv"


def ensure(venv: Path = DEFAULT_DIR) -> Path:
    """Create the venv with pywb at `venv` unless it is there already; return its bin folder."""
    built_once(venv, _build, stamp=PYWB)  # pytest-xdist workers may all need it at once: one builds it
    return venv / "bin"


def _build(venv: Path) -> None:
    """Make a fresh venv at `venv` and install pywb into it from the package registry."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, env=env, timeout=300)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", PYWB]
    subprocess.run(pip, check=True, env=env, timeout=900)


@dataclass
class Wayback:
    """A running pywb server on loopback: its process, base URL and everything it has logged."""

    process: subprocess.Popen[str]
    base: str
    log: list[str] = field(default_factory=list)

    def stop(self) -> None:
        """Stop the server and close its log pipe."""
        self.process.terminate()
        self.process.wait(timeout=30)
        if self.process.stderr is not None:
            self.process.stderr.close()


def _free_port() -> int:
    """A loopback port free at this moment."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(home: Path, collection: str, warcs: list[str]) -> Wayback:
    """Start pywb in `home` with `collection` made of `warcs`; return once it accepts connections."""
    bin_dir = ensure()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(home)}
    for args in (("init", collection), ("add", collection, *warcs)):
        done = subprocess.run(
            [str(bin_dir / "wb-manager"), *args], cwd=home, env=env, capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"wb-manager {args[0]} failed: {done.stderr}")
    port = _free_port()
    process = subprocess.Popen(
        [str(bin_dir / "wayback"), "-p", str(port), "-b", "127.0.0.1"],
        cwd=home,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert process.stderr is not None
    server = Wayback(process, f"http://127.0.0.1:{port}")
    for line in process.stderr:  # waits for the line pywb logs just before it listens
        server.log.append(line)
        if f"Starting Gevent Server on {port}" in line:
            break
    else:
        raise RuntimeError(f"pywb exited with {process.wait()} before listening: {''.join(server.log)}")
    threading.Thread(target=lambda: server.log.extend(process.stderr or []), daemon=True).start()  # never a full pipe
    deadline = time.monotonic() + 180
    while True:  # pywb logs that line just before it binds: wait for the socket to accept
        try:
            socket.create_connection(("127.0.0.1", port), timeout=30).close()
            return server
        except ConnectionRefusedError:
            if time.monotonic() > deadline or process.poll() is not None:
                server.stop()
                raise
            time.sleep(0.05)


if __name__ == "__main__":
    print(ensure(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR))
