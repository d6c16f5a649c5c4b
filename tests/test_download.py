"""The Nottingham downloader against a local HTTP server on 127.0.0.1 (never the internet).

The server serves a copy of ../shared/data/nottingham/ABC_cleaned made in tmp_path. That copy
differs from upstream (tunes are held back from it), so the tests pass the checksums of the
served copies; one test checks that the built-in list names exactly the files we hold.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from musicgen import cli
from musicgen.data import download
from musicgen.data.download import DownloadError


class Handler(SimpleHTTPRequestHandler):
    """Serves files from the server's folder, misbehaving on request for the names in
    ``server.truncate`` (announces the full Content-Length, sends half, closes) and
    ``server.stall`` (sends nothing until the test ends)."""

    def do_GET(self) -> None:
        name = self.path.rsplit("/", 1)[-1]
        server = self.server
        if name in server.stall:  # type: ignore[attr-defined]
            server.release.wait(10)  # type: ignore[attr-defined]
            return
        if name in server.truncate:  # type: ignore[attr-defined]
            data = Path(self.translate_path(self.path)).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the test output clean


class LocalServer:
    def __init__(self, root: Path) -> None:
        self.folder = root / "ABC_cleaned"
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
        self.httpd.truncate, self.httpd.stall = set(), set()  # type: ignore[attr-defined]
        self.httpd.release = threading.Event()  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/ABC_cleaned/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def checksums(self) -> dict[str, str]:
        return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(self.folder.glob("*.abc"))}


@pytest.fixture
def server(nottingham_dir: Path, tmp_path: Path) -> Iterator[LocalServer]:
    """A thread serving a copy of the cleaned Nottingham files at ``server.url``; stopped at the end."""
    root = tmp_path / "served"
    shutil.copytree(nottingham_dir, root / "ABC_cleaned")
    for f in (root / "ABC_cleaned").iterdir():
        f.chmod(0o644)  # the shared copy is read-only; the corruption test rewrites one file
    srv = LocalServer(root)
    srv.thread.start()
    try:
        yield srv
    finally:
        srv.httpd.release.set()  # type: ignore[attr-defined]
        srv.httpd.shutdown()
        srv.httpd.server_close()
        srv.thread.join(5)


def leftovers(parent: Path) -> list[str]:
    """Temporary download folders left beside the target (there must be none)."""
    return sorted(p.name for p in parent.iterdir() if ".download-" in p.name)


def test_builtin_checksums_name_the_fourteen_cleaned_files(nottingham_dir: Path) -> None:
    assert sorted(download.CHECKSUMS) == sorted(f.name for f in nottingham_dir.glob("*.abc"))
    assert all(len(d) == 64 and int(d, 16) >= 0 for d in download.CHECKSUMS.values())
    assert download.BASE_URL.startswith("https://raw.githubusercontent.com/jukedeck/nottingham-dataset/")


def test_download_fetches_and_verifies_every_file(server: LocalServer, tmp_path: Path) -> None:
    target = tmp_path / "data" / "nottingham"
    lines: list[str] = []
    files = download.download(target, server.url, server.checksums(), timeout=5, log=lines.append)
    assert [f.name for f in files] == sorted(server.checksums())
    for f in files:
        assert f.read_bytes() == (server.folder / f.name).read_bytes()
    assert len(lines) == 14 and all("sha256 verified" in line for line in lines)
    assert leftovers(target.parent) == []


def test_second_download_keeps_verified_files_and_replaces_stale_ones(server: LocalServer, tmp_path: Path) -> None:
    target = tmp_path / "nottingham"
    download.download(target, server.url, server.checksums(), timeout=5, log=lambda s: None)
    (target / "xmas.abc").write_text("stale\n")
    (target / "notes.txt").write_text("mine\n")
    lines: list[str] = []
    download.download(target, server.url, server.checksums(), timeout=5, log=lines.append)
    assert sum("already present" in line for line in lines) == 13
    assert (target / "xmas.abc").read_bytes() == (server.folder / "xmas.abc").read_bytes()
    assert (target / "notes.txt").read_text() == "mine\n"  # files of the user's own are left alone


def test_corrupt_file_is_refused_and_nothing_is_written(server: LocalServer, tmp_path: Path) -> None:
    sums = server.checksums()
    jigs = server.folder / "jigs.abc"
    jigs.write_bytes(jigs.read_bytes().replace(b"K:G", b"K:A", 1))  # one changed character
    target = tmp_path / "nottingham"
    with pytest.raises(DownloadError, match=r"^jigs\.abc: checksum mismatch .*nothing was written"):
        download.download(target, server.url, sums, timeout=5, log=lambda s: None)
    assert not target.exists()
    assert leftovers(tmp_path) == []


def test_server_dying_mid_download_leaves_the_folder_as_it_was(server: LocalServer, tmp_path: Path) -> None:
    target = tmp_path / "nottingham"
    target.mkdir()
    (target / "keep.txt").write_text("already here\n")
    server.httpd.truncate.add("reelsm-q.abc")  # type: ignore[attr-defined]  # after several good files
    with pytest.raises(DownloadError, match=r"reelsm-q\.abc: the connection closed after [\d,]+ of [\d,]+ bytes"):
        download.download(target, server.url, server.checksums(), timeout=5, log=lambda s: None)
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]
    assert leftovers(tmp_path) == []


def test_missing_file_http_404_is_a_clear_error(server: LocalServer, tmp_path: Path) -> None:
    sums = dict(server.checksums(), **{"missing.abc": "0" * 64})
    target = tmp_path / "nottingham"
    with pytest.raises(DownloadError, match=r"missing\.abc: the server answered HTTP 404 .*check --base-url"):
        download.download(target, server.url, sums, timeout=5, log=lambda s: None)
    assert not target.exists()
    assert leftovers(tmp_path) == []


def test_silent_server_times_out(server: LocalServer, tmp_path: Path) -> None:
    server.httpd.stall.add("ashover.abc")  # type: ignore[attr-defined]
    with pytest.raises(DownloadError, match=r"ashover\.abc: (no answer within|cannot connect)"):
        download.download(tmp_path / "n", server.url, server.checksums(), timeout=0.5, log=lambda s: None)
    assert leftovers(tmp_path) == []


def test_oversized_file_is_refused_before_it_is_read(server: LocalServer) -> None:
    with pytest.raises(DownloadError, match=r"jigs\.abc: the server offers [\d,]+ bytes, more than the 1,000"):
        download.fetch(server.url + "jigs.abc", timeout=5, max_bytes=1000)


def test_only_http_addresses_are_fetched() -> None:
    with pytest.raises(DownloadError, match="only http:// and https://"):
        download.fetch("file:///etc/passwd")


def test_command_line_download_and_error(
    server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(download, "CHECKSUMS", server.checksums())  # the served copies, not upstream's
    target = tmp_path / "cli-data"
    assert cli.main(["data", "download", str(target), "--base-url", server.url, "--timeout", "5"]) == 0
    out = capsys.readouterr().out
    assert "[14/14] xmas.abc" in out and "14 files" in out and "verified in" in out
    assert len(list(target.glob("*.abc"))) == 14

    server.httpd.truncate.add("hpps.abc")  # type: ignore[attr-defined]
    assert cli.main(["data", "download", str(tmp_path / "other"), "--base-url", server.url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "hpps.abc" in err
    assert not (tmp_path / "other").exists()


def test_temporary_folders_of_killed_downloads_are_removed(server: LocalServer, tmp_path: Path) -> None:
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = [tmp_path / f".nottingham.download-{int(ended.stdout)}-k2j3", tmp_path / ".nottingham.download-k2j3"]
    running = tmp_path / f".nottingham.download-{os.getppid()}-x7y8"  # a live process's: maybe downloading now
    other = tmp_path / f".other.download-{int(ended.stdout)}-k2j3"  # another folder's: not this download's business
    for folder in [*stale, running, other]:
        folder.mkdir()
        (folder / "jigs.abc").write_text("half a file\n")
    download.download(tmp_path / "nottingham", server.url, server.checksums(), timeout=5, log=lambda s: None)
    assert leftovers(tmp_path) == sorted([running.name, other.name])
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler of the download is gone again


@pytest.mark.parametrize("timeout", [float("inf"), float("nan"), 0, -1, 1e300, True])
def test_a_timeout_that_is_no_number_of_seconds_is_refused(tmp_path: Path, timeout: float) -> None:
    with pytest.raises(DownloadError, match="--timeout must be a number of seconds above 0"):
        download.download(tmp_path / "n", "http://127.0.0.1:9/", {"a.abc": "0" * 64}, timeout=timeout)
    assert list(tmp_path.iterdir()) == []
