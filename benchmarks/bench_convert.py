"""Time ABC text -> WAV bytes for a 30-second tune, stage by stage, beside the alternatives not taken.

    .venv/bin/python benchmarks/bench_convert.py [--repeats 7]

Prints the median of each stage (parse, events, MIDI, synthesis, loudness, WAV, and the
compressed formats), the whole path against the 0.5 s target, and side-by-side ratios
measured in the same run: the parse time limit's helper thread against a bare music21
parse; a worker process (fork, parse, send the Score back with music21's freezeThaw)
against the helper thread; music21's ``expandRepeats`` against the bar walk of
:mod:`musicgen.sound.events`; and what the limits of :mod:`musicgen.sound.budget` save on
hostile inputs (a MusicXML refusal against an export music21 still does, a slow air's audio
with and without the ceiling, the page on a 1 MB text). The machine is shared, so compare
figures within one run only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

# 16 bars of 4/4 (64 beats) at Q:1/4=128: it plays for exactly 30 s, with chords.
TUNE_30S = """X:1
T:Thirty Second Reel
M:4/4
L:1/8
Q:1/4=128
K:D
"D"A2FA dAFA|"G"B2GB dBGB|"D"A2FA dAfe|"Em"dBAF "A7"E2FE|
"D"D2FA dAFA|"G"BAGB dBGB|"D"A2fe "A7"dcBc|"D"d2f2 d2z2|
"D"f2af bafe|"G"g2bg "D"f2af|"Em"gfed "A7"cBAc|"D"dcdf "A7"e2fe|
"D"f2af bafe|"G"g2bg "D"f2af|"Em"gfed "A7"cBAG|"D"F2D2 D2z2|
"""
TARGET_SECONDS = 0.5


CPU: dict[str, float] = {}  # median CPU seconds of the last call of median_time, by label


def median_time(fn: Callable[[], object], repeats: int, label: str = "") -> tuple[float, object]:
    """Median wall-clock seconds of ``repeats`` calls (and, under ``label`` in CPU, median CPU seconds)."""
    times, cpu, result = [], [], None
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    CPU[label] = statistics.median(cpu)
    return statistics.median(times), result


def process_parse(text: str) -> object:
    """The alternative to the helper thread: parse in a forked process, send the Score back."""
    import multiprocessing as mp

    from music21 import converter, freezeThaw

    def work(conn, t: str) -> None:  # type: ignore[no-untyped-def]
        conn.send_bytes(freezeThaw.StreamFreezer(converter.parseData(t, format="abc")).writeStr(fmt="pickle"))
        conn.close()

    ctx = mp.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    worker = ctx.Process(target=work, args=(send, text))
    worker.start()
    send.close()
    data = receive.recv_bytes() if receive.poll(30) else b""
    worker.join()
    thawer = freezeThaw.StreamThawer()
    thawer.openStr(data)
    return thawer.stream


def main(argv: list[str] | None = None) -> int:
    args_parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    args_parser.add_argument("--repeats", type=int, default=7, help="runs per stage; the median is printed")
    args = args_parser.parse_args(argv)
    n = args.repeats

    start = time.perf_counter()
    import music21  # noqa: F401  (once per process: reported apart from the per-tune path)

    from musicgen.sound import audio, budget, convert, events, export, synth

    print(f"import music21 (once per process): {time.perf_counter() - start:.2f} s")
    export.to_midi(TUNE_30S)  # warm up caches (the SoundFont, music21's lazy imports)

    t_parse, parsed = median_time(lambda: convert.parse(TUNE_30S), n, "parse")
    t_events, ev = median_time(lambda: convert.to_events(parsed), n, "events")
    t_midi, midi = median_time(lambda: export.to_midi(ev, "fiddle", accompaniment_instrument="piano"), n, "midi")
    font = str(audio.soundfont_path())
    t_synth, wav = median_time(lambda: synth.render_wave(font, midi), n, "synth")
    raw = synth.read_wave(wav)
    t_norm, samples = median_time(lambda: audio.normalise(raw), n, "norm")
    t_wav, _ = median_time(lambda: audio._write_wav(samples, audio.NATIVE_RATE), n, "wav")
    t_total, out = median_time(lambda: audio.render(export.to_midi(TUNE_30S)), n, "total")
    t_ogg, ogg = median_time(lambda: audio.render(midi, "ogg"), max(3, n // 2), "ogg")
    t_mp3, mp3 = median_time(lambda: audio.render(midi, "mp3"), max(3, n // 2), "mp3")

    seconds = len(samples) / audio.NATIVE_RATE
    print(
        f"tune: {ev.beats:.0f} beats at {ev.tempo_bpm:.0f} bpm = {ev.beats * 60 / ev.tempo_bpm:.1f} s "
        f"(audio {seconds:.1f} s with the tail), {len(ev.melody)} melody + {len(ev.accompaniment)} "
        f"accompaniment notes; median of {n} runs"
    )
    print(f"  {'stage':52s} {'wall':>9s} {'CPU':>9s}")
    for name, label, t in [
        ("parse (checks + music21 in the time-limit thread)", "parse", t_parse),
        ("events", "events", t_events),
        ("MIDI (midiutil)", "midi", t_midi),
        ("synthesis (midirenderer)", "synth", t_synth),
        ("loudness normalisation", "norm", t_norm),
        ("WAV encoding", "wav", t_wav),
    ]:
        print(f"  {name:52s} {t * 1000:6.1f} ms {CPU[label] * 1000:6.1f} ms")
    print(
        f"ABC text -> WAV bytes, whole path: {t_total:.3f} s wall = {t_total / TARGET_SECONDS:.2f} x the "
        f"{TARGET_SECONDS} s target; {CPU['total']:.3f} s CPU = {CPU['total'] / TARGET_SECONDS:.2f} x "
        f"({len(out) / 1e6:.1f} MB)"
    )
    print(
        f"MIDI -> OGG/Vorbis: {t_ogg:.3f} s wall, {CPU['ogg']:.3f} s CPU ({len(ogg) / 1e3:.0f} kB); "
        f"MIDI -> MP3: {t_mp3:.3f} s wall, {CPU['mp3']:.3f} s CPU ({len(mp3) / 1e3:.0f} kB)"
    )

    from music21 import converter

    t_bare, _ = median_time(lambda: converter.parseData(TUNE_30S, format="abc"), n, "bare")
    deadline = lambda: time.monotonic() + 30  # noqa: E731
    t_thread, _ = median_time(
        lambda: budget.call_before(deadline(), lambda: converter.parseData(TUNE_30S, format="abc")), n, "thread"
    )
    t_fork, _ = median_time(lambda: process_parse(TUNE_30S), 3)
    print(
        f"time limit: bare music21 parse {t_bare * 1000:.1f} ms wall ({CPU['bare'] * 1000:.1f} ms CPU), in the "
        f"helper thread {t_thread * 1000:.1f} ms ({CPU['thread'] * 1000:.1f} ms CPU, x{CPU['thread'] / CPU['bare']:.2f}), "
        f"in a forked worker process {t_fork * 1000:.1f} ms wall (x{t_fork / t_bare:.2f} the bare wall time)"
    )

    with_repeats = TUNE_30S.replace('"D"A2FA dAFA|"G"B2', '|:"D"A2FA dAFA|"G"B2', 1).replace("D2z2|\n", "D2z2:|\n")
    score = convert.parse(with_repeats).score
    t_expand, _ = median_time(lambda: score.expandRepeats(), n)
    t_walk, _ = median_time(lambda: events.play_order(events.written_bars(score.parts[0])), n)
    print(
        f"repeats: music21 expandRepeats {t_expand * 1000:.1f} ms, bar walk {t_walk * 1000:.1f} ms "
        f"(x{t_expand / t_walk:.1f} faster)"
    )
    hostile()
    return 0


def hostile() -> None:
    """What the budget saves, each figure beside what it saves in the same run (once each: some are slow)."""
    from musicgen.abcnotation import rhythm
    from musicgen.app import render
    from musicgen.sound import audio, budget, convert, export

    header = "X:1\nT:t\nM:4/4\nL:1/8\nK:G\n"
    refused = header + "(" * 5000 + "G" + ")" * 5000 + "|]\n"
    allowed = convert.parse(header + "(" * budget.MAX_SLURS + "G" + ")" * budget.MAX_SLURS + "|]\n")
    t_refuse, _ = median_time(lambda: export.musicxml_refusal(refused), 3)
    t_export, _ = median_time(lambda: export.to_musicxml(allowed, budget=budget.Budget.start(60)), 1)
    print(
        f"MusicXML: 5,000 nested slurs refused in {t_refuse * 1000:.1f} ms; music21 exports "
        f"{budget.MAX_SLURS} (the most allowed) in {t_export:.2f} s (5,000 took 81 s once)"
    )
    bars = ['"G"G2AB "Em"c2dB', '"C"c2ec "D7"dcBA', '"G"G2GA "Em"B2AG', '"Am"E2GE "D"D2FA']
    slow_air = header.replace("K:G", "Q:1/4=40\nK:G") + "|".join(bars[i % 4] for i in range(98)) + "|]\n"
    midi = export.to_midi(slow_air)
    t_cut, cut = median_time(lambda: audio.render(midi, max_seconds=budget.MAX_AUDIO_SECONDS), 1)
    t_whole, whole = median_time(lambda: audio.render(midi), 1)
    print(
        f"audio of a 98-bar air at 40 bpm ({audio.midi_seconds(midi):.0f} s): whole {t_whole:.2f} s, "
        f"{len(whole) / 1e6:.0f} MB; cut at {budget.MAX_AUDIO_SECONDS:.0f} s {t_cut:.2f} s, {len(cut) / 1e6:.0f} MB "
        f"(the cut: x{t_cut / t_whole:.2f} the time, x{len(cut) / len(whole):.2f} the bytes)"
    )
    huge = header + "GABc dedB|" * 100_000
    t_huge, _ = median_time(lambda: render.make_sound(huge), 3)
    t_bars, _ = median_time(lambda: rhythm.analyse(huge), 1)
    print(f"the page on 1 MB of ABC: refused in {t_huge * 1e6:.0f} µs; counting its bars would take {t_bars:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
