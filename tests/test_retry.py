"""Retries (musicgen.compose.retry): a bar written again where the rules would take nearly all of the model's
probability. Run on a random-weight network (no TensorFlow), whose wild choices send streams back often."""

from __future__ import annotations

import dataclasses
import math

import pytest

from musicgen.app.live import generate_watched
from musicgen.compose.constrain import RETRIES, MeterConstraint
from musicgen.compose.prompt import build_prompt
from musicgen.compose.retry import Retries
from musicgen.compose.sample import Generator
from musicgen.compose.streams import Run
from musicgen.config import ModelConfig, SampleConfig
from musicgen.data.corpus import TUNE_END
from musicgen.data.vocab import Vocab
from musicgen.judge.explain import explain_generated
from musicgen.judge.form import tune_form
from musicgen.judge.score import model_fit
from musicgen.judge.walk import Walk
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


def test_retries_are_on_by_default_under_a_form_and_off_without_one(gen: Generator) -> None:
    assert gen._meter_constraint(CFG).retries == RETRIES
    assert gen._meter_constraint(dataclasses.replace(CFG, form="none")).retries == 0


def test_retries_that_never_fire_change_nothing(gen: Generator) -> None:
    never = constraint(gen, RETRIES)
    never.retry_mass = 0.0  # no bar is ever short of probability: the machinery runs, nothing is sent back
    run = Run(gen.engine, CFG, build_prompt(CFG), never)
    tunes = run.run()
    plain, _ = written(gen, 0)
    assert run.retries is not None and run.retries.count == 0 and plain.retries is None
    assert [(t.abc, t.nats_per_char, t.n_chars) for t in tunes] == [
        (t.abc, t.nats_per_char, t.n_chars)
        for t in plain.tunes  # type: ignore[attr-defined]
    ]
    assert tunes != gen.generate(CFG)  # the default retries: other tunes


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


def test_a_retry_ruled_out_without_the_mask_is_one_the_mask_rules_out(gen: Generator) -> None:
    ruled = []
    c = constraint(gen, RETRIES)
    rules_out = Retries.ruled_out

    def watched(self: Retries, p: object, s: int) -> bool:
        ruled.append(rules_out(self, p, s))  # type: ignore[arg-type]
        return ruled[-1]

    Retries.ruled_out = watched  # type: ignore[method-assign]
    try:
        run = Run(gen.engine, CFG, build_prompt(CFG), c)
        tunes = run.run()
    finally:
        Retries.ruled_out = rules_out  # type: ignore[method-assign]
    masked = constraint(gen, RETRIES)
    masked.allows = lambda stream, i: None  # type: ignore[method-assign]  (never sure: every such row weighed)
    whole = Run(gen.engine, CFG, build_prompt(CFG), masked)
    assert any(ruled) and not all(ruled)
    assert tunes == whole.run() and run.retries.count == whole.retries.count > 0  # type: ignore[union-attr]


def test_a_retried_tunes_surprise_is_that_of_the_characters_it_kept(gen: Generator) -> None:
    run, _ = written(gen, RETRIES)
    head = build_prompt(CFG).head  # the primer: every character after it is the model's
    for stream, tune in zip(run.streams, run.tunes):  # type: ignore[attr-defined]
        text = VOCAB.decode(stream.ids[len(TUNE_END) :])
        assert text.startswith(head) and len(text) - len(head) == tune.n_chars
        (whole, _), (prompt, _) = gen.engine.log_likelihood([text, head], context=TUNE_END)
        assert math.isclose(tune.nats_per_char * tune.n_chars, prompt - whole, rel_tol=1e-4), tune.abc


# --- every view of a tune steps the same run: a step-by-step tune, explain, the page's live text ------------

ONE = dataclasses.replace(CFG, n=1, rng=11)


def test_a_walk_left_alone_takes_back_the_bars_generate_writes_again(gen: Generator) -> None:
    walk = Walk(gen, ONE)
    while not walk.done:
        walk.step()
    [tune] = gen.generate(ONE)
    assert walk.taken_back and walk.abc == tune.abc  # bars were written again, and the tune is generate's
    assert walk.text.endswith("".join(t.char for t in walk.turns))  # the turns are the text's last characters
    head = len(build_prompt(ONE).head)
    assert all(head <= at <= len(walk.text) and gone for at, gone in walk.taken_back)


def test_a_branch_is_never_taken_back_past_its_choice(gen: Generator) -> None:
    walk = Walk(gen, ONE)
    steps = 120
    for _ in range(steps):
        walk.step()
    while not (others := [c for c, _ in walk.choices(5) if c != walk.vocab.chars[walk.pick()]]) and steps < 320:
        walk.step()  # on to a step where the rules leave the model a choice
        steps += 1
    choice = others[0]
    branch, at = walk.branch(choice), len(walk.text)
    while not branch.done:
        branch.step()
        assert branch.text[: at + 1] == walk.text + choice  # what was chosen, and all before it, stays
    again = Walk(gen, ONE)
    for _ in range(steps):
        again.step()
    twin = again.branch(choice)
    while not twin.done:
        twin.step()
    assert twin.abc == branch.abc  # a branch is reproducible, its retries too
    while not walk.done:
        walk.step()
    assert walk.abc == gen.generate(ONE)[0].abc  # the line it left carries on as it would have


def test_explain_writes_the_tune_generate_writes_and_scores_it_as_musicgen_score(gen: Generator) -> None:
    tune, ex = explain_generated(gen, ONE)
    assert tune == gen.generate(ONE)[0] and tune.meter_aware
    assert abs(ex.mean_surprise - model_fit(gen.engine, [ex.tune]).nats) < 1e-3
    drawn = [s for s in ex.steps if s.by == "model"]
    assert drawn and all(s.removed is not None and s.char not in s.removed for s in drawn)  # drawn where allowed


def test_the_live_text_is_the_text_generate_writes(gen: Generator) -> None:
    seen: list[str] = []
    tunes = generate_watched(gen, CFG, seen.append, every=1, interval_s=0.0)
    assert tunes == gen.generate(CFG)
    assert any(len(b) < len(a) for a, b in zip(seen, seen[1:]))  # a bar written again: the text steps back
    assert tunes[0].abc.startswith(seen[-1].rstrip())  # (the primer's header: the text is the tune as saved)
