"""One user's tunes in the app, without Streamlit: what a history entry keeps, how the history is bounded,
which candidate is shown first (the best-formed), and the text of the history's lines.

    entries = [Entry(t.abc, settings, i, batch, t) for i, t in enumerate(tunes)]
    history, current = keep_recent([*history, *entries], current)   # at most MAX_HISTORY tunes
    shown = first_shown(tunes, pick)                                  # the index among ``tunes``

An entry keeps the tune's ABC and what made it, never its sound: the page renders the sound of the
tune it shows from the ABC (a process-wide bounded cache), so a session's memory grows by a few
kilobytes a tune, up to the bound.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from musicgen.app.settings import Settings
from musicgen.app.text import plain
from musicgen.compose.sample import Tune
from musicgen.judge.form import form_score, tune_form

MAX_HISTORY = 200  # tunes a session keeps (8 candidates x 25 Composes); the oldest go first


@dataclasses.dataclass(frozen=True)
class Entry:
    """One tune of a session, with what made it."""

    abc: str
    settings: Settings
    candidate: int  # its place among the candidates of one Compose
    batch: int  # which Compose made it
    tune: Tune  # as the model wrote it (an edit keeps the tune it was made from)
    edit: int = 0  # 0: as composed; 1, 2, ...: the listener's edits of that tune, in order
    how: str = ""  # what made this version, in words ("in Bb major", "bars 2–3 rewritten"); "" for an edit

    @property
    def ident(self) -> str:
        """A name for this entry that stays while the history changes: batch, candidate and edit."""
        return f"{self.batch}.{self.candidate}.{self.edit}"


def edited(history: Sequence[Entry], of: Entry, abc: str, how: str = "") -> Entry:
    r"""A new entry for ``abc``, an edit of ``of``'s tune: the same settings, candidate and batch, the next
    edit number among that tune's entries in ``history``; ``how`` says what made it (a transposition, a rewrite).

    >>> e = Entry("X:1\nK:G\nGAB|", Settings(seed=3), 0, 1, Tune("X:1\nK:G\nGAB|", 1.0, 1, True))
    >>> first = edited([e], e, "X:1\nK:G\nGAc|"); first.edit, first.abc, first.tune is e.tune
    (1, 'X:1\nK:G\nGAc|', True)
    >>> second = edited([e, first], first, "X:1\nK:A\nABc|", "in A major"); second.edit, second.how
    (2, 'in A major')
    """
    same = [h.edit for h in history if (h.batch, h.candidate) == (of.batch, of.candidate)]
    return dataclasses.replace(of, abc=abc, edit=max(same, default=0) + 1, how=how)


def keep_recent(history: list[Entry], current: int | None, bound: int | None = None) -> tuple[list[Entry], int | None]:
    """The history with at most ``bound`` entries (default :data:`MAX_HISTORY`), the oldest dropped, and the
    shown entry's new index (None when it was dropped or none was shown).

    >>> keep_recent(list("abcde"), 4, bound=3)  # any items: entries in the app
    (['c', 'd', 'e'], 2)
    >>> keep_recent(list("abcde"), 0, bound=3), keep_recent(list("ab"), None, bound=3)
    ((['c', 'd', 'e'], None), (['a', 'b'], None))
    """
    dropped = max(0, len(history) - (MAX_HISTORY if bound is None else bound))
    if current is not None:
        current = current - dropped if current >= dropped else None
    return history[dropped:], current


def first_shown(tunes: Sequence[Tune], pick: int | None) -> int:
    r"""Which of one Compose's tunes the page shows: the permalink's pick when it names one, else the
    best-formed: ended by itself first, then the highest :func:`musicgen.judge.form.form_score` (at least
    8 bars, regular parts, ending on the tonic, the header's key and meter held: what the badges judge),
    then the one the model was surest of.

    >>> whole = "X:1\nM:2/4\nL:1/8\nK:G\n|:GA Bc|d2 B2|c2 A2|G4:|\n|:d2 B2|c2 A2|B2 A2|G4:|"
    >>> t = [Tune("a", 1.0, 1, False, False), Tune("b", 2.0, 1, True, False), Tune("c", 1.5, 1, True, False)]
    >>> first_shown(t, None), first_shown(t, 0), first_shown(t, 7), first_shown([*t, Tune(whole, 1.9, 1, True)], None)
    (2, 0, 2, 3)
    """
    if pick is not None and 0 <= pick < len(tunes):
        return pick
    scores = [form_score(tune_form(t.abc)) for t in tunes]
    return min(range(len(tunes)), key=lambda i: (not tunes[i].ended, -scores[i], tunes[i].nats_per_char))


def candidate_label(e: Entry) -> str:
    """The label of a candidate in the page's switch: its number, and whether the length cap cut it."""
    return f"{e.candidate + 1}{'' if e.tune.ended else ' (cut off)'}"


def title_of(abc: str) -> str:
    r"""The tune's first title (its ``T:`` line), or "".

    >>> title_of("X:1\nT: The Lark\nT:Alt\nK:G\n"), title_of("X:1\nK:G\n")
    ('The Lark', '')
    """
    return next((line[2:].strip() for line in abc.splitlines() if line.startswith("T:")), "")


def history_line(number: int, e: Entry, showing: bool) -> str:
    r"""One line of the session's history, as Markdown; every value from the tune or the address bar is
    shown as text (see :func:`musicgen.app.text.plain`).

    >>> s = Settings(seed=3, key="[x](y)")
    >>> print(history_line(2, Entry("X:1\nT:**Reel**\nK:G\n", s, 0, 1, Tune("", 1.0, 1, True)), showing=True))
    **2\. \*\*Reel\*\*** · seed 3, candidate 1 · K\:\[x\]\(y\) · *now showing*
    >>> e = Entry("X:1\nT:Reel\nK:Bb\n", Settings(seed=3), 0, 1, Tune("", 1.0, 1, True), edit=2, how="in Bb major")
    >>> print(history_line(3, e, showing=False))
    **3\. Reel** · seed 3, candidate 1 · *in Bb major*
    """
    s = e.settings
    what = ", ".join(x for x in (s.key and f"K:{s.key}", s.meter and f"M:{s.meter}", s.tune_type) if x)
    title = title_of(e.abc) or "Untitled"
    version = f" · *{plain(e.how or f'my edit {e.edit}')}*" if e.edit else ""
    return (
        f"**{number}\\. {plain(title)}** · seed {s.seed}, candidate {e.candidate + 1}"
        f"{version}"
        f"{' · ' + plain(what) if what else ''}{' · *now showing*' if showing else ''}"
    )
