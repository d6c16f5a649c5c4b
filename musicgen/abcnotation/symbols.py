r"""The chord symbols meter-aware writing lets a tune use: a small grammar, read a character at a time.

A symbol (the text between the quotes) is a root, one accidental at most, a quality from :data:`QUALITIES`,
and a bass note after a slash, the whole in brackets or not: ``G``, ``F#m``, ``A7/c+``, ``Bbm7/f``, ``(E7)``.
Every chord symbol of the Nottingham tunes but a handful of text ones has this form, and music21 reads
every symbol it makes (``tests/test_symbols.py``), where it fails on some strings of the same characters
("Ab#": "-# is not a supported accidental type"; numbers after a bass note: "Unknown type: complex").

:func:`symbol_state` names where a symbol under way stands in the grammar: texts with one state take the
same characters on, and the same shortest way to a whole symbol (:func:`symbol_completion`), whatever their
letters (so a rule table's state key holds the state, not the text: :func:`musicgen.compose.pending.blur`).

>>> [symbol_ok(s) for s in ("", "(", "F#m", "Gsus", "A7/c", "Ab#", "EE7", "D/f+9", "(E7")]
[True, True, True, True, True, False, False, False, True]
>>> [symbol_whole(s) for s in ("F#m", "Gsus", "(E7", "(E7)", "G/")]
[True, False, False, True, False]
>>> [symbol_completion(s) for s in ("", "(", "Gsu", "G/", "(F#7")]
['C', 'C)', 's2', 'C', ')']
"""

from __future__ import annotations

import re
from functools import lru_cache

ROOTS = frozenset("ABCDEFG")
ACCIDENTALS = frozenset("#b")  # after a root
BASSES = frozenset("ABCDEFGabcdefg")
BASS_ACCIDENTALS = frozenset("#b+")  # after a bass note ("D/f+": the Nottingham tunes' sharp)
QUALITIES = frozenset(  # (music21 reads no "d" or "a" for dim and aug, which a few Nottingham symbols write:
    # for_music21 spells them out where a tune is read)
    {"m", "7", "m7", "6", "m6", "9", "m9", "7b9", "maj7", "dim", "dim7", "aug", "+", "sus4", "sus2", "7sus4", "m7b5"}
)
PLUS_BASS = frozenset({"", "7"})  # qualities the corpus writes a "+" bass after (178 of 182: "D/f+", "A7/c+")
_SHARP_BASS = re.compile(r'("\(?[A-G][^"\n/]*/[A-Ga-g])\+')  # a symbol's bass note and its "+" (a sharp)
_SHORT_QUALITY = re.compile(r'("\(?[A-G][#b]?)([da])(?=[\d/)"])')  # "Gd", "Fa7": diminished, augmented
_SPELLED = {"d": "dim", "a": "aug"}
_QUALITY_PREFIXES = frozenset(q[:i] for q in QUALITIES for i in range(1, len(q) + 1))
SYMBOL_CHARS = frozenset("(/)") | ROOTS | ACCIDENTALS | BASSES | BASS_ACCIDENTALS | frozenset("".join(QUALITIES))

# the states of the grammar (a "(" before any of them adds "(" to the name, until the ")")
START, ROOT, QUALITY, SLASH, BASS, BASS_SHARP, CLOSED = "s", "r", "q", "/", "b", "#", ")"


def _step(state: str, ch: str) -> str | None:
    """The state after ``ch`` (None: it breaks the grammar). A state is a name, "(" first while a bracket is
    open, and in a quality the quality so far: "(q7s" is "(G7s"'s."""
    paren, name = state[:1] == "(", state[1:] if state[:1] == "(" else state  # (a slash's or bass's "+": see below)
    kind, quality = name[:1], name[1:]
    out: str | None = None
    if kind == START:
        out = ROOT if ch in ROOTS else "(" + START if ch == "(" and not paren else None
    elif ch == ")" and paren and (kind in (ROOT, BASS, BASS_SHARP) or kind == QUALITY and quality in QUALITIES):
        return CLOSED
    elif kind == ROOT and ch in ACCIDENTALS and not quality:
        out = ROOT + "#"  # (a root's accidental: no second one)
    elif kind in (ROOT, QUALITY) and ch == "/" and (kind == ROOT or quality in QUALITIES):
        out = SLASH + ("+" if kind == ROOT or quality in PLUS_BASS else "")  # (whether a "+" may follow the bass)
    elif kind in (ROOT, QUALITY) and (quality if kind == QUALITY else "") + ch in _QUALITY_PREFIXES:
        out = QUALITY + (quality if kind == QUALITY else "") + ch
    elif kind == SLASH and ch in BASSES:
        out = BASS + quality
    elif kind == BASS and ch in BASS_ACCIDENTALS and (ch != "+" or quality):
        out = BASS_SHARP
    return None if out is None else ("(" if paren else "") + out


@lru_cache(maxsize=4096)
def symbol_state(inner: str) -> str | None:
    """Where the symbol text ``inner`` stands in the grammar (see :func:`_step`); None where no symbol begins so.

    >>> symbol_state("F#m7"), symbol_state("(D/f"), symbol_state("Fb#")
    ('qm7', '(b+', None)
    """
    state: str | None = START
    for ch in inner:
        state = _step(state, ch)
        if state is None:
            return None
    return state


def symbol_ok(inner: str) -> bool:
    """Whether a chord symbol's text (between the quotes) is, or can still become, one the grammar allows."""
    return symbol_state(inner) is not None


def _whole(state: str) -> bool:
    kind, quality = state[:1], state[1:]
    return kind in (ROOT, BASS, BASS_SHARP, CLOSED) or kind == QUALITY and quality in QUALITIES


def symbol_whole(inner: str) -> bool:
    """Whether ``inner`` is a whole chord symbol (the closing quote may come)."""
    state = symbol_state(inner)
    return state is not None and _whole(state)


@lru_cache(maxsize=256)
def _completion(state: str) -> str:
    """The shortest text that makes a symbol in ``state`` whole (breadth first over the grammar's characters; a
    capital is written as "C", the one that stands for them all in the rule tables: musicgen.compose.rules)."""
    chars = sorted(SYMBOL_CHARS, key=lambda c: (c != "C", c))
    frontier, seen = [(state, "")], {state}
    while frontier:  # (bounded: the grammar has fewer than a hundred states)
        nxt = []
        for s, text in frontier:
            if _whole(s):
                return text
            for ch in chars:
                t = _step(s, ch)
                if t is not None and t not in seen:
                    seen.add(t)
                    nxt.append((t, text + ch))
        frontier = nxt
    raise AssertionError(f"no way to a whole chord symbol from {state!r}")  # every state leads to one


def symbol_completion(inner: str) -> str | None:
    """The shortest text that makes ``inner`` a whole chord symbol ("" where it is one); None where none can."""
    state = symbol_state(inner)
    return None if state is None else _completion(state)


def for_music21(abc: str) -> str:
    """The tune with its chord symbols as music21 should read them: a bass note's ``+`` (the Nottingham tunes'
    sharp, "D/f+": D with F# in the bass) written ``#``, which music21 reads as meant (it takes ``+`` for an
    augmented chord and "D/f+" for F, F#, A# and D); and the corpus's short qualities "d" and "a" spelled
    ``dim`` and ``aug`` ("Gd", "Fa7", "Bbd/f"), which music21 reads as no chord at all. Nothing else changes (an
    augmented "D+" keeps its sign; "Gadd9", "Gdim" and a bass note "d" are left as they are).

    >>> for_music21('"D/f+"d2 "A7/c+"c2 "D+"d2 "(E7/g+)"e2 |"D"d4')
    '"D/f#"d2 "A7/c#"c2 "D+"d2 "(E7/g#)"e2 |"D"d4'
    >>> for_music21('"Gd"G2 "Fa7"F2 "(Bbd/f)"B2 "Gadd9"G2 "Gdim"G2 "G/d"G2 "Ga"a2')
    '"Gdim"G2 "Faug7"F2 "(Bbdim/f)"B2 "Gadd9"G2 "Gdim"G2 "G/d"G2 "Gaug"a2'
    """
    abc = _SHORT_QUALITY.sub(lambda m: m[1] + _SPELLED[m[2]], abc)
    return _SHARP_BASS.sub(r"\1#", abc)
