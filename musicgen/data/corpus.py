"""Read ABC files, split them into tunes, normalise them, and split train/val by tune.

A *tune* here is the text from one ``X:`` line up to the next (or the end of the
file), normalised by :func:`normalise_tune`. Training text is every tune followed
by a blank line, so the model learns that a blank line ends a tune.

The Nottingham downloader lives in :mod:`musicgen.data.download`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

TUNE_END = "\n\n"  # what follows every tune in training text: a blank line ends a tune
MAX_FILE_BYTES = 50_000_000  # refuse bigger single files: surely not a tune collection

_FIELD = re.compile(r"^([A-Za-z]):[ \t]*")
DROPPED_FIELDS = ("S:",)  # header fields normalise_tune leaves out of the training text
_X_LINE = re.compile(r"^X:", re.MULTILINE)


class CorpusError(ValueError):
    """The given files hold no usable ABC tunes."""


def normalise_tune(text: str) -> str:
    r"""Normalise one tune's text so that equal music gives equal characters.

    What changes, and why (each would otherwise cost the model capacity or break
    the "blank line ends a tune" rule):

    - line endings become ``\n``; tabs become spaces;
    - ``%`` comment lines are dropped, and so are ``%%`` directives (typesetting only);
    - a line ending in ``\`` (ABC line continuation) is joined with the next music line; a field
      line after it (``K:D``, ``P:B``) stays a line of its own, so no field lands inside music;
    - ``S:`` (source) lines are dropped: a collector's name is no part of the music, and 934 of them
      in the Nottingham files would teach the model names;
    - trailing spaces are stripped; blank lines inside the tune are dropped;
    - header fields lose the spaces after the colon (``X: 1`` becomes ``X:1``).

    >>> normalise_tune("X: 1\r\nT:A tune  \nS:Mick Peat\n% a comment\nM:6/8\nK:G\nabc\\\ndef|\n\n")
    'X:1\nT:A tune\nM:6/8\nK:G\nabc def|'
    >>> normalise_tune("X:1\nK:G\n[2A2 ag=g||\\\nK:D\nP:B\nd2|")
    'X:1\nK:G\n[2A2 ag=g||\nK:D\nP:B\nd2|'
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    lines = []
    for line in _join_continued(text.split("\n")):
        if line.lstrip().startswith("%"):
            continue
        line = line.rstrip()
        if not line.strip():
            continue
        line = _FIELD.sub(r"\1:", line, count=1)
        if not line.startswith(DROPPED_FIELDS):
            lines.append(line)
    return "\n".join(lines)


def _join_continued(lines: list[str]) -> list[str]:
    r"""Join each line that ends in ``\`` (spaces may follow it) with the next, through a space.

    A field line (``K:D``) ends the continued line instead: it keeps a line of its own.

    A join can leave another backslash at the end (``\\`` before a blank line): it continues
    too, so the result holds no continued line and normalising twice changes nothing. The
    backslashes that end the last line continue nothing and are dropped. Linear in the text.

    >>> _join_continued(["abc \\  ", "def|", "g"])
    ['abc  def|', 'g']
    >>> _join_continued(["\\\\", "", ":"]), _join_continued(["X:", "\\\\"])
    ([' :'], ['X:', ''])
    >>> _join_continued(["abc\\", "K:D", "def|"])
    ['abc', 'K:D', 'def|']
    """
    out: list[str] = []
    parts: list[str] = []  # the pieces of the line being joined
    for line in lines:
        if parts and _FIELD.match(line):  # a field line after a continued one: end that line first
            out.append("".join(parts).rstrip(" "))
            parts = []
        parts.append(line)
        if _cut_continuation(parts):
            parts.append(" ")
        else:
            out.append("".join(parts))
            parts = []
    if parts:  # the last line was continued: its backslashes continue nothing
        while _cut_continuation(parts):
            pass
        out.append("".join(parts))
    return out


def _cut_continuation(parts: list[str]) -> bool:
    """Drop a backslash (and the spaces around the end) that ends ``parts``: True if there was one."""
    i = len(parts) - 1
    while i >= 0 and not parts[i].strip(" "):
        i -= 1
    if i < 0 or not parts[i].rstrip(" ").endswith("\\"):
        return False
    parts[i] = parts[i].rstrip(" ")[:-1]
    del parts[i + 1 :]
    return True


def split_tunes(text: str) -> list[str]:
    """Split a file's text into normalised tunes at every ``X:`` line.

    Text before the first ``X:`` (a file header) is ignored; empty tunes are dropped.

    >>> split_tunes("% file header\\nX:1\\nT:a\\nK:C\\nC|\\n\\nX:2\\nT:b\\nK:D\\nD|\\n")
    ['X:1\\nT:a\\nK:C\\nC|', 'X:2\\nT:b\\nK:D\\nD|']
    >>> split_tunes("no tunes here")
    []
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # so ^X: also matches after a lone CR (old Mac files)
    starts = [m.start() for m in _X_LINE.finditer(text)]
    tunes = []
    for begin, end in zip(starts, starts[1:] + [len(text)]):
        tune = normalise_tune(text[begin:end])
        if "\n" in tune:  # at least one line after X:
            tunes.append(tune)
    return tunes


def abc_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand files and folders into a sorted list of ``.abc`` files (folders are not recursed).

    Not recursing matters for the Nottingham folder, which holds the cleaned copy
    in a sub-folder: a recursive glob would count every tune twice.
    """
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(q for q in p.iterdir() if q.suffix.lower() == ".abc" and q.is_file()))
        elif p.is_file():
            found.append(p)
        else:
            raise CorpusError(f"{p}: no such file or folder")
    return found


def read_tunes(paths: Iterable[str | Path]) -> list[str]:
    """Read every tune in the given ABC files and folders.

    Raises :class:`CorpusError` naming the problem when a file is unreadable,
    too big, not text, or when no tune is found at all.
    """
    files = abc_files(paths)
    if not files:
        raise CorpusError("no .abc files found: give ABC files or a folder that holds them")
    tunes: list[str] = []
    for f in files:
        if f.stat().st_size > MAX_FILE_BYTES:
            raise CorpusError(f"{f}: larger than {MAX_FILE_BYTES // 1_000_000} MB; split it into smaller files")
        try:
            text = f.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            text = f.read_bytes().decode("latin-1")  # old ABC collections are often Latin-1
        found = split_tunes(text)
        tunes.extend(found)
    if not tunes:
        names = ", ".join(str(f) for f in files[:3])
        raise CorpusError(
            f"no ABC tunes in {names} (empty, or no line starts with 'X:'): "
            "give files in ABC notation, each tune starting with an X: line"
        )
    return tunes


def tune_key(tune: str) -> str:
    """A stable identity for a tune: the sha256 of its normalised text."""
    return hashlib.sha256(tune.encode("utf-8")).hexdigest()


def split_train_val(tunes: Sequence[str], val_fraction: float) -> tuple[list[str], list[str]]:
    """Split tunes into train and val, deterministically and by whole tune.

    Tunes are ordered by the hash of their text and the first ``val_fraction`` go
    to val, so the split does not depend on file order and adding a file moves no
    existing tune from val to train except through the count. Exact duplicates
    stay together (both in train or both in val), so val never sees a train tune.

    >>> train, val = split_train_val([f"X:{i}\\nK:C\\nC|" for i in range(10)], 0.2)
    >>> len(train), len(val), sorted(set(train) & set(val))
    (8, 2, [])
    """
    unique = sorted(set(tunes), key=tune_key)
    n_val = max(1, round(len(unique) * val_fraction)) if len(unique) > 1 else 0
    val_set = set(unique[:n_val])
    return [t for t in tunes if t not in val_set], [t for t in tunes if t in val_set]


def join_tunes(tunes: Iterable[str]) -> str:
    """The training text: every tune followed by a blank line."""
    return "".join(t + TUNE_END for t in tunes)
