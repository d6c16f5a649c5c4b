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
    symbol_ok,
)
from musicgen.compose.state import HEADER, TuneState
from musicgen.memo import Memo

MAXFEEDS = 100_000  # tokenizer steps kept (text under way and a character: a few distinct thousand a tune set)
FEEDS: Memo[tuple[str, bool, str], tuple[list[T.Token], T.Tokenizer]] = Memo(MAXFEEDS)
_BLUR = str.maketrans("ABDEFGabcdefg_='", "CCCCCCCCCCCCC^^,")  # pitch letters, accidentals, octave marks: see key_text


def feed(tok: T.Tokenizer, ch: str) -> tuple[list[T.Token], T.Tokenizer]:
    """The tokens ``ch`` completes and the tokenizer after it, ``tok`` unchanged. The tokenizer's answer
    depends only on its text under way, so it is kept: trying characters re-reads no text. Treat the
    returned token list as read-only."""
    key = (tok.pending, tok.at_line_start, ch)
    known = FEEDS.get(key)
    if known is None:
        after = tok.copy()
        known = FEEDS.set(key, (after.feed(ch), after))
    return known[0], known[1].copy()


def key_text(tok: T.Tokenizer) -> str:
    """The text under way with what no rule reads blurred: pitch letters, accidentals, the words of a
    title or chord symbol (only their length counts). States with equal key text and core behave alike,
    but for one mirror image: a small letter takes ``'`` where a capital takes ``,`` (see :func:`mirrored`)."""
    p = tok.pending
    if not p:
        return p
    if tok.at_line_start and len(p) > 1 and p[1] == ":":  # a field line
        return p if p[0] in "MLK" else p[:2] + "x" * (len(p) - 2)
    if p[0] == '"':
        return '"' + "x" * (len(p) - 1)
    return p.translate(_BLUR)


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
        return symbol_ok(p[1:]) and s.room()
    if c0 == "[":
        return _chord_ok(s, p)
    if c0 in "|:":
        return p in BAR_PREFIXES and s.may_newline() and not s.sections.must_end
    if c0 == "(":
        return p in ("(", *TUPLETS) and s.may_tuplet()
    if c0 == "z":
        return p[1:] in SUFFIX_PREFIXES and s.room()
    if c0 == " ":
        return not p.strip(" ")
    if p == "-":
        return s.may_tie()
    if p == "~":
        return s.room()
    acc, letter, marks, suffix = NOTE.fullmatch(p).groups()  # type: ignore[union-attr]
    if not acc and not letter:
        return False
    return (octave_ok(letter, marks) and suffix in SUFFIX_PREFIXES if letter else p == acc) and s.room()


def _chord_ok(s: TuneState, p: str) -> bool:
    """A chord (or an ending mark ``[1``) under way: its notes share one length, and it fits the bar."""
    if p == "[":
        return s.room() or s.after_bar()
    if p[1].isdigit():
        return p in ENDINGS and s.after_bar()
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
