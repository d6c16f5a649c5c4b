"""What the app (``app.py``) shows beside a tune, without Streamlit: quality badges (form included), the session's tunebook,
download names, labels, the model card's parts; and whether the generator offers meter-aware writing, or why not.

Settings and permalinks are in :mod:`musicgen.app.settings`, the sound and the sheet in
:mod:`musicgen.app.render`, a session's tunes in :mod:`musicgen.app.session`, text made safe for
Markdown in :mod:`musicgen.app.text`. All are tested directly (doctests) and in the running app
(``tests/test_app.py``, ``tests/test_browser.py``, the page's part of ``tests/test_hostile.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from musicgen.abcnotation.header import title_slug
from musicgen.app.render import Sound
from musicgen.app.text import plain
from musicgen.compose.sample import Generator
from musicgen.config import SampleConfig
from musicgen.data.corpus import join_tunes
from musicgen.judge.form import form_warnings, tune_form
from musicgen.sound import budget

# What the tracker's way to the end of a tune writes (musicgen.compose.finish): bar lines, a note's
# length, a pitch letter, the closing bar and the blank line. Without them meter-aware writing cannot
# end a tune, and each tune would fall back to free writing, bar after bar.
METER_AWARE_CHARS = "|]\n123456789C"


def meter_aware_absence(gen: Generator) -> str | None:
    """Why the generator cannot do meter-aware writing, as a sentence; None when it can (a two-character trial).

    The page shows the sentence where the switch would be, so the switch never disappears without a word.
    """
    missing = [c for c in METER_AWARE_CHARS if c not in gen.vocab]
    if missing:
        return (
            "Meter-aware writing is not offered for these weights: their vocabulary lacks "
            f"{', '.join(map(repr, missing))}, which it needs to close bars and end a tune."
        )
    try:
        gen.generate(SampleConfig(length=2, constrained=True))
    except ValueError as e:  # ConstraintError, or the header's own characters unknown to the vocabulary
        return f"Meter-aware writing is not offered for these weights: a trial tune failed ({e})."
    return None


# How a tune may start, as the page offers it: the first character the model is given, in words. The model
# learnt tunes that start "X:" and then a title; any other character starts it somewhere it never saw a
# tune start (a note without a key cannot be read as music), so only these are offered.
SEED_STARTS = {
    "X": "a whole tune, header first (number, title, meter, key)",
    "T": "its title first (no tune number)",
    "": "a random character (the model may start anywhere)",
}


def seed_chars(chars: Sequence[str]) -> list[str]:
    """The starts the page offers (:data:`SEED_STARTS`) whose character the model knows ("" always).

    >>> seed_chars(["\\n", " ", "A", "X"])
    ['X', '']
    """
    return [c for c in SEED_STARTS if c == "" or c in chars]


@dataclass(frozen=True)
class Badge:
    """One quality mark shown beside a tune."""

    label: str
    ok: bool
    help: str


def badges(sound: Sound, ended: bool, final_bar: bool, abc: str | None = None) -> list[Badge]:
    r"""The tune's quality marks: it parses, its bars add up, its form (with ``abc``), it ends cleanly.

    With the tune's text, "bars" counts every bar under the meter (a part's last bar may be short) and names
    the pick-ups apart, and each thing wrong with the form (:func:`musicgen.judge.form.form_warnings`: under
    8 bars, a part of an irregular length, an ending away from the tonic, a key or meter that changed)
    gets an orange badge of its own. Without it, "bars" counts the inner bars (``sound.bars``).

    >>> [(b.label, b.ok) for b in badges(Sound(bars=(7, 8)), ended=False, final_bar=True)]
    [('parses', True), ('bars 7/8', False), ('cut off at the length limit', False)]
    >>> [b.label for b in badges(Sound(parse_error="no notes", bars=(0, 0)), ended=True, final_bar=False)]
    ['does not parse', 'no whole bars to check', 'ends mid-bar']
    >>> [(b.label, b.ok) for b in badges(Sound(), True, True, "X:1\nM:2/4\nL:1/8\nK:G\nD|GA Bc|d2 B2|c2 A2|G3:|")]
    [('parses', True), ('bars 4/4 (+1 pick-up)', True), ('only 4 bars', False), ('ends cleanly', True)]
    """
    marks = [
        Badge(
            "parses" if sound.parses else "does not parse",
            sound.parses,
            "music21 reads the ABC and finds notes" if sound.parses else sound.parse_error or "",
        )
    ]
    form = tune_form(abc) if abc is not None and len(abc) <= budget.MAX_CHARS else None
    if form is not None:
        marks.append(_bars_badge(form.judged_correct, form.judged, form.pickups))
        marks += [Badge(w.label, False, w.sentence) for w in form_warnings(form)]
    elif sound.bars is not None:
        good, total = sound.bars
        marks.append(
            Badge(
                f"bars {good}/{total}" if total else "no whole bars to check",
                total > 0 and good == total,
                "inner bars whose notes add up to the meter (first and last bars of a part may be short)",
            )
        )
    if not ended:
        marks.append(
            Badge(
                "cut off at the length limit",
                False,
                "the tune reached the length limit: raise the length for a complete tune",
            )
        )
    else:
        marks.append(
            Badge(
                "ends cleanly" if final_bar else "ends mid-bar",
                final_bar,
                "the model ended the tune itself" + (" on a bar line" if final_bar else ", without a bar line"),
            )
        )
    return marks


def _bars_badge(good: int, total: int, pickups: int) -> Badge:
    """Every judged bar: those that add up (or, closing a part, do not overfill), of all; the pick-ups apart.

    >>> [_bars_badge(*n).label for n in [(16, 16, 1), (30, 32, 2), (0, 0, 0)]]
    ['bars 16/16 (+1 pick-up)', 'bars 30/32 (+2 pick-ups)', 'no whole bars to check']
    """
    if not total:
        return Badge("no whole bars to check", False, "the tune has no bar under a meter to check")
    extra = f" (+{pickups} pick-up{'' if pickups == 1 else 's'})" if pickups else ""
    wrong = total - good
    return Badge(
        f"bars {good}/{total}{extra}",
        good == total,
        f"{good} of {total} bars add up to the meter"
        + (f" and {wrong} do not" if wrong else "")
        + " (the last bar of a part may be short)"
        + (
            f"; besides them {pickups} pick-up{'' if pickups == 1 else 's'}, the short bar opening a part"
            if pickups
            else ""
        )
        + ".",
    )


def badge_markdown(marks: Sequence[Badge], nats_per_char: float | None) -> tuple[str, str]:
    """The badges as one line of Streamlit Markdown, and their help text (a sentence may quote the tune: as text).

    >>> line, help = badge_markdown(badges(Sound(parse_error="bad [x](y)"), True, True), 1.234)
    >>> line
    ':orange-badge[:material/close: does not parse] :green-badge[:material/check: ends cleanly] :gray-badge[1.23 nats/char]'
    >>> print(help.splitlines()[0])
    **does not parse**: bad \\[x\\]\\(y\\)
    """
    line = " ".join(
        f":{'green' if b.ok else 'orange'}-badge[{':material/check:' if b.ok else ':material/close:'} {b.label}]"
        for b in marks
    )
    nats = "" if nats_per_char is None else f" :gray-badge[{nats_per_char:.2f} nats/char]"  # None: not the model's
    return f"{line}{nats}", "\n\n".join(f"**{b.label}**: {plain(b.help)}" for b in marks)


def tunebook(tunes: Sequence[str]) -> str:
    """All tunes as one ABC file, numbered X:1, X:2, ... in order, separated by blank lines.

    >>> print(tunebook(["X:9\\nT:A\\nK:G\\nGAB|", "T:B\\nK:D\\nDEF|"]), end="")
    X:1
    T:A
    K:G
    GAB|
    <BLANKLINE>
    X:2
    T:B
    K:D
    DEF|
    <BLANKLINE>
    """
    numbered = []
    for i, tune in enumerate(tunes, 1):
        body = re.sub(r"\AX:[^\n]*\n?", "", tune.strip("\n"))
        numbered.append(f"X:{i}\n{body}")
    return join_tunes(numbered)


def file_stem(title: str, seed: int, index: int = 0) -> str:
    """A safe file name (no extension) for a tune: its title's slug, its seed and its candidate number.

    >>> file_stem("The Lark's Reel / No. 2", 42, 1)
    'the-larks-reel-no-2-seed42-2'
    >>> file_stem("", 0)
    'tune-seed0-1'
    """
    return f"{title_slug(title)}-seed{seed}-{index + 1}"


def char_label(ch: str) -> str:
    """How a start reads in the page's list (a character a link gave, outside :data:`SEED_STARTS`, as itself).

    >>> [char_label(c) for c in ["", "X", " ", "A"]]
    ['a random character (the model may start anywhere)', 'a whole tune, header first (number, title, meter, key)', "the character ' '", "the character 'A'"]
    """
    return SEED_STARTS.get(ch) or f"the character {ch!r}"


def model_subtitle(weights: str, metrics: dict) -> str:
    """The page's subtitle: what the loaded weights were trained on, as their checkpoint records it.

    >>> model_subtitle("nottingham", {"data": {"paths": ["../data/nottingham/ABC_cleaned"], "tunes": 932}})
    'New folk tunes from a character-level LSTM trained on 932 tunes of the Nottingham Music Database (weights: nottingham).'
    >>> model_subtitle("reels", {"data": {"paths": ["/home/me/abc/reels/", "jigs.abc"]}})
    'New folk tunes from a character-level LSTM trained on tunes of reels and jigs.abc (weights: reels).'
    >>> model_subtitle("tiny", {})
    'New folk tunes from a character-level LSTM (weights: tiny; what they were trained on is not recorded).'
    """
    data = metrics.get("data") if isinstance(metrics.get("data"), dict) else {}
    paths = [str(p) for p in data.get("paths", []) if str(p).strip()]
    if not paths:
        return f"New folk tunes from a character-level LSTM (weights: {weights}; what they were trained on is not recorded)."
    if any("nottingham" in p.lower() for p in paths):
        source = "the Nottingham Music Database"
    else:
        names = [p.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1] for p in paths]
        source = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
    tunes = data.get("tunes")
    count = f"{tunes:,} tunes" if isinstance(tunes, int) and tunes > 0 else "tunes"
    return f"New folk tunes from a character-level LSTM trained on {count} of {source} (weights: {weights})."


def card_parts(card: str) -> list[tuple[str, str]]:
    r"""A model card split into ("markdown", text) and ("image", file name) parts, in order.

    Images beside the card (``![loss](loss.png)``) cannot be shown by a Markdown
    renderer that does not know the card's folder; the app shows them itself.

    >>> card_parts("# Card\n![loss per epoch](loss.png)\nVal loss 1.2")
    [('markdown', '# Card'), ('image', 'loss.png'), ('markdown', 'Val loss 1.2')]
    >>> card_parts("see ![a](https://example.org/a.png) inline")
    [('markdown', 'see ![a](https://example.org/a.png) inline')]
    """
    parts: list[tuple[str, str]] = []
    text: list[str] = []
    for line in card.splitlines():
        m = re.fullmatch(r"\s*!\[[^\]]*\]\(([\w.-]+)\)\s*", line)
        if m is None:
            text.append(line)
            continue
        if "\n".join(text).strip():
            parts.append(("markdown", "\n".join(text).strip()))
        text = []
        parts.append(("image", m[1]))
    if "\n".join(text).strip():
        parts.append(("markdown", "\n".join(text).strip()))
    return parts
