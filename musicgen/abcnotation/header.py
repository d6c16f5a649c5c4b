r"""ABC header values, read and checked in one place: ``K:`` (key), ``M:`` (meter), ``L:`` (unit
note length), ``Q:`` (tempo), ``R:`` (tune type), ``T:`` (title, as a file name); the header of a tune.

    parse_meter("6/8"), parse_unit("1/8"), parse_key("Ador"), parse_tempo("3/8=110")   # the values
    check_value("M", "100000/1")      # HeaderError: a sentence (form and range, as check.py refuses)
    check_setting("K", "F#dor")       # what a SampleConfig may write into a header (one plain line)

Durations are :class:`~fractions.Fraction` s of a whole note. Meters and unit
lengths count in note values, so their denominators are powers of two. Every
reader of these fields (the line checks before music21, the sampler's settings,
the quality measures, the rhythm of bars) calls this module, so they agree on
what a valid value is; an error is a :class:`HeaderError` (a ``ValueError``)
saying what to write instead.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import NamedTuple

MAX_METER_BEATS = 32  # largest meter numerator (12/8 is the usual largest); music21 crawls on M:100000/1
NOTE_VALUES = (1, 2, 4, 8, 16, 32, 64)  # what a meter or unit length may count in: whole notes to 64ths
MIN_BPM, MAX_BPM = 20.0, 400.0  # tempo range, quarter notes a minute

_HINTS = {  # field -> (what it is, how to write it)
    "K": ("key", "give a tonic A-G, optionally # or b, then optionally a mode (e.g. G, Em, F#m, Bb, Ador, Dmix)"),
    "M": (
        "meter",
        "give beats/beat-length with a beat length of 1, 2, 4, 8, 16, 32 or 64 (e.g. 6/8, 3/4, 2+3/8) or C or C|",
    ),
    "L": ("unit note length", "give 1/ and a power of two up to 64 (e.g. 1/8, 1/4, 1/16)"),
    "Q": ("tempo", 'give a beat and a count (e.g. 1/4=120, 3/8=110, "Allegro" 1/4=130) or a count'),
    "R": ("tune type", "give a word or two in plain letters, at most 30 (e.g. jig, reel, slip jig)"),
}


class HeaderError(ValueError):
    """A header value that is not valid ABC: ``field`` (K, M, L, Q or R), ``value`` and the sentence."""

    def __init__(self, field: str, value: str, problem: str | None = None) -> None:
        self.field, self.value = field, value
        what, hint = _HINTS[field]
        super().__init__(f"{what} {value!r} {problem or f'is not an ABC {what}'}: {hint}")


# ---------------------------------------------------------------- M: and L:


class Meter(NamedTuple):
    """A time signature as written (6/8 and 3/4 differ in tuplets, not in length)."""

    beats: int
    unit: int

    @property
    def length(self) -> Fraction:
        return Fraction(self.beats, self.unit)

    @property
    def compound(self) -> bool:
        return self.beats % 3 == 0 and self.beats > 3


def _value(text: str) -> str:
    """A field's value without its comment and surrounding spaces."""
    return text.split("%")[0].strip()


def parse_meter(value: str) -> Meter | None:
    """An ``M:`` value as a :class:`Meter`; ``None`` for free meter. A meter counts in note values
    (halves, quarters, eighths...), so 3/9 is none.

    >>> parse_meter("6/8"), parse_meter("C"), parse_meter("C|"), parse_meter("2+3/8"), parse_meter(" none ")
    (Meter(beats=6, unit=8), Meter(beats=4, unit=4), Meter(beats=2, unit=2), Meter(beats=5, unit=8), None)
    >>> parse_meter("6/0")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    musicgen.abcnotation.header.HeaderError: meter '6/0' is not an ABC meter: give beats/beat-length ...
    >>> parse_meter("3/9")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    musicgen.abcnotation.header.HeaderError: meter '3/9' is not an ABC meter: give beats/beat-length ...
    """
    v = _value(value)
    if v.lower() in ("", "none"):
        return None
    if v in ("C", "C|"):
        return Meter(4, 4) if v == "C" else Meter(2, 2)
    top, _, bottom = v.partition("/")
    try:
        beats, unit = sum(int(x) for x in top.strip("()").split("+")), int(bottom)
    except ValueError:
        raise HeaderError("M", v) from None
    if beats <= 0 or not _power_of_two(unit):
        raise HeaderError("M", v)
    return Meter(beats, unit)


def parse_unit(value: str) -> Fraction:
    """An ``L:`` value: the unit note length.

    >>> str(parse_unit("1/8")), str(parse_unit(" 1/4 ")), str(parse_unit("1"))
    ('1/8', '1/4', '1')
    >>> parse_unit("eighth")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    musicgen.abcnotation.header.HeaderError: unit note length 'eighth' is not an ABC unit note length: give 1/ ...
    >>> parse_unit("1/6")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    musicgen.abcnotation.header.HeaderError: unit note length '1/6' is not an ABC unit note length: give 1/ ...
    """
    v = _value(value)
    try:
        unit = Fraction(v)
    except (ValueError, ZeroDivisionError):
        raise HeaderError("L", v) from None
    if unit <= 0 or not _power_of_two(unit.denominator):
        raise HeaderError("L", v)
    return unit


def _power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def default_unit(meter: Meter | None) -> Fraction:
    """The unit note length when no ``L:`` is given: 1/16 below 3/4, else 1/8.

    >>> [str(default_unit(m)) for m in [Meter(2, 4), Meter(3, 4), Meter(6, 8), Meter(2, 2), None]]
    ['1/16', '1/8', '1/8', '1/8', '1/8']
    """
    return Fraction(1, 16) if meter is not None and meter.length < Fraction(3, 4) else Fraction(1, 8)


# ---------------------------------------------------------------- K:

_FIFTHS = {"F": -1, "C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5}  # sharps (- flats) of each letter's major
_SHARPEN = {"": 0, "#": 7, "b": -7}  # a sharp tonic has seven sharps more
# the first three letters of a mode -> (its suffix in a key's name, fifths from the major)
_MODES = {"": ("", 0), "maj": ("", 0), "ion": ("", 0), "m": ("m", -3), "min": ("m", -3), "aeo": ("m", -3)}
_MODES |= {"mix": ("mix", -1), "dor": ("dor", -2), "phr": ("phr", -4), "lyd": ("lyd", 1), "loc": ("loc", -5)}
_FULL_MODES = ("major", "minor", "ionian", "aeolian", "mixolydian", "dorian", "phrygian", "lydian", "locrian")
ACCIDENTALS = {"^^": 2, "^": 1, "=": 0, "_": -1, "__": -2}  # an accidental -> semitones it raises a note
_SHARP_ORDER, _FLAT_ORDER = "FCGDAEB", "BEADGCF"
_EXTRA = r"(?:\s+(?:treble|bass|alto|tenor|perc|\w+=\S*))*"  # clefs and parameters: they change no pitch
# tonic, mode, "exp" (only the accidentals given), explicit accidentals, then what only changes how it is drawn
_KEY = re.compile(
    r"\s*([A-Ga-g][#b]?)\s*((?!exp\b)[A-Za-z]*)(\s+exp)?((?:\s+(?:\^\^|\^|__|_|=)[A-Ga-g])*)" + _EXTRA + r"\s*$"
)
_NO_TONIC = re.compile(r"\s*\w+=\S*" + _EXTRA + r"\s*$")  # K:clef=bass


def parse_key(value: str) -> tuple[str, dict[str, int]]:
    """A ``K:`` value: its name (tonic and mode) and the alteration of each letter.

    >>> parse_key("G")
    ('G', {'F': 1})
    >>> parse_key("Dmix"), parse_key("A dor ^g _B")
    (('Dmix', {'F': 1}), ('Ador', {'F': 1, 'G': 1, 'B': -1}))
    >>> parse_key("F dorian"), parse_key("e Minor clef=bass"), parse_key("G#m")[0]
    (('Fdor', {'B': -1, 'E': -1, 'A': -1}), ('Em', {'F': 1}), 'G#m')
    >>> parse_key("none"), parse_key(""), parse_key("clef=treble")
    (('none', {}), ('C', {}), ('C', {}))
    >>> parse_key("H")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    musicgen.abcnotation.header.HeaderError: key 'H' is not an ABC key: give a tonic A-G, ...
    >>> parse_key("G#")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    musicgen.abcnotation.header.HeaderError: key 'G#' has more than seven sharps or flats: give a tonic A-G, ...
    """
    v = _value(value)
    if v.lower() in ("none", "hp"):
        return v.lower(), {}
    if not v or _NO_TONIC.match(v):
        return "C", {}
    m = _KEY.match(v)
    word = m[2].lower() if m else ""
    full = any(f.startswith(word) for f in _FULL_MODES)
    mode = _MODES.get(word[:3]) if m and (len(word) <= 3 or full) else None
    if m is None or mode is None:
        raise HeaderError("K", v)
    tonic = m[1][0].upper() + m[1][1:]
    fifths = _FIFTHS[tonic[0]] + _SHARPEN[tonic[1:]] + mode[1]
    if not -7 <= fifths <= 7:
        raise HeaderError("K", v, "has more than seven sharps or flats")
    order, sign = (_SHARP_ORDER, 1) if fifths > 0 else (_FLAT_ORDER, -1)
    alter = {} if m[3] else {letter: sign for letter in order[: abs(fifths)]}  # "exp": only the accidentals given
    for acc, letter in re.findall(r"(\^\^|\^|__|_|=)([A-Ga-g])", m[4]):
        alter[letter.upper()] = ACCIDENTALS[acc]
    return tonic + mode[0], alter


def key_name(value: str) -> str:
    """A key's canonical name, or ``"?"`` when it is not a key.

    >>> key_name("Ador"), key_name("e minor"), key_name("Bb"), key_name("D mix ^c"), key_name("H")
    ('Ador', 'Em', 'Bb', 'Dmix', '?')
    """
    try:
        return parse_key(value)[0]
    except HeaderError:
        return "?"


# ---------------------------------------------------------------- Q: and R:

_TEMPO = re.compile(r"(?:((?:\d+/\d+\s*)+)=\s*|C\d*\s*=\s*)?(\d+)")
_TUNE_TYPE = re.compile(r"[A-Za-z][A-Za-z '-]{0,29}")


def parse_tempo(value: str) -> float | None:
    """A ``Q:`` value in quarter notes a minute; None for words alone (``"Lively"``).

    Forms: ``120``, ``1/4=120``, ``3/8=110``, ``1/4 1/8=60``, ``"Allegro" 1/4=130``, ``"Lively"``.

    >>> parse_tempo("3/8=110"), parse_tempo('"Allegro" 1/4=130'), parse_tempo("1/4 1/8=60"), parse_tempo('"Lively"')
    (165.0, 130.0, 90.0, None)
    >>> parse_tempo("1/0=120")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    musicgen.abcnotation.header.HeaderError: tempo '1/0=120' is not an ABC tempo: give a beat and a count ...
    """
    v = _value(value)
    bare = re.sub(r'"[^"]*"', " ", v).strip()
    if not bare:
        return None
    m = _TEMPO.fullmatch(bare)
    if m is None:
        raise HeaderError("Q", v)
    try:
        beat = sum((Fraction(f) for f in m[1].split()), Fraction(0)) if m[1] else Fraction(1, 4)
    except ZeroDivisionError:
        raise HeaderError("Q", v) from None
    return float(int(m[2]) * beat * 4)


# ---------------------------------------------------------------- checks


def check_value(field: str, value: str) -> Meter | Fraction | None:
    """Check a header value as a tune may hold it (comments allowed); return the meter or unit it sets.

    Form and range: a meter of at most :data:`MAX_METER_BEATS` beats, lengths of 1/1 to 1/64
    notes, a tempo of :data:`MIN_BPM` to :data:`MAX_BPM` quarter notes a minute. Fields other
    than K, M, L and Q pass.

    >>> check_value("M", "100000/1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    musicgen.abcnotation.header.HeaderError: meter '100000/1' is out of range (at most 32 beats of 1/1 to 1/64 ...
    >>> str(check_value("L", "1/16 % sixteenths")), check_value("K", "Ador"), check_value("Q", '"Allegro" 3/8=110')
    ('1/16', None, None)
    >>> check_value("Q", "1/4=1000")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    musicgen.abcnotation.header.HeaderError: tempo '1/4=1000' is out of range (20 to 400 quarter notes a minute): ...
    """
    v = _value(value)
    if field == "M":
        meter = parse_meter(v)
        if meter is not None and (meter.beats > MAX_METER_BEATS or meter.unit not in NOTE_VALUES):
            raise HeaderError("M", v, f"is out of range (at most {MAX_METER_BEATS} beats of 1/1 to 1/64 notes)")
        return meter
    if field == "L":
        unit = parse_unit(v)
        if unit > 1 or unit.denominator not in NOTE_VALUES:
            raise HeaderError("L", v, "is out of range (1/1 to 1/64)")
        return unit
    if field == "Q":
        bpm = parse_tempo(v)
        if bpm is not None and not MIN_BPM <= bpm <= MAX_BPM:
            raise HeaderError("Q", v, f"is out of range ({MIN_BPM:.0f} to {MAX_BPM:.0f} quarter notes a minute)")
    elif field == "K":
        parse_key(v)
    return None


def check_setting(field: str, value: str) -> None:
    """Raise :class:`HeaderError` unless ``value`` may be written as header ``field`` (K, M, L or R)
    of a new tune: valid (:func:`check_value`), on one line, with no comment or spaces around it,
    a meter rather than free meter, and a tune type in plain letters.

    >>> check_setting("K", "F#dor"), check_setting("M", "C|"), check_setting("L", "1/8"), check_setting("R", "slip jig")
    (None, None, None, None)
    >>> check_setting("M", "6/7")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    musicgen.abcnotation.header.HeaderError: meter '6/7' is not an ABC meter: give beats/beat-length with a beat ...
    >>> check_setting("M", "none")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    musicgen.abcnotation.header.HeaderError: meter 'none' is free meter, not a meter: give beats/beat-length ...
    >>> check_setting("K", "G % major")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    musicgen.abcnotation.header.HeaderError: key 'G % major' is not one plain value: give a tonic A-G, ...
    """
    if field not in "KMLR" or len(field) != 1:
        raise ValueError(f"{field!r} is not a header field a setting writes (K, M, L or R)")
    if not isinstance(value, str) or not value:
        raise HeaderError(field, str(value))
    if value != value.strip() or any(c in value for c in "%\\\n\r\t") or (field in "ML" and " " in value):
        raise HeaderError(field, value, "is not one plain value")
    if field == "R":
        if not _TUNE_TYPE.fullmatch(value):
            raise HeaderError("R", value)
    elif check_value(field, value) is None and field == "M":
        raise HeaderError("M", value, "is free meter, not a meter")


# ---------------------------------------------------------------- the fields of a tune


def header_fields(tune: str) -> dict[str, str]:
    r"""The header's fields (up to and including the first ``K:``), first value of each; comment lines skipped.

    >>> header_fields("X:1\nT:a\n% from a book\nK:G\nM:6/8\nT:b\nabc|")
    {'X': '1', 'T': 'a', 'K': 'G'}
    """
    fields: dict[str, str] = {}
    for line in tune.split("\n"):
        if line.startswith("%"):
            continue
        m = re.match(r"([A-Za-z]):(.*)", line)
        if not m:
            break
        fields.setdefault(m[1], m[2].strip())
        if m[1] == "K":
            break
    return fields


def title_slug(title: str, most: int = 60) -> str:
    """A file name stem from a title: ASCII letters and digits joined by "-", at most ``most`` characters.

    >>> title_slug("The Hag's Purse (reel)"), title_slug("  "), title_slug("Ámhrán na bhFiann")
    ('the-hags-purse-reel', 'tune', 'amhran-na-bhfiann')
    >>> title_slug("The Lark's Reel / No. 2"), title_slug("a" * 59 + " b"), title_slug("%%%")
    ('the-larks-reel-no-2', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'tune')
    """
    import unicodedata

    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower().replace("'", "")).strip("-")
    return stem[:most].rstrip("-") or "tune"
