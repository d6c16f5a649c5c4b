"""Sampling: sample_next's distributions, and the Generator's prompts, stopping, determinism and hooks.

All on random-weight networks (no TensorFlow, milliseconds). Where a test needs the
model to write particular characters, a scripted constraint allows only those:
that also exercises the constraint hook the meter-aware decoder plugs into.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from musicgen.compose.prompt import MAX_TITLE, PrimerError
from musicgen.compose.sample import ConstraintError, Generator, Tune, sample_next
from musicgen.config import MAX_LENGTH, ModelConfig, SampleConfig
from musicgen.data.vocab import UnknownCharacterError, Vocab
from musicgen.model.engine import Engine, random_checkpoint, softmax

VOCAB = Vocab.from_text("")
SMALL = ModelConfig(embedding_dim=12, lstm_units=16, lstm_layers=2, dropout=0.0)


@pytest.fixture(scope="module")
def gen() -> Generator:
    return Generator(random_checkpoint(SMALL, VOCAB, seed=3, scale=0.4))


TUNE_START = "X:1\nT:"  # the prompt of the default seed character "X": the model writes the title on


class Script:
    """A constraint that makes every stream write ``script`` after its prompt, and records what it saw."""

    def __init__(self, vocab: Vocab, n: int, script: str, prompt_len: int) -> None:
        self.vocab, self.script, self.prompt_len = vocab, script, prompt_len
        self.seen = ["" for _ in range(n)]
        self.asked = [0] * n

    def allowed(self, stream: int) -> np.ndarray:
        self.asked[stream] += 1
        k = len(self.seen[stream]) - self.prompt_len
        mask = np.zeros(len(self.vocab), dtype=bool)
        mask[self.vocab.index[self.script[k % len(self.script)]]] = True
        return mask

    def advance(self, stream: int, char: str) -> None:
        self.seen[stream] += char


# --- sample_next -----------------------------------------------------------------------------


def frequencies(logits: np.ndarray, draws: int, **kw: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    ids = sample_next(np.repeat(logits[None], draws, axis=0), rng=rng, **kw)  # type: ignore[arg-type]
    return np.bincount(ids, minlength=len(logits)) / draws


LOGITS = np.log(np.array([0.05, 0.4, 0.25, 0.2, 0.1]))


def test_sample_next_follows_the_distribution() -> None:
    np.testing.assert_allclose(
        frequencies(LOGITS, 40_000, temperature=1.0, top_k=0, top_p=1.0), np.exp(LOGITS), atol=0.01
    )


@pytest.mark.parametrize("t", [0.5, 2.0])
def test_temperature_sharpens_or_flattens(t: float) -> None:
    got = frequencies(LOGITS, 40_000, temperature=t, top_k=0, top_p=1.0)
    np.testing.assert_allclose(got, softmax(LOGITS / t), atol=0.01)


def test_top_k_keeps_the_k_likeliest_renormalised() -> None:
    got = frequencies(LOGITS, 40_000, temperature=1.0, top_k=2, top_p=1.0)
    np.testing.assert_allclose(got, [0, 0.4 / 0.65, 0.25 / 0.65, 0, 0], atol=0.01)


def test_top_k_one_is_argmax_in_every_row() -> None:
    logits = np.random.default_rng(1).normal(size=(500, 30))
    ids = sample_next(logits, 1.0, 1, 1.0, np.random.default_rng(2))
    np.testing.assert_array_equal(ids, logits.argmax(axis=1))


def test_top_p_keeps_the_smallest_nucleus() -> None:
    # 0.4 + 0.25 = 0.65 >= 0.6: the nucleus is the two likeliest
    got = frequencies(LOGITS, 40_000, temperature=1.0, top_k=0, top_p=0.6)
    np.testing.assert_allclose(got, [0, 0.4 / 0.65, 0.25 / 0.65, 0, 0], atol=0.01)


def test_masked_characters_never_come() -> None:
    logits = np.tile(LOGITS, (2000, 1))
    logits[:, 1] = -np.inf
    ids = sample_next(logits, 2.0, 0, 0.95, np.random.default_rng(3))
    assert 1 not in ids


def test_a_draw_at_the_very_top_takes_the_last_possible_character() -> None:
    class Top:  # a draw a real generator gives with chance ~1e-16: u rounds up to the total
        def random(self, n: int | None = None) -> np.ndarray | float:
            return 1.0 if n is None else np.ones(n)

    never = -np.inf
    logits = np.array([[0.0, 0.0, never, never], [never, 0.0, never, never], [0.0, 0.0, 0.0, 0.0]])
    ids = sample_next(logits, 1.0, 0, 1.0, Top())  # type: ignore[arg-type]
    np.testing.assert_array_equal(ids, [1, 1, 3])
    for row, expected in zip(logits, [1, 1, 3]):  # one row at a time: the one-row way of drawing
        assert sample_next(row[None], 1.0, 0, 1.0, Top()).tolist() == [expected]  # type: ignore[arg-type]


def test_sample_next_is_deterministic_given_the_rng() -> None:
    logits = np.random.default_rng(4).normal(size=(64, 40))
    a = sample_next(logits, 0.8, 5, 0.9, np.random.default_rng(9))
    b = sample_next(logits, 0.8, 5, 0.9, np.random.default_rng(9))
    np.testing.assert_array_equal(a, b)


# --- SampleConfig -------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [0, -1, 10**9, MAX_LENGTH + 1])
def test_length_out_of_range_is_rejected(length: int) -> None:
    with pytest.raises(ValueError, match=f"length must be a whole number from 1 to {MAX_LENGTH:,} characters"):
        SampleConfig(length=length)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("temperature", 0.0, "temperature must be above 0"),
        ("top_p", 0.0, "top_p must be above 0"),
        ("top_k", -1, "top_k must be"),
        ("n", 0, "n must be"),
        ("seed_char", "XY", "seed_char must be one character"),
        ("key", "H", "key 'H' is not an ABC key"),
        ("meter", "6/7", "meter '6/7' is not an ABC meter"),
        ("unit_length", "1/3", "unit note length '1/3'"),
        ("tune_type", "jig\nK:C", "tune type"),
    ],
)
def test_bad_settings_are_named(field: str, value: object, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        SampleConfig(**{field: value})


def test_config_round_trips_through_a_dict() -> None:
    cfg = SampleConfig(key="Ador", meter="9/8", n=3, rng=11, primer="X:1\n")
    assert SampleConfig.from_dict(cfg.to_dict()) == cfg


# --- Generator -----------------------------------------------------------------------------------


def test_same_config_gives_byte_identical_tunes(gen: Generator) -> None:
    cfg = SampleConfig(n=4, length=150, rng=5, temperature=1.2, top_p=0.95)
    assert gen.generate(cfg) == gen.generate(cfg)
    assert gen.generate(cfg) != gen.generate(cfg.replace(rng=6))


def test_concurrent_calls_get_what_they_get_alone(gen: Generator) -> None:
    cfgs = [SampleConfig(n=2, length=300, rng=seed) for seed in range(6)]
    alone = [gen.generate(c) for c in cfgs]
    together: list[list[Tune] | None] = [None] * len(cfgs)

    def work(i: int) -> None:
        together[i] = gen.generate(cfgs[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(cfgs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert together == alone


def test_candidates_differ_and_each_tune_is_clean(gen: Generator) -> None:
    tunes = gen.generate(SampleConfig(n=5, length=120, rng=1))
    assert len({t.abc for t in tunes}) == 5
    for t in tunes:
        assert t.abc.startswith("X:") and "\nT:" in t.abc and t.abc.endswith("\n") and not t.abc.endswith("\n\n")
        assert 1 <= t.n_chars <= 120 and t.nats_per_char > 0


def test_stops_at_a_blank_line(gen: Generator) -> None:
    script = Script(VOCAB, 2, "Stop\nK:G\nabc|\n\nnever written", prompt_len=len(TUNE_START))
    tunes = gen.generate(SampleConfig(n=2, length=500), constraint=script)
    for s, t in enumerate(tunes):
        assert t.abc == "X:1\nT:Stop\nK:G\nabc|\n"
        assert t.ended and t.n_chars == len("Stop\nK:G\nabc|\n\n")
        assert script.seen[s] == "X:1\nT:Stop\nK:G\nabc|\n\n"  # advance saw every character, prompt included
        assert script.asked[s] == t.n_chars  # allowed was asked before each sampled character


def test_stops_at_a_new_tune(gen: Generator) -> None:
    script = Script(VOCAB, 1, "One\nK:D\nd2|\nX:2\nT:Two", prompt_len=len(TUNE_START))
    [tune] = gen.generate(SampleConfig(length=500), constraint=script)
    assert tune.abc == "X:1\nT:One\nK:D\nd2|\n" and tune.ended


def test_stops_at_the_cap(gen: Generator) -> None:
    script = Script(VOCAB, 3, "Long\nK:G\n" + "abc|" * 100, prompt_len=len(TUNE_START))
    tunes = gen.generate(SampleConfig(n=3, length=37), constraint=script)
    for t in tunes:
        assert not t.ended and t.n_chars == 37 and len(t.abc) == len(TUNE_START) + 37 + 1  # 37 written, final newline


def test_nats_per_char_is_the_models_own_surprise(gen: Generator) -> None:
    script = Script(VOCAB, 1, "Nats\nK:G\nGABc|\n\n", prompt_len=len(TUNE_START))
    [tune] = gen.generate(SampleConfig(temperature=0.3, top_k=3, length=500), constraint=script)
    [(logp, n)] = gen.engine.log_likelihood(["Nats\nK:G\nGABc|\n\n"], context="\n\n" + TUNE_START)
    assert n == tune.n_chars and tune.nats_per_char == pytest.approx(-logp / n, rel=1e-5)


def test_header_choices_become_header_lines_under_a_model_title(gen: Generator) -> None:
    tunes = gen.generate(SampleConfig(tune_type="slip jig", key="Ador", unit_length="1/8", n=3, length=200, rng=2))
    for t in tunes:
        lines = t.abc.split("\n")
        assert lines[0] == "X:1" and lines[1].startswith("T:")
        assert lines[2:6] == ["M:9/8", "L:1/8", "R:Slip jig", "K:Ador"]


def test_a_title_longer_than_the_limit_is_ended(gen: Generator) -> None:
    script = Script(VOCAB, 1, "a", prompt_len=len("X:1\nT:"))
    [t] = gen.generate(SampleConfig(key="G", length=MAX_TITLE + 5), constraint=script)
    assert t.abc.split("\n")[:3] == ["X:1", "T:" + "a" * MAX_TITLE, "K:G"]


def test_primer_is_continued_verbatim(gen: Generator) -> None:
    primer = "X:4\nT:Mine\nM:3/4\nK:G\n|:GAB d2B|"
    for t in gen.generate(SampleConfig(primer=primer, n=3, length=100, rng=4)):
        assert t.abc.startswith(primer)


def test_primer_with_settings_gets_the_missing_fields_before_its_key(gen: Generator) -> None:
    [t] = gen.generate(SampleConfig(primer="X:2\nT:Mine\nK:G\n", meter="6/8", length=50))
    assert t.abc.startswith("X:2\nT:Mine\nM:6/8\nK:G\n")
    [t] = gen.generate(SampleConfig(primer="|:GABc dedB|", key="G", length=50))
    assert t.abc.startswith("X:1\nT:") and "\nK:G\n|:GABc dedB|" in t.abc


@pytest.mark.parametrize(
    ("cfg", "words"),
    [
        (SampleConfig(primer="X:1\nT:A\nK:D\n", key="G"), "the primer says 'K:D' but the settings say K:G"),
        (SampleConfig(primer="|:GABc|"), "no K: line"),
        (SampleConfig(primer="X:1\nK:G\nabc\n\nX:2\nK:D\n"), "holds 2 tunes"),
        (SampleConfig(key="G", seed_char="a"), "seed_char 'a' cannot start"),
    ],
)
def test_primer_problems_are_explained(gen: Generator, cfg: SampleConfig, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        gen.generate(cfg)


def test_primer_conflict_is_a_primer_error(gen: Generator) -> None:
    with pytest.raises(PrimerError):
        gen.generate(SampleConfig(primer="X:1\nM:3/4\nK:D\n", meter="6/8"))


def test_unknown_primer_characters_are_named(gen: Generator) -> None:
    with pytest.raises(UnknownCharacterError, match="the primer: 2 character.*'é'.*'ü'"):
        gen.generate(SampleConfig(primer="X:1\nT:Café über\nK:G\n"))


def test_random_seed_characters_differ_per_tune_and_are_reproducible(gen: Generator) -> None:
    cfg = SampleConfig(seed_char=None, n=12, length=30, rng=8)
    tunes = gen.generate(cfg)
    assert tunes == gen.generate(cfg)
    assert all(t.abc.startswith("X:") for t in tunes)


def test_constrained_builds_the_meter_aware_constraint(gen: Generator) -> None:
    from musicgen.abcnotation.rhythm import analyse  # the constraint itself is tested in test_constrain.py

    tunes = gen.generate(SampleConfig(n=2, length=200, constrained=True))
    assert all(t.ended and analyse(t.abc).all_inner_correct for t in tunes)


def test_tunes_say_whether_meter_aware_writing_held(gen: Generator) -> None:
    clean, slurred = "X:1\nT:A\nM:6/8\nK:D\nDFA d2B|", "X:1\nT:A\nM:6/8\nK:D\n(DFA) d2B|"
    assert all(t.meter_aware for t in gen.generate(SampleConfig(n=2, length=60, primer=clean, constrained=True)))
    assert not any(t.meter_aware for t in gen.generate(SampleConfig(n=2, length=60, primer=slurred, constrained=True)))
    assert not any(t.meter_aware for t in gen.generate(SampleConfig(n=2, length=60, primer=clean)))


def test_a_constraint_that_allows_nothing_is_an_error(gen: Generator) -> None:
    class Nothing:
        def allowed(self, stream: int) -> np.ndarray:
            return np.zeros(len(VOCAB), dtype=bool)

        def advance(self, stream: int, char: str) -> None:
            pass

    with pytest.raises(ConstraintError, match="no character is allowed"):
        gen.generate(SampleConfig(), constraint=Nothing())


@pytest.mark.parametrize("sizes", [(3,), (len(VOCAB), 3)])  # too short for every stream; for one of two
def test_a_mask_of_the_wrong_length_is_an_error(gen: Generator, sizes: tuple[int, ...]) -> None:
    class Wrong:
        def allowed(self, stream: int) -> np.ndarray:
            return np.ones(sizes[stream], dtype=bool)

        def advance(self, stream: int, char: str) -> None:
            pass

    with pytest.raises(ConstraintError, match=rf"allowed\(\) gave shape.*\(3,\).*expected \({len(VOCAB)},\)"):
        gen.generate(SampleConfig(n=len(sizes)), constraint=Wrong())


def test_load_reads_a_checkpoint_folder(tmp_path, gen: Generator) -> None:  # type: ignore[no-untyped-def]
    from musicgen.model import checkpoint

    ckpt = gen.checkpoint
    checkpoint.save(tmp_path / "w", ckpt.weights, ckpt.vocab, ckpt.model)
    loaded = Generator.load(tmp_path / "w")
    cfg = SampleConfig(n=2, length=80, rng=3)
    assert loaded.vocab == gen.vocab and loaded.generate(cfg) == gen.generate(cfg)


def test_engine_is_shared_not_copied_per_call(gen: Generator) -> None:
    before = {k: v.copy() for k, v in vars(gen.engine).items() if isinstance(v, np.ndarray)}
    gen.generate(SampleConfig(n=3, length=50))
    assert isinstance(gen.engine, Engine)
    for k, v in before.items():
        np.testing.assert_array_equal(getattr(gen.engine, k), v)


def test_generation_runs_blas_on_one_thread(gen: Generator) -> None:
    from threadpoolctl import threadpool_info

    gen.generate(SampleConfig(length=5))
    blas = [info for info in threadpool_info() if info["user_api"] == "blas"]
    assert blas and all(info["num_threads"] == 1 for info in blas)
