r"""What a tune is made of, as counts that compare with a corpus: header, pitch classes, lengths, key, meter.

Pitch classes follow the key signature (``K:``, modes and explicit accidentals)
and the ABC rule that an accidental holds for notes of the same pitch until the
end of the bar. Grace notes and chord symbols are not counted; every note of a
chord is. Distributions compare by histogram intersection: the sum over
categories of the smaller of the two shares (1 = the same distribution, 0 = disjoint).

Header values (the key, the meter) are read by :mod:`musicgen.abcnotation.header`.

>>> pitch_classes("X:1\nM:4/4\nK:G\nF^cc|c=F[CE]{g}z|")
[6, 1, 1, 0, 5, 0, 4]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping

from musicgen.abcnotation import tokens as T
from musicgen.abcnotation.header import ACCIDENTALS, HeaderError, check_value, header_fields, key_name, parse_key
from musicgen.abcnotation.rhythm import analyse

_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_STEPS = "CDEFGAB"


def _sounding(tune: str) -> Iterator[tuple[int, int, int]]:
    """(token index, pitch class, height in steps of the staff) of every sounding note, chords included."""
    alter: dict[str, int] = {}
    bar: dict[tuple[str, str], int] = {}  # accidentals met in this bar, by letter and octave
    for i, (kind, text) in enumerate(T.tokenize(tune)):
        if kind == T.BAR:
            bar = {}
        elif kind in (T.FIELD, T.INLINE_FIELD) and text.strip("[")[:2] == "K:":
            try:
                alter = parse_key(text.strip("[]")[2:])[1]
            except HeaderError:
                alter = {}
        elif kind in (T.NOTE, T.CHORD):
            for note in T.chord_notes(text) if kind == T.CHORD else [text]:
                acc, letter, octave, _ = T.note_parts(note)
                place = (letter, octave)
                if acc:
                    bar[place] = ACCIDENTALS[acc]
                shift = bar.get(place, alter.get(letter.upper(), 0))
                height = _STEPS.index(letter.upper()) + 7 * (letter.islower() + octave.count("'") - octave.count(","))
                yield i, (_LETTER_PC[letter.upper()] + shift) % 12, height


def pitch_classes(tune: str) -> list[int]:
    """The pitch class (0 = C ... 11 = B) of every sounding note, chords included."""
    return [pc for _, pc, _ in _sounding(tune)]


def last_melody_pitch(tune: str) -> int | None:
    r"""The pitch class of the tune's last melody note: the top note of a closing chord; None without notes.

    >>> last_melody_pitch("X:1\nK:D\nd2 f|[Dd]2 z|"), last_melody_pitch("X:1\nK:F\n[GB]"), last_melody_pitch("X:1\nK:G\nz|")
    (2, 10, None)
    """
    last: tuple[int, int, int] | None = None
    for note in _sounding(tune):
        if last is None or note[0] != last[0] or note[2] > last[2]:  # a later token, or higher in the same chord
            last = note
    return None if last is None else last[1]


def note_lengths(tune: str) -> list[str]:
    """How long each note or chord lasts (broken rhythm and tuplets applied), as a fraction of a whole."""
    return [str(d) for text, d in analyse(tune).notes if text[0] not in "zxZX"]


def header_problems(tune: str) -> list[str]:
    r"""What is wrong with a tune's header; empty when it is complete and valid.

    >>> header_problems("X:1\nT:A\nM:6/8\nL:1/8\nK:Dmix\nabc|")
    []
    >>> header_problems("X:one\nM:7\nK:Q\nabc|")
    ['X: is not a number', 'no T:', 'M: is not a meter', 'K: is not a key']
    >>> header_problems("T:A\nX:1\nK:G")
    ['X: is not the first line', 'no M:']
    """
    fields = header_fields(tune)
    problems = []
    if "X" not in fields:
        problems.append("no X:")
    elif not tune.startswith("X:"):
        problems.append("X: is not the first line")
    elif not fields["X"].isdigit():
        problems.append("X: is not a number")
    if not fields.get("T"):
        problems.append("no T:")
    for name, what in (("M", "a meter"), ("L", "a unit note length"), ("K", "a key")):
        if name not in fields:
            if name != "L":  # L: is optional: the meter sets the default
                problems.append(f"no {name}:")
            continue
        try:
            check_value(name, fields[name])
        except HeaderError:
            problems.append(f"{name}: is not {what}")
    return problems


def key_and_meter(tune: str) -> tuple[str, str]:
    """The header's key (canonical name) and meter (as written), ``"-"`` when absent."""
    fields = header_fields(tune)
    return key_name(fields["K"]) if "K" in fields else "-", fields.get("M", "-")


def shares(counts: Iterable[object]) -> dict[str, float]:
    """Items counted and turned into shares that sum to 1.

    >>> shares(["a", "b", "a", "a"])
    {'a': 0.75, 'b': 0.25}
    """
    c = Counter(str(x) for x in counts)
    total = sum(c.values())
    return {k: n / total for k, n in c.most_common()} if total else {}


def overlap(p: Mapping[str, float], q: Mapping[str, float]) -> float:
    """Histogram intersection of two distributions of shares.

    >>> overlap({"a": 0.5, "b": 0.5}, {"a": 0.75, "c": 0.25}), overlap({}, {"a": 1.0})
    (0.5, 0.0)
    """
    return sum((min(share, q.get(k, 0.0)) for k, share in p.items()), 0.0)
