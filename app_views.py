"""The output side of the app's page (``app.py`` draws the sidebar and imports this): the tune shown, its
sound, badges, downloads and permalink, the session's history, and the model panel.

Widgets only, in small ``*_ui()`` functions; what they show is computed in :mod:`musicgen.app`. Every text
from the model, a primer or the address bar goes through :func:`musicgen.app.text.plain` (or ``st.code``),
so it is shown as text, never as Markdown or HTML. Sounds are kept on one shared :class:`~musicgen.app.shelf.Shelf`
within a budget of bytes; a session keeps the ABC of its tunes, never their audio. The tune's text and sheet
are sent before its sound is made: the sound's parts (player, badges, downloads) fill slots laid out first.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import urlencode

import streamlit as st
import streamlit.components.v1 as components

from musicgen.app import render
from musicgen.app import support as sup
from musicgen.app.session import Entry, candidate_label, history_line, title_of
from musicgen.app.settings import Settings, to_query
from musicgen.app.shelf import SOUND_BYTES, SOUND_ENTRIES, Shelf
from musicgen.app.text import plain
from musicgen.compose.constrain import FREE_WRITING
from musicgen.compose.sample import Generator
from musicgen.judge.quality import ends_with_bar_line

ASSETS = Path(__file__).resolve().parent / "assets"


@st.cache_resource(show_spinner=False)
def sound_shelf() -> Shelf[tuple[str, str, bool, int], render.Sound]:
    return Shelf(SOUND_BYTES, SOUND_ENTRIES)  # one per process: every session plays from it


def sound_of(abc: str, instrument: str, accompaniment: bool, tempo: int) -> render.Sound:
    def make() -> render.Sound:
        sound = render.make_sound(abc, instrument, accompaniment, tempo)
        render.release_free_memory()
        return sound

    return sound_shelf().get((abc, instrument, accompaniment, tempo), make)


def show_entry(i: int) -> None:
    ss = st.session_state
    ss.current = i
    ss[f"cand_{ss.history[i].batch}"] = candidate_label(ss.history[i])


def sheet_ui(entry: Entry) -> None:
    # declared on every run: each run (and each AppTest) registers the component with its own runtime
    sheet_music = components.declare_component("sheet_music", path=str(ASSETS / "abcjs"))
    title = title_of(entry.abc)  # the sheet is drawn before the tune is parsed: its T: line, as music21 reads it
    sheet_music(
        abc=render.sheet_text(entry.abc), title=title, key=f"sheet_{entry.batch}_{entry.candidate}", default=None
    )


def badges_ui(entry: Entry, sound: render.Sound) -> None:
    marks = sup.badges(sound, entry.tune.ended, ends_with_bar_line(entry.abc), entry.abc)
    line, help_text = sup.badge_markdown(marks, entry.tune.nats_per_char)
    st.markdown(line, help=help_text)


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
    midi = sound.midi or b""  # the full-quality file is rendered on click: the player holds a smaller one
    cols[2].download_button(
        "Audio (WAV)",
        lambda: render.full_audio(midi),
        f"{stem}.{render.AUDIO_FORMAT}",
        sound.audio_mime,
        on_click="ignore",
        icon=":material/download:",
        width="stretch",
        disabled=sound.audio is None,
    )
    abc = entry.abc
    refusal = getattr(sound, "musicxml_error", None)  # a sentence when MusicXML of this tune would be refused
    cols[3].download_button(
        "MusicXML",
        lambda: render.musicxml(abc),
        f"{stem}.musicxml",
        "application/vnd.recordare.musicxml+xml",
        on_click="ignore",
        icon=":material/download:",
        width="stretch",
        disabled=not sound.parses or bool(refusal),
        help=plain(refusal) if refusal else None,
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


def player_ui(sound: render.Sound) -> None:
    for error in (sound.parse_error, sound.audio_error):
        if error:
            st.error(plain(error))
    if sound.audio is not None:
        st.audio(sound.audio, format=sound.audio_mime)
    note = getattr(sound, "audio_note", None)  # a sentence when the audio stops at the server's ceiling
    if note:
        st.caption(plain(note))


def output_ui(settings: Settings) -> None:
    ss = st.session_state
    if ss.current is None:
        st.info(
            "Choose a key, a meter or nothing at all, and press **Compose** in the sidebar.",
            icon=":material/music_note:",
        )
        return
    entry = ss.history[ss.current]
    # The tune's text and sheet are sent first, its sound after: slots keep the page's order meanwhile.
    head = st.empty()
    head.subheader(plain(title_of(entry.abc) or "Untitled tune"), anchor=False)
    candidates_ui(entry)
    badges_slot = st.container()
    if entry.settings.constrained and not entry.tune.meter_aware:  # the settings' meter, or else the primer
        st.info(plain(entry.settings.free_writing() or FREE_WRITING), icon=":material/info:")
    player_slot, downloads_slot, sheet_slot, repairs_slot = st.container(), st.container(), st.empty(), st.container()
    with sheet_slot:
        sheet_ui(entry)
    with st.expander("ABC text", expanded=True), st.container(key="abc_text"):
        st.code(entry.abc, language=None)
    permalink_ui(entry, settings)
    with player_slot, st.spinner("Making the sound…"):
        sound = sound_of(entry.abc, settings.instrument, settings.accompaniment, settings.tempo)
    if (sound.title or title_of(entry.abc)) != title_of(entry.abc):
        head.subheader(plain(sound.title or "Untitled tune"), anchor=False)
    with badges_slot:
        badges_ui(entry, sound)
    with player_slot:
        player_ui(sound)
    with downloads_slot:
        downloads_ui(entry, sound)
    if not sound.parses:
        sheet_slot.empty()
    if sound.repairs:
        repairs_slot.caption(plain("To read this tune, the converter " + "; ".join(sound.repairs) + "."))


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
            text_col.markdown(history_line(i + 1, e, showing=i == ss.current))
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
        if card is not None and card.is_file():  # the operator's weights folder: its card is Markdown
            for kind, text in sup.card_parts(card.read_text(encoding="utf-8")):
                if kind == "markdown":
                    st.markdown(text)
                elif (card.parent / text).is_file():  # a plot beside the card (loss.png)
                    st.image(str(card.parent / text))
        else:
            st.caption("No model card in this weights folder: write one with `musicgen card --weights FOLDER`.")
