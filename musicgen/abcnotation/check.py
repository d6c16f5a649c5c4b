r"""Check ABC text line by line before music21 reads it, and repair a tune cut off at the end.

    checked = check_and_repair(abc)     # raises InvalidABCError(line, reason)
    checked.text, checked.repairs, checked.unfinished_last_bar

What is checked (each with the line to blame): the text holds a K: line; M:, L:, Q:
and K: values (header, body lines and inline ``[M:3/4]``) are of a known form and
within range; every ``"``, ``[``, ``{`` and ``!`` closes on its line; note lengths are
at most :data:`MAX_NOTE_UNITS` units. music21 accepts ``M:100000/1`` and then runs
for minutes, and an unclosed ``"`` silently swallows the rest of the tune: these
checks turn such input into a sentence instead.

What is repaired, only at the very end of the tune, where a generated tune is cut
off by its length cap: an unclosed chord is closed; an unfinished chord symbol,
grace group, decoration or inline field is dropped; a dangling tie, slur, tuplet
mark, broken-rhythm mark or accidental is dropped; an unfinished field line is
dropped. A text holding several tunes keeps the first; text after the blank line
that ends a tune is ignored. Each repair is reported as one sentence.

Tokens and note lengths come from :mod:`musicgen.abcnotation.tokens`, header values and their ranges from
:mod:`musicgen.abcnotation.header`.

>>> c = check_and_repair('X:1\nM:6/8\nK:G\n"G"GAB [DG')
>>> c.text, c.repairs, c.unfinished_last_bar
('X:1\nM:6/8\nK:G\n"G"GAB [DG]', ("closed the unfinished chord '[DG' at the end of line 4",), True)
>>> check_and_repair('X:1\nK:G\n"G GAB|\nd2|')
Traceback (most recent call last):
...
musicgen.abcnotation.check.InvalidABCError: line 3: unclosed chord symbol '"' at column 1
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from musicgen.abcnotation import header as H
from musicgen.abcnotation import tokens as T

MAX_CHARS = 20_000  # longest tune accepted; the longest Nottingham tune is about 3,000
MAX_NOTE_UNITS = 64  # longest note, in unit lengths (C64)
_OPENER_NAMES = {'"': "chord symbol", "[": "chord", "{": "grace group", "!": "decoration", "+": "decoration"}
_DANGLING = {T.TIE, T.BROKEN, T.TUPLET, T.DECORATION, T.SPACE}  # and "(" (see _dangles)


class InvalidABCError(ValueError):
    """ABC text that is not a playable tune: ``line`` (1-based, or None) and ``reason``."""

    def __init__(self, line: int | None, reason: str) -> None:
        self.line, self.reason = line, reason
        super().__init__(f"line {line}: {reason}" if line is not None else reason)


@dataclass(frozen=True)
class Checked:
    """A tune's text ready for music21, and what was done to it."""

    text: str
    repairs: tuple[str, ...]
    unfinished_last_bar: bool  # the music does not end with a bar line (cut off, or just unbarred)
    unit_note_length: Fraction  # L: in force at the end, in whole notes
    title: str
    rhythm: str  # R: field, lower case
    first_line: int  # line number, in the text given, of this text's first line
    added_line: int | None = None  # index in ``text`` of a line added by a repair

    def original_line(self, line: int | None) -> int | None:
        """A line number of ``text`` as a line number of the text that was given."""
        if line is None:
            return None
        if self.added_line is not None and line > self.added_line:
            line -= 1  # (an error on the added line itself is put on the K: line after it)
        return line + self.first_line - 1


def check_and_repair(abc: str) -> Checked:
    """Check one tune's text and repair a cut-off end; see the module docstring."""
    lines = abc.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ").split("\n")
    if not any(s.strip() for s in lines):
        raise InvalidABCError(None, "the text is empty; an ABC tune needs a K: line and notes after it")
    repairs: list[str] = []
    first, key_at = _tune_bounds(lines)
    lines = lines[first:]
    end = _tune_end(lines, key_at - first, repairs)
    lines = lines[:end]
    if sum(len(s) + 1 for s in lines) > MAX_CHARS:
        raise InvalidABCError(None, f"the tune is longer than {MAX_CHARS:,} characters")
    number = lambda i: i + first + 1  # noqa: E731  (1-based line number in the text given)
    _repair_end(lines, key_at - first, number, repairs)
    unit = _check_lines(lines, number)
    added = None
    music_at = next(
        (i for i in range(key_at - first + 1, len(lines)) if not re.match(r"[A-Za-z]:|%", lines[i])), len(lines)
    )
    if not any(re.match(r"[LM]:", s) for s in lines[:music_at]):
        added = key_at - first  # music21 refuses notes before any L: or M:, though ABC defaults to 1/8
        lines.insert(added, "L:1/8")
        repairs.append("added L:1/8 before the K: line (the ABC default unit note length, which music21 needs)")
    text = "\n".join(lines)
    fields = H.header_fields(text)
    return Checked(
        text=text,
        repairs=tuple(repairs),
        unfinished_last_bar=_ends_unbarred(lines, key_at - first),
        unit_note_length=unit,
        title=fields.get("T", ""),
        rhythm=fields.get("R", "").lower(),
        first_line=first + 1,
        added_line=added,
    )


def _tune_bounds(lines: list[str]) -> tuple[int, int]:
    """Index of the tune's first line (its X: line, if any) and of its K: line."""
    xs = [i for i, s in enumerate(lines) if s.startswith("X:")]
    first = xs[0] if xs else 0
    key_at = next((i for i in range(first, len(lines)) if lines[i].startswith("K:")), None)
    if key_at is None:
        raise InvalidABCError(None, "there is no K: line (the key); in ABC the music follows it")
    return first, key_at


def _tune_end(lines: list[str], key_at: int, repairs: list[str]) -> int:
    """Where the tune ends: at the first blank line after K:, or at a second X: line."""
    for i in range(key_at + 1, len(lines)):
        if lines[i].startswith("X:") or not lines[i].strip():
            rest = [s for s in lines[i:] if s.strip()]
            if rest:
                more = sum(1 for s in rest if s.startswith("X:"))
                repairs.append(
                    f"the text holds {more + 1} tunes; only the first was used"
                    if more
                    else "text after the blank line that ends the tune was ignored"
                )
            return i
    return len(lines)


def _repair_end(lines: list[str], key_at: int, number, repairs: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Fix what a length cap cuts: the tail of the last line of music."""
    last = len(lines) - 1
    while last > key_at and not lines[last].strip():
        last -= 1
    if last <= key_at:
        return
    line = lines[last].rstrip()
    if re.match(r"[A-Za-z]:", line):  # an unfinished field line: keep it only if it reads
        try:
            H.check_value(line[0], line[2:])
        except ValueError:
            repairs.append(f"removed the unfinished field '{line}' at line {number(last)}")
            del lines[last]
        return
    col = 0
    for kind, text in T.tokenize(line):
        if kind == T.ERROR and text in _OPENER_NAMES:
            fragment = line[col:]
            inner = fragment[1:]
            if text == "[" and re.fullmatch(r"[=^_]*[A-Ga-g][A-Ga-g,'=^_/0-9 ]*", inner):
                line = line[:col] + fragment.rstrip() + "]"
                repairs.append(f"closed the unfinished chord '{fragment.strip()}' at the end of line {number(last)}")
            else:
                line = line[:col].rstrip()
                repairs.append(
                    f"removed the unfinished {_OPENER_NAMES[text]} '{fragment.strip()}' "
                    f"at the end of line {number(last)}"
                )
            break
        col += len(text)
    tokens = T.tokenize(line)
    cut = len(tokens)
    while cut and _dangles(tokens[cut - 1]):
        cut -= 1
    dangling = "".join(t.text for t in tokens[cut:]).strip()
    if dangling and cut:
        line = "".join(t.text for t in tokens[:cut])
        repairs.append(f"removed the dangling '{dangling}' at the end of line {number(last)}")
    lines[last] = line


def _dangles(token: T.Token) -> bool:
    """Whether a token at the very end of a tune waits for a note that never came.

    >>> [_dangles(T.Token(k, t)) for k, t in [(T.TIE, "-"), (T.SLUR, "("), (T.SLUR, ")"), (T.ERROR, "^")]]
    [True, True, False, True]
    """
    if token.kind == T.SLUR:
        return token.text == "("
    return token.kind in _DANGLING or (token.kind == T.ERROR and token.text in "^_=")


def _check_lines(lines: list[str], number) -> Fraction:  # type: ignore[no-untyped-def]
    """Raise InvalidABCError for the first line that cannot be right; return the final L:."""
    unit: Fraction | None = None
    for i, line in enumerate(lines):
        if line.startswith("%"):
            continue
        col = 0
        for kind, text in T.tokenize(line):
            try:
                if kind in (T.FIELD, T.INLINE_FIELD):
                    body = text.strip("[]")
                    value = H.check_value(body[0], body[2:])
                    if body[0] == "L":
                        unit = value
                    elif body[0] == "M" and unit is None:
                        unit = H.default_unit(value)
                elif kind == T.ERROR and text in _OPENER_NAMES:
                    raise ValueError(f"unclosed {_OPENER_NAMES[text]} '{text}' at column {col + 1}")
                elif kind == T.ERROR and text.isalpha():  # music21 would play it as a C
                    raise ValueError(f"'{text}' at column {col + 1} is not ABC music (notes are A-G, a-g)")
                elif kind in T.TIMED:
                    _check_length(kind, text)
            except ValueError as e:
                raise InvalidABCError(number(i), str(e)) from None
            col += len(text)
    return unit if unit is not None else Fraction(1, 8)


def _check_length(kind: str, text: str) -> None:
    """Refuse absurdly long notes, rests and chords (music21 would make them; nobody could play them).

    >>> _check_length(T.NOTE, "C99")
    Traceback (most recent call last):
    ...
    ValueError: note 'C99' is longer than 64 unit lengths
    """
    if kind == T.MEASURE_REST:
        units = Fraction(int(text[1:] or 1))  # whole bars of rest
    elif kind == T.CHORD and not T.chord_notes(text):
        return  # "[]" sounds nothing (music21 reads past it); the bar checks count it as an error
    else:
        units = T.written_units(kind, text)
    if units == 0:
        raise ValueError(f"'{text}' has no length")
    if units > MAX_NOTE_UNITS:
        what = {T.NOTE: "note", T.REST: "rest", T.CHORD: "chord"}.get(kind, "bar rest")
        raise ValueError(f"{what} '{text}' is longer than {MAX_NOTE_UNITS} unit lengths")


def _ends_unbarred(lines: list[str], key_at: int) -> bool:
    """Whether the last music token of the tune is not a bar line."""
    for line in reversed(lines[key_at + 1 :]):
        if re.match(r"[A-Za-z]:|%", line):
            continue
        kinds = [k for k, _ in T.tokenize(line) if k not in (T.SPACE, T.COMMENT, T.CONTINUATION)]
        if kinds:
            return kinds[-1] != T.BAR
    return False


def length_token(units: Fraction) -> str:
    """An ABC length suffix for a number of unit lengths.

    >>> [length_token(Fraction(n, d)) for n, d in [(1, 1), (3, 1), (1, 2), (3, 2), (5, 4)]]
    ['', '3', '/2', '3/2', '5/4']
    """
    if units.denominator == 1:
        return "" if units == 1 else str(units.numerator)
    return f"{units.numerator if units.numerator != 1 else ''}/{units.denominator}"
