"""Training at scale: the input pipeline on a synthetic 50 MB ABC corpus, and training speed.

    .venv/bin/python benchmarks/bench_train.py [--mb 50] [--steps 20] [--full-epoch-model small|none]

Writes a synthetic corpus of ``--mb`` MB of ABC tunes (random but well-formed headers
and note lines, the same every run) into a temporary folder, then prints, side by side:

1. reading it (``corpus.read_tunes``) and encoding it once (``dataset.EncodedTunes``):
   seconds, characters/s, resident memory;
2. one epoch of training windows (32 streams x 64 characters), two ways:
   *before*: the epoch's text joined anew, ``Vocab.encode``, ``train.stream_batches``
   (what training did every epoch before the pipeline below), each window made a tensor;
   *now*: ``dataset.Streams`` (index arithmetic) through the ``tf.data`` pipeline
   (``dataset.distributed_windows``); for each: characters/s and the peak resident
   memory above the epoch's start, and the ratios;
3. training characters/s of the default model (3 x LSTM(256), windows of 32 x 64) over
   ``--steps`` steps on this CPU, and on every GPU TensorFlow sees (or says there is none);
4. one whole epoch of ``musicgen.model.train.train`` on the corpus with a small model (1 x
   LSTM(32), 512 streams x 256 characters), memory sampled all along: flat memory means
   the peak during the epoch stays near the memory at its start.

Memory is the process's resident set, sampled every 5 ms from /proc/self/statm (Linux).
The machine is shared: compare the figures of one run with each other, not across runs.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from musicgen.config import ModelConfig, TrainConfig  # noqa: E402
from musicgen.data import corpus, dataset  # noqa: E402
from musicgen.data.vocab import Vocab  # noqa: E402
from musicgen.model import distribute, train  # noqa: E402
from musicgen.model.windows import distributed_windows  # noqa: E402

FILE_BYTES = 10_000_000  # corpus files of about 10 MB (read_tunes refuses single files over 50 MB)
TOKENS = np.array(
    [
        "C",
        "D",
        "E",
        "F",
        "G",
        "A",
        "B",
        "c",
        "d",
        "e",
        "f",
        "g",
        "a",
        "b",
        "C2",
        "D2",
        "E2",
        "G2",
        "A2",
        "c2",
        "d2",
        "e2",
        "g2",
        "B,",
        "A,",
        "G,",
        "^F",
        "_B",
        "=c",
        "^c",
        "z",
        "z2",
        "(3",
        "[CEG]",
        "[DFA]",
        '"G"',
        '"D7"',
        '"Am"',
        '"C"',
        "~",
        ">",
        "<",
        " ",
        " ",
        " ",
        "|",
        "|",
    ]
)
METERS, KEYS = ["4/4", "6/8", "3/4", "2/4", "9/8"], ["C", "G", "D", "A", "Em", "Am", "F", "Bb", "Dmix", "Ador"]


class Rss:
    """The resident memory of this process (MB), its peak since :meth:`reset`, and a timeline."""

    def __init__(self) -> None:
        self._page = os.sysconf("SC_PAGE_SIZE")
        self.peak = self.now()
        self.samples: list[tuple[float, float]] = []  # (time.perf_counter(), MB)
        threading.Thread(target=self._sample, daemon=True).start()

    def now(self) -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self._page / 1e6

    def _sample(self) -> None:
        while True:  # a daemon thread: it ends with the process
            mb = self.now()
            self.peak = max(self.peak, mb)
            self.samples.append((time.perf_counter(), mb))
            time.sleep(0.005)

    def between(self, start: float, end: float) -> list[float]:
        return [mb for t, mb in self.samples if start <= t <= end]

    def reset(self) -> float:
        self.peak = self.now()
        return self.peak


def synthetic_tune(rng: np.random.Generator, number: int) -> str:
    """One random tune: an ABC header and 4 to 12 lines of 24 random note tokens."""
    lines = ["".join(TOKENS[rng.integers(len(TOKENS), size=24)]).strip() or "C" for _ in range(rng.integers(4, 13))]
    header = f"X:{number}\nT:Synthetic tune {number}\nM:{METERS[number % 5]}\nL:1/8\nK:{KEYS[number % 10]}\n"
    return header + "\n".join(lines)


def write_corpus(folder: Path, n_bytes: int, seed: int = 0) -> tuple[list[Path], int]:
    """Write about ``n_bytes`` of synthetic tunes in files of about FILE_BYTES; return (files, tunes)."""
    rng = np.random.default_rng(seed)
    files: list[Path] = []
    written = number = 0
    while written < n_bytes:
        chunk = []
        size = 0
        while size < min(FILE_BYTES, n_bytes - written):
            number += 1
            tune = synthetic_tune(rng, number) + corpus.TUNE_END
            chunk.append(tune)
            size += len(tune)
        files.append(folder / f"synthetic-{len(files):03d}.abc")
        files[-1].write_text("".join(chunk), encoding="ascii")
        written += size
    return files, number


@contextlib.contextmanager
def timed(label: str, rss: Rss, chars: int | None = None) -> Iterator[dict[str, float]]:
    """Time a block, track its peak memory above its start, print one line, and yield the figures."""
    figures: dict[str, float] = {}
    start_mb = rss.reset()
    start = time.perf_counter()
    yield figures
    figures["seconds"] = time.perf_counter() - start
    figures["peak_mb"] = rss.peak - start_mb
    n = figures.get("chars", chars or 0)
    speed = f", {n / figures['seconds'] / 1e6:6.2f} M chars/s" if n else ""
    print(
        f"  {label:<44} {figures['seconds']:7.2f} s{speed}, peak memory +{figures['peak_mb']:6.0f} MB "
        f"(now {rss.now():5.0f} MB)",
        flush=True,
    )


def epoch_before(tunes: list[str], vocab: Vocab, cfg: TrainConfig, figures: dict[str, float]) -> None:
    """One epoch of windows as training made them before: the text, its ids and the windows, every epoch."""
    import tensorflow as tf

    start = time.perf_counter()
    ids = vocab.encode(train.epoch_text(tunes, cfg.seed, 1))
    batches = list(train.stream_batches(ids, cfg.batch_size, cfg.seq_len))
    figures["first_window_s"] = time.perf_counter() - start
    figures["chars"] = 0
    for x, y in batches:
        tf.convert_to_tensor(x), tf.convert_to_tensor(y)  # what train_on_batch did with each window
        figures["chars"] += x.size


def epoch_now(encoded: dataset.EncodedTunes, cfg: TrainConfig, figures: dict[str, float]) -> None:
    """One epoch of windows through the tf.data pipeline, as training reads them now."""
    import tensorflow as tf

    start = time.perf_counter()
    streams = dataset.Streams(encoded, dataset.epoch_order(len(encoded), cfg.seed, 1), cfg.batch_size, cfg.seq_len)
    windows = iter(distributed_windows(streams, tf.distribute.get_strategy()))
    x, _ = next(windows)
    figures["first_window_s"] = time.perf_counter() - start
    figures["chars"] = int(tf.size(x))
    for x, _ in windows:
        figures["chars"] += int(tf.size(x))


def training_speed(encoded: dataset.EncodedTunes, vocab_size: int, device: str, steps: int) -> float:
    """Characters/s of training the default model on ``device`` (after 3 steps of warm-up and tracing)."""
    import tensorflow as tf

    cfg = TrainConfig()
    strategy = tf.distribute.OneDeviceStrategy(device)
    model = distribute.training_model(ModelConfig(), vocab_size, cfg, strategy)
    train_step, _ = distribute.step_functions(model, strategy)
    streams = dataset.Streams(encoded, None, cfg.batch_size, cfg.seq_len)
    windows = iter(distributed_windows(streams, strategy))
    for _ in range(3):
        float(train_step(next(windows))[0])
    start = time.perf_counter()
    for _ in range(steps):
        float(train_step(next(windows))[0])  # float(): wait for the step to finish
    return steps * cfg.batch_size * cfg.seq_len / (time.perf_counter() - start)


class Lines(io.TextIOBase):
    """A stdout that keeps the time at which each line starting with one of ``markers`` was printed."""

    def __init__(self, markers: tuple[str, ...]) -> None:
        self.markers, self.seen = markers, {}

    def write(self, s: str) -> int:
        for line in s.splitlines():
            marker = next((m for m in self.markers if line.strip().startswith(m)), None)
            if marker:
                self.seen[marker] = time.perf_counter()
        return len(s)


def full_epoch(files: list[Path], root: Path, rss: Rss) -> None:
    """One epoch of train() on the whole corpus with a small model; memory through the training pass."""
    model = ModelConfig(embedding_dim=8, lstm_units=16, lstm_layers=1, dropout=0.0)
    cfg = TrainConfig(batch_size=1024, seq_len=128, epochs=1)
    lines = Lines(("epoch 1/1", "train:", "val:"))
    start_mb, start = rss.reset(), time.perf_counter()
    with contextlib.redirect_stdout(lines):
        metrics = train.train(files, root / "out", model, cfg, run_dir=root / "run")
    seconds = time.perf_counter() - start
    begin, end = lines.seen["epoch 1/1"], lines.seen["train:"]
    tenths = [rss.between(begin + (end - begin) * i / 10, begin + (end - begin) * (i + 1) / 10) for i in range(10)]
    print(
        f"  {start_mb:.0f} MB before train(); {rss.between(start, begin)[-1]:.0f} MB when the epoch starts "
        f"(corpus read and encoded, model built)"
    )
    print(
        "  MB during the training pass, peak of each tenth: " + " ".join(f"{max(t):.0f}" if t else "-" for t in tenths)
    )
    chars = metrics["data"]["train_chars"]
    print(
        f"  {chars / 1e6:.1f} M characters trained in {end - begin:.0f} s ({chars / (end - begin):,.0f} chars/s), "
        f"val {lines.seen['val:'] - end:.0f} s; the whole call {seconds:.0f} s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=50.0, help="corpus size in MB (default 50)")
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per device (default 20)")
    parser.add_argument(
        "--full-epoch-model",
        choices=["small", "none"],
        default="small",
        help="train one whole epoch with a small model (default), or skip it",
    )
    args = parser.parse_args()
    rss = Rss()
    cfg = TrainConfig()
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        root = Path(tmp)
        print(f"1. synthetic corpus of {args.mb:g} MB, read and encoded once", flush=True)
        with timed("generate and write", rss):
            files, n = write_corpus(root, int(args.mb * 1e6))
        with timed("corpus.read_tunes", rss, sum(f.stat().st_size for f in files)):
            tunes = corpus.read_tunes(files)
        vocab = Vocab.from_text("".join(set().union(*tunes)))
        with timed("dataset.EncodedTunes.encode (once per run)", rss) as fig:
            encoded = dataset.EncodedTunes.encode(tunes, vocab)
            fig["chars"] = encoded.n_chars
        print(
            f"  {n:,} tunes, {encoded.n_chars / 1e6:.1f} M characters, vocabulary {len(vocab)}, "
            f"ids {encoded.ids.nbytes / 1e6:.1f} MB ({encoded.ids.dtype})"
        )

        import tensorflow as tf

        print(f"2. one epoch of {cfg.batch_size} x {cfg.seq_len} windows, before and now", flush=True)
        with timed("before: join + Vocab.encode + stream_batches", rss) as before:
            epoch_before(tunes, vocab, cfg, before)
        with timed("now: Streams + tf.data (distributed_windows)", rss) as now:
            epoch_now(encoded, cfg, now)
        print(
            f"  before the first window: {before['first_window_s']:.2f} s before, {now['first_window_s']:.2f} s now; "
            f"memory per epoch: +{before['peak_mb']:.0f} MB before, +{now['peak_mb']:.0f} MB now "
            f"({before['peak_mb'] / max(now['peak_mb'], 1):.0f}x less)"
        )

        print(
            f"3. training chars/s, default model ({ModelConfig().lstm_layers} x LSTM({ModelConfig().lstm_units})), "
            f"{cfg.batch_size} x {cfg.seq_len} windows, {args.steps} steps",
            flush=True,
        )
        gpus = [f"/gpu:{i}" for i in range(len(tf.config.list_physical_devices("GPU")))]
        speeds = {device: training_speed(encoded, len(vocab), device, args.steps) for device in ["/cpu:0", *gpus]}
        for device, speed in speeds.items():
            print(
                f"  {device}: {speed:,.0f} chars/s ({os.cpu_count()} CPU cores, shared)"
                if device == "/cpu:0"
                else f"  {device}: {speed:,.0f} chars/s, {speed / speeds['/cpu:0']:.1f}x the CPU"
            )
        if not gpus:
            print("  GPU: none visible to TensorFlow here (tensorflow-cpu, no GPU): not measured")
        feed = now["chars"] / now["seconds"]
        print(
            f"  the tf.data pipeline alone feeds {feed:,.0f} chars/s: {feed / max(speeds.values()):,.0f}x the "
            "fastest training above"
        )

        if args.full_epoch_model == "small":
            print(
                "4. one epoch of musicgen.model.train.train on the corpus: 1 x LSTM(16), 1024 x 128 windows", flush=True
            )
            full_epoch(files, root, rss)


if __name__ == "__main__":
    sys.exit(main())
