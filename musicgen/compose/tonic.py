"""The tonic of a tune's key, and how its notes and chord symbols read against it (form-aware writing's end).

>>> t = tonic_of("Dmix")
>>> t.letter, t.pc, sounds_tonic("d2", t, False), symbol_pc("D7")
('D', 2, (True, False), 2)
"""

from __future__ import annotations

import re
from typing import NamedTuple

from musicgen.abcnotation import tokens as T
from musicgen.abcnotation.header import HeaderError, parse_key

_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ROOT = re.compile(r"\(?([A-G])([#b]?)")  # a chord symbol's root, as the form measures read it


class Tonic(NamedTuple):
    """The tonic of the tune's key."""

    letter: str  # "F"
    mark: str  # the accidental that writes it whatever came before in the bar: "^" for F#, "_" for Bb, "="
    pc: int  # pitch class, 0 = C
    root: str  # the chord symbol root that names it: "F#"


def tonic_of(key: str | None) -> Tonic | None:
    """The tonic of a ``K:`` value, modes included; None for none or an unreadable key.

    >>> tonic_of("Ador"), tonic_of("F#m").mark, tonic_of("Bb").pc, tonic_of("none"), tonic_of("H")
    (Tonic(letter='A', mark='=', pc=9, root='A'), '^', 10, None, None)
    """
    try:
        name = parse_key(key or "")[0]
    except HeaderError:
        return None
    if name in ("none", "hp"):
        return None
    root = name[: 2 if name[1:2] in ("#", "b") else 1]
    shift = {"#": 1, "b": -1}.get(root[1:], 0)
    return Tonic(root[0], {"#": "^", "b": "_"}.get(root[1:], "="), (_PC[root[0]] + shift) % 12, root)


def sounds_tonic(note: str, tonic: Tonic, touched: bool) -> tuple[bool, bool]:
    """Whether a note (its text) sounds the tonic, and whether the tonic's letter is touched after it: an
    accidental other than the tonic's own has come on it in this bar, so its bare letter may no longer be
    the tonic (an accidental holds to the end of the bar).

    >>> t = tonic_of("D")
    >>> sounds_tonic("d2", t, False), sounds_tonic("^D", t, False), sounds_tonic("D", t, True), sounds_tonic("=D", t, True)
    ((True, False), (False, True), (False, True), (True, True))
    """
    acc, letter, _, _ = T.note_parts(note)
    if letter.upper() != tonic.letter:
        return False, touched
    if acc:
        return acc == tonic.mark, touched or acc != tonic.mark
    return not touched, touched


def chord_touches(chord: str, tonic: Tonic, touched: bool) -> bool:
    """Whether the tonic's letter is touched after a chord (see :func:`sounds_tonic`)."""
    for note in T.chord_notes(chord):
        touched = sounds_tonic(note, tonic, touched)[1]
    return touched


def symbol_pc(symbol: str) -> int | None:
    """The pitch class of a chord symbol's root (its text inside the quotes); None without one.

    >>> symbol_pc("F#m7"), symbol_pc("(Bb)"), symbol_pc("Am/e"), symbol_pc("")
    (6, 10, 9, None)
    """
    m = _ROOT.match(symbol)
    return None if m is None else (_PC[m[1]] + {"#": 1, "b": -1}.get(m[2], 0)) % 12
