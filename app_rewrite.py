"""The workbench's Rewrite tab (``app_tools.tools_ui`` draws it): new music for some bars of the tune shown.

"Bars N to M" keeps everything else byte for byte; "from bar N" keeps bars 1 to N-1 and lets the model write
the rest (:func:`musicgen.compose.rewrite.rewrite`, at the sidebar's temperature, meter-aware when the sidebar
writes so). The candidates come ranked, each as sheet music with its new notes coloured, a Play button (its
sound under it) and a Use button that makes it the tune shown, kept in the history beside the original. What
this shows is computed by :mod:`musicgen.app.rewriting`; every widget key starts ``rw_``. The candidates of
the last rewrite are kept in ``st.session_state.rw_found`` (one rewrite a session: a few kilobytes of ABC).

A click on a note in the sheet music chooses its bar (:func:`choice`, from the sheet component's value):
just under the sheet, :func:`clicked_ui` says which and offers "Rewrite from bar N" and "Rewrite bars N to
N+1"; those set this tab's controls to match and show their candidates right there, under the sheet.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

import app_inside
from musicgen.app import rewriting as rw
from musicgen.app.render import Sound
from musicgen.app.session import Entry
from musicgen.app.settings import RANGES, Settings
from musicgen.app.text import plain
from musicgen.compose.rewrite import Rewrite, rewrite
from musicgen.compose.sample import Generator

Keep = Callable[[int, str, str], None]  # (the shown entry's index, a new version's text, what made it)
SoundOf = Callable[[str], Sound]  # a tune's sound with the sidebar's instrument, accompaniment and tempo
PERSIST = "page"  # widgets keep their values while the page shows the other mode
KINDS = {"range": "Bars N to M", "rest": "From bar N to the end"}
DEFAULT_N = 4


@dataclass(frozen=True)
class Found:
    """The last rewrite of a session: which tune it was of, its candidates (or why there are none)."""

    ident: str
    abc: str
    rewrite: Rewrite | None
    error: str | None
    start: int = 0  # where the new music starts in every candidate
    near_sheet: bool = False  # asked for from a bar clicked in the sheet music: its candidates are shown there


def _bars_ui(entry: Entry, bars: int, kind: str) -> tuple[int, int | None]:
    """The bars chosen: (first, last) for a range, (first, None) from a bar to the end."""
    ss = st.session_state
    if bars == 1:
        st.caption("Bar 1, the tune's only bar.")
        return 1, 1 if kind == "range" else None
    if kind == "range":
        key = f"rw_bars_{entry.ident}"
        ss.setdefault(key, (min(2, bars), min(3, bars)))
        first, last = st.slider("Bars to rewrite", 1, bars, key=key, persist_state=PERSIST)
        return int(first), int(last)
    key = f"rw_from_{entry.ident}"
    ss.setdefault(key, max(1, bars // 2 + 1))
    first = st.slider("Rewrite from bar", 1, bars, key=key, help="Bars before it are kept.", persist_state=PERSIST)
    return int(first), None


def _run(gen: Generator, entry: Entry, first: int, last: int | None, settings: Settings, n: int, seed: int) -> Found:
    try:
        with st.spinner(f"Rewriting {rw.what_words(first, last)}…"):
            found = rewrite(
                gen,
                entry.abc,
                first,
                last,
                n=n,
                rng=seed,
                temperature=settings.temperature,
                constrained=settings.constrained,
            )
    except ValueError as e:  # RewriteError, or a temperature SampleConfig refuses: a sentence either way
        return Found(entry.ident, entry.abc, None, f"No rewrite: {str(e).rstrip('.')}.")
    return Found(entry.ident, entry.abc, found, None, rw.new_start(entry.abc, first, last))


def rewrite_ui(gen: Generator, entry: Entry, index: int, settings: Settings, keep: Keep, sound_of: SoundOf) -> None:
    """What to rewrite, Rewrite, and the candidates of the last rewrite of this tune (``keep(index, text, how)``
    makes one the tune shown; ``sound_of(abc)`` is a candidate's sound)."""
    ss = st.session_state
    bars, why = rw.rewritable(entry.abc)
    if why:
        st.caption(plain(why))
        return
    ss.setdefault("rw_kind", "range")
    ss.setdefault("rw_n", DEFAULT_N)
    ss.setdefault("rw_seed", entry.settings.seed)
    kind = st.segmented_control(
        "Rewrite", list(KINDS), key="rw_kind", format_func=KINDS.get, required=True, persist_state=PERSIST
    )
    first, last = _bars_ui(entry, bars, kind or "range")
    n_col, seed_col = st.columns(2)
    n = n_col.slider("Candidates", 1, rw.MAX_SHOWN, key="rw_n", persist_state=PERSIST)
    seed = seed_col.number_input(
        "Seed",
        0,
        int(RANGES["seed"][1]),
        step=1,
        key="rw_seed",
        help="Another seed gives other candidates.",
        persist_state=PERSIST,
    )
    meter = "meter-aware" if settings.constrained else "written freely"
    st.caption(f"Written at the sidebar's temperature ({settings.temperature:.2f}), {meter}.")
    if st.button(f"Rewrite {rw.what_words(first, last)}", type="primary", icon=":material/auto_fix_high:", key="rw_go"):
        ss.rw_found = _run(gen, entry, first, last, settings, int(n), int(seed))
        ss.pop("rw_playing", None)
    found: Found | None = ss.get("rw_found")
    if found is None or found.ident != entry.ident or found.abc != entry.abc:
        return
    if found.near_sheet:
        st.caption("The candidates are under the sheet music, where its bar was chosen.")
        return
    found_ui(found, index, keep, sound_of)


def found_ui(found: Found, index: int, keep: Keep, sound_of: SoundOf) -> None:
    if found.error or found.rewrite is None:
        st.error(plain(found.error or "No rewrite."), icon=":material/error:")
        return
    candidates_ui(found, found.rewrite, index, keep, sound_of)


def _play(i: int) -> None:
    st.session_state.rw_playing = i


def candidates_ui(found: Found, result: Rewrite, index: int, keep: Keep, sound_of: SoundOf) -> None:
    ss = st.session_state
    what = rw.what_words(result.first, result.last)
    st.markdown(f"**Candidates for {plain(what)}**, the model's favourite first")
    if result.note:
        st.caption(plain(f"The model {result.note}."))
    how = rw.version_words(result)
    for i, c in enumerate(result.candidates):
        with st.container(border=True, key=f"rw_candidate_{i}"):
            st.markdown(plain(rw.candidate_line(c, result)))
            sheet_col, button_col = st.columns([5, 1])
            with sheet_col:
                app_inside.sheet(c.abc, rw.new_values(found.start, c), rw.NEW_BINS, "Notes:", f"rw_sheet_{i}")
            button_col.button("Play", key=f"rw_play_{i}", icon=":material/play_arrow:", on_click=_play, args=(i,))
            button_col.button(
                "Use",
                key=f"rw_use_{i}",
                icon=":material/check:",
                type="primary",
                on_click=keep,
                args=(index, c.abc, how),
                help="Make it the tune shown; the history keeps the tune it came from.",
            )
            if ss.get("rw_playing") == i:
                sound = sound_of(c.abc)
                if sound.audio is not None:
                    st.audio(sound.audio, format=sound.audio_mime, autoplay=True)
                else:
                    st.caption(plain(sound.parse_error or sound.audio_error or "No sound could be made of it."))


# ---------------------------------------------------------------- a bar chosen in the sheet music


def choice(entry: Entry, text: str, value: object) -> rw.Chosen | None:
    """The bar chosen by the last click on a note of ``text`` (the sheet drawn for ``entry``), or None.

    ``value`` is the sheet component's (``{"at", "length", "token"}``): each token is acted on once, so a later
    run (another tune, an edit) never takes an old click for a new one, and a click on an older drawing
    (``length`` another text's) is let go."""
    ss = st.session_state
    if isinstance(value, dict) and value.get("token") and value.get("token") != ss.get("rw_click_seen"):
        ss.rw_click_seen = value["token"]
        at, length = value.get("at"), value.get("length")
        if isinstance(at, int) and length == rw.js_length(text):
            ss.rw_click = (entry.ident, text, at)
    click = ss.get("rw_click")
    if not click or click[0] != entry.ident or click[1] != text:
        return None
    return rw.clicked_bar(text, click[2])


def marks(chosen: rw.Chosen | None) -> list[int] | None:
    """The characters of the bar chosen, for the sheet to mark (None: no bar)."""
    return [chosen.start, chosen.end] if chosen is not None and chosen.number is not None else None


def _ask(entry: Entry, first: int, last: int | None) -> None:
    """A button under the sheet: this tab's controls say the same bars, and the rewrite runs in this run."""
    ss = st.session_state
    ss.rw_kind = "rest" if last is None else "range"
    if last is None:
        ss[f"rw_from_{entry.ident}"] = first
    else:
        ss[f"rw_bars_{entry.ident}"] = (first, last)
    ss.rw_ask = (entry.ident, entry.abc, first, last)


def clicked_ui(
    gen: Generator,
    entry: Entry,
    index: int,
    chosen: rw.Chosen | None,
    editing: bool,
    settings: Settings,
    keep: Keep,
    sound: Callable[[str, str, bool, float], Sound],
) -> None:
    """Under the sheet: the bar chosen by a click, its two rewrites, and the candidates of one asked for here
    (``sound(abc, instrument, accompaniment, tempo)`` is a tune's sound)."""
    ss = st.session_state

    def sound_of(abc: str) -> Sound:
        return sound(abc, settings.instrument, settings.accompaniment, settings.tempo)

    ask = ss.pop("rw_ask", None)
    if ask is not None and ask[:2] == (entry.ident, entry.abc):
        n, seed = int(ss.get("rw_n", DEFAULT_N)), int(ss.get("rw_seed", entry.settings.seed))
        found = _run(gen, entry, ask[2], ask[3], settings, n, seed)
        ss.rw_found = dataclasses.replace(found, near_sheet=True)
        ss.pop("rw_playing", None)
    if chosen is not None:
        with st.container(horizontal=True, vertical_alignment="center", key="rw_chosen"):
            bars, why = rw.rewritable(entry.abc)
            if chosen.number is None or why or editing:
                edit = "The sheet shows your edit: press Play my edit to rewrite its bars."
                st.caption(plain(chosen.words if chosen.number is None else why or edit))
            else:
                first, last = chosen.number, rw.range_after(chosen.number, bars)
                st.markdown(f"**{chosen.words}**")
                st.button(
                    f"Rewrite from bar {first}",
                    key="rw_click_rest",
                    icon=":material/auto_fix_high:",
                    on_click=_ask,
                    args=(entry, first, None),
                    help=f"Keep bars 1 to {first - 1} and let the model write the rest." if first > 1 else None,
                )
                st.button(
                    f"Rewrite {rw.what_words(first, last)}",
                    key="rw_click_range",
                    icon=":material/auto_fix_high:",
                    on_click=_ask,
                    args=(entry, first, last),
                    help="Keep every other bar as it is (the Rewrite tab chooses other bars).",
                )
    found: Found | None = ss.get("rw_found")
    if found is not None and found.near_sheet and (found.ident, found.abc) == (entry.ident, entry.abc):
        with st.container(key="rw_near_sheet"):
            found_ui(found, index, keep, sound_of)
