r"""What a tune is made of, as counts that compare with a corpus: header, pitch classes, lengths, key, meter.

Pitch classes follow the key signature (``K:``, modes and explicit accidentals)
and the ABC rule that an accidental holds for notes of the same pitch until the
end of the bar. Grace notes and chord symbols are not counted; every note of a
chord is. Distributions compare by histogram intersection: the sum over
categories of the smaller of the two shares (1 = the same distribution, 0 = disjoint).

>>> pitch_classes("X:1\nM:4/4\nK:G\nF^cc|c=F[CE]{g}z|")
[6, 1, 1, 0, 5, 0, 4]
>>> key_name("Ador"), key_name("e minor"), key_name("Bb"), key_name("D mix ^c")
('Ador', 'Em', 'Bb', 'Dmix')
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

from musicgen.abcnotation import tokens as T
from musicgen.abcnotation.header import parse_meter, parse_unit
from musicgen.abcnotation.rhythm import analyse

_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTAL = {"^^": 2, "^": 1, "=": 0, "_": -1, "__": -2}
_MAJOR_FIFTHS = {
    "C": 0,
    "G": 1,
    "D": 2,
    "A": 3,
    "E": 4,
    "B": 5,
    "F#": 6,
    "C#": 7,
    "F": -1,
    "Bb": -2,
    "Eb": -3,
    "Ab": -4,
    "Db": -5,
    "Gb": -6,
    "Cb": -7,
}
_MODES = {
    "": ("", 0),
    "maj": ("", 0),
    "ion": ("", 0),
    "m": ("m", -3),
    "min": ("m", -3),
    "aeo": ("m", -3),
    "mix": ("mix", -1),
    "dor": ("dor", -2),
    "phr": ("phr", -4),
    "lyd": ("lyd", 1),
    "loc": ("loc", -5),
}
_SHARP_ORDER, _FLAT_ORDER = "FCGDAEB", "BEADGCF"
# tonic, mode, explicit accidentals, then parameters such as clef=treble (ignored)
_KEY = re.compile(r"\s*([A-Ga-g][#b]?)\s*([A-Za-z]*)((?:\s+(?:\^\^|\^|__|_|=)[A-Ga-g])*)(?:\s+\w+=\S*)*\s*$")


def parse_key(value: str) -> tuple[str, dict[str, int]]:
    """A ``K:`` value: its name (tonic and mode) and the alteration of each letter.

    >>> parse_key("G")
    ('G', {'F': 1})
    >>> parse_key("Dmix"), parse_key("A dor ^g _B")
    (('Dmix', {'F': 1}), ('Ador', {'F': 1, 'G': 1, 'B': -1}))
    >>> parse_key("F dorian")
    ('Fdor', {'B': -1, 'E': -1, 'A': -1})
    >>> parse_key("none"), parse_key("")
    (('none', {}), ('C', {}))
    >>> parse_key("H")
    Traceback (most recent call last):
    ...
    ValueError: not a key: 'H'
    """
    v = value.split("%")[0].strip()
    if v.lower() in ("none", "hp"):
        return v.lower(), {}
    if not v:
        return "C", {}
    m = _KEY.match(v)
    word = m[2].lower() if m else ""
    mode = _MODES.get(word[:3]) if m and (len(word) <= 3 or _full_mode(word)) else None
    tonic = m[1][0].upper() + m[1][1:] if m else ""
    if mode is None or tonic not in _MAJOR_FIFTHS:
        raise ValueError(f"not a key: {value!r}")
    fifths = _MAJOR_FIFTHS[tonic] + mode[1]
    if not -7 <= fifths <= 7:
        raise ValueError(f"not a key: {value!r} (more than seven sharps or flats)")
    order, sign = (_SHARP_ORDER, 1) if fifths > 0 else (_FLAT_ORDER, -1)
    alter = {letter: sign for letter in order[: abs(fifths)]}
    for acc, letter in re.findall(r"(\^\^|\^|__|_|=)([A-Ga-g])", m[3]):
        alter[letter.upper()] = _ACCIDENTAL[acc]
    return tonic + mode[0], alter


def _full_mode(word: str) -> bool:
    full = ("major", "minor", "ionian", "aeolian", "mixolydian", "dorian", "phrygian", "lydian", "locrian")
    return any(f.startswith(word) for f in full)


def key_name(value: str) -> str:
    """A key's canonical name, or ``"?"`` when it is not a key."""
    try:
        return parse_key(value)[0]
    except ValueError:
        return "?"


def pitch_classes(tune: str) -> list[int]:
    """The pitch class (0 = C ... 11 = B) of every sounding note, chords included."""
    alter: dict[str, int] = {}
    bar: dict[tuple[str, str], int] = {}  # accidentals met in this bar, by letter and octave
    out: list[int] = []
    for kind, text in T.tokenize(tune):
        if kind == T.BAR:
            bar = {}
        elif kind in (T.FIELD, T.INLINE_FIELD) and text.strip("[")[:2] == "K:":
            try:
                alter = parse_key(text.strip("[]")[2:])[1]
            except ValueError:
                alter = {}
        elif kind in (T.NOTE, T.CHORD):
            for note in T.chord_notes(text) if kind == T.CHORD else [text]:
                acc, letter, octave, _ = T.note_parts(note)
                place = (letter, octave)
                if acc:
                    bar[place] = _ACCIDENTAL[acc]
                shift = bar.get(place, alter.get(letter.upper(), 0))
                out.append((_LETTER_PC[letter.upper()] + shift) % 12)
    return out


def note_lengths(tune: str) -> list[str]:
    """How long each note or chord lasts (broken rhythm and tuplets applied), as a fraction of a whole."""
    return [str(d) for text, d in analyse(tune).notes if text[0] not in "zxZX"]


def header_fields(tune: str) -> dict[str, str]:
    """The header's fields (up to and including the first ``K:``), first value of each."""
    fields: dict[str, str] = {}
    for line in tune.split("\n"):
        m = re.match(r"([A-Za-z]):(.*)", line)
        if not m:
            break
        fields.setdefault(m[1], m[2].strip())
        if m[1] == "K":
            break
    return fields


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
    checks = (("M", parse_meter, "a meter"), ("L", parse_unit, "a unit note length"), ("K", parse_key, "a key"))
    for name, parse, what in checks:
        if name not in fields:
            if name != "L":  # L: is optional: the meter sets the default
                problems.append(f"no {name}:")
            continue
        try:
            parse(fields[name])  # type: ignore[operator]
        except ValueError:
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
