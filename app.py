"""musicgen in the browser: compose a folk tune, read it, hear it, download it.

    streamlit run app.py                                  # the shipped weights (weights/nottingham)
    MUSICGEN_WEIGHTS=weights/mymodel streamlit run app.py # weights of your own

A thin shell over the ``musicgen`` package: widgets live in small ``*_ui()`` functions returning plain
values; what they show is computed by :mod:`musicgen.app` (settings, session, render, support, text,
shelf). This file draws the sidebar and composes; ``app_views.py`` beside it draws the tune, its sound,
the history and the model panel, ``app_tools.py`` the workbench under the tune (practise, edit, transpose,
rewrite), and ``app_inside.py`` the page's other mode, "Inside the model" (views of the model at work for a class). The generator is loaded once per process (``st.cache_resource``, shared
by every session and never changed), sounds are kept on one shared shelf within a budget of bytes, and
each user's tunes (their ABC, never their audio) live in ``st.session_state``. Text from the model, a
primer or the address bar is shown as text (:func:`musicgen.app.text.plain`), never as Markdown.
Sheet music is drawn by abcjs, served from ``assets/abcjs`` (works offline). The tune's sheet music and text
grow on the page while the model writes it (:mod:`musicgen.app.live`); its text and sheet come before its sound, which the
player gets as a 24 kHz mono WAV (the download is rendered at 48 kHz stereo when asked for).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from musicgen.app import render, transposing
from musicgen.app import support as sup
from musicgen.app.live import generate_watched, sheet_html
from musicgen.app.session import Entry, first_shown, keep_recent
from musicgen.app.settings import (
    FORM_HELP,
    FORMS,
    KEYS,
    METERS,
    RANGES,
    TEMPOS,
    TUNE_TYPE_HELP,
    TUNE_TYPES,
    Settings,
    form_label,
    from_query,
)
from musicgen.app.text import code_html, plain
from musicgen.compose.sample import Generator
from musicgen.model.checkpoint import CheckpointError
from musicgen.sound import export

if str(Path(__file__).resolve().parent) not in sys.path:  # app_views.py beside this page, wherever it is run
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import app_inside  # noqa: E402  (the page's other mode: after the line that lets Python find it)
import app_views as views  # noqa: E402  (the page's output side)

SEED_MAX = int(RANGES["seed"][1])  # seeds a person can read and type


@st.cache_resource(show_spinner="Loading the model…")
def load_generator(path: str | None) -> Generator:
    render.limit_malloc_arenas()  # once per process, before the sessions' threads fill their own heaps
    gen = Generator.load(path)
    render.settle()  # music21 warmed, and what lives as long as the server left out of each run's garbage collection
    return gen


@st.cache_resource(show_spinner=False)
def meter_aware_absence(path: str | None) -> str | None:
    return sup.meter_aware_absence(load_generator(path))


def init_state(gen: Generator) -> None:
    """First run of a session: defaults, or the settings of the permalink it was opened with."""
    ss = st.session_state
    if "history" in ss:
        return
    settings, pick, problems = from_query(st.query_params.to_dict(), sup.seed_chars(gen.vocab.chars))
    if problems:
        text = "The link had settings this app cannot read, so defaults were used for: " + "; ".join(problems)
        say("warning", plain(text), "link")
    if "seed" not in st.query_params:
        settings = dataclasses.replace(settings, seed=secrets.randbelow(SEED_MAX + 1))
    for f in dataclasses.fields(Settings):
        ss[f"opt_{f.name}"] = getattr(settings, f.name)
    ss.opt_reseed = "seed" not in st.query_params  # a permalink keeps its seed
    ss.history = []
    ss.current = None
    ss.compose = "seed" in st.query_params  # a permalink plays its tune at once
    ss.pick = pick


def say(kind: str, text: str, where: str) -> None:
    """A sentence a run shows once (``st.warning``, ``st.error``: ``kind``), kept for the run that hands the player
    its sound: a run stopped there (``app_views.output_ui``) is followed at once by one that says it again."""
    getattr(st, kind)(text)
    st.session_state.said[where] = (kind, text)


def said_before() -> dict[str, tuple[str, str]]:
    """What the run before said (:func:`say`), when this run only hands the player its sound; else nothing."""
    ss = st.session_state
    ss.handed_over = ss.pop("handover", False)  # this run follows one stopped to hand the player its sound
    again = ss.get("said", {}) if ss.handed_over else {}
    ss.said = {}
    return again


def request_compose() -> None:
    ss = st.session_state
    if ss.opt_reseed:
        ss.opt_seed = secrets.randbelow(SEED_MAX + 1)
    ss.compose = True
    ss.mode = "compose"  # pressed while looking inside the model: the composer shows the new tune
    ss.pick = None  # show the best-formed candidate
    ss.loop_on = False  # a new tune is heard whole first


def new_seed() -> None:
    st.session_state.opt_seed = secrets.randbelow(SEED_MAX + 1)


def _choice(label: str, options: list[str], key: str, **kwargs: object) -> str:
    """A selectbox whose first option, "", reads as the model's choice; a linked value joins the list."""
    value = st.session_state.get(key, "")
    if value not in options:
        options = [*options, value]
    return st.selectbox(label, options, key=key, format_func=lambda v: v or "the model's choice", **kwargs)


def tune_ui(gen: Generator) -> dict[str, str]:
    st.subheader("Tune")
    key = _choice(
        "Key",
        KEYS,
        "opt_key",
        help="K: line of the tune. The model's choice is drawn as often as the folk tunes it "
        "learnt from have each key (mostly G and D), wherever the tune keeps a form.",
    )
    meter = _choice("Meter", METERS, "opt_meter", help="M: line, e.g. 6/8 for a jig, 4/4 for a reel")
    tune_type = _choice("Tune type", TUNE_TYPES, "opt_tune_type", help=TUNE_TYPE_HELP)
    forms = FORMS if st.session_state.get("opt_form", "") in FORMS else [*FORMS, st.session_state.opt_form]
    form = st.selectbox("Form", forms, key="opt_form", format_func=form_label, help=FORM_HELP)
    chars = sup.seed_chars(gen.vocab.chars)
    if st.session_state.opt_seed_char not in chars:  # a permalink's other character was reported, not used
        st.session_state.opt_seed_char = ""
    seed_char = st.selectbox(
        "How the tune starts",
        chars,
        key="opt_seed_char",
        format_func=sup.char_label,
        help="The first character the model is given. Its tunes start with a header (number, title, meter, key); "
        "a key, meter, tune type or primer needs that header.",
    )
    primer = st.text_area(
        "Continue my tune (ABC primer)",
        key="opt_primer",
        height=100,
        placeholder="X:1\nT:My tune\nM:6/8\nK:D\nA|dfa afd|",
        help="The model continues this ABC. Leave empty to start a new tune.",
    )
    return dict(key=key, meter=meter, tune_type=tune_type, form=form, seed_char=seed_char, primer=primer)


def sampling_ui(meter_aware_absence: str | None) -> dict[str, object]:
    st.subheader("Composer")
    length = st.slider(
        "Length (most characters)",
        *map(int, RANGES["length"]),
        key="opt_length",
        help="A tune usually ends by itself sooner; this is a cap.",
    )
    temperature = st.slider(
        "Temperature",
        *RANGES["temperature"],
        step=0.05,
        key="opt_temperature",
        help="Lower: safer, more repetitive tunes. Higher: more adventurous, more mistakes.",
    )
    seed = st.number_input(
        "Random seed", 0, SEED_MAX, step=1, key="opt_seed", help="The same seed and settings give the same tune."
    )
    st.button("New seed", on_click=new_seed, icon=":material/casino:", width="stretch")
    st.checkbox("New seed on every Compose", key="opt_reseed")
    n = st.slider(
        "Candidates",
        *map(int, RANGES["n"]),
        key="opt_n",
        help="Tunes written side by side; the best-formed is shown first.",
    )
    if meter_aware_absence:  # said where the switch would be
        st.caption(plain(meter_aware_absence))
    constrained = meter_aware_absence is None and st.toggle(
        "Meter-aware (bars add up)",
        key="opt_constrained",
        help="Keeps every bar the meter's length while the model writes.",
    )
    return dict(length=length, temperature=temperature, seed=seed, n=n, constrained=constrained)


def sound_ui() -> dict[str, object]:
    st.subheader("Sound")
    instrument = st.selectbox("Instrument", list(export.INSTRUMENTS), key="opt_instrument")
    stand_in = transposing.stand_in(instrument)  # the SoundFont plays another sound for it (the tin whistle)
    if stand_in:
        st.caption(plain(stand_in))
    accompaniment = st.toggle("Chord accompaniment", key="opt_accompaniment")
    tempos = sorted({*TEMPOS, st.session_state.opt_tempo})  # a permalink may hold any tempo in range
    tempo = st.select_slider(
        "Tempo (beats per minute)",
        tempos,
        key="opt_tempo",
        format_func=lambda t: str(t) if t else "tune's own",
        help="Counted in the tune's own beat: a dotted quarter in 6/8 and 9/8, "
        "a half note in 2/2, a quarter note in 4/4 and 3/4.",
    )
    return dict(instrument=instrument, accompaniment=accompaniment, tempo=tempo)


def controls_ui(gen: Generator, meter_aware_absence: str | None) -> Settings:
    """The sidebar; returns the settings it shows."""
    with st.sidebar:
        st.button("Compose", type="primary", on_click=request_compose, icon=":material/music_note:", width="stretch")
        tune, sampling = tune_ui(gen), sampling_ui(meter_aware_absence)
        note = Settings(**tune, **sampling).free_writing()  # type: ignore[arg-type]
        if note:  # said before composing: this meter is written freely
            st.info(plain(note), icon=":material/info:")
        return Settings(**tune, **sampling, **sound_ui())  # type: ignore[arg-type]


def writing_ui(slot: st.delta_generator.DeltaGenerator) -> Callable[[str], None]:
    """What shows the first candidate as the model writes it, in ``slot``: its text and its sheet music so far, drawn in
    the page (:func:`musicgen.app.live.sheet_html`, with the abcjs the sheet-music component serves)."""
    abcjs = f"component/{views.sheet_music().name}/abcjs-basic-min.js"  # relative: under any base address
    drawn = itertools.count()

    def show(text: str) -> None:
        with slot.container():  # the text first: it shows while the page still loads what draws the sheet
            st.html(code_html(text, label="the tune so far"))
            st.html(sheet_html(text, next(drawn), abcjs), unsafe_allow_javascript=True)

    return show


def compose(gen: Generator, settings: Settings, place: st.delta_generator.DeltaGenerator) -> None:
    """Write new tunes into the history and show the best-formed (or the permalink's) one."""
    ss = st.session_state
    live = place.empty()  # the first candidate, sheet and text, as the model writes it
    try:
        cfg = settings.sample_config()
        with st.spinner("Composing…"):
            tunes = generate_watched(gen, cfg, writing_ui(live))
        render.freeze_alive()  # the generator's new tables: out of the collection after every run
    except ValueError as e:  # bad settings or primer (UnknownCharacterError is a ValueError)
        live.empty()
        say("error", f"Nothing was composed: {plain(str(e))}. Change that setting and press Compose again.", "compose")
        return
    live.empty()  # the tune's own view follows at once: its text and sheet first, its sound after
    batch = 1 + max((e.batch for e in ss.history), default=0)
    entries = [Entry(t.abc, settings, i, batch, t) for i, t in enumerate(tunes)]
    ss.history, _ = keep_recent([*ss.history, *entries], ss.current)
    views.show_entry(len(ss.history) - len(tunes) + first_shown(tunes, ss.pick))
    ss.composed = views.token()  # the sheet's player closes a phone's sidebar over it, once


def main() -> None:
    st.set_page_config(page_title="musicgen: folk tunes", page_icon="🎻", layout="wide")
    views.tools.page_style()
    with st.container(key="noprint_head"):
        st.title("musicgen", anchor=False)
        subtitle = st.empty()
    try:
        weights = os.environ.get("MUSICGEN_WEIGHTS") or None
        gen = load_generator(weights)
    except CheckpointError as e:
        subtitle.caption("New folk tunes from a character-level LSTM.")
        st.error(
            f"The model could not be loaded: {plain(str(e))}. Set MUSICGEN_WEIGHTS to a folder written by "
            "`musicgen train`, or restore weights/nottingham."
        )
        st.stop()
    ckpt = gen.checkpoint
    subtitle.caption(plain(sup.model_subtitle(ckpt.path.name if ckpt.path else "in memory", ckpt.metrics)))
    again = said_before()
    with st.container():  # on every run: a permalink's warning, once, keeps the parts below in their places
        init_state(gen)
        if "link" in again:
            say(*again["link"], "link")
    with st.container(key="compose_here"):  # a phone's Compose: its sidebar starts closed (the page's style)
        st.button("Compose", type="primary", on_click=request_compose, icon=":material/music_note:", key="compose_main")
    mode = views.mode_ui()
    settings = controls_ui(gen, meter_aware_absence(weights))  # in both modes: its sound and settings serve both
    if mode == "inside":  # the composer's tune and widgets wait, kept, until it is shown again
        app_inside.render(gen, settings)
        views.model_ui(gen)
        return
    live = st.container(key="abc_live")  # on every run: the page's parts keep their places (the player plays on)
    if st.session_state.compose:
        st.session_state.compose = False
        compose(gen, settings, live)
    elif "compose" in again:
        say(*again["compose"], "compose")
    views.output_ui(settings, gen)
    views.history_ui()
    views.model_ui(gen)


main()
