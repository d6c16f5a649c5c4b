r"""What the page's workbench computes without Streamlit: the mistakes of an edited tune at their lines, and the
passage to practise (its bars, its label, and what the player needs to loop it).

    found = mistakes(abc)                         # [Mistake(line, sentence, serious), ...] in the order of the text
    listing(abc, found)                           # the lines to blame, numbered, each with its sentence under it
    cut = passage(abc, first=5, last=8, count_in=True)
    loop = loop_args(cut, sound, url, speed=70)   # the player's arguments: where the loop starts and ends

A serious mistake keeps the tune from being played (:func:`musicgen.abcnotation.check.check_and_repair`'s
reasons: an unclosed chord symbol, no K: line, a meter out of range); a bar whose notes do not add up to its
meter is named too, but the tune still plays. music21's own reading is tried when the edit is played
(:func:`musicgen.app.render.make_sound` says why it could not be read, with its line).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from musicgen.abcnotation import check, excerpt
from musicgen.abcnotation.header import Meter
from musicgen.app.render import Sound

MAX_BAR_MISTAKES = 6  # bars named one by one; more are counted in one sentence
NOTE_NAMES = {1: "whole notes", 2: "half notes", 4: "quarter notes", 8: "eighth notes", 16: "sixteenth notes"}


@dataclass(frozen=True)
class Mistake:
    """Something wrong in a tune's text: its line (1-based; None for the whole tune) and a plain sentence."""

    line: int | None
    sentence: str
    serious: bool  # the tune cannot be played until it is mended


def mistakes(abc: str) -> list[Mistake]:
    r"""What is wrong in the tune's text, each at its line (see the module docstring).

    >>> [(m.line, m.sentence) for m in mistakes('X:1\nM:6/8\nL:1/8\nK:D\n"D d2e|\nfed e2d|\n')]
    [(5, 'A chord symbol is not closed: \'"\' at column 1 needs its closing \'"\' on the same line.')]
    >>> [m.sentence for m in mistakes('X:1\nM:6/8\nL:1/8\nK:D\nd2e fed|"D')]
    ['To play it, the converter removed the unfinished chord symbol \'"D\' at the end of line 5.']
    >>> [(m.line, m.sentence) for m in mistakes("X:1\nM:6/8\nL:1/8\nK:D\nA|dfa afd|dfa af|dfa afd|\n")]
    [(5, "Bar 2 ('dfa af|') lasts 5 eighth notes; the meter, 6/8, holds 6.")]
    >>> mistakes("X:1\nM:3/4\nL:1/4\nK:G\nGAB|c3|]\n")
    []
    """
    try:
        checked = check.check_and_repair(abc)
    except check.InvalidABCError as e:
        return [Mistake(e.line, _sentence(e.reason), True)]
    text = checked.text  # as music21 will read it: lines counted back to the text given
    wrong = [s for s in excerpt.bar_spans(text) if s.correct is False]
    found = [
        Mistake(
            checked.original_line(s.line),
            f"Bar {s.number} ({text[s.start : s.close].strip()!r}) {_lasts(s.duration, s.meter)}.",
            False,
        )
        for s in wrong[:MAX_BAR_MISTAKES]
    ]
    if len(wrong) > MAX_BAR_MISTAKES:
        more = len(wrong) - MAX_BAR_MISTAKES
        found.append(Mistake(None, f"{more} more bar{'s' if more > 1 else ''} do not add up to the meter.", False))
    found += [Mistake(None, f"To play it, the converter {r}.", False) for r in checked.repairs if "L:1/8" not in r]
    return found


def _sentence(reason: str) -> str:
    """The checker's reason as a sentence a musician reads.

    >>> _sentence("unclosed chord '[' at column 4")
    "A chord is not closed: '[' at column 4 needs its closing ']' on the same line."
    >>> _sentence("there is no K: line (the key); in ABC the music follows it")
    'There is no K: line (the key); in ABC the music follows it.'
    """
    closers = {"chord symbol": '"', "chord": "]", "grace group": "}", "decoration": "!"}
    for name, closer in closers.items():
        prefix = f"unclosed {name} "
        if reason.startswith(prefix):
            what = reason[len(prefix) :]
            return f"A {name} is not closed: {what} needs its closing {closer!r} on the same line."
    return reason[:1].upper() + reason[1:].rstrip(".") + "."


def _lasts(duration: Fraction, meter: Meter | None) -> str:
    """How long a bar lasts against its meter, in the meter's own note values.

    >>> _lasts(Fraction(5, 8), Meter(6, 8)), _lasts(Fraction(9, 8), Meter(4, 4)), _lasts(Fraction(3, 16), None)
    ('lasts 5 eighth notes; the meter, 6/8, holds 6', 'lasts 4.5 quarter notes; the meter, 4/4, holds 4', 'lasts 3/16')
    """
    if meter is None:
        return f"lasts {duration}"
    name = NOTE_NAMES.get(meter.unit, f"1/{meter.unit} notes")
    count = float(duration * meter.unit)
    return f"lasts {count:g} {name[:-1] if count == 1 else name}; the meter, {meter.beats}/{meter.unit}, holds {meter.beats}"


def listing(abc: str, found: list[Mistake]) -> str:
    r"""The lines to blame, numbered as in the text, each followed by its sentence (plain text, for a code block).

    >>> print(listing("X:1\nK:G\nGAB|\n", [Mistake(3, "Bar 1 is short.", False), Mistake(None, "More.", False)]))
      3 | GAB|
          ^ Bar 1 is short.
    More.
    """
    lines = abc.splitlines()
    out: list[str] = []
    for m in found:
        if m.line is not None and 1 <= m.line <= len(lines):
            out += [f"{m.line:>3} | {lines[m.line - 1]}", f"      ^ {m.sentence}"]
        else:
            out.append(m.sentence)
    return "\n".join(out)


def bar_count(abc: str) -> int:
    """The number of the tune's last bar (0 for none, or a pick-up alone)."""
    spans = excerpt.bar_spans(abc)
    return len(excerpt.numbered(spans))


def passage(abc: str, first: int, last: int, count_in: bool) -> excerpt.Excerpt:
    """Bars ``first`` to ``last`` of the tune, to practise (:func:`musicgen.abcnotation.excerpt.excerpt`)."""
    return excerpt.excerpt(abc, first, last, count_in)


def loop_label(first: int, last: int, speed: int, count_in: bool) -> str:
    """The passage's name beside its player.

    >>> loop_label(5, 8, 70, True), loop_label(3, 3, 100, False)
    ('Bars 5–8 at 70%, after a count-in bar', 'Bar 3 at 100%')
    """
    bars = f"Bar {first}" if first == last else f"Bars {first}–{last}"
    return f"{bars} at {speed}%{', after a count-in bar' if count_in else ''}"


def loop_args(cut: excerpt.Excerpt, sound: Sound, url: str, speed: int) -> dict[str, object]:
    """What the player needs to loop a passage: its sound, its notes' places, where the loop starts and ends.

    The first time through it plays the count-in; then it goes round from the count-in's end (``start_s``)
    to where the passage's last note ends (``music_s``): the final note's ring-out is left out.
    """
    start = float(cut.count_in) * 4 * 60 / sound.qpm if sound.qpm else 0.0  # whole notes -> quarters -> seconds
    return dict(
        url=url,
        music_s=sound.music_seconds,
        start_s=start,
        abc=cut.abc,
        at=cut.start,
        length=cut.length,
        label=loop_label(cut.first, cut.last, speed, bool(cut.count_in)),
        **{"from": cut.source_start},
    )
