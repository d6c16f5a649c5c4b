r"""Folk instruments' playable ranges, and which notes of a tune fall outside one.

    inst = instrument("whistle")                 # Instrument(name='whistle', label='D whistle', low=62, high=83, ...)
    outside(tune, inst)                          # the notes below and above the range, each with its bar
    octave_shift(tune, inst)                     # whole octaves that put every note in range: 0, 1, -1, ... or None
    range_report(tune, inst)                     # the same in plain words

Ranges are in **written** pitch, as MIDI numbers (the ABC ``C`` is 60, ``c`` 72), because a tune's ABC
is what the player reads. Two of these instruments sound an octave away from what they read, as
their music is customarily written: the D whistle sounds an octave higher (its low D, written ``D``
just below the staff, sounds D5), the guitar an octave lower (written ``E,`` sounds E2). The
others sound as written. Each range is a common instrument's, with its source or assumption beside it;
a player's own instrument may reach further.

>>> print(range_report("X:1\nK:G\nGAB|C2 D2|DEF|B,2 G2|", instrument("whistle")))
two notes below the D whistle's low D (ABC D): C in bar 2, B, in bar 4. Up an octave puts every note in range.
"""

from __future__ import annotations

from typing import NamedTuple

from musicgen.abcnotation.pitch import LETTERS, NATURAL, written
from musicgen.abcnotation.transpose import Written, written_pitches


class Instrument(NamedTuple):
    """An instrument's written range: ``low`` and ``high`` as MIDI numbers; ``sounds`` is how many
    semitones its sound lies from what it reads (-12: an octave lower)."""

    name: str
    label: str
    low: int
    high: int
    sounds: int = 0


RANGES: dict[str, Instrument] = {
    # the open G string (G3) to the E string's seventh position (E7); folk fiddling rarely leaves
    # first and third position (up to B5 and D6)
    "fiddle": Instrument("fiddle", "fiddle", 55, 100),
    # a D whistle: low D to the B of its second octave, written D4 to B5 (ABC D to b) and sounding an
    # octave higher (D5 to B6); the third octave (c' and above) is shrill and rarely played
    "whistle": Instrument("whistle", "D whistle", 62, 83, 12),
    # a simple-system (Irish) flute in D: low D (D4) to the A of its third octave (A6), at concert pitch
    "flute": Instrument("flute", "flute", 62, 93),
    # the open G string (G3) to the E string's 17th fret (A6)
    "mandolin": Instrument("mandolin", "mandolin", 55, 93),
    # a 41-key piano accordion's right hand: F3 to A6 (button accordions differ by a few notes)
    "accordion": Instrument("accordion", "accordion", 53, 93),
    # written E3 to B6 (the open low E to the 19th fret of the high E): it sounds an octave lower,
    # E2 to B5; the ranges compare written notes, so a tune is read as a guitarist reads it
    "guitar": Instrument("guitar", "guitar", 52, 95, -12),
    # 88 keys, A0 to C8
    "piano": Instrument("piano", "piano", 21, 108),
}
ALIASES = {"violin": "fiddle", "d whistle": "whistle", "tin whistle": "whistle", "penny whistle": "whistle"}
ALIASES |= {"irish flute": "flute", "piano accordion": "accordion", "keyboard": "piano"}
_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
_SHOWN = 6  # notes named in a report before "and N more"
_MOST_OCTAVES = 4


def instrument(name: str) -> Instrument:
    """The instrument called ``name`` (any case; ``violin``, ``tin whistle``... also do).

    >>> instrument("Fiddle").low, instrument("tin whistle").label
    (55, 'D whistle')
    >>> instrument("banjo")
    Traceback (most recent call last):
    ...
    ValueError: no instrument 'banjo': choose fiddle, whistle, flute, mandolin, accordion, guitar or piano
    """
    key = " ".join(str(name).lower().replace("-", " ").split())
    found = RANGES.get(ALIASES.get(key, key))
    if found is None:
        names = list(RANGES)
        raise ValueError(f"no instrument {name!r}: choose {', '.join(names[:-1])} or {names[-1]}")
    return found


def outside(tune: str, inst: Instrument) -> tuple[list[Written], list[Written]]:
    r"""The notes of ``tune`` below ``inst``'s range and those above it, in order.

    >>> below, above = outside("X:1\nK:D\nd'2 A,|", instrument("whistle"))
    >>> [w.text for w in below], [w.text for w in above]
    (['A,'], ["d'"])
    """
    notes = written_pitches(tune)
    return [w for w in notes if w.midi < inst.low], [w for w in notes if w.midi > inst.high]


def octave_shift(tune: str, inst: Instrument) -> int | None:
    r"""The move of whole octaves (0 if none is needed) that puts every note of ``tune`` in ``inst``'s
    range, the smallest there is (the one nearer the middle of the range when up and down both fit);
    None when none does, or when the tune has no notes.

    >>> octave_shift("X:1\nK:D\nD2 A,|", instrument("flute")), octave_shift("X:1\nK:D\nD,,A,|", instrument("whistle"))
    (1, 2)
    >>> octave_shift("X:1\nK:D\nA,2 b2|", instrument("whistle")), octave_shift("X:1\nK:D\nz2|", instrument("piano"))
    (None, None)
    """
    pitches = [w.midi for w in written_pitches(tune)]
    if not pitches:
        return None
    low, high = min(pitches), max(pitches)
    middle = (inst.low + inst.high) / 2 - (low + high) / 2
    fits = [
        k for k in range(-_MOST_OCTAVES, _MOST_OCTAVES + 1) if inst.low <= low + 12 * k and high + 12 * k <= inst.high
    ]
    return min(fits, key=lambda k: (abs(k), abs(12 * k - middle))) if fits else None


def range_report(tune: str, inst: Instrument) -> str:
    r"""In plain words: the notes of ``tune`` outside ``inst``'s range, and the octave shift that fixes
    it; an empty string when every note is in range.

    >>> print(range_report("X:1\nK:D\nd'2 A,|", instrument("whistle")))  # doctest: +NORMALIZE_WHITESPACE
    one note below the D whistle's low D (ABC D): A, in bar 1. One note above the D whistle's top B (ABC b): d' in
    bar 1. No shift of whole octaves puts every note in range: the tune spans A, to d', 29 semitones, more than the
    D whistle's 21.
    >>> range_report("X:1\nK:D\nDFA d2|", instrument("whistle"))
    ''
    >>> range_report("X:1\nK:D\nDFA|A,2 d|", instrument("flute"))
    "one note below the flute's low D (ABC D): A, in bar 2. Up an octave puts every note in range."
    """
    below, above = outside(tune, inst)
    if not below and not above:
        return ""
    parts = []
    if below:
        parts.append(f"{_count(below)} below the {inst.label}'s low {_bound(inst.low)}: {_listed(below)}")
    if above:
        parts.append(f"{_count(above)} above the {inst.label}'s top {_bound(inst.high)}: {_listed(above)}")
    shift = octave_shift(tune, inst)
    if shift:
        way = "Up" if shift > 0 else "Down"
        parts.append(
            f"{way} {'an octave' if abs(shift) == 1 else f'{_WORDS[abs(shift)]} octaves'} puts every note in range"
        )
    else:
        parts.append("No shift of whole octaves puts every note in range" + _semitones_that_fit(tune, inst))
    return ". ".join(p[0].upper() + p[1:] if i else p for i, p in enumerate(parts)) + "."


def _semitones_that_fit(tune: str, inst: Instrument) -> str:
    """What move would fit the tune in the range, in words (after a sentence that ends without a stop)."""
    notes = written_pitches(tune)
    low, high = min(notes, key=lambda w: w.midi), max(notes, key=lambda w: w.midi)
    span = f"the tune spans {low.text} to {high.text}, {high.midi - low.midi} semitones"
    least, most = inst.low - low.midi, inst.high - high.midi  # the moves that fit: least to most semitones
    if least > most:
        return f": {span}, more than the {inst.label}'s {inst.high - inst.low}"
    way = "up" if least > 0 else "down"
    near, far = sorted((abs(least), abs(most)))
    moves = f"{near} semitone{'s' * (near != 1)}" if near == far else f"{near} to {far} semitones"
    return f"; moving it {way} {moves} would ({span})"


def _count(notes: list[Written]) -> str:
    n = len(notes)
    return f"{_WORDS[n] if n < len(_WORDS) else n} note{'s' * (n != 1)}"


def _listed(notes: list[Written]) -> str:
    shown = ", ".join(f"{w.text} in bar {w.bar}" for w in notes[:_SHOWN])
    return shown + (f" and {len(notes) - _SHOWN} more" if len(notes) > _SHOWN else "")


def _bound(pitch: int) -> str:
    """A range's end in words: its letter and its ABC spelling (every end here is a natural note)."""
    octave, semitone = divmod(pitch - 60, 12)
    step = NATURAL.index(semitone) + 7 * octave
    return f"{LETTERS[step % 7]} (ABC {written(step)})"
