"""The per-key table of the quality report: writes benchmarks/keys.md (and prints it).

    .venv/bin/python benchmarks/keys.py [--weights weights/nottingham] [--n 25] [--keys G D Bb ...]

For each key of :data:`musicgen.judge.keys.KEYS`, ``--n`` tunes written at the default settings with
meter-aware (form-aware) writing and that key asked for (``--rng 0``): the share music21 reads without
repairs, the notes' share of the key's scale, the share whose last melody note is the tonic, and
nats/char under the model. The held-out tunes of the model's own split are measured beside them,
as the ceiling. Rare keys should come within a few points of the common ones.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from music21_bars import Music21Bars  # noqa: E402  (beside this file)

from musicgen.compose.sample import Generator  # noqa: E402
from musicgen.config import SampleConfig  # noqa: E402
from musicgen.judge.evaluate import evaluate, generate  # noqa: E402
from musicgen.judge.keys import KEYS, key_rows  # noqa: E402
from musicgen.judge.quality import Reference  # noqa: E402
from musicgen.judge.score import recorded_split  # noqa: E402
from musicgen.model import checkpoint  # noqa: E402


def pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.0f}%"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default=str(checkpoint.shipped_weights()))
    ap.add_argument("--n", type=int, default=25)
    ap.add_argument("--keys", nargs="+", default=list(KEYS))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "keys.md"))
    args = ap.parse_args()
    started = time.perf_counter()
    ckpt = checkpoint.load(args.weights)
    gen = Generator(ckpt)
    train, val = recorded_split(ckpt)
    ref, parse = Reference(train, val), Music21Bars()

    def summary(tunes: Sequence[str]) -> dict:
        report, _ = evaluate(tunes, ref, parse)
        scored = gen.engine.log_likelihood(list(tunes))
        nats = -sum(s for s, _ in scored) / max(1, sum(n for _, n in scored))
        return {
            "tunes": len(tunes),
            "parse": report["parse_rate"],
            "tonic": report["form"]["ends_on_tonic"],
            "nats": nats,
        }

    def tunes_of(key: str) -> list[str]:
        return [t for t, _ in generate(gen, SampleConfig(key=key, constrained=True, rng=0), args.n)]

    rows = {"held-out tunes (all keys)": dict(key_rows(lambda _: val, ["val"], summary)["val"])}
    rows.update(key_rows(tunes_of, args.keys, summary))
    common = rows.get("G", {}).get("in_scale")
    lines = [
        "## Tunes in every key",
        "",
        f"`benchmarks/keys.py --n {args.n}` on `{ckpt.path.name if ckpt.path else args.weights}`: for each key, "
        f"{args.n} tunes written with that key asked for (meter-aware writing, the default settings, rng 0), "
        "beside the model's own held-out tunes. In scale: the notes' share of the key's scale (accidentals "
        "read as ABC reads them); tonic: the last melody note is the key's tonic; nats/char under the model.",
        "",
        "| key | tunes | parse | in scale | vs G | tonic ending | nats/char |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, r in rows.items():
        gap = "" if common is None or r["in_scale"] is None else f"{100 * (r['in_scale'] - common):+.1f}"
        lines.append(
            f"| {key} | {r['tunes']} | {pct(r['parse'])} | {pct(r['in_scale'])} | {gap} | {pct(r['tonic'])} | "
            f"{r['nats']:.3f} |"
        )
    lines += ["", f"Measured in {time.perf_counter() - started:.0f} s."]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
