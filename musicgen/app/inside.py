"""What the page's "Inside the model" views (``app_inside.py``) show, without Streamlit: the views and their
sentences for a class, the sheet's arguments, colours for notes by surprise or by the rules' steps, the
held-out tunes' surprises, the checkpoints kept from training and its loss curve. The step-by-step view's own
pieces (the choices, the lines of writing) are :mod:`musicgen.app.stepview`'s.

A note's *surprise* adds up the surprise (``-ln p``) of the characters that write it (:mod:`musicgen.judge.explain`):
the model's doubt about its pitch, its length and what stands before it together.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from musicgen.app.render import sheet_text
from musicgen.app.session import title_of
from musicgen.app.support import Badge
from musicgen.app.text import plain
from musicgen.data.corpus import TUNE_END
from musicgen.judge.explain import STEP_IN, Explanation
from musicgen.judge.words import words
from musicgen.model.recipe import EPOCHS_DIR  # <weights>/epochs/epoch-001/ ...: musicgen train --keep-epochs

VIEWS = {  # each view, and the one sentence that tells a class what it shows
    "Step by step": (
        "The model writes a tune one character at a time; before each one it weighs every character it knows, "
        "and you can take another one to see where the tune goes instead."
    ),
    "Surprise map": (
        "Each note is coloured by how surprised the model was to read it: green where it expected the note, "
        "red where it did not see it coming."
    ),
    "Watch it learn": (
        "The same tune started by the model after a few rounds (epochs) of its training: "
        "early on it writes noise, by the end it writes folk tunes."
    ),
    "Rules on and off": (
        "The same tune written with and without meter-aware writing, the rules that keep every bar the right "
        "length; orange notes mark where the rules stepped in."
    ),
}
SURPRISE_WORDS = (
    "Surprise is how unexpected a character was to the model: 0 when it was sure of it, about 0.7 for a coin "
    "toss, 3 for a one-in-twenty chance. A tune's mean surprise is the average over its characters."
)
# (upper bound or None, colour or None, label): a note is coloured by the first bin above its surprise
SURPRISE_BINS: tuple[tuple[float | None, str | None, str], ...] = (
    (1.0, "#1b7837", "expected (under 1)"),
    (3.0, "#a67c00", "a little surprised (1 to 3)"),
    (6.0, "#d9480f", "surprised (3 to 6)"),
    (None, "#b2182b", "very surprised (over 6)"),
)
RULES_BINS: tuple[tuple[float | None, str | None, str], ...] = (
    (STEP_IN, None, ""),
    (None, "#e66100", f"the rules stepped in (took {STEP_IN:.0%} or more of the model's choice)"),
)
BROKEN_BINS: tuple[tuple[float | None, str | None, str], ...] = (
    (0.5, None, ""),
    (None, "#b2182b", "where the free tune first breaks the rules"),
)
_EPOCH = re.compile(r"epoch-(\d+)")


def bins_json(bins: Sequence[tuple[float | None, str | None, str]]) -> list[list[Any]]:
    """Bins as the sheet component reads them (JSON has no infinity: None is "no upper bound")."""
    return [[upper, colour, label] for upper, colour, label in bins]


def sheet_values(
    abc: str, values: Sequence[float | None], drop_sources: bool = False
) -> tuple[str, list[float | None]]:
    r"""The tune as the sheet component draws it (:func:`~musicgen.app.render.sheet_text`) and the value of
    each of its characters (``values`` holds one per character of ``abc``; missing ones are None).
    ``drop_sources``: leave out ``S:`` lines too, as saving a generated tune does (the model imitates the
    collectors' names of its training tunes there; see :func:`musicgen.compose.prompt.tidy`).

    >>> sheet_values("X:1\nY:AB\nK:D\nd2|", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14])
    ('X:1\nK:D\nd2|', [0, 1, 2, 3, 9, 10, 11, 12, 13, 14, None])
    >>> sheet_values("X:1\nS:Trad\nK:D\nd|", [], drop_sources=True)[0]
    'X:1\nK:D\nd|'
    """
    lines, kept, at = [], [], 0
    padded = list(values) + [None] * max(0, len(abc) - len(values))
    for line in abc.splitlines(keepends=True):
        if sheet_text(line) == line and not (drop_sources and line.startswith("S:")):
            lines.append(line)
            kept += padded[at : at + len(line)]
        at += len(line)
    return "".join(lines), kept


def sheet_args(
    abc: str,
    values: Sequence[float | None],
    bins: Sequence[tuple[float | None, str | None, str]],
    legend: str,
    drop_sources: bool = False,
) -> dict[str, Any]:
    """What the sheet component (``assets/inside``) is given for a tune: its text, a screen reader's title,
    each character's value (3 decimals), the bins and the legend's heading."""
    text, kept = sheet_values(abc, values, drop_sources)
    rounded = [None if v is None else round(v, 3) for v in kept]
    return dict(abc=text, title=title_of(abc), values=rounded, bins=bins_json(bins), legend=legend)


def note_sentences(ex: Explanation, most: int = 5) -> list[str]:
    """The tune's most surprising characters, as sentences: what it wrote and what the model expected."""
    ranked = sorted(range(len(ex.steps)), key=lambda i: -ex.steps[i].surprise)[:most]
    text = ex.tune + TUNE_END
    out = []
    for i in sorted(ranked):
        s = ex.steps[i]
        c, p = s.top[0]
        expected = f"; the model expected {words(c, text[:i])} ({p:.0%})" if c != s.char else ""
        out.append(
            f"Character {i + 1}: {words(s.char, text[:i])}, given {s.p:.1%} (surprise {s.surprise:.1f}){expected}."
        )
    return out


def rules_sentences(ex: Explanation, most: int = 8) -> list[str]:
    """Where the rules stepped in, as sentences: what the model wanted and what it wrote."""
    text = ex.tune + TUNE_END
    out = []
    for i in ex.stepped_in[:most]:
        s = ex.steps[i]
        c, p = s.removed_top[0] if s.removed_top else ("", 0.0)
        want = f"{words(c, text[:i])} ({p:.0%})" if c else "other characters"
        out.append(
            f"Character {i + 1}: the model wanted {want}; the rules took away {s.removed_p:.0%} of its choice, "
            f"and it wrote {words(s.char, text[:i])}."
        )
    if len(ex.stepped_in) > most:
        out.append(f"… and {len(ex.stepped_in) - most} more.")
    return out


def free_sentence(free: Explanation) -> str:
    """Where a freely written tune first breaks meter-aware writing's rules (replayed over it), as a sentence."""
    if free.let_go is None:
        return "Meter-aware writing would not have changed a character of this tune: it kept the rules by itself."
    text = free.tune + TUNE_END
    at = free.let_go
    return (
        f"Written freely, the tune first breaks the rules at character {at + 1} ({words(text[at], text[:at])}, "
        f"line {text.count(chr(10), 0, at) + 1}): meter-aware writing would have written something else there."
    )


def badge_line(marks: Sequence[Badge], mean_surprise: float) -> tuple[str, str]:
    """Quality badges as one line of Streamlit Markdown (the tune's surprise last), and their help text."""
    line = " ".join(
        f":{'green' if b.ok else 'orange'}-badge[{':material/check:' if b.ok else ':material/close:'} {b.label}]"
        for b in marks
    )
    return f"{line} :gray-badge[mean surprise {mean_surprise:.2f}]", "\n\n".join(
        f"**{b.label}**: {plain(b.help)}" for b in marks
    )


def placement(value: float, heldout: Sequence[float]) -> str:
    """Where a mean surprise stands among the held-out tunes' (sorted), as a sentence.

    >>> placement(0.9, [0.5, 0.8, 1.0, 1.2])
    'Its mean surprise, 0.90, is lower than that of 2 of the 4 held-out tunes (50%): as Nottingham-like as a typical one.'
    """
    above = len(heldout) - bisect.bisect_right(heldout, value)
    share = above / len(heldout)
    verdict = (
        "more Nottingham-like than most"
        if share > 0.75
        else "as Nottingham-like as a typical one"
        if share >= 0.25
        else "less Nottingham-like than most"
        if share >= 0.05
        else "far from the Nottingham tunes"
    )
    return (
        f"Its mean surprise, {value:.2f}, is lower than that of {above} of the {len(heldout)} held-out tunes "
        f"({share:.0%}): {verdict}."
    )


def histogram_spec(heldout: Sequence[float], value: float) -> dict[str, Any]:
    """A Vega-Lite chart: the held-out tunes' mean surprises as a histogram, this tune's as a rule."""
    return {
        "layer": [
            {
                "data": {"values": [{"surprise": v} for v in heldout]},
                "mark": {"type": "bar", "color": "#9aa5b1"},
                "encoding": {
                    "x": {"field": "surprise", "bin": {"maxbins": 20}, "title": "mean surprise of a held-out tune"},
                    "y": {"aggregate": "count", "title": "tunes"},
                },
            },
            {
                "data": {"values": [{"surprise": value, "label": "this tune"}]},
                "mark": {"type": "rule", "color": "#b2182b", "strokeWidth": 3},
                "encoding": {"x": {"field": "surprise"}, "tooltip": [{"field": "label"}, {"field": "surprise"}]},
            },
        ],
        "height": 160,
    }


def epoch_checkpoints(folder: Path | None) -> list[tuple[int, Path]]:
    """The checkpoints kept after epochs of training (``<folder>/epochs/epoch-NNN``), by epoch."""
    if folder is None or not (folder / EPOCHS_DIR).is_dir():
        return []
    found = []
    for p in (folder / EPOCHS_DIR).iterdir():
        m = _EPOCH.fullmatch(p.name)
        if m and (p / "weights.npz").is_file():
            found.append((int(m[1]), p))
    return sorted(found)


def learning_stages(folder: Path | None, metrics: Mapping[str, Any]) -> list[tuple[str, Path | None]]:
    """The models of "Watch it learn", earliest first: each kept epoch's folder, then the final (None), each
    named with its held-out loss where the metrics record it."""
    history = loss_history(metrics) or {"epoch": [], "held-out tunes": []}
    val = dict(zip(history["epoch"], history["held-out tunes"]))

    def named(label: str, loss: object) -> str:
        return f"{label} (held-out loss {loss:.2f})" if _number(loss) else label  # type: ignore[str-format]

    stages = [(named(f"After epoch {e}", val.get(e)), p) for e, p in epoch_checkpoints(folder)]
    final = metrics.get("best_val_score" if _scored(_rows(metrics)) else "best_val_loss")
    return [*stages, (named("Final model", final), None)]


def loss_history(metrics: Mapping[str, Any]) -> dict[str, list[float]] | None:
    """The loss per epoch from a checkpoint's metrics (``history``), as chart columns; None without one. The
    held-out loss is each held-out tune's from a fresh state (``val_score``, ``musicgen score``'s figure) where
    every epoch records it, else the loss as trained.

    >>> loss_history({"history": [{"epoch": 1, "train_loss": 2.5, "val_loss": 1.8}, {"epoch": 2, "train_loss": 1.6}]})
    {'epoch': [1, 2], 'training tunes': [2.5, 1.6], 'held-out tunes': [1.8, None]}
    >>> loss_history({"history": [{"epoch": 1, "train_loss": 2.5, "val_loss": 1.8, "val_score": 1.7}]})["held-out tunes"]
    [1.7]
    """
    rows = _rows(metrics)
    if not rows:
        return None

    def column(name: str) -> list[float]:
        return [h[name] if _number(h.get(name)) else None for h in rows]  # type: ignore[misc]

    held_out = "val_score" if _scored(rows) else "val_loss"
    return {"epoch": column("epoch"), "training tunes": column("train_loss"), "held-out tunes": column(held_out)}


def _rows(metrics: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [h for h in metrics.get("history") or [] if isinstance(h, Mapping) and _number(h.get("epoch"))]


def _scored(rows: Sequence[Mapping[str, Any]]) -> bool:
    """Whether every epoch records its held-out tunes' loss from a fresh state."""
    return bool(rows) and all(_number(h.get("val_score")) for h in rows)


def _number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
