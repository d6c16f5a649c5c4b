"""Tune types (the ``R:`` field): the meter each is usually written in, its tempo, its usual form; and the forms.

One table, read by the prompt (a tune type chosen without a meter gets its usual
meter, :mod:`musicgen.compose.prompt`), by form-aware writing (a tune type chosen
without a form gets its usual form, :mod:`musicgen.compose.parts`) and by the player
(a tune without ``Q:`` is played at its type's tempo, :mod:`musicgen.sound.accompaniment`),
so they agree.

Meters follow the Nottingham Music Database where it names the type: its ten
marches are in 4/4 (five), 2/4 (three) and 6/8 (two), so a march is 4/4; its two
barn dances are in 4/4. Tempos are quarter notes a minute, as dancers play them
(a jig's 165 is 110 dotted quarters). Forms are the dance's own: two 8-bar parts,
each played twice, for most; a waltz's two parts of 16 bars.

>>> usual("Slip Jig").meter, usual("jig, double").tempo, usual("Barn Dance").meter, usual("air") is None
('9/8', 165, '4/4', True)
>>> usual("reel").form, FORMS[usual("waltz").form].words
('AABB', 'two 16-bar parts')
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class TuneType:
    """One kind of tune."""

    name: str  # as a musician writes it, lower case
    meter: str  # the M: it is usually written in
    tempo: int  # quarter notes a minute when the tune gives no Q:
    form: str  # its usual form, a name in FORMS


TUNE_TYPES: tuple[TuneType, ...] = (
    TuneType("jig", "6/8", 165, "AABB"),
    TuneType("double jig", "6/8", 165, "AABB"),
    TuneType("single jig", "6/8", 165, "AABB"),
    TuneType("slip jig", "9/8", 165, "AABB"),
    TuneType("slide", "12/8", 180, "AABB"),
    TuneType("reel", "4/4", 200, "AABB"),
    TuneType("hornpipe", "4/4", 160, "AABB"),
    TuneType("strathspey", "4/4", 120, "AABB"),
    TuneType("schottische", "4/4", 140, "AABB"),
    TuneType("barndance", "4/4", 160, "AABB"),
    TuneType("march", "4/4", 112, "AABB"),
    TuneType("waltz", "3/4", 130, "AB"),
    TuneType("mazurka", "3/4", 130, "AABB"),
    TuneType("polka", "2/4", 140, "AABB"),
)


@dataclass(frozen=True)
class TuneForm:
    """A form a tune may be asked to take: its parts and their bars."""

    name: str
    parts: int  # how many parts
    bars: int | None  # bars of each part (once through); None: the usual lengths of the tune's meter
    repeated: bool  # each part is played twice (it closes with a repeat, :|)
    words: str  # what it is, for a musician


MIN_TUNE_BARS = 16  # bars of a tune at least, whatever its form: 94% of the training tunes have 16 or more
USUAL_BARS = 8  # bars of the commonest part (72% of the training tunes' parts): what a form's room is counted in
FORMS: dict[str, TuneForm] = {
    f.name: f
    for f in (
        TuneForm("model", 2, None, False, "two parts, of lengths and repeats as often as the training tunes have them"),
        TuneForm("AABB", 2, 8, True, "two 8-bar parts, each repeated"),
        TuneForm("AB", 2, 16, False, "two 16-bar parts"),
        TuneForm("A16", 1, 16, True, "one 16-bar part, repeated"),
        TuneForm("ABC", 3, None, False, "three parts"),
    )
}
NO_FORM = "none"  # meter-aware writing without form rules: every bar adds up, parts have any length
CHARS_PER_BAR = 15  # characters of ABC a bar takes, as the training tunes are written (the median: 15.2)
HEADER_CHARS = 60  # characters of a header as they are written (the median, with its title)


def least_bars(form: str) -> int:
    """The fewest bars a tune of ``form`` has (once through, as written).

    >>> [least_bars(f) for f in ("model", "AABB", "AB", "A16", "ABC", "none")]
    [16, 16, 32, 16, 24, 0]
    """
    if form == NO_FORM:
        return 0
    f = FORMS[form]
    return max(f.parts * (f.bars or USUAL_BARS), MIN_TUNE_BARS)


def room_for(form: str, length: int) -> str | None:
    """Why a length cap leaves no room for a tune of ``form``, as a sentence; None when it does.

    The room a tune needs is its header and its bars at :data:`CHARS_PER_BAR` characters each, as
    the training tunes are written: a tune squeezed into less is one the model would not write.

    >>> room_for("AABB", 1000) is None, room_for("none", 1) is None
    (True, True)
    >>> print(room_for("AB", 300))
    A tune of the form AB (two 16-bar parts) takes about 540 characters (32 bars at about 15 characters each, and its header), more than the length of 300 leaves: give a length of at least 540, or choose another form.
    """
    need = HEADER_CHARS + least_bars(form) * CHARS_PER_BAR if form != NO_FORM else 0
    if length >= need:
        return None
    f = FORMS[form]
    return (
        f"A tune of the form {f.name} ({f.words}) takes about {need} characters ({least_bars(form)} bars at "
        f"about {CHARS_PER_BAR} characters each, and its header), more than the length of {length} leaves: "
        f"give a length of at least {need}, or choose another form."
    )


def _letters(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


# longest name first, so that "slip jig" is found before the "jig" inside it
_BY_LETTERS = sorted(((_letters(t.name), t) for t in TUNE_TYPES), key=lambda lt: -len(lt[0]))


def usual(rhythm: str) -> TuneType | None:
    """The tune type an ``R:`` value names: the longest type whose name it holds (case, spaces and
    punctuation aside), or None.

    >>> [t and t.name for t in (usual(" Reel "), usual("Slip-jig"), usual("Single Jig"), usual("hornpipes"), usual(""))]
    ['reel', 'slip jig', 'single jig', 'hornpipe', None]
    """
    letters = _letters(rhythm)
    return next((t for name, t in _BY_LETTERS if name in letters), None) if letters else None
