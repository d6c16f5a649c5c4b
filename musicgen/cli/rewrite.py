"""``musicgen rewrite``: new music for some bars of a tune, the rest kept byte for byte; one .abc file per candidate.

    musicgen rewrite tune.abc --bars 5-8                    # four candidates for bars 5 to 8, printed
    musicgen rewrite tune.abc --bars 5-8 --n 6 --rng 3 --out new/   # tune.bars5-8.rank1.abc, ... rank6
    musicgen rewrite tune.abc --from-bar 9 --out new/       # the tune from bar 9 on, anew
    musicgen rewrite jigs.abc --tune 12 --bars 1-4          # tune X:12 of a file of many

Bars are counted as a musician counts them: a pick-up is no bar of its own, each ending's bars
count as written, repeats are not unrolled (see :mod:`musicgen.compose.rewrite`). A line for each
candidate goes to standard error with its rank and score (mean nats per character the model gives
the kept bars after the new ones, or the new music itself for --from-bar; lower is likelier). The
same file, bars, options and --rng give the same candidates.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from musicgen.cli import WEIGHTS_HELP
from musicgen.cli import generate as generate_cli
from musicgen.cli.generate import check_out
from musicgen.compose.rewrite import MAX_CHOICES, Rewrite, rewrite
from musicgen.compose.sample import Generator
from musicgen.model.checkpoint import write_atomic

_X_LINE = re.compile(r"(?m)^X:[ \t]*(\S*)")
MAX_FILE_BYTES = 5_000_000  # a file of tunes read at most (the largest Nottingham file is 117 kB)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Rewrite part of a tune: new music for bars N to M (the rest kept as it is, byte for byte), "
        "or for the tune from bar N on. Bars are counted as a musician counts them: a pick-up is no bar."
    )
    p.add_argument("file", type=Path, metavar="FILE", help="an ABC file holding the tune")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--from-bar", type=int, metavar="N", help="keep bars 1 to N-1 and write the rest anew")
    which.add_argument(
        "--bars", metavar="N-M", help="write bars N to M anew (as many bars), keeping the rest; 5 alone is 5-5"
    )
    p.add_argument("--tune", metavar="X", help="which tune of a file holding several: its X: number")
    p.add_argument(
        "--n", type=int, default=4, metavar="N", help=f"how many candidates to offer, best first (1 to {MAX_CHOICES})"
    )
    generate_cli.add_writing_options(p, ("rng", "temperature", "top_k", "top_p", "constrained"))
    p.add_argument(
        "--out",
        metavar="DIR",
        help="folder to write the candidates into, one file each, named for the bars and the rank "
        "(tune.bars5-8.rank1.abc, ...; files of those names are replaced). Default: print them",
    )
    p.add_argument("--weights", metavar="DIR", help=WEIGHTS_HELP)


def bar_range(text: str) -> tuple[int, int]:
    """``"5-8"`` as (5, 8); ``"5"`` as (5, 5).

    >>> bar_range("5-8"), bar_range(" 12 "), bar_range("3 - 4")
    ((5, 8), (12, 12), (3, 4))
    >>> bar_range("5..8")
    Traceback (most recent call last):
    ...
    ValueError: --bars takes a bar or a range of bars such as 5-8, not '5..8'
    """
    m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", text)
    if m is None:
        raise ValueError(f"--bars takes a bar or a range of bars such as 5-8, not {text!r}")
    first = int(m.group(1))
    return first, int(m.group(2) or first)


def read_tune(path: Path, number: str | None) -> str:
    """The one tune of ``path`` (or its tune ``X:number``), as written."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:  # refuse before reading a huge file
            raise ValueError(f"{path}: too large to be a file of tunes (at most {MAX_FILE_BYTES:,} bytes)")
        data = path.read_bytes()
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror or e}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # old ABC files are often Latin-1
    found = list(_X_LINE.finditer(text))
    if number is None:
        if len(found) > 1:
            numbers = ", ".join(m.group(1) for m in found[:8]) + (", ..." if len(found) > 8 else "")
            raise ValueError(f"{path} holds {len(found)} tunes (X: {numbers}): choose one with --tune X")
        return text
    starts = [m.start() for m in found] + [len(text)]
    for m, end in zip(found, starts[1:]):
        if m.group(1) == number.strip():
            return text[m.start() : end].rstrip() + "\n"
    raise ValueError(f"{path} has no tune X:{number}; its tunes are X: {', '.join(m.group(1) for m in found)}")


def names(path: Path, found: Rewrite) -> list[str]:
    """The candidates' file names: the tune's file name, the bars, the rank.

    >>> from musicgen.compose.rewrite import Rewrite
    >>> names(Path("a/jig.abc"), Rewrite((None, None), 5, 8, 4, 8, None))  # type: ignore[arg-type]
    ['jig.bars5-8.rank1.abc', 'jig.bars5-8.rank2.abc']
    """
    what = f"bars{found.first}-{found.last}" if found.last is not None else f"from{found.first}"
    return [f"{path.stem}.{what}.rank{rank}.abc" for rank in range(1, len(found.candidates) + 1)]


def run(args: argparse.Namespace) -> int:
    first, last = bar_range(args.bars) if args.bars is not None else (args.from_bar, None)
    out = check_out(args.out)
    tune = read_tune(args.file, args.tune)
    found = rewrite(
        Generator.load(args.weights),
        tune,
        first,
        last,
        n=args.n,
        rng=args.rng,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        constrained=args.constrained,
    )
    scored = "the kept bars after it" if last is not None else "its new music"
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    for name, c in zip(names(args.file, found), found.candidates):
        if out is None:
            print(c.abc, end="" if c.abc.endswith("\n") else "\n")
            print()
            where = f"rank {c.rank}"
        else:
            write_atomic(out / name, c.abc.encode("utf-8"))
            where = f"{out / name}  rank {c.rank}"
        how = "" if c.ended else "; cut off before it ended"
        print(f"{where}: score {c.score:.3f} nats/char of {scored} ({c.bars} new bars{how})", file=sys.stderr)
    if found.note:
        print(f"note: {found.note}", file=sys.stderr)
    return 0
