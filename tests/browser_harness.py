"""Drive the real app in a real browser: start ``streamlit run app.py``, open it in Chromium, compose.

Shared by ``tests/test_browser.py`` and ``benchmarks/bench_app.py`` (and ``bench_permalink.py``). The browser is
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
    env: dict[str, str] | None = None, options: Sequence[str] = (), script: Path = REPO_ROOT / "app.py"
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run the app (or another page, ``script``) headless on a free local port, from the repository (its
    .streamlit settings); yield (its URL, the server process); stop it after.

    ``env``: more environment (the shipped weights unless it names others: a ``MUSICGEN_WEIGHTS`` of the
    caller's is not passed on). ``options``: more ``streamlit run`` options, e.g.
    ``["--server.disconnectedSessionTTL", "2"]``.
    """
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
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
    inherited = {k: v for k, v in os.environ.items() if k != "MUSICGEN_WEIGHTS"}
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env={**inherited, **(env or {})}, stdout=log, stderr=log)
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
    """Resident memory of a process and its children (the synthesizer's workers) in MB (Linux /proc)."""
    total = None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total = int(line.split()[1]) / 1024
    if total is None:
        raise RuntimeError(f"no VmRSS for process {pid}")
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            try:
                total += rss_mb(int(child))
            except (OSError, RuntimeError):  # it ended meanwhile
                pass
    return total


def launch_chromium(playwright):  # type: ignore[no-untyped-def]
    """Debian's Chromium, headless, with nothing that phones home."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def wait_for_app(page, timeout_ms: int = 90_000) -> None:  # type: ignore[no-untyped-def]
    """Wait until the page has run its script once: the Compose button is there and nothing is running."""
    page.get_by_role("button", name="Compose").first.wait_for(timeout=timeout_ms)  # a phone has one in the page too
    wait_idle(page, timeout_ms)


def wait_idle(page, timeout_ms: int = 90_000) -> None:  # type: ignore[no-untyped-def]
    """Wait until the script has finished its run (Streamlit's status widget says 'running' meanwhile)."""
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)


SHEET = "iframe[title*='sheet_music']"  # the tune's player and sheet music: one component, one frame
# Whether an <audio> element can be played: it has a sound and knows its length (what a listener needs to press
# play). A JavaScript function expression, spliced into the tests' and the benchmarks' snippets as `PLAYABLE(a)`.
PLAYABLE = "((a) => !!a && !!a.getAttribute('src') && a.readyState >= 1 && isFinite(a.duration) && a.duration > 0)"
# The duration (s) of the tune's player, 0 while it has no sound or no metadata yet.
_DURATION = f"() => {{ const a = document.getElementById('tune'); return {PLAYABLE}(a) ? a.duration : 0; }}"


def sheet_frames(page) -> list:  # type: ignore[no-untyped-def]
    """The frames of the sheet-music component now in the page (a tune's sheet alone comes first, then the player).

    Found through the page's iframe elements: ``page.frames`` may not list a sandboxed frame added after loading.
    """
    frames = [handle.content_frame() for handle in page.locator(SHEET).element_handles()]
    return [f for f in frames if f is not None and not f.is_detached()]


def audio_duration(page) -> float:  # type: ignore[no-untyped-def]
    """The playable duration (s) of the tune's player (in the sheet-music component); 0 while it has no sound."""
    from playwright.sync_api import Error

    for frame in sheet_frames(page):
        try:
            return float(frame.evaluate(_DURATION))
        except Error:  # the frame went while it was asked (the player replaces a sheet alone)
            continue
    return 0.0


def player_frame(page, longer_than_s: float = 0.0, timeout_s: float = 90.0):  # type: ignore[no-untyped-def]
    """The sheet-music frame once its player holds a sound longer than ``longer_than_s``; fails after ``timeout_s``."""
    from playwright.sync_api import Error

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in sheet_frames(page):
            try:
                if float(frame.evaluate(_DURATION)) > longer_than_s:
                    return frame
            except Error:
                continue
        time.sleep(0.2)
    raise TimeoutError(f"the page's player held no sound longer than {longer_than_s} s within {timeout_s} s")
