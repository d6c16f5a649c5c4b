"""Form-aware writing: what was asked holds for the whole tune (key, meter, unit length, tune type).

The tracker's rules are checked on tunes written here, each named for what it exercises; the
generation tests run random-weight networks (no TensorFlow), whose choices are as wild as a
model's can be, so whatever they write under the rules must keep them.
"""

from __future__ import annotations

import re

import pytest

from musicgen.compose.sample import Generator
from musicgen.compose.tracker import Tracker
from musicgen.config import ModelConfig, SampleConfig
from musicgen.data.vocab import Vocab
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
