r"""What the page's Rewrite tab computes without Streamlit: how many bars a tune has to rewrite, what a rewrite
is called, where its new music lies in each candidate (to colour it in the sheet), and each candidate's line.

    bars, why = rewritable(abc)                  # 8, None; or 0 and a sentence why it cannot be rewritten
    what_words(2, 3), what_words(5, None)        # 'bars 2–3', 'from bar 5 to the end'
    values = new_values(abc, found, candidate)   # 1.0 for each character of the new music, None elsewhere

Bars are numbered as :func:`musicgen.compose.rewrite.rewrite` takes them (a pick-up is no bar; first and
second endings count as written).
"""

from __future__ import annotations

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
