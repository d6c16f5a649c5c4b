"""``musicgen evaluate``: how good are a model's tunes, or the tunes in some files (see musicgen.judge.evaluate).

musicgen evaluate --n 200 --rng 0 [--temperature 0.9] [--top-k 0] [--top-p 1] [--constrained] [--json]
musicgen evaluate tunes.abc [more.abc ...] [--json]     # judge tunes from files instead
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from musicgen.cli import WEIGHTS_HELP
from musicgen.compose.sample import Generator
from musicgen.config import SampleConfig
from musicgen.data import corpus
from musicgen.judge.evaluate import (
    MAX_TUNES,
    PARSE_TIMEOUT,
    evaluate,
    fit,
    format_table,
    generate,
    music21_check,
    targets_met,
)
from musicgen.judge.quality import Reference, check_dicts
from musicgen.judge.score import recorded_split
from musicgen.model import checkpoint


class _Clock:
    """Seconds spent in each stage of a run."""

    def __init__(self) -> None:
        self.started = self._last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name], self._last = round(now - self._last, 1), now


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="*", help="ABC files or folders to judge (default: generate tunes)")
    p.add_argument("--weights", help=WEIGHTS_HELP)
    p.add_argument("--train-data", nargs="+", help="the checkpoint's training ABC, if not where it was trained")
    p.add_argument("--n", type=int, default=200, help="tunes to generate (default 200)")
    defaults = SampleConfig()
    p.add_argument("--rng", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--temperature",
        type=float,
        default=defaults.temperature,
        help=f"sampling temperature (default {defaults.temperature:g})",
    )
    p.add_argument(
        "--top-k", type=int, default=defaults.top_k, help=f"top-k sampling, 0 = off (default {defaults.top_k})"
    )
    p.add_argument(
        "--top-p", type=float, default=defaults.top_p, help=f"nucleus sampling, 1 = off (default {defaults.top_p:g})"
    )
    p.add_argument(
        "--length",
        type=int,
        default=defaults.length,
        help=f"most characters the model writes per tune (default {defaults.length})",
    )
    p.add_argument("--constrained", action="store_true", help="meter-aware decoding")
    p.add_argument(
        "--parse-timeout",
        type=float,
        default=PARSE_TIMEOUT,
        help=f"seconds music21 may take per tune (default {PARSE_TIMEOUT:g})",
    )
    p.add_argument("--no-parse", action="store_true", help="skip the music21 check (fast)")
    p.add_argument("--no-fit", action="store_true", help="skip nats/char on the held-out tunes")
    p.add_argument("--out", help="save the judged tunes to this ABC file")
    p.add_argument("--json", action="store_true", help="print JSON (summary and every tune) instead of a table")


def run(args: argparse.Namespace) -> int:
    clock = _Clock()
    if not args.files and not 1 <= args.n <= MAX_TUNES:
        raise ValueError(f"--n must be from 1 to {MAX_TUNES:,} tunes (got {args.n})")
    if not (math.isfinite(args.parse_timeout) and args.parse_timeout > 0):  # else every tune "fails to parse"
        raise ValueError(f"--parse-timeout must be a number of seconds above 0 (got {args.parse_timeout:g})")
    ckpt = checkpoint.load(args.weights)
    train, val = recorded_split(ckpt, args.train_data)
    ref = Reference(train, val)
    clock.lap("reference")
    settings: dict = {"weights": str(ckpt.path)}
    if args.files:
        tunes, ended = corpus.read_tunes(args.files), None
        settings["files"] = [str(f) for f in args.files]
        title = f"{len(tunes)} tunes from {', '.join(settings['files'])}"
    else:
        cfg = SampleConfig(
            length=args.length,
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            rng=args.rng,
            constrained=args.constrained,
        )
        generated = generate(Generator(ckpt), cfg, args.n)  # the very weights the fit is measured on
        clock.lap("generation")
        tunes, ended = [t for t, _ in generated], [e for _, e in generated]
        settings |= {"n": args.n} | {k: v for k, v in cfg.to_dict().items() if k != "n"}
        title = (
            f"{len(tunes)} tunes from {ckpt.path} (temperature {cfg.temperature:g}, top-k {cfg.top_k}, "
            f"top-p {cfg.top_p:g}, rng {cfg.rng}{', constrained' if cfg.constrained else ''})"
        )
    parse = None if args.no_parse else music21_check(args.parse_timeout)
    report, checks = evaluate(tunes, ref, parse, ended)
    report["targets_met"] = targets_met(report)
    clock.lap("checks")
    if not args.no_fit:
        report["fit"] = fit(ckpt, train, val)
        clock.lap("fit")
    report["seconds"] = clock.laps | {"total": round(time.perf_counter() - clock.started, 1)}
    if args.out:
        Path(args.out).write_text(corpus.join_tunes(tunes), encoding="utf-8")
    if args.json:
        per_tune = [d | {"abc": t} for d, t in zip(check_dicts(checks), tunes)]
        json.dump({"settings": settings, "summary": report, "tunes": per_tune}, sys.stdout, indent=1)
        print()
    else:
        print(format_table(report, title))
    return 0
