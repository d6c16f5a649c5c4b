"""Retries (musicgen.compose.retry): a bar written again where the rules would take nearly all of the model's
probability. Run on a random-weight network (no TensorFlow), whose wild choices send streams back often."""

from __future__ import annotations

import math

import pytest

from musicgen.compose.constrain import RETRIES, MeterConstraint
from musicgen.compose.prompt import build_prompt
from musicgen.compose.sample import Generator
from musicgen.compose.streams import Run
from musicgen.config import ModelConfig, SampleConfig
from musicgen.data.corpus import TUNE_END
from musicgen.data.vocab import Vocab
from musicgen.judge.form import tune_form
from musicgen.model.engine import random_checkpoint

VOCAB = Vocab.from_text("")
SMALL = ModelConfig(embedding_dim=12, lstm_units=16, lstm_layers=2, dropout=0.0)
CFG = SampleConfig(n=4, length=700, rng=5, constrained=True, primer="X:1\nT:Retried\nM:4/4\nL:1/8\nK:D\n")


@pytest.fixture(scope="module")
def gen() -> Generator:
    return Generator(random_checkpoint(SMALL, VOCAB, seed=3, scale=0.4))


def constraint(gen: Generator, retries: int) -> MeterConstraint:
    c = gen._meter_constraint(CFG)
    c.retries = retries
    return c


def written(gen: Generator, retries: int) -> tuple[Run, MeterConstraint]:
    c = constraint(gen, retries)
    run = Run(gen.engine, CFG, build_prompt(CFG), c)
    run.tunes = run.run()  # type: ignore[attr-defined]
    return run, c


def test_without_retries_nothing_changes(gen: Generator) -> None:
    run, _ = written(gen, 0)
    plain = [(t.abc, t.nats_per_char, t.n_chars) for t in gen.generate(CFG)]
    assert run.retries is None and [(t.abc, t.nats_per_char, t.n_chars) for t in run.tunes] == plain  # type: ignore[attr-defined]


def test_retried_tunes_keep_the_form_and_a_seed_writes_the_same_tunes(gen: Generator) -> None:
    run, c = written(gen, RETRIES)
    again, _ = written(gen, RETRIES)
    assert run.retries is not None and run.retries.count > 0 and run.retries.taken > 0
    assert run.tunes == again.tunes  # type: ignore[attr-defined]
    for s, tune in enumerate(run.tunes):  # type: ignore[attr-defined]
        assert tune.n_chars <= CFG.length and tune.ended
        assert c.held(s) and c.formed(s), tune.abc  # every character the stream kept kept the rules
        form = tune_form(tune.abc)
        assert all(p.regular for p in form.parts) and form.ends_on_tonic, tune.abc
    assert run.retries.taken <= CFG.n * (CFG.length // 2)  # within each tune's budget


def test_a_retried_tunes_surprise_is_that_of_the_characters_it_kept(gen: Generator) -> None:
    run, _ = written(gen, RETRIES)
    head = build_prompt(CFG).head  # the primer: every character after it is the model's
    for stream, tune in zip(run.streams, run.tunes):  # type: ignore[attr-defined]
        text = VOCAB.decode(stream.ids[len(TUNE_END) :])
        assert text.startswith(head) and len(text) - len(head) == tune.n_chars
        (whole, _), (prompt, _) = gen.engine.log_likelihood([text, head], context=TUNE_END)
        assert math.isclose(tune.nats_per_char * tune.n_chars, prompt - whole, rel_tol=1e-4), tune.abc
