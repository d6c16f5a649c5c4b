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

import hashlib
import http.client
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

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
TIMEOUT_S = 30.0  # per connection attempt and per read; a whole file also gets 4x this at most
CHUNK = 64 * 1024


class DownloadError(RuntimeError):
    """A file could not be fetched whole or did not match its checksum."""


def sha256(data: bytes) -> str:
    """Hex sha256 of ``data``.

    >>> sha256(b"")
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    """
    return hashlib.sha256(data).hexdigest()


def fetch(url: str, timeout: float = TIMEOUT_S, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """GET ``url`` and return the whole body, or raise :class:`DownloadError` saying why not.

    Bounded three ways: ``timeout`` per socket operation, ``4 * timeout`` for the
    whole body (a server trickling bytes cannot hold us forever), ``max_bytes``.
    A body shorter than the Content-Length the server announced is an error.
    """
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise DownloadError(f"{url}: only http:// and https:// addresses are supported")
    deadline = time.monotonic() + 4 * timeout
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            announced = response.headers.get("Content-Length")
            expected = int(announced) if announced and announced.isdigit() else None
            if expected is not None and expected > max_bytes:
                raise DownloadError(
                    f"{url}: the server offers {expected:,} bytes, more than the {max_bytes:,} expected"
                )
            parts: list[bytes] = []
            size = 0
            while chunk := response.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise DownloadError(f"{url}: more than {max_bytes:,} bytes; this is not the expected file")
                if time.monotonic() > deadline:
                    raise DownloadError(f"{url}: still downloading after {4 * timeout:.0f} s; try again later")
                parts.append(chunk)
    except urllib.error.HTTPError as e:
        raise DownloadError(f"{url}: the server answered HTTP {e.code} {e.reason}; check --base-url") from e
    except urllib.error.URLError as e:
        raise DownloadError(f"{url}: cannot connect ({e.reason}); check the network and try again") from e
    except TimeoutError as e:
        raise DownloadError(f"{url}: no answer within {timeout:.0f} s; try again later") from e
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
    """
    directory = Path(directory)
    checksums = CHECKSUMS if checksums is None else checksums
    if directory.exists() and not directory.is_dir():
        raise DownloadError(f"{directory} exists and is not a folder: give a folder to download into")
    base = base_url if base_url.endswith("/") else base_url + "/"
    parent = directory.resolve().parent  # resolve: "." must get its temporary folder beside it, not in it
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.resolve().name}.download-", dir=parent))
    try:
        for i, (name, digest) in enumerate(sorted(checksums.items()), 1):
            prefix = f"[{i}/{len(checksums)}] {name}"
            existing = directory / name
            fits = existing.is_file() and existing.stat().st_size <= MAX_FILE_BYTES
            if fits and sha256(existing.read_bytes()) == digest:
                log(f"{prefix}: already present and verified")
                continue
            data = fetch(base + urllib.parse.quote(name), timeout)
            if sha256(data) != digest:
                raise DownloadError(
                    f"{name}: checksum mismatch (got sha256 {sha256(data)[:12]}..., expected {digest[:12]}...); "
                    "the file is corrupt or changed upstream: nothing was written, try again"
                )
            (tmp / name).write_bytes(data)
            log(f"{prefix}: {len(data):,} bytes, sha256 verified")
        _move_into_place(tmp, directory)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [directory / name for name in sorted(checksums)]


def _move_into_place(tmp: Path, directory: Path) -> None:
    """Move the verified files of ``tmp`` into ``directory`` (a rename each: never half a file)."""
    if not directory.exists():
        tmp.chmod(0o755)  # mkdtemp makes it private; the data folder is ordinary
        tmp.rename(directory)
        return
    for f in sorted(tmp.iterdir()):
        os.replace(f, directory / f.name)
