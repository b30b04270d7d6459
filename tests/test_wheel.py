"""The wheel is an install of its own: built from the checkout, installed into a fresh
virtualenv outside it, it migrates its database, starts with `quickstart --no-demo` and
serves the login page and its stylesheet from the files it carries."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import sysconfig
import time
import venv
import zipfile
from pathlib import Path

import pytest
import requests

from contentfeed.config import ROOT
from tests.conftest import IN_CI

# Files the service reads at run time, beside the code in the checkout or inside it.
CARRIED = (
    "contentfeed/templates/accounts/login.html",
    "contentfeed/static/css/app.css",
    "contentfeed/migrations/env.py",
    "contentfeed/demo_files/zero-downtime-migrations.pdf",
    "contentfeed/routing/freemail.txt",
    "contentfeed/demo_data.toml",
    "contentfeed/translations/de/LC_MESSAGES/messages.mo",
)


def _run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run one of our own commands to the end; fail with its output when it fails."""
    result = subprocess.run(  # noqa: S603 - fixed commands of this test
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{args}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    return result.stdout.strip()


def _build_wheel(into: Path) -> Path:
    """Build the checkout's wheel (pip fetches the build backend); skip only off CI."""
    try:
        _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", into, ROOT)
    except AssertionError as exc:
        message = f"the wheel cannot be built here: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    (wheel,) = into.glob("contentfeed-*.whl")
    return wheel


def _fresh_venv(where: Path, wheel: Path) -> Path:
    """Make a virtualenv with only the wheel's contentfeed; its dependencies come from ours.

    A .pth line appends our site-packages to its path for the dependencies (a line is only a
    path: the .pth files there, our own editable contentfeed among them, are not run).
    """
    venv.create(where, with_pip=False)
    python = where / "bin" / "python"
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
    (Path(purelib) / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    pip = (sys.executable, "-m", "pip", "--python", python)
    _run(*pip, "install", "-q", "--no-deps", "--no-index", wheel)
    return where / "bin"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for(url: str, process: subprocess.Popen[bytes], seconds: float) -> requests.Response:
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            raise AssertionError(f"quickstart exited with {process.returncode}")
        try:
            return requests.get(url, timeout=2)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_the_installed_wheel_migrates_starts_and_serves_its_pages(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path / "dist")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert not [name for name in CARRIED if name not in names]
    assert not [name for name in names if "__pycache__" in name or name.startswith("tests/")]
    bin_dir = _fresh_venv(tmp_path / "venv", wheel)

    # Away from the checkout: no PYTHONPATH, no settings of ours, a working directory of its own.
    home = tmp_path / "site"
    home.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if key != "PYTHONPATH" and not key.startswith("CONTENTFEED_")
    }
    where = _run(
        bin_dir / "python",
        "-c",
        "import contentfeed; print(contentfeed.__file__)",
        cwd=home,
        env=env,
    )
    assert Path(where).is_relative_to(tmp_path / "venv"), where

    _run(bin_dir / "contentfeed", "db", "upgrade", cwd=home, env=env)
    # An installed wheel keeps its data where it runs: ./instance, not site-packages.
    assert (home / "instance" / "contentfeed.db").is_file()

    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
        [str(bin_dir / "contentfeed"), "quickstart", "--no-demo", "--port", str(port)],
        cwd=home,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        login = _wait_for(f"http://127.0.0.1:{port}/login", process, seconds=30)
        assert login.status_code == 200
        assert 'name="password"' in login.text
        # The compiled German catalogue travels in the wheel and is read.
        german = requests.get(
            f"http://127.0.0.1:{port}/login", headers={"Accept-Language": "de"}, timeout=5
        )
        assert '<html lang="de"' in german.text and "Zum Inhalt springen" in german.text
        stylesheet = requests.get(f"http://127.0.0.1:{port}/static/css/app.css", timeout=5)
        assert stylesheet.status_code == 200
        assert stylesheet.headers["Content-Type"].startswith("text/css")
        assert len(stylesheet.content) > 1000
    finally:
        process.terminate()
        process.wait(timeout=10)
