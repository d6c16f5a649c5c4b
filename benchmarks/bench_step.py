"""Throughput of one training step of the reference network: batch shapes, with and without XLA.

    .venv/bin/python benchmarks/bench_step.py [--steps 10] [--shapes 32x64 32x128 64x128 32x256]

For each batch shape (streams x characters) and each of ``jit_compile=False`` / ``True``, the
compiled training step of :func:`musicgen.model.distribute.step_functions` (the one
``musicgen train`` runs) is called on random windows: 3 calls of warm-up and tracing, then
``--steps`` timed calls. Prints characters/s, the median step and the XLA/plain ratio of each
shape, all measured in this one run (the machine may be shared: compare within a run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from musicgen.config import ModelConfig, TrainConfig  # noqa: E402
from musicgen.model import distribute  # noqa: E402

VOCAB = 96  # the shipped model's vocabulary size


def step_times(batch: int, seq_len: int, jit: bool, steps: int) -> list[float]:
    """Seconds of each timed training step of the reference network at one batch shape."""
    strategy = distribute.make_strategy("default")
    model = distribute.training_model(ModelConfig(), VOCAB, TrainConfig(batch_size=batch, seq_len=seq_len), strategy)
    model.jit_compile = jit
    train_step, _ = distribute.step_functions(model, strategy)
    rng = np.random.default_rng(0)
    x = rng.integers(0, VOCAB, (batch, seq_len + 1)).astype(np.int32)
    window = (x[:, :-1], x[:, 1:])
    for _ in range(3):
        train_step(window)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        float(train_step(window)[0])  # the value: waits for the step to finish
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--shapes", nargs="+", default=["32x64", "32x128", "64x128", "32x256"])
    args = parser.parse_args()
    print(f"training step of the reference network, {args.steps} timed steps each, {os.cpu_count()} CPU cores")
    print("| batch x window | plain: chars/s | median step | XLA: chars/s | median step | XLA / plain |")
    print("|---|---|---|---|---|---|")
    for shape in args.shapes:
        batch, seq_len = (int(v) for v in shape.split("x"))
        speeds, medians = [], []
        for jit in (False, True):
            times = step_times(batch, seq_len, jit, args.steps)
            medians.append(statistics.median(times))
            speeds.append(batch * seq_len / medians[-1])
        print(
            f"| {batch} x {seq_len} | {speeds[0]:,.0f} | {medians[0] * 1000:.0f} ms | {speeds[1]:,.0f} | "
            f"{medians[1] * 1000:.0f} ms | {speeds[1] / speeds[0]:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
