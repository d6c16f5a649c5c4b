"""Training: batching, a tiny real training run, resume after SIGKILL, refusals.

Training uses TINY_MODEL (one LSTM of 8 units) on a few hundred to a few thousand characters,
so each run takes seconds; TensorFlow is imported only inside the slow tests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import REPO_ROOT, TINY_MODEL, TINY_TUNES

from musicgen.config import TrainConfig
from musicgen.data import corpus
from musicgen.model import checkpoint
from musicgen.model.engine import Engine, softmax
from musicgen.model.train import TrainError, epoch_text, stream_batches, train

TINY_TRAIN = TrainConfig(batch_size=2, seq_len=8, epochs=2, patience=5, val_fraction=0.2)


def test_stream_windows_continue_each_other() -> None:
    ids = np.arange(40)
    windows = list(stream_batches(ids, n_streams=3, seq_len=4))
    x = np.concatenate([w[0] for w in windows], axis=1)
    y = np.concatenate([w[1] for w in windows], axis=1)
    assert x.shape == (3, 12) and y.shape == (3, 12)  # 40 // 3 = 13 per stream; the last one is only a target
    np.testing.assert_array_equal(x, np.arange(39).reshape(3, 13)[:, :12])
    np.testing.assert_array_equal(y, x + 1)  # the target is always the next character of the same stream
    assert [w[0].shape[1] for w in windows] == [4, 4, 4]


def test_too_little_text_for_the_streams() -> None:
    with pytest.raises(TrainError, match="too few for 8 streams: use more tunes or a smaller --batch-size"):
        list(stream_batches(np.arange(10), n_streams=8, seq_len=4))


def test_epoch_text_is_a_deterministic_shuffle() -> None:
    one, again, other = epoch_text(TINY_TUNES, 0, 1), epoch_text(TINY_TUNES, 0, 1), epoch_text(TINY_TUNES, 0, 2)
    assert one == again and one != other
    assert sorted(corpus.split_tunes(one)) == sorted(TINY_TUNES)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One tiny training run (2 epochs on TINY_TUNES), shared by the tests below."""
    root = tmp_path_factory.mktemp("train")
    data = root / "tiny.abc"
    data.write_text(corpus.join_tunes(TINY_TUNES))
    metrics = train([data], root / "out", TINY_MODEL, TINY_TRAIN, run_dir=root / "run")
    return {"root": root, "data": data, "out": root / "out", "run": root / "run", "metrics": metrics}


@pytest.mark.slow
def test_training_writes_a_loadable_checkpoint_with_its_history(trained: dict[str, Any]) -> None:
    ckpt = checkpoint.load(trained["out"])
    assert ckpt.model == TINY_MODEL and ckpt.train == TINY_TRAIN
    assert ckpt.vocab.chars == sorted(set(corpus.join_tunes(TINY_TUNES)) | set(ckpt.vocab.chars))
    saved = json.loads((trained["out"] / "metrics.json").read_text())
    assert saved == ckpt.metrics == json.loads(json.dumps(trained["metrics"]))
    history = saved["history"]
    assert [h["epoch"] for h in history] == [1, 2] and saved["epochs_run"] == 2
    for h in history:
        assert 0 < h["train_loss"] < 10 and 0 < h["val_loss"] < 10 and 0 <= h["val_acc"] <= 1
    assert saved["best_val_score"] == min(h["val_score"] for h in history)  # the best epoch: fresh-state val
    assert saved["best_val_loss"] == history[saved["best_epoch"] - 1]["val_loss"]
    assert saved["data"]["tunes"] == 6 and saved["data"]["val_tunes"] == 1
    state = json.loads((trained["run"] / "state.json").read_text())
    assert state["epoch"] == 2
    assert sorted(p.name for p in trained["run"].iterdir()) == ["epoch-0002.keras", "state.json"]


@pytest.mark.slow
def test_engine_gives_the_keras_model_probabilities(trained: dict[str, Any]) -> None:
    from musicgen.model.network import build_model, set_named_weights

    ckpt = checkpoint.load(trained["out"])
    model = build_model(ckpt.model, len(ckpt.vocab), batch_size=1, stateful=False)
    set_named_weights(model, ckpt.weights)
    ids = ckpt.vocab.encode("\n\n" + TINY_TUNES[0])
    keras_probs = np.asarray(model(ids[None, :], training=False))[0]
    st = Engine(ckpt).stepper(1)
    engine_probs = [softmax(st.step(np.array([i])))[0] for i in ids]
    np.testing.assert_allclose(np.array(engine_probs), keras_probs, rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_resume_with_other_settings_is_refused(trained: dict[str, Any]) -> None:
    with pytest.raises(TrainError, match="was started with other settings or data; resume with the same ones"):
        train(
            [trained["data"]],
            trained["out"],
            TINY_MODEL,
            TINY_TRAIN.replace(seq_len=16),
            run_dir=trained["run"],
            resume=True,
        )
    with pytest.raises(TrainError, match="other settings or data"):
        train(
            [trained["data"]],
            trained["out"],
            TINY_MODEL.replace(lstm_units=4),
            TINY_TRAIN,
            run_dir=trained["run"],
            resume=True,
        )


@pytest.mark.slow
def test_starting_over_an_earlier_run_is_refused(trained: dict[str, Any]) -> None:
    before = (trained["run"] / "state.json").read_bytes()
    with pytest.raises(TrainError, match="holds an earlier run: add --resume to continue it, or remove the folder"):
        train([trained["data"]], trained["out"], TINY_MODEL, TINY_TRAIN, run_dir=trained["run"])
    assert (trained["run"] / "state.json").read_bytes() == before


@pytest.mark.slow
def test_resume_without_a_run_is_refused(trained: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(TrainError, match="nothing to resume in .*no state.json.*start without --resume"):
        train([trained["data"]], tmp_path / "out", TINY_MODEL, TINY_TRAIN, run_dir=tmp_path / "run", resume=True)


def many_tunes(n: int) -> str:
    """``n`` distinct tunes built from TINY_TUNES (a few thousand characters for n = 60)."""
    tunes = []
    for i in range(n):
        body = TINY_TUNES[i % len(TINY_TUNES)].split("\n", 5)[5]
        tunes.append(f"X:{i + 1}\nT:Variation {i + 1}\nM:4/4\nL:1/8\nK:{'CGDAEF'[i % 6]}\n{body}\n{body[::-1]}")
    return corpus.join_tunes(tunes)


class Output:
    """Collects a subprocess's stdout in a thread, so the test can wait for a phrase."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.text = ""
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        while chunk := os.read(proc.stdout.fileno(), 4096):
            with self._lock:
                self.text += chunk.decode("utf-8", "replace")

    def wait_for(self, phrase: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if phrase in self.text:
                    return
            if proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"{phrase!r} did not appear in time; output so far:\n{self.text[-2000:]}")


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume(tmp_path: Path) -> None:
    import keras

    data = tmp_path / "many.abc"
    data.write_text(many_tunes(60))
    out, run = tmp_path / "out", tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "musicgen",
        "train",
        str(data),
        "--out",
        str(out),
        "--run-dir",
        str(run),
        "--epochs",
        "3",
        "--batch-size",
        "2",
        "--seq-len",
        "8",
        "--embedding-dim",
        "8",
        "--lstm-units",
        "8",
        "--lstm-layers",
        "1",
        "--dropout",
        "0",
        "--patience",
        "5",
    ]
    proc = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        output = Output(proc)
        output.wait_for("epoch 2/3", proc, timeout=240)  # printed once epoch 1 is saved
        assert json.loads((run / "state.json").read_text())["epoch"] == 1
        time.sleep(0.1)  # well inside epoch 2 (hundreds of steps)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    killed_state = json.loads((run / "state.json").read_text())
    assert killed_state["epoch"] == 1, "the kill came after epoch 2 ended: the test did not kill mid-epoch"
    assert len(checkpoint.load(out).metrics["history"]) == 1  # the best-so-far checkpoint is whole

    resumed = subprocess.run(command + ["--resume"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert f"resuming after epoch 1 from {run / 'epoch-0001.keras'}" in resumed.stdout
    assert "epoch 1/3" not in resumed.stdout and "epoch 2/3" in resumed.stdout and "epoch 3/3" in resumed.stdout

    state = json.loads((run / "state.json").read_text())
    assert [h["epoch"] for h in state["history"]] == [1, 2, 3]
    assert state["history"][0] == killed_state["history"][0]  # epoch 1 is not redone
    assert sorted(p.name for p in run.iterdir()) == ["epoch-0003.keras", "state.json"]
    model = keras.models.load_model(run / state["keras_file"])
    assert model.count_params() > 0
    ckpt = checkpoint.load(out)
    assert [h["epoch"] for h in ckpt.metrics["history"]] == [1, 2, 3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many.abc", "out", "run"]  # no temporary leftovers


@pytest.mark.parametrize("which", ["out", "run_dir"])
def test_a_file_for_a_folder_is_refused_before_training(tmp_path: Path, which: str) -> None:
    data = tmp_path / "tiny.abc"
    data.write_text(corpus.join_tunes(TINY_TUNES))
    mine = tmp_path / "notes.txt"
    mine.write_text("mine\n")
    folders = {"out": tmp_path / "out", "run_dir": tmp_path / "run", which: mine}
    option = {"out": "--out", "run_dir": "--run-dir"}[which]
    with pytest.raises(TrainError, match=rf"{option} .*notes\.txt is a file, not a folder"):
        train([data], folders["out"], TINY_MODEL, TINY_TRAIN, run_dir=folders["run_dir"])
    assert mine.read_text() == "mine\n" and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "tiny.abc"]
