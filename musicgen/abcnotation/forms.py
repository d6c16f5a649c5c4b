r"""The written forms meter-aware decoding lets a tune use, as tables with their prefixes.

Constrained generation (:mod:`musicgen.compose.constrain`) keeps a tune inside a subset of
ABC that :mod:`musicgen.abcnotation.rhythm` reads exactly and the Nottingham tunes use: note
lengths ``2`` ... ``16``, ``/``, ``/2`` ... ``/16``, and ``3/2``, ``5/4``, ``7/8``-style fractions;
the common bar lines; header values that :mod:`musicgen.abcnotation.header` accepts
(:func:`written_freely` names the settings whose values lie outside these forms).
Each table knows its prefixes, so a tracker can tell whether text under way can
still become one of its forms, and how many characters at least finish it.

Lengths here count *ticks*: 192 to the unit note length (``L:``), so that every
note these forms write, alone or in a ``(2``, ``(3`` or ``(4`` tuplet, lasts a whole
number of them.

>>> SUFFIX_TICKS["3/2"], "3/" in SUFFIX_PREFIXES, "3/" in SUFFIXES, "//" in SUFFIX_PREFIXES
(288, True, False, False)
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import cache, lru_cache

from musicgen.abcnotation import tokens as T
from musicgen.abcnotation.header import parse_key

MAX_TEXT = 60  # characters of a free-text header value (a title); Nottingham's longest title is 49
MAX_CHORD_NOTES = 4  # notes in one [..] chord
TICK = 192  # ticks to the unit length: 16ths of it (the shortest note), and thirds and quarters of those (tuplets)

_NUMS = range(2, 17)
_DENS = (2, 4, 8, 16)
_ODD = (3, 5, 7)


def _suffixes() -> dict[str, Fraction]:
    out = {"": Fraction(1), "/": Fraction(1, 2)}
    out |= {str(n): Fraction(n) for n in _NUMS}
    out |= {f"/{d}": Fraction(1, d) for d in _DENS}
    out |= {f"{n}/{d}": Fraction(n, d) for n in _ODD for d in _DENS[:3]}
    return out


SUFFIXES: dict[str, Fraction] = _suffixes()  # note length suffix -> multiple of the unit length
SUFFIX_TICKS = {s: int(v * TICK) for s, v in SUFFIXES.items()}
SUFFIX_PREFIXES = frozenset(s[:i] for s in SUFFIXES for i in range(len(s) + 1))
# lengths music21 cannot read in a tuplet ("(2A5/4A5/4": "Unknown type: complex"), as written, in ticks
TUPLET_UNREAD = frozenset(SUFFIX_TICKS[s] for s in ("5", "9", "10", "11", "13", "5/2", "5/4", "5/8"))
SHORTEST_SUFFIX: dict[int, str] = {}  # ticks -> the shortest suffix that writes them
for _s, _t in sorted(SUFFIX_TICKS.items(), key=lambda kv: len(kv[0]), reverse=True):
    SHORTEST_SUFFIX[_t] = _s

# "::" is left out: music21 loses the note written right before it ("A::"); ":|:" says the same
BAR_LINES = frozenset(
    {"|", "||", "|]", "|:", ":|", ":|:", ":||", ":||:", "||:", "|1", "|2", ":|2", "|[1", "|[2", ":|[2"}
)
BAR_PREFIXES = frozenset(b[:i] for b in BAR_LINES for i in range(1, len(b) + 1))
END_BARS = frozenset({"|]", "||", ":|", ":||"})  # bar lines that may end a tune
ENDINGS = frozenset({"[1", "[2"})
TUPLETS = frozenset({"(2", "(3", "(4"})

HEADER_FIELDS = frozenset("XTSRNYZCOPMLK")  # fields a generated header may hold
BODY_FIELDS = frozenset("PKML")  # fields a music line may be (P: starts a part)
FREE_TEXT = frozenset("TSRNYZCO")  # fields whose value is free text
_FREE_BAD = frozenset("%\\\n")

METERS = frozenset({"C", "C|"} | {f"{b}/{d}" for d in (2, 4, 8) for b in range(2, 13)})
UNITS = frozenset({"1/4", "1/8", "1/16"})
_MODES = ("", "m", "min", "maj", "mix", "dor", "phr", "lyd", "loc", "aeo", "ion")
_FINITE = {"M": METERS, "L": UNITS}
NOTE = re.compile(r"([\^_=]?)([A-Ga-g]?)([,']*)(.*)", re.S)  # a note under way: accidental, letter, octave, length
CHORD_NOTE = re.compile(r"([\^_=]?)([A-Ga-g])([,']*)([0-9/]*)")  # one note inside [..]
CHORD_INNER = re.compile(r"(?:[\^_=]?[A-Ga-g][,']*[0-9/]*)*[\^_=]?")  # the inside of a chord under way
_PARTS = re.compile(r"[A-Z]{0,16}")
_X = re.compile(r"(?:[1-9]\d{0,4})?")


def meter_aware_supported(meter: str) -> bool:
    """Whether meter-aware writing follows ``M:meter``: 2 to 12 beats of halves, quarters or eighths, C, C|.

    >>> [meter_aware_supported(m) for m in ["6/8", "C|", "12/8", "2/2", "3/16", "13/8", "2+3/8", "1/4"]]
    [True, True, True, True, False, False, False, False]
    """
    return meter in METERS


def written_freely(meter: str | None, unit_length: str | None = None) -> str | None:
    """Why meter-aware writing cannot hold a tune with these header values, as a sentence; None when it can.

    >>> written_freely("6/8", "1/8") is None, written_freely(None) is None
    (True, True)
    >>> print(written_freely("3/16", "1/32"))
    Meter-aware writing does not follow M:3/16 (it follows 2 to 12 beats of half, quarter or eighth notes, C and C|) or L:1/32 (it follows 1/4, 1/8 and 1/16), so the model writes freely and the bars may not add up.
    """
    parts = []
    if meter is not None and not meter_aware_supported(meter):
        parts.append(f"M:{meter} (it follows 2 to 12 beats of half, quarter or eighth notes, C and C|)")
    if unit_length is not None and unit_length not in UNITS:
        *most, last = sorted(UNITS, key=lambda u: int(u.partition("/")[2]))
        parts.append(f"L:{unit_length} (it follows {', '.join(most)} and {last})")
    if not parts:
        return None
    return (
        f"Meter-aware writing does not follow {' or '.join(parts)}, "
        "so the model writes freely and the bars may not add up."
    )


@cache
def keys() -> frozenset[str]:
    """K: values: a tonic, # or b, a mode; at most seven sharps or flats, in the key and in the tonic's major
    (so G#m, five sharps, is left out: G# major would have eight)."""

    def readable(key: str) -> bool:
        try:
            parse_key(key)
        except ValueError:
            return False
        return True

    tonics = [t + a for t in "ABCDEFG" for a in ("", "#", "b") if readable(t + a)]
    return frozenset(k for k in (t + m for t in tonics for m in _MODES) if readable(k))


@cache
def _completions_of(field: str) -> dict[str, str]:
    """Every prefix of a finite field's values -> the shortest text that completes it."""
    best: dict[str, str] = {}
    values = keys() if field == "K" else _FINITE[field]
    for value in sorted(values, key=lambda v: (len(v), v), reverse=True):  # the shortest, then the first, wins
        for i in range(len(value) + 1):
            best[value[:i]] = value[i:]
    return best


def value_completion(field: str, value: str) -> str | None:
    """The shortest text that makes ``value`` a complete value of header ``field``; None if none can.

    >>> [value_completion(f, v) for f, v in [("M", "6/"), ("M", "6/7"), ("K", "F#"), ("X", ""), ("T", "")]]
    ['2', None, '', '1', 'A']
    """
    if field in "MLK":
        return _completions_of(field).get(value)
    if field == "X":
        return None if not _X.fullmatch(value) else ("" if value else "1")
    if field == "P":
        return None if not _PARTS.fullmatch(value) else ("" if value else "A")
    if field in FREE_TEXT:
        if len(value) > MAX_TEXT or value.startswith(" ") or any(c in _FREE_BAD for c in value):
            return None
        return "A" if field == "T" and not value else ""  # a tune has a title
    return None


@cache
def completions(prefix: str) -> tuple[tuple[int, int], ...]:
    """For a suffix under way: (characters still to write, length in ticks) of each suffix it can become,
    fewest characters first.

    >>> completions("3/")
    ((1, 288), (1, 144), (1, 72))
    """
    out = [(len(s) - len(prefix), SUFFIX_TICKS[s]) for s in SUFFIXES if s.startswith(prefix)]
    return tuple(sorted(out, key=lambda nt: (nt[0], -nt[1])))


def suffix_completion(prefix: str) -> str:
    """The shortest text that makes a suffix under way a whole one ("" when it already is one).

    >>> suffix_completion("3/"), suffix_completion("1"), suffix_completion("/")
    ('2', '0', '')
    """
    return min((s[len(prefix) :] for s in SUFFIXES if s.startswith(prefix)), key=lambda s: (len(s), s))


def note_chars(ticks: int) -> int | None:
    """Characters of the shortest single note (a letter and a suffix) written to last ``ticks``."""
    s = SHORTEST_SUFFIX.get(ticks)
    return None if s is None else 1 + len(s)


@cache
def cheapest_note(room: int) -> int | None:
    """Characters of the shortest single note that fits in ``room`` ticks (None: none does).

    >>> cheapest_note(TICK), cheapest_note(TICK // 2), cheapest_note(TICK // 32)
    (1, 2, None)
    """
    return min((1 + len(s) for t, s in SHORTEST_SUFFIX.items() if t <= room), default=None)


@cache
def _fill_table(size: int) -> tuple[int, ...]:
    """Fewest characters of notes lasting exactly k sixteenths of the unit, for k in 0..size (10**6: none)."""
    grid = TICK // 16
    values = [(t // grid, 1 + len(s)) for t, s in SHORTEST_SUFFIX.items()]
    best = [0] + [10**6] * size
    for k in range(1, size + 1):
        best[k] = min((c + best[k - v] for v, c in values if v <= k), default=10**6)
    return tuple(best)


def fill_chars(ticks: int) -> int | None:
    """Fewest characters of notes lasting exactly ``ticks``; None when no notes can.

    >>> fill_chars(0), fill_chars(3 * TICK), fill_chars(9 * TICK // 2), fill_chars(TICK // 32)
    (0, 2, 4, None)
    """
    grid = TICK // 16
    if ticks < 0 or ticks % grid:
        return None
    k = ticks // grid
    best = _fill_table(max(256, 1 << k.bit_length()))[k]
    return best if best < 10**6 else None


def octave_ok(letter: str, marks: str) -> bool:
    """C, to b' and no further, written the usual way (commas on capitals, apostrophes on small letters).

    >>> octave_ok("C", ",,"), octave_ok("c", "'"), octave_ok("c", ","), octave_ok("C", ",,,")
    (True, True, False, False)
    """
    return marks in ("", ",", ",,") if letter.isupper() else marks in ("", "'", "''")


@lru_cache(maxsize=1 << 16)  # a tune set writes few distinct notes and chords
def written_ticks(kind: str, text: str) -> int | None:
    """Ticks a note, rest or chord is written to last, before tuplets;
    None when it is outside the allowed forms.

    >>> [written_ticks(k, s) / TICK for k, s in [(T.NOTE, "c'3"), (T.CHORD, "[ce]/"), (T.REST, "z")]]
    [3.0, 0.5, 1.0]
    >>> [written_ticks(k, s) for k, s in [(T.CHORD, "[c2e]"), (T.NOTE, "c,"), (T.NOTE, "A5/16"), (T.REST, "x")]]
    [None, None, None, None]
    """
    if kind == T.NOTE:
        acc, letter, marks, suffix = T.note_parts(text)
        return SUFFIX_TICKS.get(suffix) if len(acc) < 2 and octave_ok(letter, marks) else None
    if kind == T.REST:
        return SUFFIX_TICKS.get(text[1:]) if text[0] == "z" else None
    if kind != T.CHORD:
        return None
    close = text.rindex("]")
    inner, outer = text[1:close], text[close + 1 :]
    notes = CHORD_NOTE.findall(inner)
    suffix = notes[0][3] if notes else ""
    if (
        not 1 <= len(notes) <= MAX_CHORD_NOTES
        or "".join(map("".join, notes)) != inner
        or (suffix and outer)
        or any(n[3] != suffix or not octave_ok(n[1], n[2]) for n in notes)
    ):
        return None
    return SUFFIX_TICKS.get(suffix + outer)
