r"""Spelled pitches for transposing ABC: intervals, key names, the written form of a note, chord symbols.

A transposition here is an :class:`Interval` of ``steps`` (letter names) and ``semitones``: G to Bb is
2 steps and 3 semitones (a minor third), so every note moves two letters and its accidental follows
from the semitones. Keeping the steps fixed is what spells a transposed tune the way the new key
writes it (F# in D becomes G in Eb, not F##), and it is how music is transposed by hand.

Notes count ``steps`` from C4 (the ABC ``C``, MIDI 60): ``c`` is step 7, ``C,`` step -7.

>>> Interval.between(("G", 0), ("B", -1), 3)
Interval(steps=2, semitones=3)
>>> [move_key(k, Interval(1, 2))[0] for k in ["Ador", "E minor", "D dor ^g", "Gmix", "Bb"]]
['Bdor', 'F# minor', 'E dor ^a', 'Amix', 'C']
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from musicgen.abcnotation.header import HeaderError, parse_key

LETTERS = "CDEFGAB"
NATURAL = (0, 2, 4, 5, 7, 9, 11)  # semitones of each letter above C
INDEX = {letter: i for i, letter in enumerate(LETTERS)} | {letter.lower(): i for i, letter in enumerate(LETTERS)}
ACCIDENTALS = {"^^": 2, "^": 1, "=": 0, "_": -1, "__": -2}  # as in header.ACCIDENTALS
WRITTEN = {2: "^^", 1: "^", 0: "=", -1: "_", -2: "__"}
NO_TONIC = frozenset({"none", "hp"})  # keys parse_key names without a tonic (K:clef=bass names C, see tonic())


class TransposeError(ValueError):
    """ABC that cannot be transposed (no key, a key out of range, a mode that a transposition cannot change)."""


class Interval(NamedTuple):
    """How far a transposition moves: letter steps and semitones (steps 2, semitones 3: a minor third up)."""

    steps: int
    semitones: int

    @staticmethod
    def between(low: tuple[str, int], high: tuple[str, int], semitones: int) -> Interval:
        """The interval of ``semitones`` that takes tonic ``low`` (letter, alteration) to ``high``.

        >>> Interval.between(("D", 0), ("C", 1), -1), Interval.between(("C", 0), ("C", 0), 12)
        (Interval(steps=-1, semitones=-1), Interval(steps=7, semitones=12))
        """
        a, b = INDEX[low[0]], INDEX[high[0]]
        up = (b - a) % 7  # steps up within an octave
        size = NATURAL[(a + up) % 7] + 12 * ((a + up) // 7) - NATURAL[a] + high[1] - low[1]
        octaves, rest = divmod(semitones - size, 12)
        if rest:
            raise ValueError(f"{low} to {high} is not {semitones} semitones")
        return Interval(up + 7 * octaves, semitones)

    @property
    def alterations(self) -> tuple[int, ...]:
        """What moving by this interval adds to the alteration of each letter (C, D, ... B)."""
        return _alterations(self)

    def move(self, letter: str, alter: int) -> tuple[str, int]:
        """A pitch class moved: letter and alteration (which may come out double or more).

        >>> Interval(2, 3).move("F", 1), Interval(-1, -1).move("B", -1), Interval(1, 2).move("E", 1)
        (('A', 0), ('A', 0), ('F', 2))
        """
        i = INDEX[letter]
        return LETTERS[(i + self.steps) % 7], alter + self.alterations[i]


@lru_cache(maxsize=256)
def _alterations(interval: Interval) -> tuple[int, ...]:
    out = []
    for i in range(7):
        j = i + interval.steps
        out.append(interval.semitones - (NATURAL[j % 7] + 12 * (j // 7) - NATURAL[i]))
    return tuple(out)


def midi(step: int, alter: int) -> int:
    """The MIDI number of a note ``step`` letters from C4 with an alteration.

    >>> midi(0, 0), midi(7, 1), midi(-8, 0)
    (60, 73, 47)
    """
    return 60 + 12 * (step // 7) + NATURAL[step % 7] + alter


@lru_cache(maxsize=512)
def written(step: int) -> str:
    """A step written as an ABC letter with octave marks (no accidental).

    >>> [written(s) for s in (-8, -7, 0, 6, 7, 14, 15)]
    ['B,,', 'C,', 'C', 'B', 'c', "c'", "d'"]
    """
    octave, i = divmod(step, 7)
    return LETTERS[i].lower() + "'" * (octave - 1) if octave >= 1 else LETTERS[i] + "," * -octave


def respell(step: int, pitch: int) -> tuple[int, int]:
    """The step and alteration nearest ``step`` that write MIDI ``pitch`` with the fewest accidentals.

    >>> respell(3, 68), respell(6, 71 - 3)  # F### is G#; B triple flat is A flat
    ((4, 1), (5, -1))
    """
    best = min(range(step - 2, step + 3), key=lambda s: (abs(pitch - midi(s, 0)), abs(s - step)))
    return best, pitch - midi(best, 0)


# ---------------------------------------------------------------- keys

_TONIC = re.compile(r"(\s*)([A-Ga-g])([#b]?)")
_HAS_TONIC = re.compile(r"\s*[A-Ga-g](?![\w]*=)")  # not K:clef=bass (which parse_key names C)
_KEY_ACCIDENTAL = re.compile(r"(?<=\s)(\^\^|\^|__|_|=)([A-Ga-g])(?=\s|$)")


def tonic(value: str) -> tuple[str, int, str] | None:
    """A K: value's tonic letter, its alteration and the mode's suffix in a key name; None when it has none.

    >>> tonic("F# dorian"), tonic("Bbm"), tonic("none"), tonic("clef=bass")
    (('F', 1, 'dor'), ('B', -1, 'm'), None, None)
    """
    name = parse_key(value)[0]
    if name in NO_TONIC or not _HAS_TONIC.match(value):
        return None
    alter = {"#": 1, "b": -1}.get(name[1:2], 0)
    return name[0], alter, name[1 + (alter != 0) :]


@lru_cache(maxsize=256)
def key_size(letter: str, alter: int, mode: str) -> int | None:
    """How many sharps or flats the key has (None beyond seven or a double sharp or flat tonic).

    >>> key_size("F", 1, ""), key_size("G", -1, ""), key_size("A", 1, "m"), key_size("G", 1, "")
    (6, 6, 7, None)
    """
    if abs(alter) > 1:
        return None
    try:
        alters = parse_key(letter + {1: "#", -1: "b", 0: ""}[alter] + mode)[1]
    except HeaderError:
        return None
    return len(alters)


@lru_cache(maxsize=256)
def best_tonic(pitch_class: int, mode: str) -> tuple[str, int]:
    """The spelling of a tonic with the fewest sharps or flats in ``mode``; sharps win a tie.

    >>> best_tonic(10, ""), best_tonic(6, ""), best_tonic(1, ""), best_tonic(3, "m"), best_tonic(8, "dor")
    (('B', -1), ('F', 1), ('D', -1), ('D', 1), ('G', 1))
    """
    spellings = []
    for i, letter in enumerate(LETTERS):
        for alter in (1, 0, -1):
            size = key_size(letter, alter, mode)
            if (NATURAL[i] + alter) % 12 == pitch_class % 12 and size is not None:
                spellings.append((size, -alter, letter))
    size, minus, letter = min(spellings)
    return letter, -minus


@lru_cache(maxsize=1024)
def move_key(value: str, interval: Interval) -> tuple[str, Interval]:
    """A K: value moved by ``interval`` (mode words, clef and comment kept), and the interval that its
    notes move by: the same, unless the moved key would have more than seven sharps or flats and is
    spelled the other way (C# major moved up a semitone is D, not C##). Keys without a tonic stay.

    >>> move_key("G clef=bass % tune", Interval(2, 3)), move_key("C#", Interval(0, 1))
    (('Bb clef=bass % tune', Interval(steps=2, semitones=3)), ('D', Interval(steps=1, semitones=1)))
    >>> move_key("none", Interval(1, 2)), move_key("e minor", Interval(-2, -4))
    (('none', Interval(steps=1, semitones=2)), ('c minor', Interval(steps=-2, semitones=-4)))
    """
    old = tonic(value)
    if old is None:
        return value, interval
    letter, alter = interval.move(old[0], old[1])
    if key_size(letter, alter, old[2]) is None:
        letter, alter = best_tonic(NATURAL[INDEX[letter]] + alter, old[2])
        interval = Interval.between(old[:2], (letter, alter), interval.semitones)
    music, hash_, comment = value.partition("%")
    m = _TONIC.match(music)
    assert m is not None  # tonic() found it
    name = (letter if m[2].isupper() else letter.lower()) + {1: "#", -1: "b", 0: ""}[alter]
    rest = _KEY_ACCIDENTAL.sub(lambda a: _move_accidental(a, interval), music[m.end() :])
    return m[1] + name + rest + hash_ + comment, interval


def _move_accidental(m: re.Match[str], interval: Interval) -> str:
    """An explicit accidental of a K: value (``^g``) moved by ``interval``."""
    letter, alter = interval.move(m[2].upper(), ACCIDENTALS[m[1]])
    if abs(alter) > 2:
        raise TransposeError(f"the key's accidental {m[0]} moves out of double sharps and flats")
    return WRITTEN[alter] + (letter if m[2].isupper() else letter.lower())


# ---------------------------------------------------------------- chord symbols

# "(A7)", "Bbmaj7", "Em/g", "D/f+" (Nottingham writes a sharp bass as "+"), "E7b9", "Gd" (diminished)
_QUALITY = r"(?:maj|min|dim|aug|sus|add|m|M|d|a|o|\+|-|#|b|\d|\(|\)|°|ø| )*"  # "D m": Nottingham's space
_SYMBOL = re.compile(r"(\s*\(?)([A-G])([#b]?)(" + _QUALITY + r")(?:/(.*))?", re.S)  # root, quality, after a "/"
_BASS = re.compile(r"([A-Ga-g])([#b+]?)(\)?\s*)")  # a bass note: "g", "f+", "Bb"
_BASS_ONLY = re.compile(r"(\s*)([a-g])([#b+]?)(\s*)")  # a bass note alone ("f#"), as older files write it
_SIGNS = {"#": 1, "+": 1, "b": -1, "": 0}


@lru_cache(maxsize=4096)  # a tune set holds few distinct chord symbols
def move_symbol(symbol: str, interval: Interval, plus: bool = False) -> str:
    """The text of a chord symbol (inside its quotes) moved by ``interval``: root and bass, each spelled
    by the interval, quality kept (and what follows a "/" that is not a note, as in "G/dim").
    Annotations (``^text``, ``<text``...) and other text stay. A lower-case bass writes a sharp as
    ``+`` where ``plus`` says the tune does so (Nottingham's "D/f+"); a bass written with ``+`` keeps it.

    >>> [move_symbol(s, Interval(1, 2)) for s in ["Em/g", "A7", "D/f+", "Bbmaj7", "G/B", "^text", "<ah", "Fine"]]
    ['F#m/a', 'B7', 'E/g+', 'Cmaj7', 'A/C#', '^text', '<ah', 'Fine']
    >>> move_symbol("G/b", Interval(1, 2), plus=True), move_symbol("(D7)", Interval(-1, -1)), move_symbol("f#", Interval(0, -1))
    ('A/c+', '(C#7)', 'f')
    >>> move_symbol("C/(pl", Interval(3, 5)), move_symbol("D m", Interval(3, 5)), move_symbol("Ab", Interval(1, 1))
    ('F/(pl', 'G m', 'A')
    """
    m = _SYMBOL.fullmatch(symbol)
    if m:
        chord = m[1] + _moved(m[2], m[3], interval, "#") + m[4]
        if m[5] is None:
            return chord
        bass = _BASS.fullmatch(m[5])
        if bass is None:
            return chord + "/" + m[5]
        sharp = "+" if bass[2] == "+" or (plus and bass[2] != "#" and bass[1].islower()) else "#"
        return chord + "/" + _moved(bass[1], bass[2], interval, sharp) + bass[3]
    m = _BASS_ONLY.fullmatch(symbol)
    if m:
        return m[1] + _moved(m[2], m[3], interval, "+" if m[3] == "+" else "#") + m[4]
    return symbol


def _moved(letter: str, sign: str, interval: Interval, sharp: str) -> str:
    new, alter = interval.move(letter.upper(), _SIGNS[sign])
    if abs(alter) > 1:  # a chord symbol writes one sharp or flat at most: Fx is G
        step, alter = respell(INDEX[new] + 7, NATURAL[INDEX[new]] + 72 + alter)
        new = LETTERS[step % 7]
    return (new if letter.isupper() else new.lower()) + {1: sharp, -1: "b", 0: ""}[alter]
