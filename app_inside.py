"""The page's "Inside the model" mode, for a class: four views of the model at work (``render(gen, settings)``).

    import app_inside
    app_inside.render(gen, settings)   # gen: the page's Generator; settings: the composer's (optional)

Step by step (the tune written a character at a time, its next characters as bars, branches), Surprise map
(notes coloured by surprise, the tune placed among the held-out tunes), Watch it learn (the same seed
written by checkpoints kept from training, beside the loss curve), Rules on and off (meter-aware writing
side by side with free writing). Widgets only; what they show is computed by :mod:`musicgen.app.inside`,
:mod:`musicgen.app.stepview`, :mod:`musicgen.judge.explain` and :mod:`musicgen.judge.walk`, on the NumPy
engine (no TensorFlow). Every widget key starts ``inside_``; the step-by-step view steps inside a fragment,
so a step reruns that view only (its lines of writing stand outside it). Sheet music is drawn by
``assets/inside`` (abcjs from ``assets/abcjs``, served by the app itself).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import streamlit as st
import streamlit.components.v1 as components

from musicgen.abcnotation.tunetypes import NO_FORM
from musicgen.app import inside, stepview
from musicgen.app import support as sup
from musicgen.app.render import Sound, make_sound
from musicgen.app.settings import KEYS, METERS, RANGES, Settings
from musicgen.app.text import code_html, plain
from musicgen.compose.sample import Generator, Tune
from musicgen.config import MAX_PRIMER, SampleConfig
from musicgen.data.corpus import split_tunes
from musicgen.judge.explain import Explanation, explain_abc, explain_generated, heldout_surprises
from musicgen.judge.quality import ends_with_bar_line
from musicgen.judge.walk import Walk
from musicgen.judge.words import words
from musicgen.model import checkpoint

ASSETS = Path(__file__).resolve().parent / "assets"
K = "inside_"  # the prefix of every widget and state key of this mode
SPEEDS = {"slow": (1.0, 1), "medium": (0.5, 2), "fast": (0.25, 3), "fastest": (0.2, 8)}  # seconds a tick, steps
MAX_LINES = 10  # lines of writing a session keeps in the step-by-step view (the oldest branch goes first)


def _key(gen: Generator) -> str:
    return str(gen.checkpoint.path) if gen.checkpoint.path else f"in memory {id(gen)}"


@st.cache_resource(show_spinner=False, max_entries=64)
def _explained(_gen: Generator, weights: str, cfg: str) -> tuple[Tune, Explanation]:
    return explain_generated(_gen, SampleConfig.from_dict(json.loads(cfg)))


@st.cache_resource(show_spinner=False, max_entries=64)
def _explained_abc(_gen: Generator, weights: str, tune: str, form: str | None = None) -> Explanation:
    return explain_abc(_gen.engine, tune, form=form)


@st.cache_resource(show_spinner="Reading the held-out tunes…", max_entries=4)
def _heldout(_gen: Generator, weights: str) -> tuple[list[float], str | None]:
    return heldout_surprises(_gen)


@st.cache_resource(show_spinner=False, max_entries=4)
def _absence(_gen: Generator, weights: str) -> str | None:
    return sup.meter_aware_absence(_gen)


@st.cache_resource(show_spinner=False, max_entries=16)
def _generator(path: str) -> Generator:
    return Generator.load(path)


@st.cache_resource(show_spinner=False, max_entries=32)
def _sound(abc: str, instrument: str, accompaniment: bool, tempo: int) -> Sound:
    return make_sound(abc, instrument, accompaniment, tempo)


def sheet(abc: str, values: list[float | None], bins: tuple, legend: str, key: str, drop_sources: bool = False) -> None:
    """The tune as sheet music, its notes coloured by ``values`` (one per character of ``abc``) in ``bins``."""
    # declared on every run: each run (and each AppTest) registers the components with its own runtime
    files = components.declare_component("abcjs_files", path=str(ASSETS / "abcjs"))
    drawn = components.declare_component("inside_sheet", path=str(ASSETS / "inside"))
    abcjs = f"../{files.name}/abcjs-basic-min.js"  # the vendored script, from the app's own server
    drawn(**inside.sheet_args(abc, values, bins, legend, drop_sources), abcjs=abcjs, key=key, default=None)


def player(sound: Sound) -> None:
    if sound.audio is not None:
        st.audio(sound.audio, format=sound.audio_mime)
    else:
        st.caption(plain(sound.parse_error or sound.audio_error or "No sound could be made of this tune."))


def tune_ui(gen: Generator, settings: Settings) -> tuple[SampleConfig | None, Settings]:
    """The tune the views write: seed, temperature, key, meter, meter-aware writing (the composer's at first)."""
    ss = st.session_state
    if f"{K}seed" not in ss:
        ss[f"{K}seed"], ss[f"{K}temperature"] = settings.seed, settings.temperature
        ss[f"{K}key"], ss[f"{K}meter"], ss[f"{K}constrained"] = settings.key, settings.meter, settings.constrained
    cols = st.columns([1, 1.5, 1, 1, 1.2], vertical_alignment="bottom")
    seed = cols[0].number_input("Seed", 0, int(RANGES["seed"][1]), step=1, key=f"{K}seed")
    temperature = cols[1].slider(
        "Temperature", *RANGES["temperature"], step=0.05, key=f"{K}temperature", help="Lower: safer; higher: bolder."
    )
    key = cols[2].selectbox("Key", KEYS, key=f"{K}key", format_func=lambda v: v or "model's choice")
    meter = cols[3].selectbox("Meter", METERS, key=f"{K}meter", format_func=lambda v: v or "model's choice")
    absence = _absence(gen, _key(gen))
    constrained = absence is None and cols[4].toggle("Meter-aware", key=f"{K}constrained", help="Bars that add up.")
    chosen = dataclasses.replace(
        settings, seed=seed, temperature=temperature, key=key, meter=meter, constrained=constrained, n=1, primer=""
    )
    try:
        return chosen.sample_config(), chosen
    except ValueError as e:
        st.error(f"These settings cannot write a tune: {plain(str(e))}.")
        return None, chosen


def _json(cfg: SampleConfig) -> str:
    return json.dumps(cfg.to_dict(), sort_keys=True)


def _line() -> stepview.Line:
    return st.session_state[f"{K}lines"][st.session_state[f"{K}shown"]]


def _toggle_play() -> None:
    st.session_state[f"{K}playing"] = not st.session_state.get(f"{K}playing", False)


def _one_step() -> None:
    if not _line().walk.done:
        _line().walk.step()


def _take(char: str) -> None:
    """A bar clicked: the model's pick is a step; another character starts a branch (kept in the history)."""
    ss = st.session_state
    shown = ss[f"{K}shown"]
    ss[f"{K}shown"] = ss[f"{K}line"] = stepview.take(ss[f"{K}lines"], shown, char, MAX_LINES)
    ss[f"{K}playing"] = ss[f"{K}playing"] and ss[f"{K}shown"] == shown


def _start(gen: Generator, cfg: SampleConfig) -> None:
    ss = st.session_state
    try:
        walk = Walk(gen, cfg)
    except ValueError as e:
        st.error(f"This tune cannot be written step by step: {plain(str(e))}.")
        return
    ss[f"{K}lines"] = [stepview.Line(f"The model's own tune (seed {cfg.rng})", walk)]
    ss[f"{K}shown"] = ss[f"{K}line"] = 0  # the line shown (the radio's own state may be let go between runs)
    ss[f"{K}playing"] = False


def step_view(gen: Generator, cfg: SampleConfig) -> None:
    ss = st.session_state
    cols = st.columns([1, 1, 2], vertical_alignment="bottom")
    if cols[0].button("New tune", key=f"{K}new", icon=":material/restart_alt:") or f"{K}lines" not in ss:
        _start(gen, cfg)
    if f"{K}lines" not in ss:
        return
    playing = ss.get(f"{K}playing", False)
    cols[1].button(
        "Pause" if playing else "Play",
        key=f"{K}play",
        on_click=_toggle_play,
        icon=":material/pause:" if playing else ":material/play_arrow:",
    )
    speed = cols[2].select_slider("Speed", list(SPEEDS), value="medium", key=f"{K}speed")
    st.caption(
        "Seed, key, meter and meter-aware writing apply to a new tune; temperature applies from the next step. "
        "The sheet music catches up with the text at each space, bar line and line end."
    )
    every, per_tick = SPEEDS[speed]
    lines = ss[f"{K}lines"]
    ss[f"{K}listed"] = [x.label for x in lines]  # what the radio below lists: a branch taken in the fragment reruns all
    st.fragment(_steps, run_every=every if playing else None)(per_tick)
    st.radio(  # outside the fragment: a step does not send it again
        "Lines of writing (each branch is kept)",
        range(len(lines)),
        index=ss[f"{K}shown"],
        key=f"{K}line",
        on_change=_show,
        format_func=lambda i: plain(lines[i].label),  # labels that never change: the radio keeps its choice by them
    )


def _steps(per_tick: int) -> None:
    """The tune so far, its next characters and the line's name (a fragment: a step reruns it alone)."""
    ss = st.session_state
    if [x.label for x in ss[f"{K}lines"]] != ss[f"{K}listed"]:
        st.rerun()  # a branch was taken: the whole page, so that the lines of writing list it
    walk = _line().walk
    walk.temperature = ss[f"{K}temperature"]
    if ss.get(f"{K}playing"):
        for _ in range(per_tick):
            if not walk.done:
                walk.step()
        if walk.done:
            ss[f"{K}playing"] = False
            st.rerun()  # the whole page: the player's timer stops
    left, right = st.columns([3, 2])
    with left:
        upto = stepview.sheet_upto(walk.text, walk.done)  # the same arguments until a space or bar line: no redraw
        values = stepview.walk_values(walk)[:upto]
        sheet(walk.text[:upto], values, inside.SURPRISE_BINS, "Surprise:", f"{K}step_sheet", True)
        st.html(code_html(walk.text, wrap=True, label="the tune so far"))
    with right:
        st.button("One step", key=f"{K}one", on_click=_one_step, disabled=walk.done, icon=":material/skip_next:")
        said = stepview.just_written(walk)  # the sentences in one Markdown element: each element is a message
        if walk.done or walk.forced_next:
            if said:
                st.markdown(said)
            if walk.done:
                st.success("The tune is finished. Start a new one, or pick another line of writing below.")
            else:
                nxt = plain(words(walk.vocab.chars[walk.pick()], walk.text))
                st.info(f"The settings write the next character themselves ({nxt}): take a step.")
        else:
            st.markdown(f"{said}\n\n**What comes next** at temperature {walk.temperature:.2f}: click one to take it")
            offered = stepview.choices(walk)
            st.html(stepview.bar_style([(f"{K}choice_{i}", c.p) for i, c in enumerate(offered)]))  # buttons as bars
            for i, c in enumerate(offered):
                label = f"{c.words} · {c.p:.0%}" + (" · model's pick" if c.pick else "")
                st.button(plain(label), key=f"{K}choice_{i}", on_click=_take, args=(c.char,), width="stretch")
    st.caption(plain(stepview.line_label(_line())))
    stepview.settle_heap()  # the view drawn: what its first run imported and cached is frozen before the next step


def _show() -> None:
    st.session_state[f"{K}shown"] = st.session_state[f"{K}line"]


def surprise_view(gen: Generator, cfg: SampleConfig) -> None:
    st.caption(inside.SURPRISE_WORDS)
    source = st.radio("Which tune", ["A tune the model writes", "ABC I paste"], horizontal=True, key=f"{K}source")
    if source == "ABC I paste":
        text = st.text_area(
            "ABC of one tune",
            key=f"{K}paste",
            height=160,
            max_chars=MAX_PRIMER,
            placeholder="X:1\nT:My tune\nM:6/8\nK:D\nA|dfa afd|",
        )
        tunes = split_tunes(text)
        if not tunes:
            st.info("Paste the ABC of a tune, starting with its X: line, and press Ctrl+Enter.")
            return
        if len(tunes) > 1:
            st.caption(f"The text holds {len(tunes)} tunes: the first is mapped.")
        unknown = gen.vocab.unknown(tunes[0])
        if unknown:
            st.error(plain(f"The model does not know the character(s) {' '.join(map(repr, unknown))}: remove them."))
            return
        ex = _explained_abc(gen, _key(gen), tunes[0])
    else:
        ex = _explained(gen, _key(gen), _json(cfg))[1]
    values = [s.surprise for s in ex.steps[: len(ex.tune)]]
    sheet(ex.tune, values, inside.SURPRISE_BINS, "Each note's surprise:", f"{K}map_sheet")
    st.metric("Mean surprise", f"{ex.mean_surprise:.2f}", help="per character, the ending blank line included")
    heldout, why = _heldout(gen, _key(gen))
    if why:
        st.info(plain(why))
    else:
        st.markdown(plain(inside.placement(ex.mean_surprise, heldout)))
        st.vega_lite_chart(inside.histogram_spec(heldout, ex.mean_surprise), width="stretch")
    st.markdown("**The most surprising moments**")
    st.markdown("\n".join(f"- {plain(s)}" for s in inside.note_sentences(ex)))


def learn_view(gen: Generator, cfg: SampleConfig, settings: Settings) -> None:
    history = inside.loss_history(gen.checkpoint.metrics)
    if history:
        st.line_chart(history, x="epoch", y=["training tunes", "held-out tunes"], x_label="epoch", y_label="loss")
        st.caption("Loss is the model's mean surprise on the training tunes and on held-out tunes it never trained on.")
    else:
        st.caption("These weights record no loss history.")
    models = inside.learning_stages(gen.checkpoint.path, gen.checkpoint.metrics)
    if len(models) == 1:
        st.info(
            "These weights ship no checkpoints from earlier in their training, so only the final model writes here. "
            "Training with `musicgen train --keep-epochs 1,3,10` keeps them."
        )
    for i, (label, folder) in enumerate(models):
        if i % 2 == 0:  # two a row, in reading order
            cols = st.columns(2)
        with cols[i % 2]:
            st.markdown(f"**{label}**")
            try:
                g = gen if folder is None else _generator(str(folder))
                tune = _explained(g, _key(g), _json(cfg))[0]
            except (checkpoint.CheckpointError, ValueError) as e:
                st.warning(plain(f"This checkpoint could not write: {e}"))
                continue
            sheet(tune.abc, [], (), "", f"{K}learn_{i}")
            player(_sound(tune.abc, settings.instrument, settings.accompaniment, settings.tempo))


def rules_view(gen: Generator, cfg: SampleConfig, settings: Settings) -> None:
    absence = _absence(gen, _key(gen))
    if absence:
        st.info(plain(absence))
        return
    cols = st.columns(2)
    for col, on in zip(cols, (True, False)):
        tune, ex = _explained(gen, _key(gen), _json(cfg.replace(constrained=on)))
        with col:
            st.markdown("**Meter-aware writing on**" if on else "**Meter-aware writing off**")
            sound = _sound(tune.abc, settings.instrument, settings.accompaniment, settings.tempo)
            marks = sup.badges(sound, tune.ended, ends_with_bar_line(tune.abc), tune.abc)
            line, help_text = inside.badge_line(marks, ex.mean_surprise)
            st.markdown(line, help=help_text)
            if on:
                values = [s.removed_p for s in ex.steps[: len(ex.tune)]]
                sheet(ex.tune, values, inside.RULES_BINS, "Notes:", f"{K}rules_on")
                st.caption(f"The rules stepped in at {len(ex.stepped_in)} of {len(ex.steps)} characters.")
                notes = inside.rules_sentences(ex)
            else:
                form = cfg.replace(constrained=True).written_form  # the rules the other side was written under
                free = _explained_abc(gen, _key(gen), ex.tune, None if form == NO_FORM else form)
                at = free.let_go
                values = [1.0 if i == at else None for i in range(len(ex.tune))]
                sheet(ex.tune, values, inside.BROKEN_BINS, "Notes:", f"{K}rules_off")
                notes = [inside.free_sentence(free)]
            player(sound)
            st.markdown("\n".join(f"- {plain(s)}" for s in notes))


def render(gen: Generator, settings: Settings | None = None) -> None:
    """The mode's page: the tune's settings, the choice of view, and the view."""
    settings = settings or Settings()
    st.subheader("Inside the model", anchor=False)
    cfg, settings = tune_ui(gen, settings)
    view = st.radio("View", list(inside.VIEWS), horizontal=True, key=f"{K}view")
    st.info(inside.VIEWS[view], icon=":material/school:")
    if cfg is None:
        return
    if view == "Step by step":
        step_view(gen, cfg)
    elif view == "Surprise map":
        surprise_view(gen, cfg)
    elif view == "Watch it learn":
        learn_view(gen, cfg, settings)
    else:
        rules_view(gen, cfg, settings)
    stepview.settle_heap()
