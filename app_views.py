"""The output side of the app's page (``app.py`` draws the sidebar and imports this): the tune shown, its
player and sheet music, badges, downloads and permalink, the workbench under it (``app_tools.py``), the
session's history, the model panel, and the choice of the page's mode (compose, or look inside the model).

Widgets only, in small ``*_ui()`` functions; what they show is computed in :mod:`musicgen.app`. Every text from the
model, a primer or the address bar goes through :mod:`musicgen.app.text` (``plain``, ``code_html``): shown as text,
never as Markdown or HTML. Sounds are kept on one shared :class:`~musicgen.app.shelf.Shelf` within a budget of bytes;
a session keeps the ABC of its tunes, never their audio. The tune's text and sheet are sent before its sound is
made: the sound's parts (player, badges, downloads) fill slots laid out first.

The player and the sheet music are one component (``assets/abcjs``: the sheet follows the sound, a click on a
note moves it): its sounds reach it as addresses of Streamlit's media files, as ``st.audio``'s do, so a rerun
sends the address, never the bytes. It is drawn once a run under one key, so it keeps playing through reruns and
its frame is never loaded again: a tune whose sound is not made yet is drawn in it without sound, and once the
sound is on the shelf a rerun hands it over (a new frame would load and draw abcjs again: 0.3-0.5 s a click).
"""

from __future__ import annotations

import dataclasses
import secrets
from pathlib import Path
from urllib.parse import urlencode

import streamlit as st
import streamlit.components.v1 as components

import app_rewrite
import app_tools as tools
from musicgen.app import render
from musicgen.app import support as sup
from musicgen.app.session import Entry, candidate_label, edited, history_line, keep_recent, title_of
from musicgen.app.settings import Settings, changed, to_query
from musicgen.app.text import code_html, plain
from musicgen.compose.constrain import FREE_WRITING
from musicgen.compose.sample import Generator
from musicgen.judge.quality import ends_with_bar_line

ASSETS = Path(__file__).resolve().parent / "assets"


MODES = {"compose": "Compose", "inside": "Inside the model"}  # the page's two modes
# The other mode's widgets whose values wait while the composer is shown (app_inside.py's keys, less its prefix)
INSIDE_KEPT = ("seed", "temperature", "key", "meter", "constrained", "view", "source", "paste")


def mode_ui() -> str:
    """The page's mode: the composer (with its tune and workbench), or the classroom's views of the model."""
    st.session_state.setdefault("mode", "compose")
    with st.container(key="noprint_mode"):
        mode = st.radio(  # radio buttons: the page's Compose buttons stay the only buttons of that name
            "Mode",
            list(MODES),
            key="mode",
            format_func=MODES.get,
            horizontal=True,
            label_visibility="collapsed",
            help="Compose a tune, or watch the model write, choose, learn and keep the rules (for a class).",
        )
    if mode != "inside":  # a widget not drawn in a run loses its value, unless the run sets it
        for key in (f"inside_{k}" for k in INSIDE_KEPT):
            if key in st.session_state:
                st.session_state[key] = st.session_state[key]
    return mode or "compose"


def token() -> str:
    """A mark not used before in this session: the sheet's player acts once on each (play, close the sidebar)."""
    ss = st.session_state
    ss.setdefault("nonce", secrets.token_hex(4))
    ss.tokens = ss.get("tokens", 0) + 1
    return f"{ss.nonce}.{ss.tokens}"


def show_entry(i: int, play: bool = False) -> None:
    ss = st.session_state
    ss.current = i
    if not ss.history[i].edit:
        ss[f"cand_{ss.history[i].batch}"] = candidate_label(ss.history[i])
    if play:  # a history's Play (a callback): the tune from its start, not a passage of the one before
        ss.play = token()
        ss.loop_on = False


def keep_version(index: int, text: str, how: str = "") -> None:
    """Put a new version of a tune (an edit, a transposition, a rewrite: ``how`` says which) beside the tune it
    came from in the history, and play it; the same text of the same tune already there is shown again."""
    ss = st.session_state
    of = ss.history[index]
    same = (of.batch, of.candidate)
    found = next((i for i, e in enumerate(ss.history) if e.abc == text and (e.batch, e.candidate) == same), None)
    if found is None:
        ss.history, ss.current = keep_recent([*ss.history, edited(ss.history, of, text, how)], ss.current)
        found = len(ss.history) - 1
    show_entry(found, play=True)


def sheet_music():  # type: ignore[no-untyped-def]
    # declared on every run: each run (and each AppTest) registers the component with its own runtime
    return components.declare_component("sheet_music", path=str(ASSETS / "abcjs"))


def sheet_ui(
    entry: Entry, abc: str, sound: render.Sound, loop: dict | None, marked: list[int] | None, key: str = "sheet"
) -> object:
    """The player and the sheet music, one component under one key: it keeps playing through reruns. Returns
    its value: the last note clicked (``app_rewrite.choice`` reads it)."""
    audio = None
    if sound.audio is not None:
        audio = dict(url=tools.media_url(sound.audio, sound.audio_mime, "musicgen.tune"), music_s=sound.music_seconds)
    ss = st.session_state
    return sheet_music()(
        abc=abc,
        title=title_of(entry.abc),  # the sheet is drawn before the tune is parsed: its T: line, as music21 reads it
        audio=audio,
        follows=abc == render.sheet_text(entry.abc),
        loop=loop,
        marked=marked,
        play=ss.get("play", ""),
        compose=ss.get("composed", ""),
        stem=stem_of(entry, sound),
        choose=True,  # a click on a note chooses its bar
        key=key,
        default=None,
    )


def badges_ui(entry: Entry, sound: render.Sound) -> None:
    ended = entry.tune.ended or bool(entry.edit)  # an edit is the listener's whole text
    marks = sup.badges(sound, ended, ends_with_bar_line(entry.abc), entry.abc)
    line, help_text = sup.badge_markdown(marks, None if entry.edit else entry.tune.nats_per_char)
    st.markdown(line, help=help_text)


def stem_of(entry: Entry, sound: render.Sound) -> str:
    stem = sup.file_stem(sound.title or title_of(entry.abc), entry.settings.seed, entry.candidate)
    return f"{stem}-edit{entry.edit}" if entry.edit else stem


def downloads_ui(entry: Entry, sound: render.Sound) -> None:
    stem = stem_of(entry, sound)
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
    same = {candidate_label(e): i for i, e in enumerate(ss.history) if e.batch == entry.batch and not e.edit}
    if len(same) < 2 or entry.edit:
        return
    key = f"cand_{entry.batch}"
    st.radio(
        "Candidates",
        list(same),
        key=key,
        horizontal=True,
        on_change=lambda: show_entry(same[st.session_state[key]]),
        persist_state="page",  # kept while the page shows its other mode
    )


def changed_ui(entry: Entry, settings: Settings) -> None:
    """A sign that the settings in the sidebar would write another tune than the one shown."""
    names = changed(entry.settings, settings)
    if names:
        st.caption(
            f":material/sync_problem: Made with other settings: the {', '.join(names)} changed since. "
            "Press **Compose** for a tune with the new ones.",
        )


def permalink_ui(entry: Entry, settings: Settings) -> None:
    """Point the address bar (and a copyable link) at the settings that give this tune."""
    sound_opts = {k: getattr(settings, k) for k in ("instrument", "accompaniment", "tempo")}
    query = to_query(dataclasses.replace(entry.settings, **sound_opts), pick=entry.candidate)
    if st.query_params.to_dict() != query:
        st.query_params.from_dict(query)
    base = (st.context.url or "").split("?")[0]
    if entry.edit:
        st.caption("Permalink (it gives the tune as composed; your edit is in the ABC download):")
    else:
        st.caption("Permalink (the same settings and seed give this tune again):")
    st.container(key="permalink").html(code_html(f"{base}?{urlencode(query)}", wrap=True, label="the permalink"))


def player_notes_ui(sound: render.Sound) -> None:
    for error in (sound.parse_error, sound.audio_error):
        if error:
            st.error(plain(error))
    note = getattr(sound, "audio_note", None)  # a sentence when the audio stops at the server's ceiling
    if note:
        st.caption(plain(note))


def output_ui(settings: Settings, gen: Generator) -> None:
    ss = st.session_state
    if ss.current is None:
        st.info(
            "Choose a key, a meter or nothing at all in the sidebar, and press **Compose**.",
            icon=":material/music_note:",
        )
        return
    index = ss.current
    entry = ss.history[index]
    # The tune's text and sheet are sent first, its sound after: slots keep the page's order meanwhile.
    head = st.container(key="print_title").empty()
    head.subheader(plain(title_of(entry.abc) or "Untitled tune"), anchor=False)
    with st.container(key="noprint_about"):
        candidates_ui(entry)
        badges_slot = st.container()
        changed_ui(entry, settings)
        if entry.settings.constrained and not entry.tune.meter_aware:  # the settings' meter, or else the primer
            st.info(plain(entry.settings.free_writing() or FREE_WRITING), icon=":material/info:")
        player_slot = st.container()
    sheet_slot, clicked_slot = st.empty(), st.container(key="noprint_clicked")
    with st.container(key="noprint_files"):
        downloads_slot, repairs_slot = st.container(), st.container()
    tune_text = render.sheet_text(entry.abc)
    shown = render.sheet_text(tools.draft_of(entry))  # the sheet follows an edit being made
    kept = (entry.abc, settings.instrument, settings.accompaniment, settings.tempo, 1.0)
    sound, sheet_key = tools.sound_shelf().peek(kept), "sheet"
    if sound is None:  # the player's own frame draws the new tune at once (no new frame to load), without sound
        with sheet_slot:
            sheet_ui(entry, shown, render.Sound(), None, None)
        with player_slot, st.spinner("Making the sound…"):
            sound = tools.sound_of(entry.abc, settings.instrument, settings.accompaniment, settings.tempo)
        if tools.sound_shelf().peek(kept) is sound and not st.session_state.get("handed_over"):  # once: no loop
            st.session_state.handover = True  # the next run says again what this one said (app.say)
            st.rerun()  # one draw a run under one key: the next run hands that frame its sound (from the shelf)
        sheet_key = "sheet_unkept"  # a sound not kept (too big, or gone again): its player in a frame of its own
    bars = tools.wb.bar_count(tune_text)
    practice = tools.practice_choice(entry, bars)
    loop, marked, problem = None, None, None
    if practice.on and shown == tune_text and sound.parses:
        with player_slot:
            loop, marked, problem = tools.loop_of(tune_text, practice, settings)
    if sound.parses or shown != tune_text:
        chosen = app_rewrite.choice(entry, shown, st.session_state.get("sheet"))  # the sheet's value, before it
        with sheet_slot:  # a passage to practise is marked, or else the bar chosen
            sheet_ui(entry, shown, sound, loop, marked or app_rewrite.marks(chosen), sheet_key)
        with clicked_slot:
            app_rewrite.clicked_ui(
                gen, entry, index, chosen, shown != tune_text, settings, keep_version, tools.sound_of
            )
    else:
        sheet_slot.empty()
    if (sound.title or title_of(entry.abc)) != title_of(entry.abc):
        head.subheader(plain(sound.title or "Untitled tune"), anchor=False)
    with badges_slot:
        badges_ui(entry, sound)
    with player_slot:
        player_notes_ui(sound)
    with downloads_slot:
        downloads_ui(entry, sound)
    if sound.repairs:
        repairs_slot.caption(plain("To read this tune, the converter " + "; ".join(sound.repairs) + "."))
    with st.container(key="noprint_tools"):
        tools.tools_ui(entry, index, bars, problem, keep_version, gen, settings)
        with st.expander("ABC text", expanded=True), st.container(key="abc_text"):
            st.html(code_html(entry.abc, label="the ABC text"))
        permalink_ui(entry, settings)


def history_ui() -> None:
    ss = st.session_state
    if not ss.history:
        return
    with (
        st.container(key="noprint_history"),
        st.expander(f"This session: {len(ss.history)} tune(s)", icon=":material/history:"),
    ):
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
                args=(i, True),
                icon=":material/play_arrow:",
                help="Show this tune and play it from the start.",
            )


def model_ui(gen: Generator) -> None:
    ckpt = gen.checkpoint
    with st.container(key="noprint_model"):
        about = st.expander("About the model", icon=":material/info:", key="about_model", on_change="rerun")
    if not about.open:  # drawn once opened: every run before sends none of the card, and a page loads faster
        return
    with about:
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
