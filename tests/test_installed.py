"""The installed package: a non-editable `pip install .` into a fresh venv runs from anywhere with its bundled data."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import TESTS

pytestmark = pytest.mark.slow
SOURCE_TREE = TESTS.parent
# what `pip install .` needs: the project's files, not the tests, the benchmarks or a local venv
SHIPPED = ("pyproject.toml", "README.md", "crawler", "spiders", "storage", "scheduler.py")
MEETING_PAGE = """
import asyncio, sys
from crawler.web.serve import build
async def main():
    response = await build(sys.argv[1]).client.get("/-/readouts/meeting/1")
    print(response.status_code, "<html" in response.text.lower(), "readouts-participants" in response.text)
asyncio.run(main())
"""


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding a non-editable install of a copy of the project (dependencies from the running venv)."""
    root = tmp_path_factory.mktemp("installed")
    source = root / "src"
    source.mkdir()
    for name in SHIPPED:
        path = SOURCE_TREE / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)
    env = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=120)
    # the dependencies come from the running venv; its editable readouts is not loaded (a .pth line is only a path)
    (site,) = (env / "lib").glob("python3*/site-packages")
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [sys.executable, "-m", "pip", "--python", str(env / "bin" / "python"), "install", "--no-index", "--no-deps"]
    flags = ["--no-build-isolation", "--ignore-installed", "--no-cache-dir", "--quiet"]
    subprocess.run([*pip, *flags, str(source)], check=True, capture_output=True, timeout=300)
    shutil.rmtree(source)  # the install must not need its source tree
    return env


def run(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a program of the venv in `cwd`, with only the loopback network guard on its path."""
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(cwd), "PYTHONPATH": str(TESTS / "netguard")}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_installed_console_script_crawls_with_its_bundled_data(venv: Path, tmp_path: Path) -> None:
    python = str(venv / "bin" / "python")
    where = run(venv, tmp_path, python, "-c", "import crawler, spiders, storage; print(crawler.__file__)")
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout  # not the source tree
    bundled = run(venv, tmp_path, "readouts", "sources", "--check")  # the bundled sources.toml
    assert bundled.returncode == 0, bundled.stderr
    assert f"{venv}/lib/" in bundled.stdout, bundled.stdout
    assert "/crawler/config/sources.toml: 34 sources" in bundled.stdout, bundled.stdout
    demo = run(venv, tmp_path, "readouts", "demo", "--db", "demo.db")  # seeds, a crawl of loopback, people.toml
    assert demo.returncode == 0, demo.stderr
    assert "11 pages as 7 documents" in demo.stdout and "5 meetings, 1 change caught" in demo.stdout, demo.stdout
    found = run(venv, tmp_path, "readouts", "--db", "demo.db", "meetings", "--participant", "习近平", "--json")
    assert found.returncode == 0 and found.stdout.count('"meeting_id"') == 5, found.stderr
    page = run(venv, tmp_path, python, "-c", MEETING_PAGE, "demo.db")  # the web templates
    assert page.returncode == 0, page.stderr
    assert page.stdout.split() == ["200", "True", "True"], page.stdout
