"""Tune types (the ``R:`` field): the meter each is usually written in, its tempo, its usual form.

One table, read by the prompt (a tune type chosen without a meter gets its usual
meter, :mod:`musicgen.compose.prompt`) and by the player (a tune without ``Q:`` is
played at its type's tempo, :mod:`musicgen.sound.accompaniment`), so the two agree.

Meters follow the Nottingham Music Database where it names the type: its ten
marches are in 4/4 (five), 2/4 (three) and 6/8 (two), so a march is 4/4; its two
barn dances are in 4/4. Tempos are quarter notes a minute, as dancers play them
(a jig's 165 is 110 dotted quarters).

>>> usual("Slip Jig").meter, usual("jig, double").tempo, usual("Barn Dance").meter, usual("air") is None
('9/8', 165, '4/4', True)
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
    form: str  # parts and their bars, as most such tunes go


TUNE_TYPES: tuple[TuneType, ...] = (
    TuneType("jig", "6/8", 165, "AABB, 8 bars a part"),
    TuneType("double jig", "6/8", 165, "AABB, 8 bars a part"),
    TuneType("single jig", "6/8", 165, "AABB, 8 bars a part"),
    TuneType("slip jig", "9/8", 165, "AABB, 8 bars a part"),
    TuneType("slide", "12/8", 180, "AABB, 8 bars a part"),
    TuneType("reel", "4/4", 200, "AABB, 8 bars a part"),
    TuneType("hornpipe", "4/4", 160, "AABB, 8 bars a part"),
    TuneType("strathspey", "4/4", 120, "AABB, 8 bars a part"),
    TuneType("schottische", "4/4", 140, "AABB, 8 bars a part"),
    TuneType("barndance", "4/4", 160, "AABB, 8 bars a part"),
    TuneType("march", "4/4", 112, "AABB, 8 or 16 bars a part"),
    TuneType("waltz", "3/4", 130, "AABB, 16 bars a part"),
    TuneType("mazurka", "3/4", 130, "AABB, 8 bars a part"),
    TuneType("polka", "2/4", 140, "AABB, 8 bars a part"),
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
