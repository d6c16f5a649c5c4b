r"""ABC music text split into tokens, and the pure rules that read their lengths.

The tokenizer takes text a character (or a whole tune) at a time and returns the
tokens that are complete: a token is complete once a character that cannot
extend it has arrived (``A`` may still become ``A2``, ``"G`` may still become
``"G7"``), so a decoder can feed one sampled character after another and act on
each finished token. :func:`tokenize` is the same machine over a whole text.

Durations are :class:`~fractions.Fraction` s of a whole note; a written length
(``2``, ``/``, ``3/2``) multiplies the unit note length (``L:``).

>>> [t.kind for t in tokenize('"G"B>c (3def|[1 [CE]2 z/ !trill!g2:|')]
['symbol', 'note', 'broken', 'note', 'space', 'tuplet', 'note', 'note', 'note', 'bar', 'ending', 'space', 'chord', 'space', 'rest', 'space', 'decoration', 'note', 'bar']
>>> t = Tokenizer()
>>> t.feed("A"), t.feed("2"), t.feed("B"), t.pending
([], [], [Token(kind='note', text='A2')], 'B')
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple

# Token kinds. Only note, rest, measure_rest and chord take time.
NOTE, REST, MEASURE_REST, CHORD = "note", "rest", "measure_rest", "chord"
BAR, ENDING, TUPLET, BROKEN, TIE, SLUR = "bar", "ending", "tuplet", "broken", "tie", "slur"
GRACE, SYMBOL, DECORATION, FIELD, INLINE_FIELD = "grace", "symbol", "decoration", "field", "inline_field"
SPACE, CONTINUATION, COMMENT, NEWLINE, ERROR = "space", "continuation", "comment", "newline", "error"
TIMED = frozenset({NOTE, REST, MEASURE_REST, CHORD})

LENGTH = r"\d*(?:/+\d*)?"  # 2, /, 3/2, //, /4, 3/
PITCH = r"(?:\^\^|\^|__|_|=)?[A-Ga-g][,']*"  # accidental, letter, octave marks
ENDING_NUMBERS = r"[1-9][0-9]*(?:[,\-][0-9]*)*"  # 1, 2, 1,3, 1-3 (and "1," as it is being written)

# Tried in order at each position; the first that matches wins.
_RULES: list[tuple[str, str]] = [
    (INLINE_FIELD, r"\[[A-Za-z]:[^\]\n]*\]"),  # [M:3/4], [K:G]
    (ENDING, r"\[" + ENDING_NUMBERS),  # [1, [2 (a variant ending without a bar line)
    # every bar line: | || |] [| |: :| :: :||: .| and a variant ending number right after it (|1, :|2);
    # "|[1" is a bar line and then an ending, so that "|" is complete before the "[" is read
    (BAR, r"(?:\[\|\]?|::+\|*:*|(?::+|\.)?\|[\]|]*:*)(?:" + ENDING_NUMBERS + ")?"),
    (CHORD, r"\[[^\]\[|\n]*\]" + LENGTH),  # [CEG]2
    (GRACE, r"\{[^}\n]*\}"),  # {g}, {/ga}
    (SYMBOL, r'"[^"\n]*"'),  # chord symbols "G7" and annotations "^text"
    # A field left inside a music line, e.g. "|K:G": the rest of the line is the field.
    # (Continuation lines joined with a following field line read this way.)
    (FIELD, r"[KLMP]:(?![|:])[^\n]*"),
    (DECORATION, r"![^!\n]*!|\+[^+\n]*\+|[.~HLMOPSTuv]"),
    (TUPLET, r"\(\d+(?::\d*(?::\d*)?)?"),  # (3, (3:2:3, (5::4
    (SLUR, r"[()]"),
    (BROKEN, r"<+|>+"),
    (TIE, r"-"),
    (NOTE, PITCH + LENGTH),
    (REST, r"[zx]" + LENGTH),
    (MEASURE_REST, r"[ZX]\d*"),  # whole bars of rest
    (SPACE, r"[ \t`y$]+"),  # spaces, back-quotes, y spacers, $ score line-breaks
    (CONTINUATION, r"\\"),
    (COMMENT, r"%[^\n]*"),
    (NEWLINE, r"\n"),
    (ERROR, r"."),
]
_GROUPS = "|".join(f"(?P<g{i}>{rule})" for i, (_, rule) in enumerate(_RULES))
_KIND = {f"g{i}": kind for i, (kind, _) in enumerate(_RULES)} | {"line": FIELD}
_MUSIC = re.compile(_GROUPS)
_FIELD_LINE = re.compile(r"[A-Za-z+]:[^\n]*")  # a line that starts with a letter and a colon
_ANY = re.compile(r"(?m)^(?P<line>[A-Za-z+]:[^\n]*)|" + _GROUPS)  # both at once, for whole texts
_OPENERS = '"!+{['  # an error at one of these may still become a token when its closer comes
_FINAL_AT_ONCE = frozenset({NEWLINE, SYMBOL, GRACE, INLINE_FIELD})  # nothing can extend these


class Token(NamedTuple):
    kind: str
    text: str


class Tokenizer:
    """Splits ABC text into tokens incrementally; see the module docstring."""

    def __init__(self) -> None:
        self._buffer = ""
        self._line_start = True

    @property
    def pending(self) -> str:
        """Text fed but not yet returned as a token (it may still grow)."""
        return self._buffer

    @property
    def at_line_start(self) -> bool:
        """Whether the pending text starts a line (where a letter and a colon begin a field)."""
        return self._line_start

    def copy(self) -> Tokenizer:
        """An independent tokenizer in the same state: to try text without committing to it."""
        twin = Tokenizer()
        twin._buffer, twin._line_start = self._buffer, self._line_start
        return twin

    def feed(self, text: str) -> list[Token]:
        """Add text; return the tokens it completed."""
        self._buffer += text
        return self._drain(final=False)

    def flush(self) -> list[Token]:
        """End of text: return every token still pending."""
        return self._drain(final=True)

    def _drain(self, final: bool) -> list[Token]:
        out: list[Token] = []
        buf, pos = self._buffer, 0
        while pos < len(buf):
            kind, end = _match(buf, pos, self._line_start)
            if not final and not _complete(kind, buf, pos, end):
                break
            out.append(Token(kind, buf[pos:end]))
            self._line_start = kind == NEWLINE
            pos = end
        self._buffer = buf[pos:]
        return out


def _complete(kind: str, buf: str, pos: int, end: int) -> bool:
    """Whether the token buf[pos:end] can no longer change, whatever text comes next."""
    if end == len(buf):
        return kind in _FINAL_AT_ONCE
    if kind == ERROR and buf[pos] in _OPENERS:
        return "\n" in buf[pos:]  # its closer may still come on this line
    if kind == ERROR and buf[pos] in "^_":
        return len(buf) - pos > 2  # ^^A and __A: an accidental may need two more characters
    return True


def _match(text: str, pos: int, line_start: bool) -> tuple[str, int]:
    if line_start:
        m = _FIELD_LINE.match(text, pos)
        if m:
            return FIELD, m.end()
    m = _MUSIC.match(text, pos)
    assert m is not None and m.lastgroup is not None  # the ERROR rule matches any character
    return _KIND[m.lastgroup], m.end()


@lru_cache(maxsize=4096)  # evaluation reads each tune several times (bars, pitches, novelty)
def tokenize(text: str) -> tuple[Token, ...]:
    """All tokens of ``text`` (which starts at the beginning of a line): what a :class:`Tokenizer`
    fed the same text returns, found in one regular-expression scan."""
    return tuple(Token(_KIND[m.lastgroup], m.group()) for m in _ANY.finditer(text))  # type: ignore[index]


@lru_cache(maxsize=8192)  # a tune set holds few distinct note spellings
def length_multiplier(text: str) -> Fraction:
    """How many unit note lengths a written length suffix means.

    >>> [str(length_multiplier(s)) for s in ["", "2", "/", "//", "///", "/4", "3/2", "3/", "3//"]]
    ['1', '2', '1/2', '1/4', '1/8', '1/4', '3/2', '3/2', '3/4']
    >>> length_multiplier("/0")
    Traceback (most recent call last):
    ...
    ValueError: note length '/0' divides by zero
    """
    m = re.fullmatch(r"(\d*)(/*)(\d*)", text)
    if m is None or (m[3] and not m[2]):
        raise ValueError(f"not a note length: {text!r}")
    num = int(m[1]) if m[1] else 1
    if not m[2]:
        return Fraction(num)
    den = int(m[3]) if m[3] else 2
    if den == 0:
        raise ValueError(f"note length {text!r} divides by zero")
    return Fraction(num, den * 2 ** (len(m[2]) - 1))


@lru_cache(maxsize=8192)  # a tune set holds few distinct note spellings
def note_parts(text: str) -> tuple[str, str, str, str]:
    """A note token's accidental, letter, octave marks and length.

    >>> note_parts("^^c',3/2"), note_parts("B")
    (('^^', 'c', "',", '3/2'), ('', 'B', '', ''))
    """
    m = re.fullmatch(r"(\^\^|\^|__|_|=)?([A-Ga-g])([,']*)(" + LENGTH + ")", text)
    if m is None:
        raise ValueError(f"not a note: {text!r}")
    return m[1] or "", m[2], m[3], m[4]


def chord_notes(text: str) -> list[str]:
    """The notes inside a chord token, each with its own length.

    >>> chord_notes("[CE/G]2"), chord_notes("[.c-e]")
    (['C', 'E/', 'G'], ['c', 'e'])
    """
    inner = text[1 : text.rindex("]")]
    return re.findall(PITCH + LENGTH, inner)


@lru_cache(maxsize=8192)  # a tune set holds few distinct note spellings
def chord_multiplier(text: str) -> Fraction:
    """A chord lasts as long as its first note, times the length written after it.

    >>> str(chord_multiplier("[CEG]")), str(chord_multiplier("[C2EG]")), str(chord_multiplier("[CEG]3/2"))
    ('1', '2', '3/2')
    >>> chord_multiplier("[]")
    Traceback (most recent call last):
    ...
    ValueError: chord '[]' has no notes
    """
    notes = chord_notes(text)
    if not notes:
        raise ValueError(f"chord {text!r} has no notes")
    outer = text[text.rindex("]") + 1 :]
    return length_multiplier(note_parts(notes[0])[3]) * length_multiplier(outer)


@lru_cache(maxsize=8192)  # a tune set holds few distinct note spellings
def written_units(kind: str, text: str) -> Fraction:
    """How many unit note lengths a note, rest or chord is written to last (before broken rhythm and
    tuplets): the one note-length rule of the bar checks and of the line checks.

    >>> [str(written_units(k, t)) for k, t in [(NOTE, "^c',3/2"), (REST, "z//"), (CHORD, "[CE]2"), (CHORD, "[C2E]/")]]
    ['3/2', '1/4', '2', '1']
    >>> written_units(MEASURE_REST, "Z2")
    Traceback (most recent call last):
    ...
    ValueError: measure_rest 'Z2' is not written in unit note lengths
    """
    if kind == NOTE:
        return length_multiplier(note_parts(text)[3])
    if kind == REST:
        return length_multiplier(text[1:])
    if kind == CHORD:
        return chord_multiplier(text)
    raise ValueError(f"{kind} {text!r} is not written in unit note lengths")


def broken_factors(symbol: str) -> tuple[Fraction, Fraction]:
    """Broken rhythm: what ``>`` / ``<`` (doubled, tripled) multiply the notes before and after by.

    >>> [tuple(map(str, broken_factors(s))) for s in [">", "<", ">>", "<<", ">>>"]]
    [('3/2', '1/2'), ('1/2', '3/2'), ('7/4', '1/4'), ('1/4', '7/4'), ('15/8', '1/8')]
    """
    short = Fraction(1, 2 ** len(symbol))
    return (2 - short, short) if symbol[0] == ">" else (short, 2 - short)


def tuplet_spec(text: str, compound: bool) -> tuple[Fraction, int]:
    """A tuplet ``(p:q:r``: the factor on note lengths (q/p) and how many notes it covers (r).

    Defaults from the ABC standard: q is 3 for p = 2, 4, 8; 2 for p = 3, 6; and for
    p = 5, 7, 9 it is 3 in compound meters (6/8, 9/8, 12/8), else 2. r is p.

    >>> [(str(f), n) for f, n in (tuplet_spec(s, False) for s in ["(3", "(2", "(4", "(3:2:4", "(5::2"])]
    [('2/3', 3), ('3/2', 2), ('3/4', 4), ('2/3', 4), ('2/5', 2)]
    >>> str(tuplet_spec("(5", True)[0])
    '3/5'
    """
    parts = text[1:].split(":") + ["", ""]
    p = int(parts[0])
    if p < 2:
        raise ValueError(f"tuplet {text!r} needs at least 2 notes")
    q = int(parts[1]) if parts[1] else {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}.get(p, 3 if compound else 2)
    r = int(parts[2]) if parts[2] else p
    return Fraction(q, p), r
