"""``musicgen explain``: every character of a tune with the model's likeliest next characters before it,
its surprise, and what meter-aware writing's rules removed (see musicgen.judge.explain).

    musicgen explain --rng 7 --key D --meter 6/8        # the tune `musicgen generate --rng 7 ...` writes
    musicgen explain --rng 7 --no-constrained --json    # written freely, as JSON
    musicgen explain held_out.abc --tune 3 --top 3      # the third tune of a file, the rules replayed over it

Without files it writes one tune with the options of ``musicgen generate`` (the same ``--rng`` gives the
same tune as ``musicgen generate --n 1``). The mean surprise printed is ``musicgen score``'s nats/char for
the tune.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from musicgen.cli import WEIGHTS_HELP
from musicgen.cli import generate as generate_cli
from musicgen.compose.sample import Generator
from musicgen.data import corpus
from musicgen.judge.explain import TOP_K, Explanation, Step, explain_abc, explain_generated
from musicgen.judge.words import shown

# the options of `musicgen generate` that shape one tune (taken with their help from its parser)
GENERATE_OPTIONS = (
    "length",
    "temperature",
    "top_k",
    "top_p",
    "key",
    "meter",
    "unit_length",
    "tune_type",
    "form",
    "primer",
    "seed_char",
    "rng",
    "constrained",
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Watch the model think: each character of a tune, the model's likeliest next characters before it, "
        "the surprise (-ln p, in nats) of the one written, and what meter-aware writing's rules removed."
    )
    p.add_argument("files", nargs="*", help="ABC files to explain (default: write one tune with the options below)")
    p.add_argument("--tune", type=int, metavar="N", help="only the Nth tune of the files (1 is the first)")
    p.add_argument(
        "--top", type=int, default=TOP_K, metavar="K", help=f"likeliest next characters shown (default {TOP_K})"
    )
    p.add_argument("--json", action="store_true", help="print JSON (one object; its 'tunes' hold every step)")
    p.add_argument("--weights", metavar="DIR", help=WEIGHTS_HELP)
    group = p.add_argument_group(
        "the tune to write (without files; the options of musicgen generate)",
        "With files, --constrained replays the rules over them (bars only, or --form) and the rest is ignored.",
    )
    generate_cli.add_writing_options(group, GENERATE_OPTIONS)


def run(args: argparse.Namespace) -> int:
    if args.top < 1:
        raise ValueError(f"--top must be at least 1 (got {args.top})")
    gen = Generator.load(args.weights)
    if args.files:
        tunes = corpus.read_tunes(args.files)
        chosen = list(enumerate(tunes, 1))
        if args.tune is not None:
            if not 1 <= args.tune <= len(tunes):
                raise ValueError(f"--tune {args.tune}: the files hold {len(tunes)} tune(s); give 1 to {len(tunes)}")
            chosen = [chosen[args.tune - 1]]
        done = [
            (f"tune {i} of the files", explain_abc(gen.engine, t, args.top, args.constrained, args.form))
            for i, t in chosen
        ]
        extra: dict[str, Any] = {"files": [str(f) for f in args.files]}
    else:
        cfg = generate_cli.config_from(argparse.Namespace(**{**vars(args), "n": 1}))
        tune, ex = explain_generated(gen, cfg, args.top)
        how = "meter-aware" if tune.meter_aware else "written freely"
        done = [(f"the tune of --rng {cfg.rng} ({how}, {'ended by itself' if tune.ended else 'cut off'})", ex)]
        extra = {"settings": cfg.to_dict(), "abc": tune.abc, "ended": tune.ended, "meter_aware": tune.meter_aware}
    if args.json:
        weights = str(gen.checkpoint.path) if gen.checkpoint.path else None
        json.dump({"weights": weights, **extra, "tunes": [ex.to_dict() for _, ex in done]}, sys.stdout, indent=1)
        print()
        return 0
    for name, ex in done:
        print(table(name, ex, args.top))
    return 0


def table(name: str, ex: Explanation, k: int) -> str:
    """The steps as a table for people, with the tune's mean surprise under it."""
    head = f"{'#':>5}  {'char':<4}  {'by':<6}  {'p':>5}  {'surprise':>8}  {'likeliest next, before it':<{9 * k}}  rules"
    lines = [f"{name}: {len(ex.steps)} characters; rules: {ex.rules}", head]
    lines += [_row(i, s, k) for i, s in enumerate(ex.steps, 1)]
    if ex.rules_note:
        lines.append(ex.rules_note)
    lines.append(
        f"mean surprise: {ex.mean_surprise:.4f} nats per character ({len(ex.steps)} characters, the ending blank "
        f"line included: musicgen score's nats/char for this tune); the rules stepped in at {len(ex.stepped_in)} steps"
    )
    return "\n".join(lines) + "\n"


def _row(i: int, s: Step, k: int) -> str:
    top = "".join(f"{shown(c):>2} {p:.2f}  "[:9] for c, p in s.top).ljust(9 * k)
    rules = ""
    if s.removed is not None:
        rules = f"removed {len(s.removed)} ({s.removed_p:.0%} of the choice)" if s.removed else "removed none"
        if s.stepped_in:
            rules += ": " + " ".join(f"{shown(c)} {p:.2f}" for c, p in s.removed_top[:3])
    return f"{i:>5}  {shown(s.char):<4}  {s.by:<6}  {s.p:>5.3f}  {s.surprise:>8.3f}  {top}  {rules}".rstrip()
