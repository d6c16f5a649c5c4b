"""Distributed training and its input pipeline: the same windows as the reference layout,
per-replica LSTM state, two replicas agreeing with one device, and two worker processes
on 127.0.0.1 ending with identical weights and one loadable checkpoint written by the chief.

The fast tests need no TensorFlow. The slow ones run TensorFlow in subprocesses (logical
CPU devices and TF_CONFIG must be set before TensorFlow starts), each bounded by a timeout.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO_ROOT, TINY_TUNES
from hypothesis import given, settings
from hypothesis import strategies as st

from musicgen.data import corpus, dataset
from musicgen.data.dataset import EncodedTunes, Streams, epoch_order
from musicgen.data.vocab import UnknownCharacterError, Vocab
from musicgen.model import checkpoint
from musicgen.model.distribute import DistributeError, make_strategy, read_tf_config, weights_digest
from musicgen.model.train import TrainError, epoch_text, stream_batches

WORKER_TIMEOUT = 240  # seconds for one worker process; two of them share a 2-core machine


def tune_texts(n: int) -> list[str]:
    """``n`` distinct small tunes (about 100 characters each) built from TINY_TUNES."""
    tunes = []
    for i in range(n):
        body = TINY_TUNES[i % len(TINY_TUNES)].split("\n", 5)[5]
        tunes.append(f"X:{i + 1}\nT:Variation {i + 1}\nM:4/4\nL:1/8\nK:{'CGDAEF'[i % 6]}\n{body}\n{body[::-1]}")
    return tunes


tune_lists = st.lists(st.text(alphabet="ABCabc|:\"'é♯ \n", min_size=1, max_size=30), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(tunes=tune_lists, n_streams=st.integers(1, 5), seq_len=st.integers(1, 9), epoch=st.integers(1, 3))
def test_streams_give_the_reference_windows(tunes: list[str], n_streams: int, seq_len: int, epoch: int) -> None:
    vocab = Vocab.from_text("".join(tunes))
    encoded = EncodedTunes.encode(tunes, vocab)
    assert encoded.n_chars == len(corpus.join_tunes(tunes))
    text_ids = vocab.encode(epoch_text(tunes, 7, epoch))
    if len(text_ids) // n_streams < 2:
        with pytest.raises(TrainError, match="too few"):
            list(stream_batches(text_ids, n_streams, seq_len))
        return
    streams = Streams(encoded, epoch_order(len(tunes), 7, epoch), n_streams, seq_len)
    reference = list(stream_batches(text_ids, n_streams, seq_len))
    assert streams.n_windows == len(reference)
    for t, (x, y) in enumerate(reference):
        got_x, got_y = streams.window(t)
        np.testing.assert_array_equal(got_x, x)
        np.testing.assert_array_equal(got_y, y)
        assert got_x.dtype == np.int32 and streams.width(t) == x.shape[1]
        for first in range(n_streams):  # any block of streams, as a replica reads it
            np.testing.assert_array_equal(streams.window(t, slice(first, first + 2))[0], x[first : first + 2])


def test_encoding_matches_vocab_encode_and_names_unknown_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    tunes = ["X:1\nK:C\nCé♯|", "X:2\nK:D\nd|"]
    vocab = Vocab.from_text("".join(tunes))
    encoded = EncodedTunes.encode(tunes, vocab)
    np.testing.assert_array_equal(encoded.ids, vocab.encode(corpus.join_tunes(tunes)))
    assert encoded.ids.dtype == np.uint8 and len(encoded) == 2
    monkeypatch.setattr(dataset, "ENCODE_CHUNK", 5)  # many chunks of whole tunes: the same ids
    np.testing.assert_array_equal(EncodedTunes.encode(tunes * 3, vocab).ids, vocab.encode(corpus.join_tunes(tunes * 3)))
    with pytest.raises(UnknownCharacterError, match=r"'ü' \(U\+00FC\)") as caught:
        EncodedTunes.encode(["X:3\nK:C\nü|"], vocab)
    with pytest.raises(UnknownCharacterError) as expected:
        vocab.encode("X:3\nK:C\nü|\n\n")
    assert str(caught.value) == str(expected.value)


def test_an_epoch_allocates_per_tune_not_per_character() -> None:
    tunes = tune_texts(2000) * 10  # 20,000 tunes, about 2.2 million characters
    vocab = Vocab.from_text("".join(set().union(*tunes)))
    encoded = EncodedTunes.encode(tunes, vocab)
    assert encoded.ids.nbytes == encoded.n_chars  # one byte a character
    tracemalloc.start()
    try:
        streams = Streams(encoded, epoch_order(len(tunes), 0, 1), n_streams=32, seq_len=64)
        for t in range(0, streams.n_windows, 97):
            streams.window(t)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # a few int64 arrays of one entry per tune: less than the corpus itself, let alone the joined text
    # (one byte a character as a str, four as Vocab.encode's int32 array)
    assert peak < 100 * len(tunes) and peak < encoded.n_chars


@pytest.mark.parametrize(
    "text, message",
    [
        ("{", "not valid JSON"),
        ('{"cluster": {}}', 'TF_CONFIG needs {"cluster"'),
        ('{"cluster": {"worker": "a:1"}, "task": {"type": "worker", "index": 0}}', "list of 'host:port' strings"),
        (
            '{"cluster": {"worker": ["a:1"]}, "task": {"type": "ps", "index": 0}}',
            "task type 'ps' is not in the cluster",
        ),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": -1}}', "task index -1 is out of range"),
    ],
)
def test_bad_tf_config_is_named(text: str, message: str) -> None:
    with pytest.raises(DistributeError, match=re.escape(message)):
        read_tf_config(text)


def test_strategy_names_and_multiworker_without_tf_config() -> None:
    with pytest.raises(DistributeError, match="unknown strategy 'tpu': choose one of default, mirrored, multiworker"):
        make_strategy("tpu")
    with pytest.raises(DistributeError, match="--strategy multiworker needs TF_CONFIG"):
        make_strategy("multiworker", environ={})


def test_cli_refuses_multiworker_without_tf_config(tmp_path: Path) -> None:
    data = tmp_path / "tiny.abc"
    data.write_text(corpus.join_tunes(TINY_TUNES))
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    command = [
        sys.executable,
        "-m",
        "musicgen",
        "train",
        str(data),
        "--out",
        str(tmp_path / "out"),
        "--batch-size",
        "2",
        "--strategy",
        "multiworker",
    ]
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("error: --strategy multiworker needs TF_CONFIG describing the cluster")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.abc"]


def run_python(code: str, env: dict[str, str] | None = None, timeout: float = WORKER_TIMEOUT) -> str:
    """Run ``code`` in a fresh Python (TensorFlow configured before it starts); return its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_distributed_windows_feed_each_replica_its_own_streams() -> None:
    # Two logical CPUs make two replicas; each replica must receive its own rows, window after window.
    out = run_python("""
import numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from musicgen.data.dataset import EncodedTunes, Streams
from musicgen.model.windows import distributed_windows
streams = Streams(EncodedTunes.of_ids(np.arange(1000) % 251), None, n_streams=6, seq_len=7)
ok = []
for strategy in (tf.distribute.get_strategy(), tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])):
    n = strategy.num_replicas_in_sync
    for t, (x, y) in enumerate(distributed_windows(streams, strategy)):
        xs = np.concatenate([v.numpy() for v in strategy.experimental_local_results(x)])
        ys = np.concatenate([v.numpy() for v in strategy.experimental_local_results(y)])
        want_x, want_y = streams.window(t)
        ok.append(np.array_equal(xs, want_x) and np.array_equal(ys, want_y))
    ok.append(t + 1 == streams.n_windows)
print("windows", all(ok), len(ok))
""")
    assert "windows True 50" in out  # two strategies: 24 windows each, and their count


@pytest.mark.slow
def test_two_replicas_train_as_one_device(tmp_path: Path) -> None:
    data = tmp_path / "tunes.abc"
    data.write_text(corpus.join_tunes(tune_texts(12)))
    out = run_python(f"""
import json, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from musicgen.config import ModelConfig, TrainConfig
from musicgen.model.train import train
model = ModelConfig(embedding_dim=8, lstm_units=8, lstm_layers=2, dropout=0.0)
cfg = TrainConfig(batch_size=4, seq_len=16, epochs=2, patience=5, val_fraction=0.2, seed=3)
root = {str(tmp_path)!r}
two = train([{str(data)!r}], root + "/two", model, cfg, run_dir=root + "/run2",
            strategy=tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
one = train([{str(data)!r}], root + "/one", model, cfg, run_dir=root + "/run1")
print("RESULT", json.dumps([two, one]))
""")
    two, one = json.loads(out.split("RESULT ", 1)[1])
    assert two["distribution"] == "MirroredStrategy, 2 replicas" and one["distribution"] == "one device, 1 replica"
    for a, b in zip(two["history"], one["history"]):  # the same streams, state and gradients, up to float sums
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-5)
    w2, w1 = checkpoint.load(tmp_path / "two").weights, checkpoint.load(tmp_path / "one").weights
    for name in w1:
        np.testing.assert_allclose(w2[name], w1[name], atol=1e-4)


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def run_workers(args: list[str], scratch: Path) -> list[str]:
    """Run ``musicgen train ARGS --strategy multiworker`` as a cluster of two workers on 127.0.0.1."""
    ports = free_ports(2)
    procs = []
    try:
        for index in range(2):
            env = dict(
                os.environ,
                TMPDIR=str(scratch),
                PYTHONIOENCODING="utf-8",
                CUDA_VISIBLE_DEVICES="",
                TF_NUM_INTRAOP_THREADS="1",
                TF_NUM_INTEROP_THREADS="1",
                TF_CONFIG=json.dumps(
                    {
                        "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                        "task": {"type": "worker", "index": index},
                    }
                ),
            )
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "musicgen", "train", *args, "--strategy", "multiworker"],
                    cwd=REPO_ROOT,
                    env=env,
                    text=True,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                )
            )
        outputs = [p.communicate(timeout=WORKER_TIMEOUT)[0] for p in procs]
    finally:
        for p in procs:  # a worker left alone waits for its peer forever: never leave one running
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, text in zip(procs, outputs):
        assert p.returncode == 0, text[-3000:]
    return outputs


@pytest.mark.slow
def test_two_workers_end_identical_and_only_the_chief_writes(tmp_path: Path) -> None:
    from musicgen.config import ModelConfig, TrainConfig
    from musicgen.model.train import train

    data = tmp_path / "tiny.abc"
    data.write_text(corpus.join_tunes(TINY_TUNES))
    scratch = tmp_path / "scratch"  # the workers' temporary folders go here
    scratch.mkdir()
    out, run = tmp_path / "out", tmp_path / "run"
    args = [
        str(data),
        "--out",
        str(out),
        "--run-dir",
        str(run),
        "--batch-size",
        "4",
        "--seq-len",
        "16",
        "--embedding-dim",
        "8",
        "--lstm-units",
        "8",
        "--lstm-layers",
        "1",
        "--dropout",
        "0",
        "--val-fraction",
        "0.2",
        "--patience",
        "5",
    ]

    chief, other = run_workers(args + ["--epochs", "1"], scratch)
    assert "MultiWorkerMirroredStrategy, 2 replicas, this is worker 0" in chief
    assert "this is worker 1" in other and "the chief wrote the weights" in other
    digests = [re.search(r"sha256 ([0-9a-f]{16})\)", text).group(1) for text in (chief, other)]
    assert digests[0] == digests[1]  # both workers hold the same weights
    ckpt = checkpoint.load(out)
    assert weights_digest(ckpt.weights)[:16] == digests[0] and ckpt.metrics["weights_sha256"][:16] == digests[0]
    assert ckpt.metrics["distribution"] == "MultiWorkerMirroredStrategy, 2 replicas"
    assert sorted(p.name for p in run.iterdir()) == ["epoch-0001.keras", "state.json"]
    assert list(scratch.iterdir()) == []  # the non-chief's folders are gone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "run", "scratch", "tiny.abc"]

    # One device on the same global batch of streams learns the same model.
    model = ModelConfig(embedding_dim=8, lstm_units=8, lstm_layers=1, dropout=0.0)
    alone = train(
        [data],
        tmp_path / "alone",
        model,
        TrainConfig(batch_size=4, seq_len=16, epochs=1, patience=5, val_fraction=0.2),
        run_dir=tmp_path / "alone-run",
    )
    assert ckpt.metrics["best_val_loss"] == pytest.approx(alone["best_val_loss"], rel=1e-5)

    chief, other = run_workers(args + ["--epochs", "2", "--resume"], scratch)
    assert f"resuming after epoch 1 from {run / 'epoch-0001.keras'}" in chief and "epoch 1/2" not in other
    assert re.search(r"sha256 (\w+)\)", chief).group(1) == re.search(r"sha256 (\w+)\)", other).group(1)
    resumed = checkpoint.load(out)
    assert [h["epoch"] for h in resumed.metrics["history"]] == [1, 2]
    assert resumed.metrics["history"][0] == ckpt.metrics["history"][0]
    assert sorted(p.name for p in run.iterdir()) == ["epoch-0002.keras", "state.json"]
    assert list(scratch.iterdir()) == []
