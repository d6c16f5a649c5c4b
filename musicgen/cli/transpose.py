"""``musicgen transpose``: an ABC file moved to another key or octave, and the notes an instrument cannot
play (see musicgen.abcnotation.transpose and musicgen.abcnotation.instruments).

    musicgen transpose tune.abc --key Bb [--instrument whistle] [--octave N] [--out moved.abc]
    musicgen transpose tunes.abc --semitones -2 --out lower.abc
    musicgen transpose tune.abc --instrument fiddle          # only check the range

The transposed ABC goes to ``--out`` (or stdout); everything but notes, keys and chord symbols is kept
as it was, byte for byte, and in the file's own encoding. On stderr: for each tune with notes outside
the instrument's range, which ones (as written, with their bars) and the ``--octave`` that puts every
note in range, if one does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from musicgen.abcnotation.header import header_fields
from musicgen.abcnotation.instruments import RANGES, Instrument, instrument, octave_shift, range_report
from musicgen.abcnotation.transpose import MAX_SEMITONES, TransposeError, transpose_to_key, transpose_tune
from musicgen.data.corpus import MAX_FILE_BYTES, split_tunes


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="an ABC file (one tune or many)")
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--key", help="the tonic to move to, by the nearer way (e.g. Bb, F#, Em); a tonic alone keeps the mode"
    )
    how.add_argument("--semitones", type=int, help="move by this many semitones instead (negative: down)")
    p.add_argument("--octave", type=int, default=0, help="then move by this many octaves (default 0)")
    p.add_argument("--instrument", help=f"say which notes fall outside its range: {', '.join(RANGES)}")
    p.add_argument("--out", help="write the ABC here (default: stdout)")


def run(args: argparse.Namespace) -> int:
    inst = instrument(args.instrument) if args.instrument else None  # a bad name fails before any work
    text, encoding = _read(Path(args.file))
    if args.key is not None:
        moved = transpose_to_key(text, args.key, args.octave)
    else:
        semitones = (args.semitones or 0) + 12 * args.octave
        if abs(semitones) > MAX_SEMITONES:
            raise TransposeError(
                f"--semitones and --octave move {semitones} semitones; at most {MAX_SEMITONES} either way"
            )
        moved = transpose_tune(text, semitones)
    if args.out:
        Path(args.out).write_bytes(moved.encode(encoding))
    else:
        sys.stdout.write(moved)
        sys.stdout.flush()
    if inst is not None:
        for line in _range_lines(moved, inst, args.octave):
            print(line, file=sys.stderr)
    return 0


def _read(path: Path) -> tuple[str, str]:
    """The file's text, newlines as they are, and its encoding (UTF-8, else Latin-1 as old collections are)."""
    if not path.is_file():
        raise ValueError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError(f"{path}: larger than {MAX_FILE_BYTES // 1_000_000} MB; split it into smaller files")
    data = path.read_bytes()
    try:
        text, encoding = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = data.decode("latin-1"), "latin-1"
    if "\0" in text:
        raise ValueError(f"{path}: not a text file")
    return text, encoding


def _range_lines(text: str, inst: Instrument, octave: int) -> list[str]:
    """One line per tune with notes outside the range (and the --octave that fixes it), or one that all fit."""
    tunes = split_tunes(text) or [text]
    lines = []
    for tune in tunes:
        report = range_report(tune, inst)
        if not report:
            continue
        fields = header_fields(tune)
        name = f"tune X:{fields.get('X', '?')}" + (f" ({fields['T']})" if fields.get("T") else "")
        shift = octave_shift(tune, inst)
        hint = f" Use --octave {octave + shift}." if shift else ""
        lines.append(f"{name}: {report}{hint}")
    if not lines:
        many = f"all {len(tunes)} tunes lie" if len(tunes) > 1 else "every note lies"
        lines.append(f"{many} in the {inst.label}'s range")
    return lines
