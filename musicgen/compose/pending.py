r"""The text under way: the tokenizer's steps (kept, not redone), the rules of unfinished text, its key.

Between tokens the tracker's rules read finished tokens; these read the text still growing (a
header line, a chord symbol, a chord, a note's length, a bar line) and say whether it can still
become something the rules allow here.

>>> tok = T.Tokenizer()
>>> _ = tok.feed("X:1\nT:Reel of Tulloch")
>>> key_text(tok)  # a title under way: only its length counts
'T:xxxxxxxxxxxxxxx'
>>> _ = tok.feed("\n|e'")
>>> tok.pending, key_text(tok), mirrored(tok)  # a note: pitch blurred; a small letter's ' reads as a capital's ,
("e'", 'C,', True)
"""

from __future__ import annotations

from functools import lru_cache

from musicgen.abcnotation import tokens as T
from musicgen.abcnotation.forms import (
    BAR_PREFIXES,
    BODY_FIELDS,
    CHORD_INNER,
    CHORD_NOTE,
    ENDINGS,
    MAX_CHORD_NOTES,
    NOTE,
    SUFFIX_PREFIXES,
    SUFFIX_TICKS,
    TUPLETS,
    octave_ok,
)
from musicgen.abcnotation.symbols import symbol_ok, symbol_state
from musicgen.compose.state import HEADER, TuneState
from musicgen.compose.tonic import Tonic
from musicgen.memo import Memo

MAXFEEDS = 100_000  # tokenizer steps kept (text under way and a character: a few distinct thousand a tune set)
FEEDS: Memo[tuple[str, bool, str | None], tuple[list[T.Token], T.Tokenizer]] = Memo(MAXFEEDS)  # None: flushed
_BLUR = str.maketrans("ABDEFGabcdefg_='", "CCCCCCCCCCCCC^^,")  # pitch letters, accidentals, octave marks: see key_text
_ROOTED = str.maketrans({c: "C" if c in "ABCDEFG" else "(" if c == "(" else "x" for c in map(chr, range(32, 127))})
_PLAIN_BARS = frozenset(b for b in BAR_PREFIXES if not any(c.isdigit() or c == "[" for c in b))  # no ending marks


@lru_cache(maxsize=64)
def _tonic_blur(tonic: Tonic) -> dict[int, int]:
    """The blur where the tonic matters: its letter stays apart (``T``), and so does its own accidental (``=``)."""
    other = "^" if tonic.mark != "^" else "_"
    marks = {"^": other, "_": other, "=": other} | {tonic.mark: "="}
    letters = {c: "T" if c.upper() == tonic.letter else "C" for c in "ABCDEFGabcdefg"}
    return str.maketrans(letters | marks | {"'": ","})


def feed(tok: T.Tokenizer, ch: str) -> tuple[list[T.Token], T.Tokenizer]:
    """The tokens ``ch`` completes and the tokenizer after it, ``tok`` unchanged. The tokenizer's answer
    depends only on its text under way, so it is kept: trying characters re-reads no text. Both are
    shared: treat them as read-only (a tracker's tokenizer is never fed or flushed in place; see
    :func:`flushed`)."""
    key = (tok.pending, tok.at_line_start, ch)
    known = FEEDS.get(key)
    if known is None:
        after = tok.copy()
        known = FEEDS.set(key, (after.feed(ch), after))
    return known


def flushed(tok: T.Tokenizer) -> tuple[list[T.Token], T.Tokenizer]:
    """The tokens the text under way makes if it is complete as it stands, and the tokenizer after them, ``tok``
    unchanged (kept as :func:`feed` keeps its answers, and as shared)."""
    key = (tok.pending, tok.at_line_start, None)
    known = FEEDS.get(key)
    if known is None:
        after = tok.copy()
        known = FEEDS.set(key, (after.flush(), after))
    return known  # type: ignore[return-value]


def feed_tokens(tok: T.Tokenizer, ch: str) -> list[T.Token]:
    """The tokens ``ch`` completes after ``tok``'s text under way (as :func:`feed`, without a tokenizer to keep)."""
    return feed(tok, ch)[0]


def key_text(tok: T.Tokenizer, tonic: Tonic | None = None, form: bool = False) -> str:
    """The text under way with what no rule reads blurred: pitch letters, accidentals, the words of a
    title (only its length counts) and of a chord symbol (only where it stands in its grammar counts:
    :func:`~musicgen.abcnotation.symbols.symbol_state`). States with equal key text and core behave alike,
    but for one mirror image: a small letter takes ``'`` where a capital takes ``,`` (see :func:`mirrored`).

    In form-aware writing (``form``) a chord symbol keeps whether it has a root (a first one adds a tonic
    chord symbol to the way to the end), and where the tune may end in this bar on its ``tonic``, a note on
    the tonic stays apart from the others, and a chord symbol keeps its root.

    >>> tok = T.Tokenizer(); _ = tok.feed("=d"); key_text(tok), key_text(tok, Tonic("D", "=", 2, "D"))
    ('^C', '=T')
    """
    return blur(tok.pending, tok.at_line_start, tonic, form)


def blur(p: str, line_start: bool, tonic: Tonic | None = None, form: bool = False) -> str:
    """:func:`key_text` of the text under way ``p`` (``line_start``: it starts a line)."""
    if not p:
        return p
    if line_start and len(p) > 1 and p[1] == ":":  # a field line
        return p if p[0] in "MLK" else p[:2] + "x" * (len(p) - 2)
    if p[0] == '"':  # where the symbol stands in its grammar (abcnotation.symbols), after:
        state = "@" + (symbol_state(p[1:]) or "x")
        if tonic is not None:  # the quote and the root ("(F#")
            return p[:4] + state
        if form:  # the quote and where the root would be, if any ("(" or a letter)
            return '"' + p[1:3].translate(_ROOTED) + state
        return '"' + state
    return p.translate(_BLUR if tonic is None else _tonic_blur(tonic))


def mirrored(tok: T.Tokenizer) -> bool:
    """The last pitch letter under way is a small one: its octave marks are ``'``, not ``,``."""
    p = tok.pending
    for c in reversed(p):
        if c in "ABCDEFGabcdefg":
            return c.islower() and (p[0] != '"' and not (tok.at_line_start and p[1:2] == ":"))
    return False


def pending_ok(s: TuneState) -> bool:
    """The text under way can still become what the rules allow in state ``s``."""
    tok = s.tok
    p = tok.pending
    if not p:
        return True
    c0 = p[0]
    if s.phase == HEADER:
        return tok.at_line_start and (len(p) == 1 or p[1] == ":") and s.field_ok(c0, p[2:], False)
    if tok.at_line_start and c0 in BODY_FIELDS and (len(p) == 1 or p[1] == ":"):
        return s.may_field(c0, p[2:], False)
    if c0 == '"':
        return symbol_ok(p[1:]) and s.room() and (s.plan is None or s.detour_ok(p, tok.at_line_start))
    if c0 == "[":
        return _chord_ok(s, p)
    if c0 in "|:":
        bars = BAR_PREFIXES if s.plan is None else _PLAIN_BARS  # form-aware writing writes no endings
        return p in bars and s.may_newline() and not s.sections.must_end
    if c0 == "(":
        return p in ("(", *TUPLETS) and s.may_tuplet()
    if c0 == "z":
        return p[1:] in SUFFIX_PREFIXES and s.room()
    if c0 == " ":
        return not p.strip(" ") and (s.plan is None or s.detour_ok(p, tok.at_line_start))
    if p == "-":
        return s.may_tie()
    if p == "~":
        return s.room() and s.plan is None
    acc, letter, marks, suffix = NOTE.fullmatch(p).groups()  # type: ignore[union-attr]
    if not acc and not letter:
        return False
    return (octave_ok(letter, marks) and suffix in SUFFIX_PREFIXES if letter else p == acc) and s.room()


def _chord_ok(s: TuneState, p: str) -> bool:
    """A chord (or an ending mark ``[1``) under way: its notes share one length, and it fits the bar."""
    if p == "[":
        return s.room() or s.after_bar()
    if p[1].isdigit():
        return p in ENDINGS and s.after_bar() and s.plan is None
    close = p.find("]")
    inner = p[1:] if close < 0 else p[1:close]
    if not s.room() or not CHORD_INNER.fullmatch(inner):
        return False
    notes = CHORD_NOTE.findall(inner)
    if len(notes) > MAX_CHORD_NOTES or any(not octave_ok(n[1], n[2]) for n in notes):
        return False
    first = notes[0][3] if notes else ""
    done = notes if close >= 0 else notes[:-1]  # the last note may still be growing
    if any(n[3] != first for n in done[1:]) or (notes and first not in (SUFFIX_TICKS if done else SUFFIX_PREFIXES)):
        return False
    if close < 0:
        return len(notes) < 2 or first.startswith(notes[-1][3])
    outer = p[close + 1 :]
    whole = "".join(map("".join, notes)) == inner  # no accidental left without its note
    return bool(notes) and whole and outer in SUFFIX_PREFIXES and not (first and outer)
