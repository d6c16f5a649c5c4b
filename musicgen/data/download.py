"""Download the Nottingham Music Database (cleaned ABC) and verify every file.

    musicgen data download DIR [--base-url URL] [--timeout SECONDS]    (the command: musicgen.cli.data)

The 14 ``ABC_cleaned/*.abc`` files of the public ``jukedeck/nottingham-dataset``
repository are fetched over HTTPS and checked against the sha256 sums below.
Nothing is half-written: every file goes into a temporary folder beside DIR and
is moved into DIR only when all of them have arrived whole and verified; on any
failure the temporary folder is removed and DIR is left as it was. Files already
in DIR with the right checksum are kept and not fetched again.

The data is released under the GNU GPLv3 (as its repository states).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import io
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

BASE_URL = "https://raw.githubusercontent.com/jukedeck/nottingham-dataset/master/ABC_cleaned/"
# sha256 of ABC_cleaned/* at commit 0992bb6cd864f6d4b90d6663e08c0ef53ffaa08f (unchanged since bcb2afc).
CHECKSUMS: dict[str, str] = {
    "ashover.abc": "6586eea8dca53866b42721050d11fc1408bdb2cf31a902b41c5c13504139b164",
    "hpps.abc": "6d035c6972ac0c204ba79d8128e2d71978ece2214a29ffceeb3e053e27f17db5",
    "jigs.abc": "5bb6f621e443bde552540810e3ea53e53531fd22258736e338d795e7a5bdcaf5",
    "morris.abc": "cbf60b212c87748dea226c76b72a15db5b4f606bb35a580763e9cd8f7294e7da",
    "playford.abc": "070877bc37176e0dedbcd038268d6669399201cd7b58d88b4ab36127528f9c76",
    "reelsa-c.abc": "f92ed0e66024e0a5bb7d21fe3172cd50c3fb4cb7f642b4ec7cd5aa8ad0396da8",
    "reelsd-g.abc": "33f535569116ec8cfb530c112f4cdc3bfb7fc042c271e0317cf6458bad30dfae",
    "reelsh-l.abc": "cb701d4ffe6839cb7a5655bc21785ecb71a72ab63d8560f7be3856f6aedaf7e5",
    "reelsm-q.abc": "a99f2967cf47460bba70bae40cd355a220b537a87180131c6d9433750bc446a1",
    "reelsr-t.abc": "f80a2c0f37a49b9b0c748e922924d59c40d82758abc5b0f7fc9245d7fd563be0",
    "reelsu-z.abc": "d104d7d1bb83eb1ca18f6b944dc22cf9f7bfe5f955d07cd573615985f69c2c1f",
    "slip.abc": "da686b3a0de20aab38e64f8c8ec57edace980bab6450a6c388d79a2866e5b16a",
    "waltzes.abc": "ffa773d012756be17784ab4a84e0e4618f316be5c6f244f9d60c06b23cd812c6",
    "xmas.abc": "05ebc4b856c8c5186bb828641e8f88f723c109d47ba7e3f1e5048b536e091249",
}
MAX_FILE_BYTES = 2_000_000  # the biggest file (jigs.abc) is ~120 KB: anything far larger is not it
TIMEOUT_S = 30.0  # per network wait (connect, each read); a whole file also gets 4x this at most
MAX_TIMEOUT_S = 3600.0  # an hour per wait: beyond it the server is gone (and sockets refuse huge timeouts)
CHUNK = 16 * 1024  # at most one socket read's worth: the deadline is checked between reads


class DownloadError(RuntimeError):
    """A file could not be fetched whole or did not match its checksum."""


class _Late(TimeoutError):
    """The whole-file deadline passed (raised by a socket read, or between reads)."""


def sha256(data: bytes) -> str:
    """Hex sha256 of ``data``.

    >>> sha256(b"")
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    """
    return hashlib.sha256(data).hexdigest()


def check_timeout(timeout: float) -> float:
    """``timeout`` if it is a usable number of seconds per network wait, else DownloadError saying so.

    >>> check_timeout(0.5)
    0.5
    >>> check_timeout(float("inf"))
    Traceback (most recent call last):
    ...
    musicgen.data.download.DownloadError: --timeout must be a number of seconds above 0 and at most 3600 (got inf)
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= MAX_TIMEOUT_S:
        raise DownloadError(
            f"--timeout must be a number of seconds above 0 and at most {MAX_TIMEOUT_S:g} (got {timeout!r})"
        )
    return float(timeout)


class _DeadlineSocket:
    """A connected socket whose every read waits at most min(time left to the deadline, ``per_read``).

    http.client reads a response (status line, headers, body) through ``makefile``, and so
    through :meth:`recv_into`: a server trickling bytes cannot hold any phase past the deadline.
    """

    def __init__(self, sock: socket.socket, deadline: float, per_read: float) -> None:
        self._sock, self._deadline, self._per_read = sock, deadline, per_read
        self._files, self._closed = 0, False

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise _Late()
        self._sock.settimeout(min(left, self._per_read))
        try:
            return self._sock.recv_into(buffer, nbytes, flags)
        except TimeoutError as e:
            if time.monotonic() >= self._deadline:
                raise _Late() from e
            raise

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        self._files += 1
        return io.BufferedReader(socket.SocketIO(self, "rb"))  # type: ignore[arg-type]

    def _decref_socketios(self) -> None:  # socket.SocketIO calls this on close, as socket.socket's own does
        self._files -= 1
        if self._closed and not self._files:
            self._sock.close()

    def close(self) -> None:  # urllib closes the connection's socket while the response still reads from it
        self._closed = True
        if not self._files:
            self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _opener(deadline: float, per_read: float) -> urllib.request.OpenerDirector:
    """A urllib opener whose connections (redirects included) answer by ``deadline`` or raise :class:`_Late`."""

    def connection(base: type[http.client.HTTPConnection]) -> type[http.client.HTTPConnection]:
        class Connection(base):  # type: ignore[misc,valid-type]
            def connect(self) -> None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise _Late()
                self.timeout = min(left, per_read)  # the connection and a TLS handshake too
                super().connect()
                self.sock = _DeadlineSocket(self.sock, deadline, per_read)

        return Connection

    plain, tls = connection(http.client.HTTPConnection), connection(http.client.HTTPSConnection)

    class Handler(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(plain, req)

    class TLSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(tls, req, context=self._context)  # type: ignore[attr-defined]

    return urllib.request.build_opener(Handler, TLSHandler)


def fetch(url: str, timeout: float = TIMEOUT_S, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """GET ``url`` and return the whole body, or raise :class:`DownloadError` saying why not.

    Bounded three ways: ``timeout`` per socket operation, a wall-clock deadline of
    ``4 * timeout`` for the whole exchange (connection, headers and body: every read waits
    at most until then, so a server trickling bytes cannot hold us), and ``max_bytes``.
    A body shorter than the Content-Length the server announced is an error.
    """
    timeout = check_timeout(timeout)
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise DownloadError(f"{url}: only http:// and https:// addresses are supported")
    deadline = time.monotonic() + 4 * timeout
    try:
        with _opener(deadline, timeout).open(url, timeout=timeout) as response:
            announced = response.headers.get("Content-Length")
            expected = int(announced) if announced and announced.isdigit() else None
            if expected is not None and expected > max_bytes:
                raise DownloadError(
                    f"{url}: the server offers {expected:,} bytes, more than the {max_bytes:,} expected"
                )
            parts: list[bytes] = []
            size = 0
            while chunk := response.read1(CHUNK):  # what one socket read brings: no waiting for a full chunk
                size += len(chunk)
                if size > max_bytes:
                    raise DownloadError(f"{url}: more than {max_bytes:,} bytes; this is not the expected file")
                if time.monotonic() > deadline:
                    raise _Late()
                parts.append(chunk)
    except urllib.error.HTTPError as e:
        reason = " ".join(str(e.reason).split())  # urllib's redirect-loop reason spans lines: keep it one
        raise DownloadError(f"{url}: the server answered HTTP {e.code} {reason}; check --base-url") from e
    except urllib.error.URLError as e:
        if isinstance(e.reason, _Late):
            raise DownloadError(f"{url}: not finished after {4 * timeout:g} s (too slow); try again later") from e
        raise DownloadError(f"{url}: cannot connect ({e.reason}); check the network and try again") from e
    except _Late as e:
        raise DownloadError(f"{url}: not finished after {4 * timeout:g} s (too slow); try again later") from e
    except TimeoutError as e:
        raise DownloadError(f"{url}: no answer within {timeout:g} s; try again later") from e
    except (http.client.HTTPException, ConnectionError) as e:
        raise DownloadError(f"{url}: the connection broke ({type(e).__name__}); try again") from e
    if expected is not None and size != expected:
        raise DownloadError(f"{url}: the connection closed after {size:,} of {expected:,} bytes; try again")
    return b"".join(parts)


def download(
    directory: str | Path,
    base_url: str = BASE_URL,
    checksums: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT_S,
    log: Callable[[str], None] = print,
) -> list[Path]:
    """Fetch every file named in ``checksums`` from ``base_url`` into ``directory``, all or nothing.

    ``checksums`` maps file names to sha256 hex digests (default :data:`CHECKSUMS`,
    the upstream files); tests pass those of a local copy they serve.

    Returns the paths of the files in ``directory``. Raises :class:`DownloadError`
    (and leaves ``directory`` unchanged) if any file fails to arrive or to verify.
    The temporary folder is removed on every way out, SIGTERM included (which then
    ends the process with status 143); one left by a process killed outright is
    removed by the next download into the same folder.
    """
    directory = Path(directory)
    checksums = CHECKSUMS if checksums is None else checksums
    timeout = check_timeout(timeout)
    if directory.exists() and not directory.is_dir():
        raise DownloadError(f"{directory} exists and is not a folder: give a folder to download into")
    base = base_url if base_url.endswith("/") else base_url + "/"
    parent = directory.resolve().parent  # resolve: "." must get its temporary folder beside it, not in it
    parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{directory.resolve().name}.download-"
    _remove_stale(parent, prefix)
    with _terminate_as_exit():
        tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent))
        try:
            for i, (name, digest) in enumerate(sorted(checksums.items()), 1):
                step = f"[{i}/{len(checksums)}] {name}"
                existing = directory / name
                fits = existing.is_file() and existing.stat().st_size <= MAX_FILE_BYTES
                if fits and sha256(existing.read_bytes()) == digest:
                    log(f"{step}: already present and verified")
                    continue
                data = fetch(base + urllib.parse.quote(name), timeout)
                if sha256(data) != digest:
                    raise DownloadError(
                        f"{name}: checksum mismatch (got sha256 {sha256(data)[:12]}..., expected {digest[:12]}...); "
                        "the file is corrupt or changed upstream: nothing was written, try again"
                    )
                (tmp / name).write_bytes(data)
                log(f"{step}: {len(data):,} bytes, sha256 verified")
            _move_into_place(tmp, directory)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return [directory / name for name in sorted(checksums)]


@contextlib.contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """While inside, SIGTERM raises SystemExit(143), so ``finally`` blocks run (and remove the temporary
    folder) before the process ends. Only where Python may set handlers (the main thread) and only over
    the default action: a handler of the program's own, or SIG_IGN, is left alone."""
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def stop(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the clean-up short
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _remove_stale(parent: Path, prefix: str) -> None:
    """Remove temporary folders that killed downloads left in ``parent``: named ``<prefix><pid>-...``
    for a process no longer running (or, from older versions, without a pid)."""
    for old in parent.glob(f"{prefix}*"):
        pid = old.name[len(prefix) :].split("-", 1)[0]
        if old.is_dir() and not (pid.isdigit() and _running(int(pid))):
            shutil.rmtree(old, ignore_errors=True)


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of this process downloading into the same folder
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process: not ours to judge
    return True


def _move_into_place(tmp: Path, directory: Path) -> None:
    """Move the verified files of ``tmp`` into ``directory`` (a rename each: never half a file)."""
    if not directory.exists():
        tmp.chmod(0o755)  # mkdtemp makes it private; the data folder is ordinary
        tmp.rename(directory)
        return
    for f in sorted(tmp.iterdir()):
        os.replace(f, directory / f.name)
