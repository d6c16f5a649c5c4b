"""Under a form, a part that opens with a pick-up closes with the short bar that completes it, as the
training tunes' parts mostly do (85% of those with a pick-up): played with its repeat, the two make one bar."""

from __future__ import annotations

import pytest

from musicgen.compose.progress import short_close
from musicgen.compose.sample import Generator
from musicgen.compose.tracker import Tracker
from musicgen.config import SampleConfig
from musicgen.judge.form import _pickup, _sections
from musicgen.model import checkpoint

HEAD = "X:1\nT:Reel\nM:6/8\nL:1/8\nK:G\n"
BARS = "|G2B d2B|c2A F2D" * 3 + "|G2B d2B"  # seven whole bars


def takes(text: str, form: str | None = "AABB") -> bool:
    t = Tracker(None, form)
    return all(t.step(ch) for ch in text)


@pytest.mark.parametrize("form", ["AABB", "model"])
def test_a_part_that_opened_with_a_pick_up_closes_short(form: str) -> None:
    assert takes(HEAD + "D" + BARS + "|c2A G2:|\n", form)  # 5/8 and the eighth's pick-up make a bar
    assert not takes(HEAD + "D" + BARS + "|c2A G3:|\n", form)  # a whole last bar: the repeat would add the pick-up
    assert not takes(HEAD + "D" + BARS + "|c2A G:|\n", form)  # nor a bar shorter still


def test_a_part_without_a_pick_up_or_after_a_lone_one_closes_whole() -> None:
    assert takes(HEAD + BARS[1:] + "|c2A G3:|\n")
    assert takes(HEAD + "D|:" + BARS[1:] + "|c2A G3:|\n")  # the lone pick-up is played once, outside the repeat


def test_without_a_form_either_bar_may_close_a_part() -> None:
    assert takes(HEAD + "D" + BARS + "|c2A G3||\n", None) and takes(HEAD + "D" + BARS + "|c2A G2||\n", None)


def test_in_quarter_notes_too() -> None:
    # 4/4 in L:1/4 after a quarter's pick-up: the short bar holds one note of three quarters ("d3"), no more
    # characters than the way to the end counts for a whole bar ("d4"), so the rule holds there as well
    head, bars = "X:1\nT:Hornpipe\nM:4/4\nL:1/4\nK:D\nA", "|d f a f|e g b g" * 3 + "|d f a f"
    assert takes(head + bars + "|c d2:|\n")  # three quarters: with the pick-up, a bar
    assert not takes(head + bars + "|e c d2:|\n")  # a whole last bar
    assert short_close(192, 4 * 192, 48) == 192


def test_a_short_bar_one_note_cannot_fill_leaves_the_last_bar_whole() -> None:
    tick = 192  # of the unit length
    assert short_close(tick, 6 * tick, tick // 2) == tick  # 6/8 after an eighth: "G5"
    assert short_close(5 * tick, 6 * tick, tick // 2) == 0  # the short bar cannot hold the tune's last note
    assert short_close(tick // 2, 8 * tick, tick // 2) == 0  # 15/16 of a bar takes two notes ("G7G/")


def test_default_tunes_close_their_pick_up_parts_short() -> None:
    # where the rule holds: an eighth's pick-up in 6/8, a quarter's in 4/4 (L:1/8 or L:1/4), not a lone one before |:
    covered = {("M:6/8", "1/8"), ("M:4/4", "1/4")}
    gen = Generator(checkpoint.load(checkpoint.shipped_weights()))
    closed = {"short": 0, "whole": 0}  # (before the rule, in 200 default tunes: 30 short, 50 whole)
    for tune in gen.generate(SampleConfig(n=24, rng=5, constrained=True)):
        meter = next(line for line in tune.abc.splitlines() if line.startswith("M:"))
        for section in _sections(tune.abc):
            bars = [item[0] for item in section]
            if _pickup(bars) and (meter, str(bars[0].duration)) in covered and section[0][2] == "|":
                closed["short" if bars[0].duration + bars[-1].duration == bars[-1].expected else "whole"] += 1
    assert closed["short"] >= 5 and closed["whole"] == 0, closed
