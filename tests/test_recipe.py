"""The training recipe: shuffled chunks, the cosine schedule, kept epochs, fine-tuning from a checkpoint.

Tiny real runs (TINY_MODEL, a few hundred characters), seconds each; the fine-tuning test runs the
shipped reference network on 20 tunes.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import TINY_MODEL, TINY_TUNES

from musicgen.config import TrainConfig
from musicgen.data import corpus, dataset
from musicgen.model import checkpoint, recipe
from musicgen.model.train import TrainError, train

CHUNKS = TrainConfig(
    batch_size=2, seq_len=8, epochs=3, patience=5, val_fraction=0.2, windows="chunks", schedule="cosine", warmup_steps=3
)


@pytest.fixture(scope="module")
def chunked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("chunks")
    data = root / "tiny.abc"
    data.write_text(corpus.join_tunes(TINY_TUNES))
    metrics = train([data], root / "out", TINY_MODEL, CHUNKS, run_dir=root / "run", keep_epochs=(1, 3), average_last=2)
    return {"root": root, "data": data, "out": root / "out", "metrics": metrics}


def test_chunks_cover_the_pass_once_and_depend_on_seed_and_epoch() -> None:
    tunes = dataset.EncodedTunes.of_ids(np.arange(1000) % 7)
    a, again, b = (dataset.Chunks(tunes, None, 4, 16, 0, e) for e in (1, 1, 2))
    assert a.n_windows == again.n_windows and a.window(0)[0].tolist() == again.window(0)[0].tolist()
    assert a.window(0)[0].tolist() != b.window(0)[0].tolist()
    starts = sorted(int(x) for t in range(a.n_windows) for x in a._starts[t * 4 : (t + 1) * 4])
    gaps = np.diff(starts)  # windows never overlap; the few left over after the last full batch are dropped
    assert len(starts) == a.n_windows * 4 and np.all(gaps % 16 == 0) and np.all(gaps > 0)
    assert (1000 - 16) // 16 - len(starts) < 4
    with pytest.raises(dataset.StreamError, match="too few for 4 windows of 16"):
        dataset.Chunks(dataset.EncodedTunes.of_ids(np.arange(40)), None, 4, 16, 0, 1)


@pytest.mark.slow
def test_a_chunked_cosine_run_keeps_its_epochs_in_float16(chunked: dict[str, Any]) -> None:
    history = chunked["metrics"]["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    kept = sorted(p.name for p in (chunked["out"] / "epochs").iterdir())
    assert kept == ["epoch-001", "epoch-003"]
    with zipfile.ZipFile(chunked["out"] / "epochs" / "epoch-001" / "weights.npz") as z, z.open("embedding.npy") as f:
        np.lib.format.read_magic(f)
        assert np.lib.format.read_array_header_1_0(f)[2] == np.float16
    one = checkpoint.load(chunked["out"] / "epochs" / "epoch-001")
    assert all(w.dtype == np.float32 for w in one.weights.values())
    assert json.loads((chunked["out"] / "epochs" / "epoch-003" / "metrics.json").read_text())["epoch"] == 3
    # the best checkpoint's val score is the fresh-state score of its own weights on the val tunes
    best = checkpoint.load(chunked["out"])
    _, val = corpus.split_train_val(TINY_TUNES, CHUNKS.val_fraction)
    assert recipe.fresh_state_score(best, val) == pytest.approx(best.metrics["best_val_score"], abs=1e-4)


@pytest.mark.slow
def test_the_mean_of_the_last_epochs_is_scored_and_kept_only_if_better(chunked: dict[str, Any]) -> None:
    mean = chunked["metrics"]["averaged"]
    assert mean["epochs"] == [2, 3] and sorted(p.name for p in (chunked["root"] / "run").glob("mean-*")) == [
        "mean-0002.npz",
        "mean-0003.npz",
    ]
    best_single = min(h["val_score"] for h in chunked["metrics"]["history"])
    assert mean["used"] == (mean["val_score"] < best_single)
    assert chunked["metrics"]["best_val_score"] == min(best_single, mean["val_score"])


@pytest.mark.slow
def test_saving_the_best_again_keeps_the_kept_epochs(chunked: dict[str, Any]) -> None:
    best = checkpoint.load(chunked["out"])
    checkpoint.save(chunked["out"], best.weights, best.vocab, best.model, best.train, best.metrics)
    assert (chunked["out"] / "epochs" / "epoch-003" / "weights.npz").is_file()


def test_cosine_schedule_warms_up_then_decays_to_zero() -> None:
    cfg = TrainConfig(schedule="cosine", warmup_steps=5, epochs=4, learning_rate=1e-3)
    rates = [recipe.learning_rate(cfg, 1e-3, e, s, 10) for e in range(1, 5) for s in range(1, 11)]
    cosine = [0.5 * (1 + np.cos(np.pi * k / 39)) for k in range(40)]  # 40 batches in all
    assert rates[:5] == pytest.approx([1e-3 * (k + 1) / 5 * cosine[k] for k in range(5)])  # warm-up times cosine
    assert rates[5:] == pytest.approx([1e-3 * c for c in cosine[5:]])
    assert max(rates) <= 1e-3 and rates[-1] == pytest.approx(0.0, abs=1e-12)
    assert all(a >= b for a, b in zip(rates[5:], rates[6:]))


@pytest.mark.slow
def test_fine_tuning_refuses_characters_the_model_never_saw(tmp_path: Path) -> None:
    data = tmp_path / "odd.abc"
    data.write_text("X:1\nT:Odd\nK:C\nCDEF|GABc|\n\nX:2\nT:Ödd ★\nK:C\nCDEF|GABc|\n")
    with pytest.raises(TrainError, match=r"2 character\(s\) the model in .* has never seen \('Ö', '★'\)"):
        train([data], tmp_path / "out", TINY_MODEL, CHUNKS, run_dir=tmp_path / "run", init=checkpoint.shipped_weights())
    assert not (tmp_path / "out").exists()


def _twenty_tunes(vocab: set[str]) -> list[str]:
    """20 tunes of music21's own ABC corpus (not the training corpus) written in the model's characters."""
    from music21 import corpus as m21corpus

    tunes: list[str] = []
    for path in sorted(m21corpus.getComposer("airdsAirs"), key=str):
        if str(path).endswith(".abc"):
            tunes += [t for t in corpus.read_tunes([path]) if set(t) <= vocab and "K:" in t]
    return tunes[:20]


@pytest.mark.slow
def test_fine_tuning_twenty_tunes_for_two_epochs_moves_their_val_loss_down(tmp_path: Path) -> None:
    shipped = checkpoint.load(checkpoint.shipped_weights())
    tunes = _twenty_tunes(set(shipped.vocab.chars))
    assert len(tunes) == 20
    data = tmp_path / "mine.abc"
    data.write_text(corpus.join_tunes(tunes))
    cfg = TrainConfig(batch_size=8, seq_len=64, epochs=2, patience=5, val_fraction=0.25, learning_rate=3e-4)
    metrics = train([data], tmp_path / "out", TINY_MODEL, cfg, run_dir=tmp_path / "run", init=shipped.path)
    _, val = corpus.split_train_val(tunes, cfg.val_fraction)
    before = recipe.fresh_state_score(shipped, val)
    tuned = checkpoint.load(tmp_path / "out")
    assert tuned.model == shipped.model and tuned.vocab.chars == shipped.vocab.chars  # TINY_MODEL ignored
    assert metrics["best_val_score"] == pytest.approx(recipe.fresh_state_score(tuned, val), abs=1e-4)
    assert metrics["best_val_score"] < before - 0.01, (before, metrics["history"])
