"""The checkpoint folder: round trip, atomic replace, and a clear CheckpointError for every bad case."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_MODEL, make_checkpoint

from musicgen.config import ModelConfig, TrainConfig
from musicgen.data.vocab import Vocab
from musicgen.model import checkpoint
from musicgen.model.checkpoint import Checkpoint, CheckpointError


def siblings(folder: Path) -> list[str]:
    """Everything beside a checkpoint folder other than itself (temporary folders must not stay)."""
    return sorted(p.name for p in folder.parent.iterdir() if p != folder)


def test_save_load_round_trip(tmp_path: Path) -> None:
    vocab = Vocab.from_text("X:1\nK:C\n\xb0")
    shapes = checkpoint.weight_shapes(TINY_MODEL, len(vocab))
    rng = np.random.default_rng(1)
    weights = {k: rng.normal(size=s).astype(np.float32) for k, s in shapes.items()}
    train = TrainConfig(batch_size=2, seq_len=8, epochs=3)
    record = {"epoch": 1, "train_loss": 1.5, "train_acc": 0.5, "val_loss": 1.25, "val_acc": 0.6, "learning_rate": 0.002}
    metrics = {"best_val_loss": 1.25, "history": [record]}
    path = checkpoint.save(tmp_path / "ck", weights, vocab, TINY_MODEL, train, metrics)

    loaded = checkpoint.load(path)
    assert loaded.path == path and loaded.vocab == vocab
    assert loaded.model == TINY_MODEL and loaded.train == train and loaded.metrics == metrics
    assert set(loaded.weights) == set(shapes)
    for name in shapes:
        np.testing.assert_array_equal(loaded.weights[name], weights[name])
    assert loaded.n_params == sum(int(np.prod(s)) for s in shapes.values())
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "metrics.json", "vocab.json", "weights.npz"]
    assert json.loads((path / "config.json").read_text())["format"] == checkpoint.FORMAT
    assert siblings(path) == []


def test_weight_shapes_follow_the_config() -> None:
    shapes = checkpoint.weight_shapes(ModelConfig(embedding_dim=5, lstm_units=3, lstm_layers=2), 7)
    assert shapes == {
        "embedding": (7, 5),
        "lstm_0/kernel": (5, 12),
        "lstm_0/recurrent_kernel": (3, 12),
        "lstm_0/bias": (12,),
        "lstm_1/kernel": (3, 12),
        "lstm_1/recurrent_kernel": (3, 12),
        "lstm_1/bias": (12,),
        "dense/kernel": (3, 7),
        "dense/bias": (7,),
    }


def test_save_replaces_atomically_and_keeps_extra_files(tmp_path: Path) -> None:
    first = make_checkpoint(tmp_path / "ck", seed=1)
    assert first.path is not None
    (first.path / "MODEL_CARD.md").write_text("# card\n")
    second = make_checkpoint(tmp_path / "ck", seed=2)
    assert not np.array_equal(first.weights["embedding"], second.weights["embedding"])
    np.testing.assert_array_equal(checkpoint.load(tmp_path / "ck").weights["embedding"], second.weights["embedding"])
    assert (tmp_path / "ck" / "MODEL_CARD.md").read_text() == "# card\n"  # a model card survives retraining
    assert siblings(tmp_path / "ck") == []


def test_a_failed_save_leaves_the_old_checkpoint_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = make_checkpoint(tmp_path / "ck", seed=1)

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(OSError, match="No space left"):
        checkpoint.save(tmp_path / "ck", dict(old.weights), old.vocab, old.model)
    monkeypatch.undo()
    np.testing.assert_array_equal(checkpoint.load(tmp_path / "ck").weights["embedding"], old.weights["embedding"])
    assert siblings(tmp_path / "ck") == []


def test_a_save_killed_between_its_renames_is_recovered_on_load(tmp_path: Path) -> None:
    saved = make_checkpoint(tmp_path / "m")
    (tmp_path / "m").rename(tmp_path / ".m.old")  # the state a kill after the first rename leaves
    loaded = checkpoint.load(tmp_path / "m")
    assert loaded.vocab == saved.vocab and not (tmp_path / ".m.old").exists()


def test_save_refuses_weights_that_do_not_fit_the_config(tmp_path: Path, tiny_checkpoint: Checkpoint) -> None:
    with pytest.raises(CheckpointError, match="different models"):
        checkpoint.save(
            tmp_path / "bad", tiny_checkpoint.weights, tiny_checkpoint.vocab, TINY_MODEL.replace(lstm_units=9)
        )
    assert not (tmp_path / "bad").exists()


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"no weights folder at .*nowhere: give --weights a folder written by"):
        checkpoint.load(tmp_path / "nowhere")


@pytest.mark.parametrize("missing", ["weights.npz", "vocab.json", "config.json"])
def test_missing_file(tiny_checkpoint: Checkpoint, missing: str) -> None:
    assert tiny_checkpoint.path is not None
    (tiny_checkpoint.path / missing).unlink()
    with pytest.raises(CheckpointError, match=rf"not a complete checkpoint \(missing {missing}\); train again"):
        checkpoint.load(tiny_checkpoint.path)


def test_missing_metrics_is_fine_and_damaged_metrics_are_ignored(tiny_checkpoint: Checkpoint) -> None:
    assert tiny_checkpoint.path is not None
    (tiny_checkpoint.path / "metrics.json").write_text("{not json")
    assert checkpoint.load(tiny_checkpoint.path).metrics == {}
    (tiny_checkpoint.path / "metrics.json").unlink()
    assert checkpoint.load(tiny_checkpoint.path).metrics == {}


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.0])
def test_truncated_weights_are_corrupt(tiny_checkpoint: Checkpoint, keep: float) -> None:
    assert tiny_checkpoint.path is not None
    npz = tiny_checkpoint.path / "weights.npz"
    data = npz.read_bytes()
    npz.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CheckpointError, match=r"weights\.npz is corrupt \(.*\); train again or restore it"):
        checkpoint.load(tiny_checkpoint.path)


def test_weights_with_a_flipped_byte_are_corrupt(tiny_checkpoint: Checkpoint) -> None:
    assert tiny_checkpoint.path is not None
    npz = tiny_checkpoint.path / "weights.npz"
    data = bytearray(npz.read_bytes())
    data[200] ^= 0xFF  # inside the first array's data: the zip CRC no longer matches
    npz.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"weights\.npz is corrupt"):
        checkpoint.load(tiny_checkpoint.path)


def test_vocab_from_another_model(tiny_checkpoint: Checkpoint) -> None:
    assert tiny_checkpoint.path is not None
    Vocab.from_text("\xb0\xe9").save(tiny_checkpoint.path / "vocab.json")  # two characters more
    with pytest.raises(
        CheckpointError,
        match=r"weight embedding has shape .* need .*: "
        r"the files come from different models; train again",
    ):
        checkpoint.load(tiny_checkpoint.path)


def test_config_from_another_model(tiny_checkpoint: Checkpoint) -> None:
    assert tiny_checkpoint.path is not None
    path = tiny_checkpoint.path / "config.json"
    config = json.loads(path.read_text())
    config["model"]["lstm_layers"] = 2
    path.write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"weights do not match config\.json \(missing \['lstm_1/bias'"):
        checkpoint.load(tiny_checkpoint.path)


def test_weights_from_another_model(tmp_path: Path, tiny_checkpoint: Checkpoint) -> None:
    assert tiny_checkpoint.path is not None
    other = make_checkpoint(tmp_path / "other", model=TINY_MODEL.replace(embedding_dim=6))
    assert other.path is not None
    shutil.copy(other.path / "weights.npz", tiny_checkpoint.path / "weights.npz")
    with pytest.raises(CheckpointError, match="different models"):
        checkpoint.load(tiny_checkpoint.path)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{broken", r"config\.json: not valid JSON \(.*\); train again or restore the folder"),
        ('{"format": 1, "model": {"units": 8}}', r"config\.json: ModelConfig has no field\(s\) units; train again"),
        ('{"format": 99, "model": {}}', r"checkpoint format 99, expected 1"),
    ],
)
def test_unreadable_config(tiny_checkpoint: Checkpoint, text: str, match: str) -> None:
    assert tiny_checkpoint.path is not None
    (tiny_checkpoint.path / "config.json").write_text(text)
    with pytest.raises(CheckpointError, match=match):
        checkpoint.load(tiny_checkpoint.path)


def test_write_atomic_replaces_whole_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "state.json"
    checkpoint.write_atomic(target, b"one")
    checkpoint.write_atomic(target, b"two")
    assert target.read_bytes() == b"two"

    def crash(*args: object) -> None:
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(checkpoint.os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        checkpoint.write_atomic(target, b"three")
    assert target.read_bytes() == b"two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_weights_lookup_prefers_the_variable_then_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = make_checkpoint(tmp_path / "mine").path
    cwd = tmp_path / "project"
    make_checkpoint(cwd / "weights" / "nottingham")
    shipped = tmp_path / "site" / "musicgen" / "weights" / "nottingham"
    monkeypatch.setattr(checkpoint, "shipped_weights", lambda: shipped)
    assert checkpoint.default_weights({checkpoint.ENV_VAR: str(mine)}, cwd) == mine
    assert checkpoint.default_weights({}, cwd) == cwd / "weights" / "nottingham"
    make_checkpoint(shipped)
    assert checkpoint.default_weights({}, tmp_path / "elsewhere") == shipped
    monkeypatch.setenv(checkpoint.ENV_VAR, str(mine))
    assert checkpoint.load().path == mine  # load() without a folder follows the same order


def test_weights_lookup_names_every_place_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = tmp_path / "site" / "musicgen" / "weights" / "nottingham"
    monkeypatch.setattr(checkpoint, "shipped_weights", lambda: shipped)
    with pytest.raises(CheckpointError) as e:
        checkpoint.default_weights({}, tmp_path / "here")
    assert "MUSICGEN_WEIGHTS is unset" in str(e.value)
    assert f"{tmp_path / 'here' / 'weights' / 'nottingham'}, {shipped}" in str(e.value)
    assert "give --weights or set MUSICGEN_WEIGHTS" in str(e.value)


def test_a_mistyped_variable_does_not_fall_back_to_another_model(tmp_path: Path) -> None:
    make_checkpoint(tmp_path / "weights" / "nottingham")
    with pytest.raises(CheckpointError, match=r"no weights folder at .*typo \(named by MUSICGEN_WEIGHTS\)"):
        checkpoint.default_weights({checkpoint.ENV_VAR: str(tmp_path / "typo")}, tmp_path)


def test_the_shipped_weights_are_found_from_the_source_tree() -> None:
    assert checkpoint.SOURCE_TREE is not None  # the tests run from a clone
    assert checkpoint.shipped_weights() == checkpoint.SOURCE_TREE / "weights" / "nottingham"


def test_save_never_moves_a_file_of_the_same_name_aside(tmp_path: Path, tiny_checkpoint: Checkpoint) -> None:
    mine = tmp_path / "notes.txt"
    mine.write_text("mine\n")
    with pytest.raises(CheckpointError, match=r"notes\.txt is a file, not a checkpoint folder"):
        checkpoint.save(mine, tiny_checkpoint.weights, tiny_checkpoint.vocab, tiny_checkpoint.model)
    assert mine.read_text() == "mine\n" and not (tmp_path / ".notes.txt.old").exists()
