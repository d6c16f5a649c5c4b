"""How good are a model's tunes (or the tunes in some files)? The library of ``musicgen evaluate``
(its command line: :mod:`musicgen.cli.evaluate`).

    musicgen evaluate --n 200 --rng 0 [--temperature 0.9] [--top-k 0] [--top-p 1] [--constrained] [--json]
    musicgen evaluate tunes.abc [more.abc ...] [--json]     # judge tunes from files instead

It generates ``--n`` tunes with the given sampling settings and seed (or reads
tunes from files) and reports every measure of :mod:`musicgen.judge.quality`: music21
parse rate, header completeness, clean endings, inner bars of the right length,
near-copies of training tunes, the form (bars and parts per tune, regular parts,
ending on the tonic, header held; beside the held-out tunes, the ceiling), closeness of
pitch-class / note-length / key / meter distributions to the training tunes (beside the corpus's own held-out
figure, the ceiling), and the model's nats/char on its held-out tunes beside a
5-gram baseline. The training and held-out tunes are those recorded in the
checkpoint (or ``--train-data``). ``--json`` prints everything, every tune
included, for machines; ``--out FILE`` saves the judged tunes as ABC.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from musicgen.abcnotation.header import header_fields
from musicgen.compose.sample import UNTITLED, Generator
from musicgen.config import MAX_CANDIDATES, SampleConfig
from musicgen.judge.formset import form_text
from musicgen.judge.quality import ParseCheck, Reference, TuneCheck, check_tune, summarise
from musicgen.judge.score import model_fit, ngram_fit
from musicgen.model import checkpoint
from musicgen.model.engine import Engine

MAX_TUNES = 10_000  # tunes one evaluation may generate: bounds its time (about an hour on two cores)
PARSE_TIMEOUT = 10.0  # seconds music21 may spend on one tune; Nottingham tunes take well under one
# (name, where in the summary, bound, at least?): what the shipped model must reach at its default settings
TARGETS = (
    ("parses as written", ("parse_rate",), 0.98, True),
    ("clean ending", ("clean_ending_rate",), 0.97, True),
    ("inner bars correct", ("inner_bars", "share"), 0.95, True),
    ("near-copies", ("near_copy_rate",), 0.03, False),
    ("pitch-class overlap / the corpus's", ("pitch_class", "ratio"), 0.9, True),
)


def targets_met(report: dict) -> dict[str, bool]:
    """Which targets a summary meets (a measure that was not taken meets none).

    >>> met = targets_met({"parse_rate": 0.99, "clean_ending_rate": 0.9, "near_copy_rate": 0.01})
    >>> [name for name, ok in met.items() if ok]
    ['parses as written', 'near-copies']
    """
    out = {}
    for name, path, bound, at_least in TARGETS:
        v: object = report
        for key in path:
            v = v.get(key) if isinstance(v, dict) else None
        out[name] = isinstance(v, (int, float)) and (v >= bound if at_least else v <= bound)
    return out


def music21_check(timeout: float = PARSE_TIMEOUT) -> ParseCheck:
    """A parse check: music21 reads the tune within ``timeout`` seconds and finds a note."""
    from musicgen.sound import convert

    def check(tune: str) -> tuple[str, tuple[str, ...]]:
        try:
            parsed = convert.parse(tune, timeout)
        except convert.InvalidABCError as e:
            return str(e) or type(e).__name__, ()
        return "", parsed.repairs

    return check


def chunk_seed(rng: int, chunk: int) -> int:
    """The seed of the ``chunk``-th batch of tunes: ``rng`` itself first, so ``--n`` up to one batch
    gives the very tunes ``musicgen generate`` gives with the same seed.

    >>> chunk_seed(7, 0), chunk_seed(7, 1) == chunk_seed(7, 1) != chunk_seed(8, 1)
    (7, True)
    """
    if chunk == 0:
        return rng
    return int(np.random.SeedSequence([rng, chunk]).generate_state(1, np.uint64)[0] >> 1)


def generate(gen: Generator, cfg: SampleConfig, n: int) -> list[tuple[str, bool]]:
    """``n`` tunes (text, stopped by itself), in batches of at most MAX_CANDIDATES."""
    out: list[tuple[str, bool]] = []
    for i, start in enumerate(range(0, n, MAX_CANDIDATES)):
        batch = cfg.replace(n=min(MAX_CANDIDATES, n - start), rng=chunk_seed(cfg.rng, i))
        out += [(t.abc.strip(), bool(t.ended)) for t in gen.generate(batch)]
    return out


def fit(ckpt: checkpoint.Checkpoint, train: Sequence[str], val: Sequence[str]) -> dict:
    """Nats/char of the checkpoint and of a 5-gram baseline on the held-out tunes."""
    lstm = model_fit(Engine(ckpt), val)
    base = ngram_fit(train, val, len(ckpt.vocab))
    return {
        "tunes": len(val),
        "chars": lstm.chars,
        "lstm_nats": lstm.nats,
        "ngram_nats": base.nats,
        "ngram": base.name,
        "ratio": lstm.nats / base.nats,
    }


def evaluate(
    tunes: Sequence[str], ref: Reference, parse: ParseCheck | None, ended: Sequence[bool | None] | None = None
) -> tuple[dict, list[TuneCheck]]:
    """Check every tune and summarise; ``ended`` (given for generated tunes) says which stopped by themselves."""
    flags = list(ended) if ended is not None else [None] * len(tunes)
    checks = [check_tune(t, ref, parse, e) for t, e in zip(tunes, flags)]
    if ended is not None:  # the generator titles a tune the model left untitled: that is no title of the model's
        for tune, check in zip(tunes, checks):
            if header_fields(tune).get("T") == UNTITLED:
                check.header_problems.append(f"no T: (the generator wrote {UNTITLED!r})")
    return summarise(checks, ref, tunes), checks


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def format_table(report: dict, title: str) -> str:
    """The summary as a table for people."""
    bars = report["inner_bars"]
    rows = [
        ("parses as written (music21)", _pct(report["parse_rate"]), ">= 98%"),
        ("  playable after mending its end", _pct(report["playable_rate"]), ""),
        ("header complete and valid", _pct(report["header_rate"]), ""),
        ("clean ending", _pct(report["clean_ending_rate"]), ">= 97%"),
        ("  stopped by itself", _pct(report["ended_rate"]), ""),
        ("  ends with a bar line", _pct(report["final_bar_rate"]), ""),
        ("inner bars correct", f"{_pct(bars['share'])} of {bars['bars']:,}", ">= 95%"),
        ("  bars under no meter (not judged)", f"{bars['unjudged_bars']:,}", ""),
        ("tunes with every inner bar correct", _pct(bars["tunes_all_correct"]), ""),
        ("near-copies (4+ bars of one tune)", _pct(report["near_copy_rate"]), "<= 3%"),
        (
            "longest shared run (bars)",
            f"max {report['longest_run']['max']}, median {report['longest_run']['median']:g}",
            "",
        ),
    ]
    for name in ("pitch_class", "note_length", "key", "meter"):
        if name in report:
            d = report[name]
            target = ">= 0.9 of corpus" if name == "pitch_class" else ""
            rows.append(
                (
                    f"{name.replace('_', '-')} overlap (corpus)",
                    f"{d['overlap']:.3f} ({d['corpus_self_overlap']:.3f}; {d['ratio']:.2f}x)",
                    target,
                )
            )
    if "fit" in report:
        f = report["fit"]
        rows.append(("held-out nats/char: LSTM | " + f["ngram"], f"{f['lstm_nats']:.4f} | {f['ngram_nats']:.4f}", ""))
    width = max(len(r[0]) for r in rows) + 2
    lines = [title, f"{'':<{width}}{'value':<28}target"]
    lines += [f"{a:<{width}}{b:<28}{c}".rstrip() for a, b, c in rows]
    for name in ("key", "meter"):
        if name in report:
            mine = ", ".join(f"{k} {v:.0%}" for k, v in report[name]["top"].items())
            theirs = ", ".join(f"{k} {v:.0%}" for k, v in report[name]["corpus_top"].items())
            lines.append(f"{name}s: {mine}   (corpus: {theirs})")
    if "form" in report:
        lines += ["", form_text({"these tunes": report["form"], "held-out tunes": report["form_held_out"]})]
    return "\n".join(lines)
