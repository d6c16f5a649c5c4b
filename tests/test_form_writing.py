"""Form-aware writing: what was asked holds for the whole tune (key, meter, unit length, tune type), a part
closes only at a usual length, the tune only once its form is whole, on the tonic; the way to the end under
a form, and generation under it.

The tracker's rules are checked on tunes written here, each named for what it exercises; the
generation tests run random-weight networks (no TensorFlow), whose choices are as wild as a
model's can be, so whatever they write under the rules must keep them.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from conftest import code_blocks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from musicgen.abcnotation.rhythm import analyse
from musicgen.abcnotation.tunetypes import FORMS
from musicgen.compose.constrain import NEVER, MeterConstraint, Rules, rules_for
from musicgen.compose.finish import MEMO, finish_cost, way_offset
from musicgen.compose.parts import (
    KEY_SHARES,
    PART_LENGTHS,
    REPEATED_SHARE,
    drawn_key,
    header_draw,
    key_share_table,
    part_length_table,
    repeated_share,
)
from musicgen.compose.sample import Generator
from musicgen.compose.state import BODY, ENDED
from musicgen.compose.tracker import Tracker
from musicgen.config import ModelConfig, SampleConfig, TrainConfig
from musicgen.data.corpus import read_tunes, split_train_val
from musicgen.data.vocab import Vocab
from musicgen.judge.form import tune_form
from musicgen.model.engine import random_checkpoint

VOCAB = Vocab.from_text("")
SMALL = ModelConfig(embedding_dim=12, lstm_units=16, lstm_layers=2, dropout=0.0)
REEL_HEAD = "X:1\nT:Reel\nM:4/4\nL:1/8\nR:Reel\nK:D\n"  # its header draws a second part of 8 bars
LONG_HEAD = REEL_HEAD.replace("T:Reel", "T:The Long One")  # ... and this one a second part of 16


def kept(text: str, fields: dict[str, str] | None = None) -> bool:
    t = Tracker(fields)
    return all(t.step(ch) for ch in text)


@pytest.fixture(scope="module")
def gen() -> Generator:
    return Generator(random_checkpoint(SMALL, VOCAB, seed=3, scale=0.4))


# --- what was asked holds ------------------------------------------------------------------------

HELD = [  # (what it shows, fields asked for, text that keeps the rules, a continuation that breaks them)
    ("a chosen meter is not changed mid-tune", {"M": "4/4"}, REEL_HEAD + "d8|", "\nM:6/8\n"),
    ("a chosen key is not changed mid-tune", {"K": "D"}, REEL_HEAD + "d8|", "\nK:A\n"),
    ("a chosen unit length is not changed mid-tune", {"L": "1/8"}, REEL_HEAD + "d8|", "\nL:1/4\n"),
    ("no meter right after K: (the header written twice)", {}, REEL_HEAD, "M:6/8\n"),
    ("no key right after K:", {}, REEL_HEAD, "K:G\n"),
]


@pytest.mark.parametrize(("what", "fields", "good", "bad"), HELD, ids=[h[0] for h in HELD])
def test_what_was_asked_is_not_changed(what: str, fields: dict[str, str], good: str, bad: str) -> None:
    assert kept(good, fields)
    assert not kept(good + bad, fields), what


def test_the_value_asked_for_may_be_said_again_and_what_was_not_asked_may_change() -> None:
    assert kept(REEL_HEAD + "d8|\nM:4/4\nd8|", {"M": "4/4"})
    assert kept(REEL_HEAD + "d8|\nK:A\nA8|")  # the model's own key: its choice


def test_a_reel_stays_in_its_meter_and_a_chosen_key_holds(gen: Generator) -> None:
    cfg = SampleConfig(n=4, length=300, rng=2, constrained=True, tune_type="reel", key="D")
    for tune in gen.generate(cfg):
        assert set(re.findall(r"^M:(.*)$", tune.abc, re.M)) == {"4/4"}, tune.abc
        assert set(re.findall(r"^K:(.*)$", tune.abc, re.M)) == {"D"}, tune.abc


# --- the form's rules, on tunes written here ------------------------------------------------------

BAR8 = "d8|" * 7 + "d8"  # seven bars and the eighth under way (4/4, L:1/8, K:D: d is the tonic)
LAST_BAR = REEL_HEAD + "|:" + BAR8 + ":|\n|:" + "d8|" * 7  # an AABB tune but for its last bar
AABB_TUNE = LAST_BAR + "d8:|\n\n"
PICKUP_PARTS = REEL_HEAD + "A|" + "d8|" * 7 + "d7:|\nA|" + "d8|" * 7 + "d7:|\n\n"  # a pick-up and its closing bar
FORMED = [  # (what it shows, form, text that keeps the rules, a continuation that breaks them)
    ("a part of 7 bars", "model", REEL_HEAD + "d8|" * 6 + "d8", "||\n"),
    ("a part of 9 bars", "model", REEL_HEAD + BAR8, "|d"),
    ("a part of 17 bars after the first", "model", LONG_HEAD + "|:" + BAR8 + ":|\n" + "d8|" * 15 + "d8", "|d"),
    ("a second part of 16 bars where 8 were drawn", "model", REEL_HEAD + "|:" + BAR8 + ":|\n" + "d8|" * 8, "d8||"),
    ("a second part of 8 bars where 16 were drawn", "model", LONG_HEAD + "|:" + BAR8 + ":|\n" + BAR8, "||\n"),
    ("an end after one part", "model", REEL_HEAD + "|:" + BAR8 + ":|", "\n\n"),
    ("an end off the tonic", "model", REEL_HEAD + "|:" + BAR8 + ":|\n|:" + "d8|" * 7 + "e8", ":|\n\n"),
    ("an end on a chord symbol off the tonic", "AABB", LAST_BAR + 'd4"A"d4', ":|\n\n"),
    ("a bar that may end the tune opening off the tonic chord", "AABB", LAST_BAR, '"A"'),
    ("the tonic's letter after a sharp on it", "AABB", LAST_BAR + "d4^d2", "d2:|\n\n"),
    ("a last note shorter than a quarter note", "AABB", LAST_BAR + "e7", "d:|\n\n"),
    ("a part closed on a note shorter than a quarter note", "AABB", REEL_HEAD + "|:" + "d8|" * 7 + "d7", "d:|\n"),
    ("a part closed on a tuplet's note", "AABB", REEL_HEAD + "|:" + "d8|" * 7 + "d6", "(3ddd:|\n"),
    ("a second lone pick-up", "model", REEL_HEAD + "d|:", "d|:d"),
    ("a pick-up after a lone pick-up", "model", REEL_HEAD + "d|:", "d|d"),
    ("a part's short last bar without a pick-up", "model", REEL_HEAD + "|:" + "d8|" * 7 + "d6", ":|\n"),
    ("a short last bar without a pick-up", "model", LAST_BAR.replace(":|\n|:", "||\n") + "d4", ":|\n"),
    ("a last bar short of its pick-up's complement", "model", PICKUP_PARTS[: PICKUP_PARTS.rindex("d7")] + "d6", ":|\n"),
    ("a part of AABB closed without a repeat", "AABB", REEL_HEAD + BAR8, "||\n"),
    ("a third part of AABB", "AABB", AABB_TUNE[:-1], "d8"),
    ("a first ending", "model", REEL_HEAD + "|:" + "d8|" * 7, "1"),
    ("a note shorter than a sixteenth", "model", REEL_HEAD + "d8|d", "/4 "),
    ("two chord symbols for one note", "model", REEL_HEAD + 'd8|"G"', '"D"'),
    ("a meter change", "model", REEL_HEAD + "d8|\n", "M:6/8\n"),
    ("a tie across the tune's last bar line", "AABB", LAST_BAR + "d8-", ":|\n"),
]


@pytest.mark.parametrize(("what", "form", "good", "bad"), FORMED, ids=[f[0] for f in FORMED])
def test_what_the_form_forbids_is_refused(what: str, form: str, good: str, bad: str) -> None:
    t = Tracker(None, form)
    assert all(t.step(ch) for ch in good), what
    assert not all(t.step(ch) for ch in bad), what
    assert finish_cost(t) is None


def test_near_the_cap_a_tie_leads_to_no_bar_line() -> None:
    t = Tracker(None, "model")  # (one did: its last part closed on a tie, then its form was dropped)
    assert all(t.step(ch) for ch in REEL_HEAD + "|:" + BAR8 + ":|\n|:" + "d8|" * 7 + "d8-")
    t.set_wrap()  # near the cap the next bar line that can end the tune must, and a tie does not end one
    assert t.step(":") and finish_cost(t) is None


@pytest.mark.parametrize(
    ("form", "tune"),
    [
        ("AABB", AABB_TUNE),
        ("model", PICKUP_PARTS),
        ("model", REEL_HEAD + "P:A\n|:" + BAR8 + ":|\nP:B\n|:" + BAR8 + ":|\n\n"),  # parts named from the start
        ("model", LONG_HEAD + "|:" + BAR8 + ":|\n" + "d8|" * 15 + "=d8||\n\n"),  # 8 + 16 bars
        ("AABB", LAST_BAR + 'd4"A"d2"D"d2:|\n\n'),  # the last chord symbol on the tonic
        ("AABB", LAST_BAR + "e6d2:|\n\n"),  # the last note a quarter note: long enough to end on
        ("AABB", LAST_BAR + "d4^d2=d2:|\n\n"),  # the tonic written with its own accidental
        ("AABB", REEL_HEAD + "A|:" + "d8|" * 7 + "d7:|\n|:" + "d8|" * 7 + "d8:|\n\n"),  # a lone pick-up
        ("A16", REEL_HEAD.replace("K:D", "K:Ador") + "|:" + "A8|" * 15 + "A8:|\n\n"),  # a mode ends on its tonic
    ],
    ids=[
        "AABB",
        "pick-ups",
        "P: lines",
        "the second part twice as long",
        "tonic chord",
        "a quarter note to end on",
        "natural sign",
        "lone pick-up",
        "Ador",
    ],
)
def test_whole_tunes_of_each_form_are_followed_to_their_end(form: str, tune: str) -> None:
    t = Tracker(None, form)
    assert all(t.step(ch) for ch in tune) and t.phase == ENDED
    f = tune_form(tune)
    assert f.ends_on_tonic and f.chord_on_tonic is not False and all(p.regular for p in f.parts)


@pytest.mark.parametrize("meter", ["4/4", "6/8", "2/4"])
def test_the_second_part_is_drawn_by_the_training_tunes_shares(meter: str) -> None:
    row = dict(PART_LENGTHS[meter])
    drawn, repeated = [], []
    for i in range(1, 2001):  # the draw reads every header line: a title written differently draws afresh
        t = Tracker(None, "model")
        assert all(t.step(ch) for ch in f"X:{i}\nT:Tune {i}\nM:{meter}\nL:1/8\nK:G\n")
        drawn.append(t.plan.lengths_of(1))  # type: ignore[union-attr]
        repeated.append(t.plan.repeated)  # type: ignore[union-attr]
        assert t.plan.lengths_of(0) == (8,)  # type: ignore[union-attr]
    assert set(drawn) == {(8,), (16,)}
    assert drawn.count((8,)) / len(drawn) == pytest.approx(row[8] / (row[8] + row[16]), abs=0.03)
    assert sum(repeated) / len(repeated) == pytest.approx(REPEATED_SHARE, abs=0.03)
    both = sum(r for d, r in zip(drawn, repeated, strict=True) if d == (16,)) / drawn.count((16,))
    assert both == pytest.approx(REPEATED_SHARE, abs=0.08)  # the two draws are apart
    again = Tracker(None, "model")
    assert all(again.step(ch) for ch in f"X:2000\nT:Tune 2000\nM:{meter}\nL:1/8\nK:G\n")
    assert again.plan == t.plan  # the same header, the same plan


def test_where_no_key_was_asked_the_header_draws_it_by_the_training_tunes_shares() -> None:
    keys = []
    for i in range(1, 2001):
        t = Tracker(None, "model", draw_key=True)
        assert all(t.step(ch) for ch in f"X:{i}\nT:Tune {i}\nM:4/4\nL:1/8\n")
        keys.append(t.header.values["K"])
        other = "Bb" if keys[-1] != "Bb" else "G"  # only the drawn key may be written
        assert t.step("K") and t.step(":")
        twin = t.fork()
        assert not all(twin.step(ch) for ch in other + "\n")
        assert all(t.step(ch) for ch in keys[-1] + "\n") and t.phase == BODY
    assert keys[0] == drawn_key(header_draw("L:1/8", header_draw("M:4/4", header_draw("T:Tune 1", header_draw("X:1")))))
    shares = dict(KEY_SHARES)
    for key, n in Counter(keys).items():
        assert n / len(keys) == pytest.approx(shares[key] / sum(shares.values()), abs=0.03), key
    asked = Tracker({"K": "Bb"}, "model", draw_key=True)  # a key asked for is kept
    assert all(asked.step(ch) for ch in REEL_HEAD.replace("K:D", "K:Bb"))


def test_a_default_tune_draws_its_key_and_a_chosen_or_primed_one_holds(gen: Generator) -> None:
    assert gen._meter_constraint(SampleConfig(n=1, constrained=True)).trackers[0].draws_key
    assert not gen._meter_constraint(SampleConfig(n=1, constrained=True, key="Eb")).trackers[0].draws_key
    primed = SampleConfig(n=1, constrained=True, primer=REEL_HEAD.replace("K:D", "K:F"))
    assert not gen._meter_constraint(primed).trackers[0].draws_key
    assert not gen._meter_constraint(SampleConfig(n=1, constrained=True, form="none")).trackers[0].draws_key
    for tune in gen.generate(SampleConfig(n=4, length=500, rng=3, constrained=True, meter="6/8")):
        assert tune_form(tune.abc).key in dict(KEY_SHARES), tune.abc


def test_the_part_length_table_is_what_the_training_tunes_give(nottingham_dir) -> None:  # type: ignore[no-untyped-def]
    train, _ = split_train_val(read_tunes([nottingham_dir]), TrainConfig().val_fraction)
    assert part_length_table(train) == PART_LENGTHS
    assert repeated_share(train) == REPEATED_SHARE
    assert key_share_table(train) == KEY_SHARES


# --- generation under a form, by random-weight networks ---------------------------------------------


@pytest.mark.parametrize("form", ["model", "AABB", "AB", "A16", "ABC"])
def test_every_tune_takes_the_form_asked_for(gen: Generator, form: str) -> None:
    cfg = SampleConfig(n=3, length=700, rng=1, constrained=True, form=form, meter="4/4", key="G")
    for tune in gen.generate(cfg):
        f = tune_form(tune.abc)
        assert tune.ended and tune.meter_aware, tune.abc
        assert f.ends_on_tonic and f.chord_on_tonic is not False and f.header_held, tune.abc
        assert all(p.regular for p in f.parts) and f.bars >= 16, tune.abc
        assert len(f.parts) == FORMS[form].parts, tune.abc
        if FORMS[form].bars:
            assert {p.bars for p in f.parts} == {FORMS[form].bars}, tune.abc
        if FORMS[form].repeated:
            assert f.played == 2 * f.bars, tune.abc


def test_a_primer_that_breaks_the_form_keeps_the_bars(gen: Generator) -> None:
    primer = REEL_HEAD + "d8|d8|d8||"  # a part of three bars
    watched = MeterConstraint(VOCAB, 400, 2, form="model")
    tunes = gen.generate(SampleConfig(n=2, primer=primer, length=400, rng=4), constraint=watched)
    assert all(watched.held(s) and not watched.formed(s) for s in range(2))
    assert all(t.ended and analyse(t.abc).all_inner_correct for t in tunes)


def test_the_length_must_leave_room_for_the_form_asked() -> None:
    with pytest.raises(ValueError, match="A tune of the form AABB .* takes about 300 characters"):
        SampleConfig(form="AABB", length=200, constrained=True)
    assert SampleConfig(length=200, constrained=True).written_form == "none"  # no form was asked: bars only
    assert SampleConfig(form="AABB", length=200).written_form == "none"  # written freely
    with pytest.raises(ValueError, match="form must be one of model, AABB"):
        SampleConfig(form="ABAB")


# --- the way to the end under a form, on random walks through the rules ---------------------------

RULES = rules_for(VOCAB)


def costs(t: Tracker) -> np.ndarray:
    """Each character's way to the end, as the constraint reads it (the table's costs and the offset)."""
    table = RULES.table(t)
    return np.where(table.valid, table.costs.astype(np.int64) + way_offset(t), NEVER)


def walk(form: str, choices: list[int], budget: int) -> list[tuple[str, Tracker]]:
    """(text, tracker) along a tune whose characters ``choices`` pick among those a decoder allows."""
    t, text, seen = Tracker(None, form), "", []
    assert t.step("X")
    text = "X"
    for k, choice in enumerate(choices):
        if t.phase == ENDED:
            break
        seen.append((text, t.fork()))
        allowed = np.flatnonzero(costs(t) < budget - k)
        assert len(allowed), f"nothing allowed after {text!r}"
        text += VOCAB.chars[allowed[choice % len(allowed)]]
        assert t.step(text[-1]), text
    return seen


WALKS = dict(max_examples=12, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("form", ["model", "AABB", "A16", "ABC"])
@settings(**WALKS)
@given(choices=st.lists(st.integers(0, 10**6), min_size=100, max_size=500))
def test_under_a_form_the_way_to_the_end_shortens_with_each_step(form: str, choices: list[int]) -> None:
    for _, t in walk(form, choices, 1500):
        cost = finish_cost(t)
        assert cost is not None
        assert costs(t).min() <= cost - 1  # some character lowers it: masks are never empty


@pytest.mark.parametrize("form", ["model", "AABB", "AB"])
@settings(**WALKS)
@given(choices=st.lists(st.integers(0, 10**6), min_size=60, max_size=400), pick=st.integers(0, 10**6))
def test_following_the_way_under_a_form_ends_a_whole_tune(form: str, choices: list[int], pick: int) -> None:
    states = walk(form, choices, 1500)
    text, t = states[pick % len(states)]
    cost, start = finish_cost(t), len(text)
    while t.phase != ENDED:  # take the cheapest character each time
        text += VOCAB.chars[int(np.argmin(costs(t)))]
        assert t.step(text[-1]), text
        assert len(text) - start <= cost  # type: ignore[operator]
    f = tune_form(text)
    assert f.ends_on_tonic and f.chord_on_tonic is not False and f.header_held, text
    assert all(p.regular for p in f.parts) and f.bars >= 16, text
    if form != "model":
        assert len(f.parts) == FORMS[form].parts, text


@pytest.mark.parametrize("form", ["model", "AABB", "AB"])
@settings(**WALKS)
@given(choices=st.lists(st.integers(0, 10**6), min_size=60, max_size=400))
def test_under_a_form_equal_state_keys_mean_equal_tables(form: str, choices: list[int]) -> None:
    for _, t in walk(form, choices, 1500):
        cached = RULES.table(t)
        MEMO.clear()  # work everything out afresh, from this tracker alone
        fresh = Rules(VOCAB.chars).table(t)
        assert np.array_equal(cached.costs, fresh.costs), t.state_key()


@pytest.mark.parametrize("line", ["T", "K"])
def test_what_a_header_line_under_way_draws_is_in_its_state_key(line: str) -> None:
    """A state key blurs a title, but not what completing the line draws (the key, then the parts' plan): without
    it, a table made for one title served another, and a tune changed with what the tables held before."""
    seen: dict[object, bytes] = {}
    for title in ["Wes", "Abe", "Oak", "Ivy", "Elm", "Yew", "Ash", "Fir", "Bay", "Cob"]:
        t = Tracker(None, "model", draw_key=True)
        assert all(t.step(ch) for ch in f"X:1\nT:{title}" + ("" if line == "T" else "\nM:4/4\nL:1/8\nK:"))
        if line == "K":
            assert all(t.step(ch) for ch in t.header.values["K"])
        cached = RULES.table(t).costs.tobytes()
        MEMO.clear()  # work everything out afresh, from this tracker alone
        assert Rules(VOCAB.chars).table(t).costs.tobytes() == cached
        assert seen.setdefault(t.state_key(), cached) == cached, title
    assert len(seen) > 1  # (the titles draw more than one outcome)


# --- the app's Form choice -------------------------------------------------------------------------


def test_the_page_offers_the_forms_and_says_when_the_length_leaves_no_room(tiny_checkpoint, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from streamlit.testing.v1 import AppTest

    from musicgen.app.settings import Settings

    monkeypatch.setenv("MUSICGEN_WEIGHTS", str(tiny_checkpoint.path))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120)
    at.query_params.update({"seed": "3", "form": "AB", "length": "900", "meter": "4/4"})
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="opt_form").value == "AB"
    abc = code_blocks(at)[0]
    assert abc == Generator(tiny_checkpoint).generate(
        Settings(seed=3, form="AB", length=900, meter="4/4").sample_config()
    )[0].abc.rstrip("\n")
    assert [p.bars for p in tune_form(abc).parts] == [16, 16], abc
    at.slider(key="opt_length").set_value(300)
    next(b for b in at.button if b.label == "Compose").click()
    at.run()
    assert any("takes about 540 characters" in e.value for e in at.error), [e.value for e in at.error]
