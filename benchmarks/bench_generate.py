"""Generation speed: the NumPy engine against the reference Keras method and the bare matmul floor.

    .venv/bin/python benchmarks/bench_generate.py [--weights DIR] [--chars 1024] [--repeats 3]

Measured side by side in one run, on the shipped weights (or a random checkpoint
of the same shape when they are absent, which the output says), 1024 characters each:

(a) the reference method: a stateful Keras copy of the model with batch shape
    (1, 1), ``predict_on_batch`` per character, then sampling from its output;
(b) the engine, one stream: ``Stepper.step`` and ``sample_next`` per character;
(c) the engine, 16 streams at once (total characters per second);
(d) the floor: the same matrix products alone (NumPy, preallocated, no sampling).

Also the engine's step alone, whole ``Generator.generate`` calls, and the cold
start of a fresh process (import, load the checkpoint, generate a first tune)
without TensorFlow. Each figure is the best of ``--repeats`` runs (the machine is
shared: the best run is the one least disturbed). Prints ratios b/a, c/a, b/d.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from musicgen import checkpoint  # noqa: E402
from musicgen.checkpoint import Checkpoint, CheckpointError  # noqa: E402
from musicgen.config import ModelConfig, SampleConfig  # noqa: E402
from musicgen.engine import Engine, blas_threads, random_checkpoint  # noqa: E402
from musicgen.sample import Generator, sample_next  # noqa: E402
from musicgen.vocab import Vocab  # noqa: E402

TEMPERATURE = 1.0


def best_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def load_weights(path: str | None) -> tuple[Checkpoint, str]:
    try:
        ckpt = checkpoint.load(path)
        return ckpt, f"weights {ckpt.path}"
    except CheckpointError as e:
        vocab = Vocab.from_text("")
        return random_checkpoint(ModelConfig(), vocab), f"RANDOM weights of the shipped shape ({e})"


def reference(ckpt: Checkpoint, chars: int) -> Callable[[], object]:
    """The reference method: Keras stateful (1, 1) model, predict_on_batch per character."""
    from musicgen.model import build_model, reset_state, set_named_weights

    model = build_model(ckpt.model, len(ckpt.vocab), batch_size=1, seq_len=1, stateful=True)
    set_named_weights(model, ckpt.weights)
    start = ckpt.vocab.index["X"]

    def run() -> None:
        reset_state(model)
        rng = np.random.default_rng(0)
        x = np.array([[start]], dtype=np.int32)
        for _ in range(chars):
            probs = np.asarray(model.predict_on_batch(x))[0, -1].astype(np.float64)
            x[0, 0] = rng.choice(len(probs), p=probs / probs.sum())

    run()  # build the graph before timing
    return run


def engine_loop(engine: Engine, k: int, chars: int, sample: bool = True) -> Callable[[], object]:
    start = engine.vocab.index["X"]

    def run() -> None:
        rng = np.random.default_rng(0)
        st = engine.stepper(k)
        ids = np.full(k, start)
        for _ in range(chars):
            logits = st.step(ids)
            if sample:
                ids = sample_next(logits, TEMPERATURE, 0, 1.0, rng)

    return run


def matmul_floor(engine: Engine, k: int, chars: int) -> Callable[[], object]:
    """Only the step's matrix products (the engine's own shapes), into preallocated outputs."""
    u, n = engine.units, engine.layers
    h = np.zeros((n * u, k), dtype=np.float32)
    z = np.empty((4 * u, k), dtype=np.float32)
    logits = np.empty((len(engine.vocab), k), dtype=np.float32)

    def run() -> None:
        for _ in range(chars):
            np.matmul(engine.recurrent_0, h[:u], out=z)
            for i in range(1, n):
                np.matmul(engine.fused[i - 1], h[(i - 1) * u : (i + 1) * u], out=z)
            np.matmul(engine.dense_kernel, h[(n - 1) * u :], out=logits)

    return run


COLD = """
import sys, time
t0 = time.perf_counter()
from musicgen.sample import Generator
from musicgen.config import SampleConfig
t1 = time.perf_counter()
tune = Generator.load({path!r}).generate(SampleConfig())[0]
t2 = time.perf_counter()
assert not [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')], 'TensorFlow was imported'
print(t1 - t0, t2 - t1, tune.n_chars)
"""


def cold_start(path: Path | None, repeats: int) -> tuple[float, float, int]:
    runs = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", COLD.format(path=str(path) if path else None)], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
        runs.append((float(out[0]), float(out[1]), int(out[2])))
    return min(runs, key=lambda r: r[0] + r[1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--weights", help="checkpoint folder (default: the shipped weights)")
    p.add_argument("--chars", type=int, default=1024)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    ckpt, where = load_weights(args.weights)
    engine, n, r = Engine(ckpt), args.chars, args.repeats
    print(f"{where}; {ckpt.model}; vocab {len(ckpt.vocab)}; {n} characters, best of {r}")

    t_a = best_time(reference(ckpt, n), r)
    with blas_threads(1):
        t_b = best_time(engine_loop(engine, 1, n), r)
        t_c = best_time(engine_loop(engine, 16, n), r)
        t_d = best_time(matmul_floor(engine, 1, n), r)
        t_d16 = best_time(matmul_floor(engine, 16, n), r)
        t_step = best_time(engine_loop(engine, 1, n, sample=False), r)
        gen = Generator(ckpt)
        runs = {k: [] for k in (1, 16)}
        for k in runs:
            cfg = SampleConfig(n=k, length=n, rng=1)
            runs[k] = [(time.perf_counter(), gen.generate(cfg), time.perf_counter()) for _ in range(r)]
    t_d_threads = best_time(matmul_floor(engine, 1, n), r)

    rate = lambda k, t: k * n / t  # noqa: E731
    print(f"(a) reference Keras predict_on_batch, 1 stream   {rate(1, t_a):>10,.0f} chars/s")
    print(f"(b) engine, 1 stream (step + sampling)          {rate(1, t_b):>10,.0f} chars/s")
    print(f"(c) engine, 16 streams (step + sampling), total {rate(16, t_c):>10,.0f} chars/s")
    print(f"(d) matmul floor, 1 stream                      {rate(1, t_d):>10,.0f} chars/s")
    print(f"    matmul floor, 16 streams, total             {rate(16, t_d16):>10,.0f} chars/s")
    print(f"    engine step alone, 1 stream                 {rate(1, t_step):>10,.0f} chars/s")
    print(f"    matmul floor, 1 stream, default BLAS threads{rate(1, t_d_threads):>10,.0f} chars/s")
    for k, rs in runs.items():
        best = min(rs, key=lambda x: x[2] - x[0])
        written = sum(t.n_chars for t in best[1])
        print(f"    Generator.generate n={k:<2} ({written} characters)   {written / (best[2] - best[0]):>10,.0f} chars/s")
    print(f"b/a = {t_a / t_b:.1f}x (target >= 10)   c/a = {16 * t_a / t_c:.1f}x (target >= 40)   "
          f"b/d = {t_b / t_d:.2f} (target <= 1.3)   step/d = {t_step / t_d:.2f}   c/d16 = {t_c / t_d16:.2f}")
    imports, first, chars = cold_start(ckpt.path, r)
    print(f"cold start: import {imports:.3f} s, load + first tune ({chars} characters) {first:.3f} s, "
          f"total {imports + first:.3f} s (target < 0.5 s), no TensorFlow imported")


if __name__ == "__main__":
    main()
