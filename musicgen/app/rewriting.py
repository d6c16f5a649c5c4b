r"""What the page's Rewrite tab computes without Streamlit: how many bars a tune has to rewrite, what a rewrite
is called, where its new music lies in each candidate (to colour it in the sheet), and each candidate's line.

    bars, why = rewritable(abc)                  # 8, None; or 0 and a sentence why it cannot be rewritten
    what_words(2, 3), what_words(5, None)        # 'bars 2–3', 'from bar 5 to the end'
    values = new_values(abc, found, candidate)   # 1.0 for each character of the new music, None elsewhere
    chosen = clicked_bar(text, at)               # the bar of a note clicked in the sheet music (drawn from text)

Bars are numbered as :func:`musicgen.compose.rewrite.rewrite` takes them (a pick-up is no bar; first and
second endings count as written).
"""

from __future__ import annotations

from dataclasses import dataclass

from musicgen.abcnotation.bars import bar_at
from musicgen.compose.rewrite import Candidate, Rewrite, RewriteError, plan

NEW_BINS: tuple[tuple[float | None, str | None, str], ...] = ((0.5, None, ""), (None, "#1f6feb", "the new music"))
MAX_SHOWN = 6  # candidates the tab asks for at most: each is drawn as sheet music


def rewritable(abc: str) -> tuple[int, str | None]:
    r"""The number of bars of the tune a rewrite may name, and None; or 0 and the sentence why none can be.

    >>> rewritable("X:1\nM:2/4\nL:1/8\nK:D\nA|DE FG|AB c2|d4|]")
    (3, None)
    >>> rewritable("X:1\nT:No key\nDE FG|")
    (0, 'This tune cannot be rewritten: the tune has no K: line, so its music has no start: put K: (such as K:D) before bar 1.')
    """
    try:
        spans, lo, hi = plan(abc, 1, None)
    except RewriteError as e:
        return 0, f"This tune cannot be rewritten: {str(e).rstrip('.')}."
    return sum(s.number is not None for s in spans[lo : hi + 1]), None


def what_words(first: int, last: int | None) -> str:
    """The bars a rewrite replaces, in words.

    >>> what_words(2, 3), what_words(4, 4), what_words(5, None), what_words(1, None)
    ('bars 2–3', 'bar 4', 'from bar 5 to the end', 'the whole tune')
    """
    if last is None:
        return "the whole tune" if first == 1 else f"from bar {first} to the end"
    return f"bar {first}" if first == last else f"bars {first}–{last}"


def version_words(found: Rewrite) -> str:
    """What the history calls a candidate once used.

    >>> version_words(Rewrite((), 2, 3, 2, 8, None)), version_words(Rewrite((), 5, None, 4, 8, None))
    ('bars 2–3 rewritten', 'rewritten from bar 5')
    """
    if found.last is None:
        return f"rewritten from bar {found.first}"
    return f"{what_words(found.first, found.last)} rewritten"


def new_start(abc: str, first: int, last: int | None) -> int:
    r"""Where bar ``first``'s music starts in the tune: every candidate keeps the text before it byte for byte.

    >>> tune = "X:1\nM:2/4\nL:1/8\nK:D\nA|DE FG|AB c2|d4|]"
    >>> tune[new_start(tune, 2, 3):]
    'AB c2|d4|]'
    """
    spans, lo, _ = plan(abc, first, last)
    return spans[lo].start


def new_values(start: int, candidate: Candidate) -> list[float | None]:
    r"""One value per character of the candidate's text: 1.0 where its new music lies, None elsewhere
    (the sheet colours the notes whose characters are 1.0 with :data:`NEW_BINS`).

    >>> c = Candidate(1, "X:1\nK:D\nAB|cd|", "cd", 1.0, True, True, 1)
    >>> new_values(11, c)[10:]
    [None, 1.0, 1.0, None]
    """
    n = len(candidate.abc)
    end = min(n, start + len(candidate.new))
    return [1.0 if start <= i < end else None for i in range(n)]


def candidate_line(candidate: Candidate, found: Rewrite) -> str:
    """A candidate's heading in the tab: its rank, its bars and how it ended, and its score in words (plain text).

    >>> c = Candidate(1, "", "", 1.0821, True, True, 2)
    >>> candidate_line(c, Rewrite((c,), 2, 3, 2, 8, None))
    "1. The model's favourite · 2 bars · surprise of the kept bars after it 1.082 (lower: likelier)"
    >>> candidate_line(Candidate(2, "", "", 0.91, False, False, 5), Rewrite((), 3, None, 6, 8, None))
    '2. 5 bars, cut off before its end · surprise 0.910 (lower: likelier) · written freely'
    """
    head = "The model's favourite" if candidate.rank == 1 else ""
    bars = f"{candidate.bars} bar{'s' * (candidate.bars != 1)}" + (
        "" if candidate.ended else ", cut off before its end"
    )
    score = "surprise of the kept bars after it" if found.last is not None else "surprise"
    parts = [p for p in (head, bars, f"{score} {candidate.score:.3f} (lower: likelier)") if p]
    if not candidate.meter_aware:
        parts.append("written freely")
    return f"{candidate.rank}. " + " · ".join(parts)


@dataclass(frozen=True)
class Chosen:
    """The bar of a note clicked in the sheet music: its number (None: no bar to rewrite) and what to say."""

    number: int | None  # as Rewrite and Practise count bars; None for a pick-up or a character outside the bars
    start: int  # its music's characters in the text drawn, to mark in the sheet (0, 0 where none)
    end: int
    words: str  # "Bar 9 chosen", or why no bar is


def python_offset(text: str, at: int) -> int:
    r"""The index in ``text`` of JavaScript's character ``at`` (abcjs counts UTF-16 units: a character beyond
    the Basic Multilingual Plane, an emoji in a title, is two of them).

    >>> python_offset("T:\U0001f3bb\nK:D\nAB|", 6), python_offset("K:D\nAB|", 5)
    (5, 5)
    """
    if text.isascii():
        return at
    return len(text.encode("utf-16-le")[: 2 * max(0, at)].decode("utf-16-le", errors="ignore"))


def js_length(text: str) -> int:
    r"""The length of ``text`` as JavaScript counts it (UTF-16 units).

    >>> js_length("T:\U0001f3bb\n"), js_length("T:é\n")
    (5, 4)
    """
    return len(text.encode("utf-16-le")) // 2


def clicked_bar(text: str, at: int) -> Chosen:
    r"""The bar holding JavaScript's character ``at`` of ``text`` (the sheet music was drawn from ``text``;
    abcjs gives a clicked note's first character), numbered as :func:`rewritable` counts bars.

    >>> tune = "X:1\nM:2/4\nL:1/8\nK:D\nA|DE FG|AB c2|d4|]"
    >>> clicked_bar(tune, tune.index("c2"))
    Chosen(number=2, start=28, end=33, words='Bar 2 chosen')
    >>> clicked_bar(tune, tune.index("A|")).words
    'That note is in a pick-up, which is no bar of its own: click a note of a whole bar.'
    >>> clicked_bar(tune, 2).words
    'No bar holds that: click a note.'
    """
    span = bar_at(text, python_offset(text, at))
    if span is None:
        return Chosen(None, 0, 0, "No bar holds that: click a note.")
    if span.number is None:
        words = "That note is in a pick-up, which is no bar of its own: click a note of a whole bar."
        return Chosen(None, span.start, span.end, words)
    return Chosen(span.number, span.start, span.end, f"Bar {span.number} chosen")


def range_after(first: int, bars: int) -> int:
    """The last bar "Rewrite bars N to M" offers after a click on bar ``first`` of ``bars``: the next bar, if any.

    >>> range_after(3, 8), range_after(8, 8)
    (4, 8)
    """
    return min(first + 1, bars)
