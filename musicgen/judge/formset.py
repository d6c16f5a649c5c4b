r"""The form of a set of tunes (:mod:`musicgen.judge.form`) as figures, and as rows beside the held-out tunes'.

    summary = summarise_forms([tune_form(t) for t in tunes])     # JSON-ready
    rows = form_rows({"held-out tunes": held, "generated": summary})  # (measure, cells, target) for a table

``musicgen evaluate`` and ``benchmarks/quality.py`` print the same rows, the held-out tunes as the
ceiling. Percentiles are nearest-rank (a value some tune has). The targets are those of the tune-form work
(issue 13); the simpler reading of regular parts (each ending a section of its own) aims at the held-out
tunes' own share.

>>> from musicgen.judge.form import tune_form
>>> s = summarise_forms([tune_form("X:1\nM:2/4\nL:1/8\nK:G\n|:GA Bc|d2 B2|c2 A2|G4:|")])
>>> s["bars"], s["bars_played"]["median"], s["regular_parts"], s["badges"]["short"], s["no_form_badge"]
({'p10': 4, 'p25': 4, 'median': 4}, 8, 1.0, 1.0, 0.0)
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence

from musicgen.judge.form import MIN_BARS, REGULAR, WARNINGS, Form, form_warnings


def _rate(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def nearest_rank(values: Sequence[int], q: float) -> int:
    """The ``q`` quantile of ``values`` by nearest rank: the smallest value with at least ``q`` of them at or below.

    >>> nearest_rank([16, 8, 32, 16, 24, 16, 16, 12, 16, 18], 0.1), nearest_rank([3], 0.5), nearest_rank([], 0.5)
    (8, 3, 0)
    """
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else 0


def _spread(values: Sequence[int]) -> dict[str, int]:
    return {"p10": nearest_rank(values, 0.1), "p25": nearest_rank(values, 0.25), "median": nearest_rank(values, 0.5)}


def summarise_forms(forms: Sequence[Form]) -> dict:
    """The form figures over a set of tunes; a share is None when no tune had the thing to measure."""
    parts = [p for f in forms for p in f.parts]
    tonic = [f.ends_on_tonic for f in forms if f.ends_on_tonic is not None]
    chord = [f.chord_on_tonic for f in forms if f.chord_on_tonic is not None]
    warned = [{w.kind for w in form_warnings(f)} for f in forms]
    part_bars = Counter(p.bars for p in parts)
    return {
        "tunes": len(forms),
        "bars": _spread([f.bars for f in forms]),
        "bars_played": _spread([f.played for f in forms]),
        "at_least_8_bars": _rate([f.bars >= MIN_BARS for f in forms]),
        "two_or_more_parts": _rate([len(f.parts) >= 2 for f in forms]),
        "parts": {"median": statistics.median([len(f.parts) for f in forms]) if forms else 0, "count": len(parts)},
        "bars_per_part": {
            "median": statistics.median([p.bars for p in parts]) if parts else 0,
            "top": {str(n): round(c / len(parts), 4) for n, c in part_bars.most_common(4)},
        },
        "regular_parts": _rate([p.regular for p in parts]),
        "pickup_closed": _rate([p.closes_pickup for p in parts if p.closes_pickup is not None]),
        "long_closed": _rate([p.closes_long for f in forms for p in f.parts[:-1] if p.closes_long is not None]),
        "regular_sections": _rate([n in REGULAR for f in forms for n in f.sections]),
        "tunes_all_regular": _rate([bool(f.parts) and all(p.regular for p in f.parts) for f in forms]),
        "ends_on_tonic": _rate(tonic),
        "chord_on_tonic": _rate(chord),
        "tunes_with_chords": len(chord),
        "meter_held": _rate([not f.meter_changes for f in forms]),
        "key_held": _rate([not f.key_changes for f in forms]),
        "header_held": _rate([f.header_held for f in forms]),
        "badges": {kind: _rate([kind in w for w in warned]) for kind in WARNINGS},
        "no_form_badge": _rate([not w for w in warned]),
    }


def form_facts(form: Form) -> dict:
    r"""One tune's form as plain values (for ``--json``).

    >>> from musicgen.judge.form import tune_form
    >>> form_facts(tune_form("X:1\nM:2/4\nL:1/8\nK:G\nGA Bc|d2 B2|c2 A2|G4|"))["warnings"]
    ['only 4 bars']
    """
    return {
        "bars": form.bars,
        "played": form.played,
        "parts": [list(p.passes) for p in form.parts],
        "sections": list(form.sections),
        "pickups": form.pickups,
        "ends_on_tonic": form.ends_on_tonic,
        "chord_on_tonic": form.chord_on_tonic,
        "meter_changes": list(form.meter_changes),
        "key_changes": list(form.key_changes),
        "warnings": [w.label for w in form_warnings(form)],
    }


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.0%}"


def form_rows(columns: Mapping[str, dict]) -> list[tuple[str, list[str], str]]:
    """(measure, one cell per column, target) for each form figure; columns are :func:`summarise_forms` results."""
    cs = list(columns.values())
    held = columns.get("held-out tunes")
    simple_target = f">= {_pct(held['regular_sections'])} (held-out)" if held else ">= the held-out tunes'"

    def spread(key: str) -> list[str]:
        return [f"{c[key]['p10']} / {c[key]['p25']} / {c[key]['median']}" for c in cs]

    rows = [
        ("bars per tune as written: 10th pct / 25th / median", spread("bars"), ">= 14 / - / 16 to 24"),
        ("  as played (repeats and endings expanded)", spread("bars_played"), ""),
        (f"tunes with at least {MIN_BARS} bars", [_pct(c["at_least_8_bars"]) for c in cs], ">= 98%"),
        ("tunes of two or more parts", [_pct(c["two_or_more_parts"]) for c in cs], ">= 75%"),
        ("parts per tune (median)", [f"{c['parts']['median']:g}" for c in cs], ""),
        ("bars per part (median; commonest)", [_part_bars(c) for c in cs], ""),
        ("regular parts (4, 8, 12, 16 bars; endings one part)", [_pct(c["regular_parts"]) for c in cs], ">= 90%"),
        ("  simpler reading (each ending a part of its own)", [_pct(c["regular_sections"]) for c in cs], simple_target),
        ("  tunes whose every part is regular", [_pct(c["tunes_all_regular"]) for c in cs], ""),
        (
            "parts opening with a pick-up that close on the bar completing it",
            [_pct(c["pickup_closed"]) for c in cs],
            "",
        ),
        ("parts before the last closing on a quarter note or longer", [_pct(c["long_closed"]) for c in cs], ""),
        ("last melody note on the tonic", [_pct(c["ends_on_tonic"]) for c in cs], ">= 90%"),
        ("last chord symbol on the tonic (tunes with chords)", [_chords(c) for c in cs], ""),
        ("header meter held to the end", [_pct(c["meter_held"]) for c in cs], "100%"),
        ("header key held to the end", [_pct(c["key_held"]) for c in cs], "100%"),
    ]
    rows += [(f"  badge: {what}", [_pct(c["badges"][kind]) for c in cs], "") for kind, what in WARNINGS.items()]
    rows.append(("  no form badge", [_pct(c["no_form_badge"]) for c in cs], ""))
    return rows


def _part_bars(c: dict) -> str:
    top = ", ".join(f"{n}: {share:.0%}" for n, share in c["bars_per_part"]["top"].items())
    return f"{c['bars_per_part']['median']:g} ({top})"


def _chords(c: dict) -> str:
    return f"{_pct(c['chord_on_tonic'])} of {c['tunes_with_chords']}"


def form_markdown(columns: Mapping[str, dict]) -> list[str]:
    """The rows as a Markdown table."""
    lines = ["| form | " + " | ".join(columns) + " | target |", "|---" * (len(columns) + 2) + "|"]
    lines += [f"| {label} | " + " | ".join(cells) + f" | {target} |" for label, cells, target in form_rows(columns)]
    return lines


def form_text(columns: Mapping[str, dict]) -> str:
    """The rows as a plain-text table (``musicgen evaluate``)."""
    rows = form_rows(columns)
    width = max(len(r[0]) for r in rows) + 2
    cell = max(22, *(len(x) + 2 for _, cells, _ in rows for x in cells))
    lines = [f"{'form':<{width}}" + "".join(f"{name:<{cell}}" for name in columns) + "target"]
    lines += [(f"{a:<{width}}" + "".join(f"{x:<{cell}}" for x in b) + c).rstrip() for a, b, c in rows]
    return "\n".join(lines)
