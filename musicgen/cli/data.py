"""``musicgen data download DIR``: fetch the Nottingham ABC files and verify every one (see musicgen.data.download).

musicgen data download data/nottingham [--base-url URL] [--timeout SECONDS]
"""

from __future__ import annotations

import argparse

from musicgen.data import download


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    d = sub.add_parser(
        "download",
        help="fetch the Nottingham ABC files and verify their sha256",
        description=(download.__doc__ or "").split("\n")[0],
    )
    d.add_argument("dir", help="folder to put the .abc files in (created if needed)")
    d.add_argument("--base-url", default=download.BASE_URL, help=f"where the files are (default {download.BASE_URL})")
    d.add_argument(
        "--timeout",
        type=float,
        default=download.TIMEOUT_S,
        help=f"seconds per network wait, above 0 and at most {download.MAX_TIMEOUT_S:g} (default "
        f"{download.TIMEOUT_S:.0f}); a whole file gets 4 times this",
    )


def run(args: argparse.Namespace) -> int:
    files = download.download(args.dir, args.base_url, timeout=args.timeout)
    size = sum(f.stat().st_size for f in files)
    print(
        f"{len(files)} files ({size:,} bytes) verified in {args.dir}; "
        f"train with: musicgen train {args.dir} --out weights/mymodel"
    )
    return 0
