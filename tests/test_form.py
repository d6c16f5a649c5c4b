"""The form of a tune (musicgen.judge.form): parts, bars, the tonic, the header held; its badges and its ranking."""

from __future__ import annotations

import pytest

from musicgen.app.render import Sound
from musicgen.app.session import first_shown
from musicgen.app.support import badges
from musicgen.compose.sample import Tune
from musicgen.judge.form import form_score, form_warnings, tune_form
from musicgen.judge.formset import form_markdown, summarise_forms

HEAD = "X:1\nT:T\nM:6/8\nL:1/8\nK:{key}\n"
# AABB, 8-bar parts, each repeated: the commonest form of the corpus
AABB = HEAD.format(key="G") + (
    "|:GAB c2d|e2d B2G|A2B c2A|B2A G3|GAB c2d|e2d B2G|A2B c2A|B2A G3:|\n"
    "|:d2e f2g|a2g f2d|e2f g2e|f2e d3|d2e f2g|a2g f2d|e2f g2e|d2B G3:|"
)
# a pick-up before the repeat sign, first and second endings (|1 ... :|2), the pick-up of the next part at the end
PICKUP_ENDINGS = HEAD.format(key="D") + (
    "A|:d2e f2g|a2f d2f|e2f g2e|f2e d2A|d2e f2g|a2f d2f|e2f g2e|1 f2e d2A:|2 f2e d2f||\n"
    "|:a2f d2f|a2f d2f|g2e c2e|g2e c2e|a2f d2f|a2f d2f|g2e c2e|[1 d3 d2f:|[2 d3 d3|]"
)
# a one-bar second ending, short, completed by the pick-up of the part after it: still two parts
SHORT_SECOND_ENDING = HEAD.format(key="G") + (
    "d|:B2c d2e|g3 G3|B2c d2e|1 g3 d3:|2 g3 G2||\nd|:e2f g2a|b3 g3|e2f g2a|1 b3 g3:|2 b3 g2|]"
)
# ``::`` between the parts, a tune in a mode: A dorian ends on A
DORIAN_DOUBLE_COLON = HEAD.format(key="Ador") + ("|:A2B c2d|e2d c2B|A2B c2A|G2E E3::e2f g2e|d2B G2B|A2B c2B|A3 A3:|")
# no section bar line at all: one part; D minor ends on D; the last chord symbol on A is not the tonic
NO_SECTIONS_DM = HEAD.format(key="Dm") + 'D2E F2G|A2B c2A|"Gm"B2A G2E|"A7"F2E D3|'
# the model wrote the meter twice and moved the key
CHANGED = "X:1\nT:T\nM:4/4\nL:1/8\nK:D\nM:6/8\n" + "d2e f2g|a3 d3|" * 2 + "\nK:A\n" + "A2B c2d|e3 A3|" * 2 + "]"
FRAGMENT = HEAD.format(key="G") + "GAB c2d|e2d B2A|"


@pytest.mark.parametrize(
    "tune, passes, bars, played, sections",
    [
        (AABB, [(8, 8), (8, 8)], 16, 32, (8, 8)),
        (PICKUP_ENDINGS, [(8, 8), (8, 8)], 18, 32, (8, 1, 8, 1)),
        (SHORT_SECOND_ENDING, [(4, 4), (4, 4)], 10, 16, (4, 1, 4, 1)),
        (DORIAN_DOUBLE_COLON, [(4, 4), (4, 4)], 8, 16, (4, 4)),
        (NO_SECTIONS_DM, [(4,)], 4, 4, (4,)),
        (FRAGMENT, [(2,)], 2, 2, (2,)),
    ],
)
def test_parts_and_bars(tune: str, passes: list[tuple[int, ...]], bars: int, played: int, sections: tuple) -> None:
    form = tune_form(tune)
    assert [p.passes for p in form.parts] == passes
    assert (form.bars, form.played, form.sections) == (bars, played, sections)


def test_a_pick_up_is_counted_apart_and_bars_count_every_judged_bar() -> None:
    form = tune_form(PICKUP_ENDINGS)
    assert form.pickups == 1 and form.judged == form.judged_correct == 18
    assert [(b.label, b.ok) for b in badges(Sound(), True, True, PICKUP_ENDINGS)][1] == (
        "bars 18/18 (+1 pick-up)",
        True,
    )


@pytest.mark.parametrize(
    "tune, note, chord",
    [(AABB, True, None), (DORIAN_DOUBLE_COLON, True, None), (NO_SECTIONS_DM, True, False), (CHANGED, False, None)],
)
def test_ending_on_the_tonic_of_the_header_key(tune: str, note: bool, chord: bool | None) -> None:
    form = tune_form(tune)
    assert (form.ends_on_tonic, form.chord_on_tonic) == (note, chord)


def test_the_header_held_or_not() -> None:
    assert tune_form(AABB).header_held
    form = tune_form(CHANGED)
    assert form.meter_changes == ("6/8",) and form.key_changes == ("A",) and not form.header_held
    same_again = AABB.replace("K:G\n", "K:G\nM:6/8\n[K:G]", 1)  # the same values written again change nothing
    assert tune_form(same_again).header_held


def test_warnings_say_what_a_musician_would_notice() -> None:
    assert form_warnings(tune_form(AABB)) == [] and form_warnings(tune_form(PICKUP_ENDINGS)) == []
    kinds = {w.kind: w for w in form_warnings(tune_form(CHANGED))}
    assert set(kinds) == {"tonic", "changed"}
    assert kinds["changed"].label == "key and meter changed"
    assert "M:6/8" in kinds["changed"].sentence and "K:A" in kinds["changed"].sentence
    irregular = AABB.replace("B2A G3:|\n", "B2A G3|B2A G3:|\n", 1)  # a 9-bar first part
    (w,) = form_warnings(tune_form(irregular))
    assert w.kind == "irregular" and w.label == "a part of 9 bars" and "part 1 has 9 bars" in w.sentence


def test_every_form_warning_is_an_orange_badge() -> None:
    marks = badges(Sound(), ended=True, final_bar=True, abc=CHANGED)
    orange = [b.label for b in marks if not b.ok]
    assert orange == ["ends away from the tonic", "key and meter changed"]
    assert [b.label for b in badges(Sound(), True, True, FRAGMENT) if not b.ok] == [
        "only 2 bars",
        "ends away from the tonic",
    ]
    assert all(b.ok for b in badges(Sound(), ended=True, final_bar=True, abc=AABB))


def test_the_best_formed_candidate_is_shown_first() -> None:
    tunes = [Tune(FRAGMENT, 0.5, 1, True), Tune(CHANGED, 0.6, 1, True), Tune(AABB, 0.9, 1, True)]
    assert [form_score(tune_form(t.abc)) for t in tunes] == [1.0, 2.0, 4.0]
    assert first_shown(tunes, None) == 2
    assert first_shown([*tunes[:2], Tune(AABB, 0.9, 1, False)], None) == 1  # cut off at the cap: last


def test_a_set_of_tunes_beside_the_held_out_ones() -> None:
    held = summarise_forms([tune_form(t) for t in (AABB, PICKUP_ENDINGS)])
    made = summarise_forms([tune_form(t) for t in (FRAGMENT, CHANGED, AABB)])
    assert (
        held["regular_parts"] == 1.0
        and held["regular_sections"] == pytest.approx(2 / 3)
        and held["two_or_more_parts"] == 1.0
    )
    assert made["at_least_8_bars"] == pytest.approx(2 / 3) and made["header_held"] == pytest.approx(2 / 3)
    table = form_markdown({"held-out tunes": held, "generated": made})
    assert table[0] == "| form | held-out tunes | generated | target |"
    assert any(r.startswith("|   simpler reading") and r.endswith(">= 67% (held-out) |") for r in table)


def test_a_part_opening_with_a_pick_up_is_read_as_closing_on_the_bar_that_completes_it_or_not() -> None:
    short = tune_form("X:1\nM:2/4\nL:1/8\nK:G\nd|g2 fe|d2 B2|c2 A2|G3:|\ng2 g2|d4|e2 c2|B4|]")
    whole = tune_form("X:1\nM:2/4\nL:1/8\nK:G\nd|g2 fe|d2 B2|c2 A2|G4:|\n")
    assert [p.closes_pickup for p in short.parts] == [True, None] and [p.closes_pickup for p in whole.parts] == [False]
    assert summarise_forms([short, whole])["pickup_closed"] == pytest.approx(0.5)
    assert any(
        "close on the bar completing it" in r and "50%" in r
        for r in form_markdown({"t": summarise_forms([short, whole])})
    )


def test_a_part_is_read_as_closing_long_or_not_and_the_last_part_is_left_to_the_tonic() -> None:
    # in 2/4 with L:1/16 (no L:): "G4" is a quarter, "d2" an eighth; a tuplet's note is never long
    long = tune_form("X:1\nM:2/4\nK:G\n|:g4 f4|d4 B4|c4 A4|G4 G4:|\n|:B4 c4|d4 B4|c4 A4|(3B2c2d2 G4:|")
    short = tune_form("X:1\nM:2/4\nK:G\n|:g4 f4|d4 B4|c4 A4|G4 d2B2:|\n|:B4 c4|d4 B4|c4 A4|d4 (3B2c2d2:|")
    assert [p.closes_long for p in long.parts] == [True, True] and [p.closes_long for p in short.parts] == [
        False,
        False,
    ]
    summary = summarise_forms([long, short])
    assert summary["long_closed"] == pytest.approx(0.5)  # (each tune's last part aside)
    assert any("quarter note or longer" in r and "50%" in r for r in form_markdown({"t": summary}))
