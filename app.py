"""musicgen in the browser: compose a folk tune, read it, hear it, download it.

    streamlit run app.py                                  # the shipped weights (weights/nottingham)
    MUSICGEN_WEIGHTS=weights/mymodel streamlit run app.py # weights of your own

A thin shell over the ``musicgen`` package: widgets live in small ``*_ui()``
functions returning plain values; what they show is computed by
:mod:`musicgen.app.settings`, :mod:`musicgen.app.render` and :mod:`musicgen.app.support`. The generator is loaded once per process
(``st.cache_resource``, shared by every session and never changed), conversions
are cached (``st.cache_data``), and each user's tunes live in ``st.session_state``.
Sheet music is drawn by abcjs, served from ``assets/abcjs`` (works offline).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from pathlib import Path
from urllib.parse import urlencode

import streamlit as st
import streamlit.components.v1 as components

from musicgen.abcnotation import tunetypes
from musicgen.app import render
from musicgen.app import support as sup
from musicgen.app.settings import RANGES, Settings, from_query, to_query
from musicgen.compose.constrain import FREE_WRITING
from musicgen.compose.sample import Generator, Tune
from musicgen.judge.quality import ends_with_bar_line
from musicgen.model.checkpoint import CheckpointError
from musicgen.sound import export

ASSETS = Path(__file__).resolve().parent / "assets"
KEYS = ["", "G", "D", "A", "C", "F", "Bb", "E", "Am", "Em", "Dm", "Gm", "Bm", "Ador", "Edor", "Dmix", "Gmix"]
METERS = ["", "4/4", "6/8", "3/4", "2/4", "9/8", "6/4", "3/2", "2/2"]
TUNE_TYPES = ["", *(t.name for t in tunetypes.TUNE_TYPES)]  # the types whose usual meter the prompt knows
TUNE_TYPE_HELP = "R: line of the tune. Without a meter, the type's usual one is used:\n\n" + "\n".join(
    f"- {t.name}: {t.meter}, {t.form}" for t in tunetypes.TUNE_TYPES
)
SEED_MAX = int(RANGES["seed"][1])  # seeds a person can read and type
TEMPOS = [0, *range(40, 241, 10)]  # beats a minute in the tune's own beat; 0: the tune's own tempo

sheet_music = components.declare_component("sheet_music", path=str(ASSETS / "abcjs"))


@dataclasses.dataclass(frozen=True)
class Entry:
    """One tune of this session, with what made it."""

    abc: str
    settings: Settings
    candidate: int  # its place among the candidates of one Compose
    batch: int  # which Compose made it
    tune: Tune


@st.cache_resource(show_spinner="Loading the model…")
def load_generator(path: str | None) -> Generator:
    render.limit_malloc_arenas()  # once per process, before the sessions' threads fill their own heaps
    return Generator.load(path)


@st.cache_resource(show_spinner=False)
def offers_meter_aware(path: str | None) -> bool:
    return sup.offers_constrained(load_generator(path))


@st.cache_data(max_entries=4, show_spinner=False)  # a minute of WAV is 11 MB: keep the last few tunes only
def cached_sound(abc: str, instrument: str, accompaniment: bool, tempo: int) -> render.Sound:
    sound = render.make_sound(abc, instrument, accompaniment, tempo)
    render.release_free_memory()
    return sound


def init_state(gen: Generator) -> None:
    """First run of a session: defaults, or the settings of the permalink it was opened with."""
    ss = st.session_state
    if "history" in ss:
        return
    settings, pick, problems = from_query(st.query_params.to_dict())
    if problems:
        st.warning("The link had settings this app cannot read, so defaults were used for: " + "; ".join(problems))
    if "seed" not in st.query_params:
        settings = dataclasses.replace(settings, seed=secrets.randbelow(SEED_MAX + 1))
    for f in dataclasses.fields(Settings):
        ss[f"opt_{f.name}"] = getattr(settings, f.name)
    ss.opt_reseed = "seed" not in st.query_params  # a permalink keeps its seed
    ss.history = []
    ss.current = None
    ss.compose = "seed" in st.query_params  # a permalink plays its tune at once
    ss.pick = pick


def request_compose() -> None:
    ss = st.session_state
    if ss.opt_reseed:
        ss.opt_seed = secrets.randbelow(SEED_MAX + 1)
    ss.compose = True
    ss.pick = None  # show the best-formed candidate


def new_seed() -> None:
    st.session_state.opt_seed = secrets.randbelow(SEED_MAX + 1)


def show_entry(i: int) -> None:
    ss = st.session_state
    ss.current = i
    ss[f"cand_{ss.history[i].batch}"] = candidate_label(ss.history[i])


def candidate_label(e: Entry) -> str:
    return f"{e.candidate + 1}{'' if e.tune.ended else ' (cut off)'}"


def _choice(label: str, options: list[str], key: str, **kwargs: object) -> str:
    """A selectbox whose first option, "", reads as the model's choice; a linked value joins the list."""
    value = st.session_state.get(key, "")
    if value not in options:
        options = [*options, value]
    return st.selectbox(label, options, key=key, format_func=lambda v: v or "the model's choice", **kwargs)


def tune_ui(gen: Generator) -> dict[str, str]:
    st.subheader("Tune")
    key = _choice("Key", KEYS, "opt_key", help="K: line of the tune")
    meter = _choice("Meter", METERS, "opt_meter", help="M: line, e.g. 6/8 for a jig, 4/4 for a reel")
    tune_type = _choice(
        "Tune type",
        TUNE_TYPES,
        "opt_tune_type",
        help=TUNE_TYPE_HELP,
    )
    chars = ["", *(c for c in gen.vocab.chars if c.isprintable())]
    if st.session_state.opt_seed_char not in chars:
        st.session_state.opt_seed_char = ""
    seed_char = st.selectbox(
        "Seed character",
        chars,
        key="opt_seed_char",
        format_func=sup.char_label,
        help="The tune's first character. X starts a header (title, meter, key); random varies it per tune.",
    )
    primer = st.text_area(
        "Continue my tune (ABC primer)",
        key="opt_primer",
        height=100,
        placeholder="X:1\nT:My tune\nM:6/8\nK:D\nA|dfa afd|",
        help="The model continues this ABC. Leave empty to start a new tune.",
    )
    return dict(key=key, meter=meter, tune_type=tune_type, seed_char=seed_char, primer=primer)


def sampling_ui(meter_aware: bool) -> dict[str, object]:
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
    constrained = meter_aware and st.toggle(
        "Meter-aware (bars add up)",
        key="opt_constrained",
        help="Keeps every bar the meter's length while the model writes.",
    )
    return dict(length=length, temperature=temperature, seed=seed, n=n, constrained=constrained)


def sound_ui() -> dict[str, object]:
    st.subheader("Sound")
    instrument = st.selectbox("Instrument", list(export.INSTRUMENTS), key="opt_instrument")
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


def controls_ui(gen: Generator, meter_aware: bool) -> Settings:
    """The sidebar; returns the settings it shows."""
    with st.sidebar:
        st.button("Compose", type="primary", on_click=request_compose, icon=":material/music_note:", width="stretch")
        tune, sampling = tune_ui(gen), sampling_ui(meter_aware)
        note = Settings(**tune, **sampling).free_writing()  # type: ignore[arg-type]
        if note:  # said before composing: this meter is written freely
            st.info(note, icon=":material/info:")
        return Settings(**tune, **sampling, **sound_ui())  # type: ignore[arg-type]


def compose(gen: Generator, settings: Settings) -> None:
    """Write new tunes into the history and show the best-formed (or the permalink's) one."""
    ss = st.session_state
    try:
        cfg = settings.sample_config()
        with st.spinner("Composing…"):
            tunes = gen.generate(cfg)
    except ValueError as e:  # bad settings or primer (UnknownCharacterError is a ValueError)
        st.error(f"Nothing was composed: {e}. Change that setting and press Compose again.")
        return
    batch = 1 + max((e.batch for e in ss.history), default=0)
    start = len(ss.history)
    ss.history.extend(Entry(t.abc, settings, i, batch, t) for i, t in enumerate(tunes))
    # Tunes that end by themselves, then by how sure the model was; a permalink names its own.
    order = sorted(range(len(tunes)), key=lambda i: (not tunes[i].ended, tunes[i].nats_per_char))
    shown = ss.pick if ss.pick is not None and 0 <= ss.pick < len(tunes) else order[0]
    show_entry(start + shown)


def sheet_ui(entry: Entry, sound: render.Sound) -> None:
    sheet_music(
        abc=render.sheet_text(entry.abc), title=sound.title, key=f"sheet_{entry.batch}_{entry.candidate}", default=None
    )


def badges_ui(entry: Entry, sound: render.Sound) -> None:
    marks = sup.badges(sound, entry.tune.ended, ends_with_bar_line(entry.abc))
    text = " ".join(
        f":{'green' if b.ok else 'orange'}-badge[{':material/check:' if b.ok else ':material/close:'} {b.label}]"
        for b in marks
    )
    st.markdown(
        f"{text} :gray-badge[{entry.tune.nats_per_char:.2f} nats/char]",
        help="\n\n".join(f"**{b.label}**: {b.help}" for b in marks),
    )


def downloads_ui(entry: Entry, sound: render.Sound) -> None:
    stem = sup.file_stem(sound.title, entry.settings.seed, entry.candidate)
    cols = st.container(key="downloads").columns(4)
    cols[0].download_button(
        "ABC", entry.abc, f"{stem}.abc", "text/vnd.abc", on_click="ignore", icon=":material/download:", width="stretch"
    )
    cols[1].download_button(
        "MIDI",
        sound.midi or b"",
        f"{stem}.mid",
        "audio/midi",
        on_click="ignore",
        icon=":material/download:",
        width="stretch",
        disabled=sound.midi is None,
    )
    audio = sound.audio or b""  # handed over on click: the player already holds these bytes, once is enough
    cols[2].download_button(
        "Audio (WAV)",
        lambda: audio,
        f"{stem}.{render.AUDIO_FORMAT}",
        sound.audio_mime,
        on_click="ignore",
        icon=":material/download:",
        width="stretch",
        disabled=sound.audio is None,
    )
    abc = entry.abc
    cols[3].download_button(
        "MusicXML",
        lambda: render.musicxml(abc),
        f"{stem}.musicxml",
        "application/vnd.recordare.musicxml+xml",
        on_click="ignore",
        icon=":material/download:",
        width="stretch",
        disabled=not sound.parses,
    )


def candidates_ui(entry: Entry) -> None:
    ss = st.session_state
    same = {candidate_label(e): i for i, e in enumerate(ss.history) if e.batch == entry.batch}
    if len(same) < 2:
        return
    key = f"cand_{entry.batch}"
    st.radio(
        "Candidates", list(same), key=key, horizontal=True, on_change=lambda: show_entry(same[st.session_state[key]])
    )


def permalink_ui(entry: Entry, settings: Settings) -> None:
    """Point the address bar (and a copyable link) at the settings that give this tune."""
    sound_opts = {k: getattr(settings, k) for k in ("instrument", "accompaniment", "tempo")}
    query = to_query(dataclasses.replace(entry.settings, **sound_opts), pick=entry.candidate)
    if st.query_params.to_dict() != query:
        st.query_params.from_dict(query)
    base = (st.context.url or "").split("?")[0]
    st.caption("Permalink (the same settings and seed give this tune again):")
    st.container(key="permalink").code(f"{base}?{urlencode(query)}", language=None, wrap_lines=True)


def output_ui(settings: Settings) -> None:
    ss = st.session_state
    if ss.current is None:
        st.info(
            "Choose a key, a meter or nothing at all, and press **Compose** in the sidebar.",
            icon=":material/music_note:",
        )
        return
    entry = ss.history[ss.current]
    with st.spinner("Making the sound…"):
        sound = cached_sound(entry.abc, settings.instrument, settings.accompaniment, settings.tempo)
    st.subheader(sound.title or "Untitled tune")
    candidates_ui(entry)
    badges_ui(entry, sound)
    if entry.settings.constrained and not entry.tune.meter_aware:  # the settings' meter, or else the primer
        st.info(entry.settings.free_writing() or FREE_WRITING, icon=":material/info:")
    for error in (sound.parse_error, sound.audio_error):
        if error:
            st.error(error)
    if sound.audio is not None:
        st.audio(sound.audio, format=sound.audio_mime)
    downloads_ui(entry, sound)
    if sound.parses:
        sheet_ui(entry, sound)
    if sound.repairs:
        st.caption("To read this tune, the converter " + "; ".join(sound.repairs) + ".")
    with st.expander("ABC text", expanded=True), st.container(key="abc_text"):
        st.code(entry.abc, language=None)
    permalink_ui(entry, settings)


def history_ui() -> None:
    ss = st.session_state
    if not ss.history:
        return
    with st.expander(f"This session: {len(ss.history)} tune(s)", icon=":material/history:"):
        abcs = [e.abc for e in ss.history]
        st.download_button(
            "Download tunebook (.abc)",
            lambda: sup.tunebook(abcs),
            "tunebook.abc",
            "text/vnd.abc",
            on_click="ignore",
            icon=":material/library_music:",
        )
        for i, e in reversed(list(enumerate(ss.history))):
            text_col, button_col = st.columns([5, 1], vertical_alignment="center")
            s = e.settings
            what = ", ".join(x for x in (s.key and f"K:{s.key}", s.meter and f"M:{s.meter}", s.tune_type) if x)
            title = next((line[2:] for line in e.abc.splitlines() if line.startswith("T:")), "") or "Untitled"
            text_col.markdown(
                f"**{i + 1}. {title}** · seed {s.seed}, candidate {e.candidate + 1}"
                f"{' · ' + what if what else ''}{' · *now showing*' if i == ss.current else ''}"
            )
            button_col.button(
                "Play",
                key=f"show_{i}",
                on_click=show_entry,
                args=(i,),
                icon=":material/play_arrow:",
                disabled=i == ss.current,
            )


def model_ui(gen: Generator) -> None:
    ckpt = gen.checkpoint
    with st.expander("About the model", icon=":material/info:"):
        val = ckpt.metrics.get("best_val_loss")
        cols = st.columns(4)
        cols[0].metric("Weights", ckpt.path.name if ckpt.path else "in memory")
        cols[1].metric("Val loss (nats/char)", f"{val:.3f}" if isinstance(val, (int, float)) else "n/a")
        cols[2].metric("Vocabulary", f"{len(gen.vocab)} chars")
        cols[3].metric("Parameters", f"{ckpt.n_params:,}")
        card = ckpt.path / "MODEL_CARD.md" if ckpt.path else None
        if card is not None and card.is_file():
            for kind, text in sup.card_parts(card.read_text(encoding="utf-8")):
                if kind == "markdown":
                    st.markdown(text)
                elif (card.parent / text).is_file():  # a plot beside the card (loss.png)
                    st.image(str(card.parent / text))
        else:
            st.caption("No model card in this weights folder: write one with `musicgen card --weights FOLDER`.")


def main() -> None:
    st.set_page_config(page_title="musicgen: folk tunes", page_icon="🎻", layout="wide")
    st.title("musicgen", anchor=False)
    st.caption("New folk tunes from a character-level LSTM trained on the Nottingham Music Database.")
    try:
        weights = os.environ.get("MUSICGEN_WEIGHTS") or None
        gen = load_generator(weights)
    except CheckpointError as e:
        st.error(
            f"The model could not be loaded: {e}. Set MUSICGEN_WEIGHTS to a folder written by "
            "`musicgen train`, or restore weights/nottingham."
        )
        st.stop()
    init_state(gen)
    settings = controls_ui(gen, offers_meter_aware(weights))
    if st.session_state.compose:
        st.session_state.compose = False
        compose(gen, settings)
    output_ui(settings)
    history_ui()
    model_ui(gen)


main()
