"""How long transposing the Nottingham tunes takes: what data augmentation pays each epoch.

    .venv/bin/python benchmarks/bench_transpose.py [--data ../shared/data/nottingham] [--repeats 5]

Reads every tune of the folder's top-level .abc files, then times transposing all of them: the first
pass (the texts tokenized for the first time), then ``--repeats`` passes at a random interval of -5
to +6 semitones each (tokens cached, as in training's later epochs), and reading their pitches.
Figures are from one run on a shared machine: compare them with each other, not across runs.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from musicgen.abcnotation.transpose import transpose_tune, written_pitches
from musicgen.data.corpus import read_tunes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/nottingham"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    tunes = read_tunes(sorted(Path(args.data).glob("*.abc")))
    chars = sum(map(len, tunes))
    start = time.perf_counter()
    for tune in tunes:
        transpose_tune(tune, 2)
    print(f"{len(tunes)} tunes, {chars:,} characters: first pass {time.perf_counter() - start:.3f} s")
    rng = random.Random(0)
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for tune in tunes:
            transpose_tune(tune, rng.randint(-5, 6))
        times.append(time.perf_counter() - start)
    print(f"a pass at random intervals: median {sorted(times)[len(times) // 2]:.3f} s, best {min(times):.3f} s")
    start = time.perf_counter()
    notes = sum(len(written_pitches(tune)) for tune in tunes)
    print(f"reading their {notes:,} notes' pitches: {time.perf_counter() - start:.3f} s")


if __name__ == "__main__":
    main()
