"""Form-aware writing: what was asked holds for the whole tune (key, meter, unit length, tune type).

The tracker's rules are checked on tunes written here, each named for what it exercises; the
generation tests run random-weight networks (no TensorFlow), whose choices are as wild as a
model's can be, so whatever they write under the rules must keep them.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from musicgen.abcnotation.tunetypes import FORMS
from musicgen.compose.constrain import NEVER, Rules, rules_for
from musicgen.compose.finish import MEMO, finish_cost, way_offset
from musicgen.compose.sample import Generator
from musicgen.compose.state import ENDED
from musicgen.compose.tracker import Tracker
from musicgen.config import ModelConfig, SampleConfig
from musicgen.data.vocab import Vocab
from musicgen.judge.form import tune_form
from musicgen.model.engine import random_checkpoint

VOCAB = Vocab.from_text("")
SMALL = ModelConfig(embedding_dim=12, lstm_units=16, lstm_layers=2, dropout=0.0)
REEL_HEAD = "X:1\nT:Reel\nM:4/4\nL:1/8\nR:Reel\nK:D\n"


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


@pytest.mark.parametrize("form", ["model", "AABB", "A16"])
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


@pytest.mark.parametrize("form", ["model", "AABB"])
@settings(**WALKS)
@given(choices=st.lists(st.integers(0, 10**6), min_size=60, max_size=400))
def test_under_a_form_equal_state_keys_mean_equal_tables(form: str, choices: list[int]) -> None:
    for _, t in walk(form, choices, 1500):
        cached = RULES.table(t)
        MEMO.clear()  # work everything out afresh, from this tracker alone
        fresh = Rules(VOCAB.chars).table(t)
        assert np.array_equal(cached.costs, fresh.costs), t.state_key()
