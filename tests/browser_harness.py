"""Drive the real app in a real browser: start ``streamlit run app.py``, open it in Chromium, compose.

Shared by ``tests/test_browser.py`` and ``benchmarks/bench_app.py``. The browser is
Debian's ``/usr/bin/chromium`` driven by Python playwright (never a downloaded
browser); the server is a child process on 127.0.0.1 and a free port, stopped on exit.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_TIMEOUT_S = 90  # a cold start on the shared 2-core machine imports music21 and numpy


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_app(
    env: dict[str, str] | None = None, options: Sequence[str] = ()
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run the app headless on a free local port; yield (its URL, the server process); stop it after.

    ``options``: more ``streamlit run`` options, e.g. ``["--server.disconnectedSessionTTL", "2"]``.
    """
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(REPO_ROOT / "app.py"),
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        *options,
    ]
    log = open(os.devnull, "wb")
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env={**os.environ, **(env or {})}, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode} before serving {url}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"streamlit did not answer at {url} within {START_TIMEOUT_S} s")


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def launch_chromium(playwright):  # type: ignore[no-untyped-def]
    """Debian's Chromium, headless, with nothing that phones home."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def wait_for_app(page, timeout_ms: int = 90_000) -> None:  # type: ignore[no-untyped-def]
    """Wait until the page has run its script once: the Compose button is there and nothing is running."""
    page.get_by_role("button", name="Compose").wait_for(timeout=timeout_ms)
    wait_idle(page, timeout_ms)


def wait_idle(page, timeout_ms: int = 90_000) -> None:  # type: ignore[no-untyped-def]
    """Wait until the script has finished its run (Streamlit's status widget says 'running' meanwhile)."""
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)


def audio_duration(page) -> float:  # type: ignore[no-untyped-def]
    """The playable duration (s) of the page's first audio element; 0 while it has no metadata."""
    return float(
        page.evaluate(
            "() => { const a = document.querySelector('audio');"
            " return a && a.readyState >= 1 && isFinite(a.duration) ? a.duration : 0; }"
        )
    )
