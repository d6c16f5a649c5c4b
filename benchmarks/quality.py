"""The quality report: writes benchmarks/quality.md (and prints it).

    .venv/bin/python benchmarks/quality.py [--weights weights/nottingham] [--n 200]
        [--temperatures 0.6 0.8 1.0 1.2] [--top-p 0.9 0.95] [--out benchmarks/quality.md] [--json FILE]

Measured in one run, with the measures of ``musicgen evaluate``:

- the checkpoint's tunes at each temperature and at SampleConfig's default
  temperature (``--n`` each, rng 0, every other setting at its default); then
  the best of those with each ``--top-p``; then meter-aware decoding at the
  chosen settings, when the generator offers it;
- the held-out Nottingham tunes themselves: the ceiling (of the form figures too: bars and
  parts per tune, regular parts, ending on the tonic, header held);
- the rhythm analyser on every tune of the training data (how often it finds
  the corpus's own inner bars right), and music21's measure lengths beside
  rhythm.py's bar lengths on every tune music21 reads: an independent reading.

The default sampling settings are chosen by a stated rule (see :func:`choose`).
About 20 minutes for 200 tunes a setting on two shared cores, most of it music21.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from music21_bars import Music21Bars  # noqa: E402  (beside this file)

from musicgen.abcnotation.rhythm import corpus_bar_report  # noqa: E402
from musicgen.compose.sample import ConstraintError, Generator  # noqa: E402
from musicgen.config import SampleConfig  # noqa: E402
from musicgen.judge.card import best_val  # noqa: E402
from musicgen.judge.evaluate import TARGETS, evaluate, fit, generate, targets_met  # noqa: E402
from musicgen.judge.formset import form_markdown  # noqa: E402
from musicgen.judge.quality import Reference  # noqa: E402
from musicgen.judge.score import recorded_split  # noqa: E402
from musicgen.model import checkpoint  # noqa: E402


def nats_per_char(gen: Generator, tunes: Sequence[str]) -> float:
    """Mean -log p of the tunes' characters under the model (each after a blank line, as in training):
    how far from what the model believes a set of tunes is (meter-aware decoding must not push it far)."""
    scored = gen.engine.log_likelihood(tunes)
    return -sum(s for s, _ in scored) / max(sum(n for _, n in scored), 1)


def met(report: dict) -> list[bool]:
    return list(targets_met(report).values())


def choose(rows: dict[str, dict], candidates: Sequence[str]) -> tuple[str, str]:
    """The default settings: those that meet the most targets; among them, the most tunes parsed as
    written plus the most inner bars right."""

    def score(name: str) -> tuple[int, float]:
        r = rows[name]
        return sum(met(r)), (r["parse_rate"] or 0.0) + r["inner_bars"]["share"]

    best = max(candidates, key=score)
    n = score(best)[0]
    if n == len(TARGETS):
        return best, "it meets every target, and of the settings that do, parses and keeps the meter best"
    return best, (
        f"no setting meets every target; it meets the most ({n} of {len(TARGETS)}) and, among "
        "those, parses and keeps the meter best (parse rate plus inner-bar share)"
    )


def product_defaults(rows: dict[str, dict], chosen: str, defaults: SampleConfig) -> list[str]:
    """Why the app and `musicgen generate` write meter-aware at SampleConfig's temperature."""
    mine, best = f"T={defaults.temperature:g}, constrained", f"{chosen}, constrained"
    if mine not in rows or best not in rows or mine == best:
        return []
    key = {name: rows[name]["key"]["ratio"] for name in (mine, best)}
    return [
        f"**What the product uses**: the app and `musicgen generate` write meter-aware by default, at "
        f"SampleConfig's temperature {defaults.temperature:g}. There the tunes meet {sum(met(rows[mine]))} of "
        f"{len(TARGETS)} targets (at {best}: {sum(met(rows[best]))}), and their keys stay as varied as the "
        f"corpus's (key overlap {key[mine]:.2f} of the corpus's own, against {key[best]:.2f} at {best}): "
        "with the form kept by the constraint, the lower temperature is not needed, and it would narrow the music."
    ]


def pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1%}"


def table(rows: dict[str, dict]) -> list[str]:
    names = list(rows)
    lines = ["| measure | " + " | ".join(names) + " | target |", "|---" * (len(names) + 2) + "|"]

    def row(label: str, cells: list[str], target: str = "") -> None:
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")

    rs = [rows[n] for n in names]
    row("tunes", [str(r["tunes"]) for r in rs])
    row("mean characters", [f"{r['mean_chars']:.0f}" for r in rs])
    row("parses as written (music21)", [pct(r["parse_rate"]) for r in rs], ">= 98%")
    row("  playable after mending its end", [pct(r["playable_rate"]) for r in rs])
    row("header complete and valid", [pct(r["header_rate"]) for r in rs])
    row("clean ending", [pct(r["clean_ending_rate"]) for r in rs], ">= 97%")
    row("  stopped by itself", [pct(r["ended_rate"]) for r in rs])
    row("  ends with a bar line", [pct(r["final_bar_rate"]) for r in rs])
    row("inner bars correct", [f"{pct(r['inner_bars']['share'])} of {r['inner_bars']['bars']:,}" for r in rs], ">= 95%")
    row("  bars under no meter (not judged)", [f"{r['inner_bars']['unjudged_bars']:,}" for r in rs])
    row("tunes with every inner bar correct", [pct(r["inner_bars"]["tunes_all_correct"]) for r in rs])
    row("near-copies (4+ bars of one training tune)", [pct(r["near_copy_rate"]) for r in rs], "<= 3%")
    row(
        "longest shared run, bars (max / median)",
        [f"{r['longest_run']['max']} / {r['longest_run']['median']:g}" for r in rs],
    )
    for name, target in (("pitch_class", ">= 0.9 of the corpus's"), ("note_length", ""), ("key", ""), ("meter", "")):
        row(f"{name.replace('_', '-')} overlap with training tunes", [f"{r[name]['overlap']:.3f}" for r in rs])
        row("  / the corpus's own (held-out vs training)", [f"{r[name]['ratio']:.2f}" for r in rs], target)
    row(
        "nats/char of the tunes under the model",
        [f"{r['nats_per_char']:.3f}" if "nats_per_char" in r else "" for r in rs],
    )
    row("**targets met**", [f"{sum(met(r))} of {len(TARGETS)}" for r in rs])
    return lines


def form_section(rows: dict[str, dict]) -> list[str]:
    """The tunes' form beside the held-out tunes' (the ceiling), every setting a column (musicgen.judge.formset)."""
    return [
        "## Form",
        "",
        "How the tunes are built, counted as a musician counts them (`musicgen.judge.form`): a part is the music "
        "between section bar lines (`|:` `:|` `::` `||` `|]`) or `P:` fields, its first and second endings one part; "
        "a pick-up is no bar of its own, and with the short bar that closes its part it makes one; *as played* "
        "expands repeats and endings. The tonic is the header key's (Ador ends on A). The badges are the app's "
        "orange form badges (`musicgen.app.support.badges`). Targets: the tune-form work (issue 13).",
        "",
        *form_markdown({name: r["form"] for name, r in rows.items()}),
        "",
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default=str(checkpoint.shipped_weights()))
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument(
        "--temperatures",
        type=float,
        nargs="+",
        default=[0.6, 0.8, 1.0, 1.2],
        help="temperatures to measure (SampleConfig's default is added)",
    )
    ap.add_argument(
        "--top-p",
        type=float,
        nargs="*",
        default=[0.9, 0.95],
        help="nucleus sampling values tried at the best temperature",
    )
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "quality.md"))
    ap.add_argument("--json", help="also write every summary here")
    args = ap.parse_args()

    started = time.perf_counter()
    seconds: dict[str, float] = {}
    ckpt = checkpoint.load(args.weights)  # once: training may write new weights while this runs
    gen = Generator(ckpt)
    train, val = recorded_split(ckpt)
    t0 = time.perf_counter()
    ref = Reference(train, val)
    corpus_bars = corpus_bar_report(train + val)
    seconds["reference and corpus bars"] = time.perf_counter() - t0

    rows: dict[str, dict] = {}
    configs: dict[str, SampleConfig] = {}
    m21 = Music21Bars()
    t0 = time.perf_counter()
    m21.source = "held-out tunes"
    rows["held-out tunes"], _ = evaluate(val, ref, m21)
    rows["held-out tunes"]["nats_per_char"] = nats_per_char(gen, val)
    seconds["held-out tunes"] = time.perf_counter() - t0
    m21.source = "generated tunes"
    defaults = SampleConfig()

    def measure(name: str, cfg: SampleConfig) -> None:
        t0 = time.perf_counter()
        generated = generate(gen, cfg, args.n)
        gen_s = time.perf_counter() - t0
        rows[name], _ = evaluate([a for a, _ in generated], ref, m21, [e for _, e in generated])
        rows[name]["nats_per_char"] = nats_per_char(gen, [a for a, _ in generated])
        rows[name]["chars_per_second"] = sum(len(a) for a, _ in generated) / gen_s
        configs[name] = cfg
        seconds[name] = time.perf_counter() - t0
        seconds[f"{name}: generation alone"] = gen_s
        print(f"{name}: {seconds[name]:.0f} s", file=sys.stderr)

    temps = sorted(set(args.temperatures) | {defaults.temperature})
    for t in temps:
        measure(f"T={t:g}", SampleConfig(temperature=t, rng=0))
    best_t, _ = choose(rows, [f"T={t:g}" for t in temps])
    for top_p in args.top_p:
        measure(f"{best_t}, top-p {top_p:g}", configs[best_t].replace(top_p=top_p))
    chosen, why = choose(rows, list(configs))
    constrained_note = ""
    try:
        measure(f"{chosen}, constrained", configs[chosen].replace(constrained=True))
        con, free = rows[f"{chosen}, constrained"], rows[chosen]
        constrained_note = (
            f"With meter-aware decoding on at these settings the tunes meet {sum(met(con))} of {len(TARGETS)} "
            f"targets (unconstrained: {sum(met(free))}); every inner bar is right in {pct(con['inner_bars']['share'])} "
            f"of the bars and in {pct(con['inner_bars']['tunes_all_correct'])} of the tunes (unconstrained: "
            f"{pct(free['inner_bars']['share'])}, {pct(free['inner_bars']['tunes_all_correct'])}). Under the model "
            f"the constrained tunes cost {con['nats_per_char']:.3f} nats/char ({free['nats_per_char']:.3f} "
            f"unconstrained, {rows['held-out tunes']['nats_per_char']:.3f} for the held-out tunes). Generation "
            f"here ran at {con['chars_per_second']:,.0f} characters of tune a second constrained, "
            f"{free['chars_per_second']:,.0f} unconstrained (wall clock, shared machine; "
            "`benchmarks/bench_generate.py` measures both side by side)."
        )
        default_name = f"T={defaults.temperature:g}"
        if default_name != chosen:  # the product's own defaults: SampleConfig's temperature, meter-aware on
            measure(f"{default_name}, constrained", configs[default_name].replace(constrained=True))
    except ConstraintError as e:
        constrained_note = f"Meter-aware decoding was not measured: {e}."
    t0 = time.perf_counter()
    model_fit = fit(ckpt, train, val)
    seconds["nats/char (LSTM and 5-gram)"] = time.perf_counter() - t0
    seconds["total"] = time.perf_counter() - started

    chosen_row, chosen_cfg = rows[chosen], configs[chosen]
    missed = [label for (label, *_), ok in zip(TARGETS, met(chosen_row)) if not ok]
    history = ckpt.metrics.get("history", [])
    best, at = best_val(ckpt.metrics)
    md = [
        "# Tune quality of the shipped model",
        "",
        f"Regenerated by `benchmarks/quality.py` (this run: {seconds['total'] / 60:.0f} minutes on "
        f"{ckpt.metrics.get('hardware', 'this machine')}). Checkpoint `{Path(args.weights).name}`: "
        f"val loss {best:.4f} nats/char (each val tune from a fresh state){at} ({len(history)} epochs logged). "
        f"{args.n} tunes per setting, rng 0, length cap {defaults.length}, top-k {defaults.top_k}, "
        f"top-p 1 unless named; the held-out tunes are the checkpoint's {len(val)} validation tunes "
        f"(never trained on), judged against its {len(train)} training tunes like the generated ones.",
        "",
        *table(rows),
        "",
        f"Held-out nats/char: LSTM {model_fit['lstm_nats']:.4f}, {model_fit['ngram']} "
        f"{model_fit['ngram_nats']:.4f} (ratio {model_fit['ratio']:.3f}), on {model_fit['tunes']} tunes, "
        f"{model_fit['chars']:,} characters.",
        "",
        "## Default sampling settings",
        "",
        f"Writing freely (no constraint), the best is **{chosen}** (temperature {chosen_cfg.temperature:g}, top-k {chosen_cfg.top_k}, top-p "
        f"{chosen_cfg.top_p:g}): {why}. "
        + (f"Targets missed there: {', '.join(missed)}." if missed else "")
        + (
            f" SampleConfig's defaults are now temperature {defaults.temperature:g}, top-p {defaults.top_p:g}."
            if (defaults.temperature, defaults.top_p) != (chosen_cfg.temperature, chosen_cfg.top_p)
            else " These are SampleConfig's defaults."
        ),
        "",
        constrained_note,
        "",
        *product_defaults(rows, chosen, defaults),
        "",
        *form_section(rows),
        "## How to read it",
        "",
        "- *parses as written*: `musicgen.sound.convert.parse` (music21, 10 s limit) reads it, finds a note, and "
        "had nothing to mend first; *playable* also counts tunes it mended (cut off mid-chord or mid-field "
        "at the very end, a last bar cut short, no M: or L: before the music).",
        "- *header*: X: first and a number, T:, M: and K: present and valid, L: valid if present; a title the "
        "generator filled in (`T:Untitled`) does not count.",
        "- *clean ending*: the model ended the tune itself (a blank line) before the length cap, and the "
        "music ends with a bar line.",
        "- *inner bars*: `musicgen.abcnotation.rhythm`; the first and last bar of each section may be short. Bars "
        "under no meter (no M:, which ABC reads as free meter) are not judged, and a tune with no judged "
        "inner bar is not among the tunes with every inner bar correct.",
        "- *near-copy*: four or more consecutive whole bars (chord symbols and spaces removed) verbatim "
        "from one training tune (`musicgen.judge.novelty`).",
        "- *overlap*: histogram intersection with the training tunes (1 = identical); the ratio divides "
        "it by the held-out tunes' own overlap with the training tunes, the ceiling.",
        "",
        "## The rhythm analyser on the Nottingham tunes",
        "",
        f"All {corpus_bars['tunes']} tunes of the training data: {corpus_bars['inner_bars_correct']:,} of "
        f"{corpus_bars['inner_bars']:,} inner bars correct ({corpus_bars['inner_bar_share']:.3%}); every inner "
        f"bar correct in {corpus_bars['tunes_all_correct']} tunes. The wrong ones are errors in the data: "
        "one tune has a bar of 31/32 and another a chord that is never closed. Two things the files do that the analyser allows "
        "for: a field left at the end of a music line (`...| K:G`, where a line continuation was joined "
        "with a field line), read as a field; and a part (`P:`) or meter change inside a bar, which ends "
        "the section there.",
        "",
        "An independent reading: music21's view of every tune it read in this run beside rhythm.py's, "
        "first the tune's total length (what the duration rules decide), then its bars one by one:",
        "",
        *(
            f"- {source}: the same total length in {c[1]:,} of {c[0]:,} tunes ({c[1] / max(c[0], 1):.1%}); "
            f"the same bars in {c[2]:,} tunes ({c[2] / max(c[0], 1):.1%}), {c[4]:,} of {c[3]:,} bars"
            for source, c in m21.counts.items()
        ),
        "",
        "Where the totals differ, music21 is wrong in every case inspected: it mishandles `::`, losing "
        "the note before it or, when music follows on the same line, "
        "everything after it. Bar by bar the two differ more because music21 re-bars what it reads: it cuts "
        "a bar longer than its meter into a full measure and a remainder, makes no measures at all for a "
        "tune of one bar, and splits a bar after a mid-tune `M:` change; rhythm.py keeps the bars as "
        "written, which is what a bar's correctness is about. Tunes whose totals differ in this run:",
        "",
        *(f"- {source}: {e}" for source, es in m21.examples.items() for e in es),
        "",
        "## Time",
        "",
        *(f"- {k}: {v:.0f} s" for k, v in seconds.items()),
        "",
    ]
    text = "\n".join(md)
    Path(args.out).write_text(text, encoding="utf-8")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"rows": rows, "fit": model_fit, "seconds": seconds, "chosen": chosen}, indent=1),
            encoding="utf-8",
        )
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
