r"""Transpose ABC tunes: every note, key and chord symbol moved, everything else left as it was.

    transpose_tune(text, 2)              # up a whole tone: K:G becomes K:A, "Em/g" becomes "F#m/a"
    transpose_tune(text, -12)            # down an octave (the key stays)
    transpose_to_key(text, "Bb")         # to B flat by the nearer way (a tonic alone keeps the mode)
    written_pitches(text)                # (MIDI number, note as written, bar) of every note

The rules are ABC's. The K: signature applies to each letter; an explicit accidental (``^ ^^ _ __ =``)
lasts to the end of its bar for that letter at that octave (``%%propagate-accidentals octave``, as
abcjs draws it). Each note keeps its letter distance (see :mod:`musicgen.abcnotation.pitch`), so the
new key spells it, and it is written with exactly the accidental the new key and the bar need: none
where the signature or an earlier accidental of the bar gives it, ``=`` where it cancels one. A
redundant accidental in the text (``^f`` in G, ``=e`` a bar after ``^e``) is dropped; one is written
where an accidental on the same letter at another octave earlier in the bar would otherwise be read
into it by ABC 2.1's default (``%%propagate-accidentals pitch``): ``_B =b``, so the output means
the same under both readings. Notes in chords ``[..]``, ABC 1 chords ``+GB+`` and grace notes
``{..}`` count like any other; lengths, ties, slurs, tuplets, broken rhythm and decorations stay as
written. A K: field (header, ``[K:..]``, a K: line in the body) moves with the notes: the new key is
spelled with the fewer sharps or flats in its mode (Bb, not A#; F#, not Gb; D#m, not Ebm: sharps win a
tie), K:none, K:HP and a K: with only a clef stay as written. A text may hold several tunes: each
``X:`` starts a new one, which moves from its own key.

Speed matters (training moves every tune each epoch): one pass over the tokens of
:func:`~musicgen.abcnotation.tokens.tokenize` (cached), a few dictionary look-ups a note.

>>> transpose_tune("X:1\nK:G\n^c c =F F|F2 f2|", 2)  # an accidental lasts the bar; F# in G is G# in A
'X:1\nK:A\n^d d =G G|G2 g2|'
>>> transpose_tune("X:1\nK:D\n=c2 c'^c|[K:Bm] \"Em/g\"{g}[^A,E]2 .c|", -2)
'X:1\nK:C\n_B2 =b=B|[K:Am] "Dm/f"{f}[^G,D]2 .B|'
>>> transpose_tune("X:1\nK:Ador\n\"Am\"A2 ^GA|", 5), transpose_tune("X:1\nK:Ador\nA2 ^GA|", 6)
('X:1\nK:Ddor\n"Dm"d2 ^cd|', 'X:1\nK:Ebdor\ne2 =de|')
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

from musicgen.abcnotation import tokens as T
from musicgen.abcnotation.header import HeaderError, parse_key
from musicgen.abcnotation.pitch import (
    ACCIDENTALS,
    INDEX,
    LETTERS,
    NATURAL,
    WRITTEN,
    Interval,
    TransposeError,
    best_tonic,
    key_size,
    midi,
    move_key,
    move_symbol,
    respell,
    tonic,
    written,
)

__all__ = ["MAX_SEMITONES", "TransposeError", "Written", "transpose_to_key", "transpose_tune", "written_pitches"]

MAX_SEMITONES = 48  # four octaves either way: beyond it no instrument plays the tune
_INNER = re.compile(r"(![^!]*!|\+[^+]*\+|\"[^\"]*\")|(" + T.PITCH + ")")  # inside [..] and {..}: skip decorations
# ABC 1.x wrote chords between plus signs ("+GB+", the original Nottingham files); "+ff+" is a dynamic
_OLD_CHORD = re.compile(r"\+(?!f+\+)(?: *" + T.PITCH + T.LENGTH + r"){2,} *\+")
_HASH_BASS = re.compile(r'"[^"\n]*/[a-g]#')  # a tune writing a lower-case sharp bass as "f#", not "f+"
_MODE = re.compile(r"\s*([A-Ga-g][#b]?)\s*(.*)$")
Plan = Callable[[str, int], Interval]  # a tune's header K: value and its number (1, 2...) -> how far it moves


class Written(NamedTuple):
    """One note as read: its MIDI number, its text (accidental, letter, octave marks) and its bar (1, 2, ...)."""

    midi: int
    text: str
    bar: int


def transpose_tune(text: str, semitones: int) -> str:
    r"""``text`` (one tune or several) with every tune moved by ``semitones`` (up if positive).

    0 gives ``text`` back as it is (once its keys are checked). A move of whole octaves keeps each
    key's spelling; any other move spells the new key with the fewer sharps or flats (a tune in
    K:none moves as if from C). ``semitones`` may be any integer type (NumPy's too). Raises
    :class:`TransposeError` for a tune with no K: line, a K: that is not a key, or a move of more
    than :data:`MAX_SEMITONES` either way.

    >>> transpose_tune("X:1\nK:Em\nE2 B,2|", -12), transpose_tune("X:1\nK:C#\nC|", 1), transpose_tune("X:1\nK:none\n^F|", 1)
    ('X:1\nK:Em\nE,2 B,,2|', 'X:1\nK:D\nD|', 'X:1\nK:none\nG|')
    """
    semitones = _whole(semitones, MAX_SEMITONES, "a transposition moves by", "semitones")
    if semitones == 0:
        _check_keys(text)
        return text

    def plan(value: str, tune: int) -> Interval:
        old = _tonic(value, tune) or ("C", 0, "")
        if semitones % 12 == 0:
            return Interval(7 * semitones // 12, semitones)
        new = best_tonic(NATURAL[INDEX[old[0]]] + old[1] + semitones, old[2])
        return Interval.between(old[:2], new, semitones)

    return _transpose(text, plan)


def transpose_to_key(text: str, key: str, octaves: int = 0) -> str:
    r"""``text`` with every tune moved to tonic ``key`` by the nearer way (up to 6 semitones up or 5 down),
    then ``octaves`` whole octaves. A tonic alone (``Bb``) keeps each tune's mode (an A dorian tune goes
    to Bb dorian); a mode given (``Bbm``, ``G minor``) must be the tune's: a transposition keeps the mode.

    >>> transpose_to_key("X:1\nK:D\nA|", "Bb"), transpose_to_key("X:1\nK:Ador\nA|", "e"), transpose_to_key("X:1\nK:Am\nA|", "Dm", 1)
    ('X:1\nK:Bb\nF|', 'X:1\nK:Edor\nE|', "X:1\nK:Dm\nd'|")
    >>> transpose_to_key("X:1\nK:Am\nA|", "D major")
    Traceback (most recent call last):
    ...
    musicgen.abcnotation.pitch.TransposeError: tune 1 is in Am, and a transposition keeps the mode: ask for Dm, or D alone
    """
    m = _MODE.match(key) if isinstance(key, str) else None
    if m is None or "\n" in key:
        raise TransposeError(f"key {key!r} is not a key: give a tonic A-G, optionally # or b, then optionally a mode")
    want = m[1][0].upper() + m[1][1:]
    try:
        mode = None if not m[2].strip() else parse_key("C " + m[2])[0][1:]
    except HeaderError as e:
        raise TransposeError(f"key {key!r} has no mode {m[2].strip()!r}: {str(e).split(': ', 1)[1]}") from None
    octaves = _whole(octaves, MAX_SEMITONES // 12, "octaves go from", "")

    def plan(value: str, tune: int) -> Interval:
        old = _tonic(value, tune)
        if old is None:
            raise TransposeError(f"tune {tune} has K:{value.strip()}, no tonic to move to {key}")
        if mode is not None and mode != old[2]:
            raise TransposeError(
                f"tune {tune} is in {old[0]}{'#' * (old[1] > 0)}{'b' * (old[1] < 0)}{old[2]}, and a transposition "
                f"keeps the mode: ask for {want}{old[2]}, or {want} alone"
            )
        new = (want[0], {"#": 1, "b": -1}.get(want[1:], 0))
        pc = NATURAL[INDEX[new[0]]] + new[1]
        if key_size(new[0], new[1], old[2]) is None:
            new = best_tonic(pc, old[2])
        semitones = (pc - NATURAL[INDEX[old[0]]] - old[1] + 5) % 12 - 5 + 12 * octaves
        return Interval.between(old[:2], new, semitones)

    return _transpose(text, plan)


def written_pitches(text: str) -> list[Written]:
    r"""Every note of ``text``'s tunes as read under the ABC rules (key, bar accidentals), in order.

    Bars count from 1 at the start of each tune; a pick-up is bar 1, and an empty bar (``| |``) no bar.

    >>> [tuple(w) for w in written_pitches("X:1\nK:G\nf^c|[cF]{a}B,|")]
    [(78, 'f', 1), (73, '^c', 1), (72, 'c', 2), (66, 'F', 2), (81, 'a', 2), (59, 'B,', 2)]
    """
    out: list[Written] = []
    _transpose(text, lambda value, tune: Interval(0, 0), out)
    return out


def _whole(n: object, most: int, what: str, unit: str) -> int:
    """``n`` as an int (NumPy's integers too) within -most..most, else a TransposeError saying so."""
    try:
        value = operator.index(n)  # type: ignore[arg-type]
    except TypeError:
        value = most + 1
    if abs(value) > most:
        raise TransposeError(f"{what} -{most} to {most}{' ' * bool(unit)}{unit}, not {n!r}")
    return value


def _tonic(value: str, tune: int) -> tuple[str, int, str] | None:
    try:
        return tonic(value)
    except HeaderError as e:
        raise TransposeError(f"tune {tune}: {e}") from None


def _check_keys(text: str) -> None:
    """Raise as a transposition would on a text with a tune it cannot move (no K:, a K: not a key)."""
    _transpose(text, lambda value, tune: Interval(0, 0), [])


def _transpose(text: str, plan: Plan, pitches: list[Written] | None = None) -> str:
    """The one pass over the tokens: moves notes, keys and chord symbols by ``plan``'s interval, or,
    with ``pitches``, records each note as read and returns nothing worth keeping."""
    out: list[str] = []
    body, tunes = False, 0
    interval = base = Interval(0, 0)
    deltas = interval.alterations  # what the interval adds to each letter's alteration
    plus = not _HASH_BASS.search(text)  # Nottingham writes "D/f+"; so does its transposition
    src_key = dst_key = (0,) * 7  # the signature's alteration of each letter, C to B
    src_bar: dict[int, int] = {}  # step (letter and octave) -> alteration an accidental set in this bar
    dst_bar: dict[int, int] = {}
    dst_letter: dict[int, int] = {}  # letter -> the alteration last written on it in this bar, at any octave
    bar, notes_in_bar = 1, 0

    def note(acc: str, letter: str, marks: str) -> str:
        nonlocal notes_in_bar
        notes_in_bar += 1
        i, step = _place(letter, marks)
        if acc:
            alter = src_bar[step] = ACCIDENTALS[acc]
        else:
            alter = src_bar.get(step, src_key[i])
        if pitches is not None:
            pitches.append(Written(midi(step, alter), acc + letter + marks, bar))
            return ""
        step += interval.steps
        alter += deltas[i]
        if abs(alter) > 2:  # beyond a double sharp or flat: the nearest letter that writes it
            step, alter = respell(step, midi(step, alter))
        j = step % 7
        implied = dst_key[j]
        if alter == dst_bar.get(step, implied) and alter == dst_letter.get(j, implied):
            return written(step)
        dst_bar[step] = dst_letter[j] = alter
        return WRITTEN[alter] + written(step)

    def inner(m: re.Match[str]) -> str:
        if m[1]:
            return m[1]
        acc, letter, marks, _ = T.note_parts(m[2])
        return note(acc, letter, marks)

    def key(value: str) -> str:
        nonlocal interval, deltas, src_key, dst_key
        try:
            moved, interval = move_key(value, base)
            deltas = interval.alterations
            src_key, dst_key = _signature(value), _signature(moved)
        except HeaderError as e:
            raise TransposeError(f"tune {tunes}: {e}") from None
        src_bar.clear()
        dst_bar.clear()
        dst_letter.clear()
        return moved

    for kind, tok in T.tokenize(text):
        if kind == T.FIELD and tok[:2] == "X:":
            if tunes and not body:
                raise TransposeError(f"tune {tunes} has no K: line: a tune needs its key (K:) to be transposed")
            body, tunes, bar, notes_in_bar = False, tunes + 1, 1, 0
        elif not body:
            if kind == T.FIELD and tok[:2] == "K:":
                body, base = True, plan(tok[2:], max(tunes, 1))
                tok = "K:" + key(tok[2:])
        elif kind == T.NOTE:
            acc, letter, marks, length = T.note_parts(tok)
            tok = note(acc, letter, marks) + length
        elif kind == T.BAR:
            src_bar.clear()
            dst_bar.clear()
            dst_letter.clear()
            if notes_in_bar:
                bar, notes_in_bar = bar + 1, 0
        elif kind == T.CHORD or kind == T.GRACE:
            tok = _INNER.sub(inner, tok)
        elif kind == T.DECORATION and tok[0] == "+" and _OLD_CHORD.fullmatch(tok):
            tok = "+" + _INNER.sub(inner, tok[1:-1]) + "+"
        elif kind == T.SYMBOL:
            tok = '"' + move_symbol(tok[1:-1], interval, plus) + '"'
        elif kind == T.REST or kind == T.MEASURE_REST:
            notes_in_bar += 1
        elif kind == T.FIELD and tok[:2] == "K:":
            tok = "K:" + key(tok[2:])
        elif kind == T.INLINE_FIELD and tok[:3] == "[K:":
            tok = "[K:" + key(tok[3:-1]) + "]"
        out.append(tok)
    if not body:
        raise TransposeError(f"tune {max(tunes, 1)} has no K: line: a tune needs its key (K:) to be transposed")
    return "".join(out)


@lru_cache(maxsize=512)
def _place(letter: str, marks: str) -> tuple[int, int]:
    """A note's letter (0 for C ... 6 for B) and its step from C4."""
    i = INDEX[letter]
    return i, i + 7 * (letter.islower() + marks.count("'") - marks.count(","))


@lru_cache(maxsize=512)
def _signature(value: str) -> tuple[int, ...]:
    alters = parse_key(value)[1]
    return tuple(alters.get(letter, 0) for letter in LETTERS)
