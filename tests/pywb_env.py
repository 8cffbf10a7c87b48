"""pywb, the replay server the WARC tests replay captures with, in a venv of its own.

pywb 2.10 pins brotlipy (which installs a module named `brotli` over Brotli 1.2, whose bounded decompression Scrapy
needs), werkzeug and an old redis client, so it cannot share the project's venv. The venv is made once from the
package registry and reused: `python -m tests.pywb_env DIR` makes it ahead of the tests (`.ci/run` does).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PYWB = "pywb==2.10.0"
DEFAULT_DIR = Path(__file__).resolve().parent.parent / ".pytest_cache" / "pywb-venv"


def ensure(venv: Path = DEFAULT_DIR) -> Path:
    """Create the venv with pywb at `venv` unless it is there already; return its bin folder."""
    marker = venv / f".installed-{PYWB}"
    if not marker.exists():
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, env=env, timeout=300)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", PYWB]
        subprocess.run(pip, check=True, env=env, timeout=900)
        marker.touch()
    return venv / "bin"


if __name__ == "__main__":
    print(ensure(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR))
