"""Generation speed: the NumPy engine against the reference Keras method and the bare matmul floor.

    .venv/bin/python benchmarks/bench_generate.py [--weights DIR] [--chars 1024] [--repeats 5]

Measured side by side in one run, on the shipped weights (or a random checkpoint
of the same shape when they are absent, which the output says), 1024 characters each:

(a) the reference method: a stateful Keras copy of the model with batch shape
    (1, 1), ``predict_on_batch`` per character, then sampling from its output;
(b) the engine, one stream: ``Stepper.step`` and ``sample_next`` per character;
(c) the engine, 16 streams at once (total characters per second);
(d) the floor: the same matrix products alone (NumPy, preallocated, no sampling).

Also the engine's step alone, whole ``Generator.generate`` calls, and the cold
start of a fresh process (import, load the checkpoint, generate a first tune)
without TensorFlow. Each figure is the best of ``--repeats`` interleaved rounds
(the engine's of four runs a round): the machine is shared, and the best run is
the least disturbed. Wall-clock and CPU time both. Prints ratios b/a, c/a, b/d,
and step/d: the engine's step alone against the floor, the measure of the target
"the engine's step within 1.3x of the bare matmul floor" (b/d adds sampling).

First, before TensorFlow is imported (the app never imports it), meter-aware
decoding (``SampleConfig(constrained=True)``: form-aware with retries, bars written again where the
rules would take nearly all of the model's probability, :mod:`musicgen.compose.retry`; the default)
beside the same settings without it, beside meter-aware writing of bars only (``form="none"``) and
beside form-aware writing without retries (``--decoding``: this part alone): 200 tunes in a fresh process each
(the ``musicgen evaluate`` case: the constraint's state tables start empty; the median of ``--repeats`` interleaved
rounds), and n=1 and n=16 calls
once the tables hold what earlier calls met (the app's case). Target: constrained >= 50% of the
unconstrained characters per second.
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from musicgen.compose.sample import Generator, sample_next  # noqa: E402
from musicgen.config import ModelConfig, SampleConfig  # noqa: E402
from musicgen.data.vocab import Vocab  # noqa: E402
from musicgen.model import checkpoint  # noqa: E402
from musicgen.model.checkpoint import Checkpoint, CheckpointError  # noqa: E402
from musicgen.model.engine import Engine, one_blas_thread, random_checkpoint, row_chunk  # noqa: E402

TEMPERATURE = 1.0
WARM_CALLS = 10  # calls of each kind once the tables are warm (3 gave ratios 31% to 47% in runs minutes apart)


def best_times(
    fns: dict[str, Callable[[], object]], rounds: int, fast: int = 1, settle: float = 0.0
) -> dict[str, tuple[float, float]]:
    """Best wall-clock and best CPU seconds of each function, run in interleaved rounds.

    Rounds give every method the same chances of a quiet moment on a shared
    machine; CPU time (all threads of this process) is less sensitive to other
    processes than wall-clock time. Every function but the first runs ``fast``
    times a round: the engine's runs are short, and more of them find a quiet moment.
    ``settle`` seconds pass after the first function: TensorFlow's worker threads
    keep the other core busy for a while after a Keras call (measured: the matmul
    floor right after it is ~25% slower), which must not count against the next method.
    """
    best = {name: (math.inf, math.inf) for name in fns}
    for _ in range(rounds):
        for j, (name, fn) in enumerate(fns.items()):
            if j == 1:
                time.sleep(settle)
            for _ in range(1 if j == 0 else fast):
                w, c = time.perf_counter(), time.process_time()
                fn()
                w, c = time.perf_counter() - w, time.process_time() - c
                best[name] = (min(best[name][0], w), min(best[name][1], c))
    return best


def load_weights(path: str | None) -> tuple[Checkpoint, str]:
    try:
        ckpt = checkpoint.load(path)
        return ckpt, f"weights {ckpt.path}"
    except CheckpointError as e:
        vocab = Vocab.from_text("")
        return random_checkpoint(ModelConfig(), vocab), f"RANDOM weights of the shipped shape ({e})"


def reference(ckpt: Checkpoint, chars: int) -> Callable[[], object]:
    """The reference method: Keras stateful (1, 1) model, predict_on_batch per character."""
    from musicgen.model.network import build_model, reset_state, set_named_weights

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
    """Only the step's matrix products (the engine's shapes and row chunks), into preallocated outputs."""
    u, n = engine.units, engine.layers
    h = np.zeros((n * u + 1, k), dtype=np.float32)
    z = np.empty((4 * u, k), dtype=np.float32)
    logits = np.empty((len(engine.vocab), k), dtype=np.float32)
    step = row_chunk(k, 4 * u)
    products = [
        (w[r : r + step], h[engine.inputs(i)], z[r : r + step])
        for i, (w, _) in enumerate(engine.products)
        for r in range(0, 4 * u, step)
    ] + [(engine.dense, h[engine.inputs(n)], logits)]

    def run() -> None:
        for _ in range(chars):
            for w, x, out in products:
                np.matmul(w, x, out=out)

    return run


COLD = """
import sys, time
t0, c0 = time.perf_counter(), time.process_time()
from musicgen.compose.sample import Generator
from musicgen.config import SampleConfig
t1, c1 = time.perf_counter(), time.process_time()
tune = Generator.load({path!r}).generate(SampleConfig())[0]
t2, c2 = time.perf_counter(), time.process_time()
assert not [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')], 'TensorFlow was imported'
print(t1 - t0, t2 - t1, c1 - c0, c2 - c1, tune.n_chars)
"""


def cold_start(path: Path | None, repeats: int) -> list[float]:
    """Best (import, load + first tune) in wall and CPU seconds, in fresh processes; and the tune's length."""
    runs = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", COLD.format(path=str(path) if path else None)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        runs.append([float(x) for x in out])
    return [min(r[i] for r in runs) for i in range(4)] + [runs[0][4]]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--weights", help="checkpoint folder (default: the shipped weights)")
    p.add_argument("--chars", type=int, default=1024)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--decoding", action="store_true", help="only meter-aware decoding beside free writing")
    args = p.parse_args()
    ckpt, where = load_weights(args.weights)
    engine, gen, n, r = Engine(ckpt), Generator(ckpt), args.chars, args.repeats
    print(f"{where}; {ckpt.model}; vocab {len(ckpt.vocab)}; {n} characters, best of {r}")
    constrained_vs_free(gen, ckpt.path, r)  # first: like the app, this process has not imported TensorFlow yet
    if args.decoding:
        return

    default_threads = best_times({"d": matmul_floor(engine, 1, n)}, 2 * r)["d"]  # before the limit below
    one_blas_thread()
    times = best_times(
        {
            "a": reference(ckpt, n),
            "d": matmul_floor(engine, 1, n),  # b beside d, c beside d16: the ratios compare neighbours
            "b": engine_loop(engine, 1, n),
            "step": engine_loop(engine, 1, n, sample=False),
            "c": engine_loop(engine, 16, n),
            "d16": matmul_floor(engine, 16, n),
            "gen1": lambda: gen.generate(SampleConfig(n=1, length=n, rng=1)),
            "gen16": lambda: gen.generate(SampleConfig(n=16, length=n, rng=1)),
        },
        r,
        fast=4,
        settle=1.0,
    )
    times["d, default BLAS threads"] = default_threads
    written = {k: sum(t.n_chars for t in gen.generate(SampleConfig(n=k, length=n, rng=1))) for k in (1, 16)}

    def line(label: str, key: str, chars: int) -> None:
        wall, cpu = times[key]
        print(f"{label:<52}{chars / wall:>10,.0f}{chars / cpu:>10,.0f}")

    print(f"{'characters per second':<52}{'wall':>10}{'CPU':>10}")
    line("(a) reference: Keras predict_on_batch, 1 stream", "a", n)
    line("(b) engine, 1 stream (step + sampling)", "b", n)
    line("(c) engine, 16 streams (step + sampling), total", "c", 16 * n)
    line("(d) matmul floor, 1 stream", "d", n)
    line("    matmul floor, 16 streams, total", "d16", 16 * n)
    line("    engine step alone, 1 stream", "step", n)
    line("    matmul floor, 1 stream, default BLAS threads", "d, default BLAS threads", n)
    line(f"    Generator.generate, n=1 ({written[1]} characters)", "gen1", written[1])
    line(f"    Generator.generate, n=16 ({written[16]} characters)", "gen16", written[16])
    for i, clock in enumerate(("wall", "CPU")):
        a, b, c, d, step = (times[k][i] for k in ("a", "b", "c", "d", "step"))
        print(
            f"{clock:>4}: b/a = {a / b:.1f}x (target >= 10)   c/a = {16 * a / c:.1f}x (target >= 40)   "
            f"b/d = {b / d:.2f}   step/d = {step / d:.2f} (the step's target: <= 1.3)   "
            f"c/d16 = {c / times['d16'][i]:.2f}"
        )
    imports, first, imports_cpu, first_cpu, chars = cold_start(ckpt.path, r)
    print(
        f"cold start, fresh process, no TensorFlow imported: import {imports:.3f} s wall ({imports_cpu:.3f} CPU), "
        f"load + first tune ({chars:.0f} characters) {first:.3f} s wall ({first_cpu:.3f} CPU) (target < 0.5 s)"
    )


# --- meter-aware decoding: characters per second with and without the constraint ------------------

FRESH = """
import time
from musicgen.compose.sample import Generator
from musicgen.config import MAX_CANDIDATES, SampleConfig
gen = Generator.load({path!r})
w, c, chars = time.perf_counter(), time.process_time(), 0
for i, start in enumerate(range(0, {n}, MAX_CANDIDATES)):
    cfg = SampleConfig(n=min(MAX_CANDIDATES, {n} - start), rng=i, constrained={constrained}, form={form!r})
    constraint = gen._meter_constraint(cfg) if {constrained} and {retries} is not None else None  # generate's own
    if constraint is not None:
        constraint.retries = {retries}  # (0: form-aware writing without retries)
    chars += sum(t.n_chars for t in gen.generate(cfg, constraint))
print(time.perf_counter() - w, time.process_time() - c, chars)
"""


def fresh_run(
    path: Path | None, n: int, constrained: bool, form: str | None = None, retries: int | None = None
) -> tuple[float, float, int]:
    """(wall, CPU, characters) of ``n`` tunes at the default settings (and ``form``; ``retries``: times a bar may
    be written again, musicgen.compose.retry; None: the default, RETRIES under a form) in a fresh process."""
    code = FRESH.format(path=str(path) if path else None, n=n, constrained=constrained, form=form, retries=retries)
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0]), float(out[1]), int(out[2])


def constrained_vs_free(gen: Generator, path: Path | None, rounds: int) -> None:
    from musicgen.compose.constrain import rules_for

    print("meter-aware decoding beside the same settings without it (default settings, rng per call)")
    print(f"{'characters per second':<70}{'wall':>10}{'CPU':>10}{'chars':>8}")
    ratios = []
    label, n = "200 tunes, fresh process (tables start empty)", 200
    variants = {
        "free": (False, None, None),
        "constrained": (True, None, None),
        "constrained, bars only": (True, "none", None),
        "constrained, no retries": (True, None, 0),
    }
    # interleaved rounds, each variant once a round: a ratio compares runs made side by side (the machine's speed
    # drifts by 20% between minutes); each figure is the median over the rounds
    rounds_run = [{name: fresh_run(path, n, *args) for name, args in variants.items()} for _ in range(rounds)]
    for name in variants:
        w, c = (statistics.median(run[name][2] / run[name][i] for run in rounds_run) for i in (0, 1))
        print(f"{label + ', ' + name:<70}{w:>10,.0f}{c:>10,.0f}{rounds_run[0][name][2]:>8}")
    for name in list(variants)[1:]:
        each = [
            [(run[name][2] / run[name][i]) / (run["free"][2] / run["free"][i]) for run in rounds_run] for i in (0, 1)
        ]
        spread = f" (rounds: {min(each[0]):.0%} to {max(each[0]):.0%})" if rounds > 1 else ""
        ratios.append((label + name[11:] + spread, statistics.median(each[0]), statistics.median(each[1])))
    gen.generate(SampleConfig(n=64, rng=1000, constrained=True))  # the app has made a few tunes before
    warm = max(WARM_CALLS, rounds)
    for k in (1, 16):
        calls = {
            f"{name} {i}": (lambda i=i, c=c, k=k: gen.generate(SampleConfig(n=k, rng=2000 + i, constrained=c)))
            for i in range(warm)
            for name, c in (("free", False), ("constrained", True))
        }
        chars, wall, cpu = (
            {"free": 0, "constrained": 0},
            {"free": 0.0, "constrained": 0.0},
            {"free": 0.0, "constrained": 0.0},
        )
        for key, call in calls.items():  # interleaved, each tune set once: totals over the same seeds
            name = key.split()[0]
            w, c = time.perf_counter(), time.process_time()
            chars[name] += sum(t.n_chars for t in call())
            wall[name] += time.perf_counter() - w
            cpu[name] += time.process_time() - c
        label = f"n={k}, {warm} calls, tables warm"
        for name in ("free", "constrained"):
            print(
                f"{label + ', ' + name:<70}{chars[name] / wall[name]:>10,.0f}{chars[name] / cpu[name]:>10,.0f}"
                f"{chars[name]:>8}"
            )
        ratios.append(
            (
                label,
                (chars["constrained"] / wall["constrained"]) / (chars["free"] / wall["free"]),
                (chars["constrained"] / cpu["constrained"]) / (chars["free"] / cpu["free"]),
            )
        )
    for label, w, c in ratios:
        print(f"constrained / free, {label}: {w:.0%} wall, {c:.0%} CPU (target >= 50%)")
    print(f"constraint states worked out in this process: {len(rules_for(gen.vocab)):,}\n")


if __name__ == "__main__":
    main()
