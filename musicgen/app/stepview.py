"""What the "Inside the model" step-by-step view shows of a tune being written (a
:class:`~musicgen.judge.walk.Walk`), without Streamlit: the next characters offered as bars in musical words,
how much of the tune its sheet draws, the lines of writing and their branches; and the heap frozen so that
Streamlit's collection after every step stays quick (:func:`settle_heap`).
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from musicgen.app import render
from musicgen.app.text import plain
from musicgen.judge.walk import Walk
from musicgen.judge.words import words

CHOICES = 5  # next characters shown as bars
BAR_COLOUR = "rgba(156, 74, 47, 0.22)"  # a choice's bar: the theme's colour (.streamlit/config.toml), light


@dataclass(frozen=True)
class Choice:
    """One of the next characters the page offers as a bar."""

    char: str
    words: str  # what it means there: "note D", "bar line", "end of tune"
    p: float  # its probability in the draw (temperature and rules applied)
    pick: bool  # the one the model draws at this temperature


def choices(walk: Walk, k: int = CHOICES) -> list[Choice]:
    """The ``k`` likeliest next characters of a walk, at its temperature, in musical words."""
    if walk.done:
        return []
    pick = walk.vocab.chars[walk.pick()]
    text = walk.text
    return [Choice(c, words(c, text), p, c == pick) for c, p in walk.choices(k)]


def bar_style(bars: Sequence[tuple[str, float]], colour: str = BAR_COLOUR) -> str:
    """A style sheet that fills each keyed button (``(widget key, share)``) as a bar: its share of the button's
    width, from the left, in ``colour``. Streamlit gives a keyed widget's container the class ``st-key-<key>``.

    >>> bar_style([("inside_choice_0", 0.425)], "#000")
    '<style>.st-key-inside_choice_0 button{background-image:linear-gradient(to right,#000 42.5%,transparent 42.5%)}</style>'
    """
    rules = "".join(
        f".st-key-{key} button{{background-image:linear-gradient(to right,{colour} {p:.1%},transparent {p:.1%})}}"
        for key, p in ((key, min(1.0, max(0.0, share))) for key, share in bars)
    )
    return f"<style>{rules}</style>"


def sheet_upto(text: str, done: bool = False) -> int:
    r"""How much of a tune being written the step-by-step view's sheet draws: up to its last space, bar line
    or line end (a whole header line; a group of notes once a space or bar line closes it), all of it once the
    tune is ``done``. Between those points the sheet's arguments stay the same and its frame is not redrawn:
    the sheet lags the text by the few characters of the notes being written.

    >>> text = 'X:1\nT:Reel\nK:D\n"D"dfa af|d'
    >>> [text[: sheet_upto(text[:n])] for n in (6, 12, 20, 23, 24, 25)]
    ['X:1\n', 'X:1\nT:Reel\n', 'X:1\nT:Reel\nK:D\n', 'X:1\nT:Reel\nK:D\n"D"dfa ', 'X:1\nT:Reel\nK:D\n"D"dfa ', 'X:1\nT:Reel\nK:D\n"D"dfa af|']
    >>> sheet_upto("X:1\nK:D\nd", done=True)
    9
    """
    if done:
        return len(text)
    start = text.rfind("\n") + 1
    line = text[start:]
    if line[1:2] == ":" and line[:1].isalpha():  # a field being written: drawn once its line ends
        return start
    return start + max(line.rfind(" "), line.rfind("|")) + 1


def just_written(walk: Walk) -> str:
    """The character a walk wrote last, as a sentence in Streamlit Markdown ("" before its first step)."""
    if not walk.turns:
        return ""
    last = walk.turns[-1]
    return (
        f"Just written: **{plain(words(last.char, walk.text[:-1]))}**, which the model gave "
        f"{plain(f'{math.exp(-last.surprise):.1%}')} (surprise {last.surprise:.1f})."
    )


def walk_values(walk: Walk) -> list[float | None]:
    """The surprise of each character of a walk's text (None for its prompt's first characters)."""
    return [None] * (len(walk.text) - len(walk.turns)) + [t.surprise for t in walk.turns]


@dataclass
class Line:
    """One line of writing in the step-by-step view: the model's own, or a branch of another."""

    label: str
    walk: Walk


def branch_label(n: int, at: int, chosen: Choice, pick: Choice | None) -> str:
    """How the history names a branch.

    >>> branch_label(2, 57, Choice("E", "note E", 0.1, False), Choice("D", "note D", 0.6, True))
    'Branch 2: at character 57, note E instead of note D'
    """
    instead = f" instead of {pick.words}" if pick is not None else ""
    return f"Branch {n}: at character {at}, {chosen.words}{instead}"


def line_label(line: Line) -> str:
    """A line of writing as the history lists it: its name, its length, whether it is finished."""
    return f"{line.label} · {len(line.walk.turns)} characters" + (" · finished" if line.walk.done else "")


def take(lines: list[Line], shown: int, char: str, most: int = 10) -> int:
    """A next character clicked on line ``shown``: the model's pick is its next step; another character is
    a branch, appended to ``lines`` (past ``most`` lines, the oldest branch goes). Returns the line to show."""
    walk = lines[shown].walk
    if walk.done or walk.forced_next:
        return shown
    offered = choices(walk)
    pick = next((c for c in offered if c.pick), None)
    if pick is not None and pick.char == char:
        walk.step()
        return shown
    chosen = next((c for c in offered if c.char == char), None) or Choice(char, words(char, walk.text), 0.0, False)
    n = 1 + max((int(m[1]) for x in lines if (m := re.match(r"Branch (\d+)", x.label))), default=0)
    lines.append(Line(branch_label(n, len(walk.text) + 1, chosen, pick), walk.branch(char)))
    if len(lines) > most:
        del lines[1]  # the oldest branch: the model's own line stays
    return len(lines) - 1


_FROZEN_AT = 0  # how many modules were imported when the heap was last frozen (settle_heap)


def settle_heap() -> None:
    """Move what is alive now out of the garbage collector's sight, the first time and again whenever modules
    were imported since (music21 when a view first makes sound): the model, the libraries, the page's server.
    Streamlit collects all garbage (``gc.collect(2)``) after every run, a step's fragment too, holding the
    interpreter while the run's last messages wait to be sent; over that heap it took 20-100 ms a step, and
    under 1 ms frozen. The composer's freezing does it (:func:`musicgen.app.render.freeze_alive`), so a frozen
    object that later dies in a reference cycle is freed at its next full collection."""
    global _FROZEN_AT
    if len(sys.modules) != _FROZEN_AT:
        _FROZEN_AT = len(sys.modules)
        render.freeze_alive()
