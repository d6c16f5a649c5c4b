"""The workbench under the tune on the app's page: practise a passage, edit the tune's ABC, transpose it
(``app_transpose.py``) and rewrite bars of it (``app_rewrite.py``); ``app_views.py`` draws the tune and calls
these. And the page's own style (a phone's layout, printing).

What these widgets show is computed in :mod:`musicgen.app.workbench` (no Streamlit there). The sheet music is
drawn above the workbench but follows it (the bars to loop, the text being edited), so each widget has a key
and ``*_choice()`` reads its value from ``st.session_state`` (with its default) before the widget is drawn.
Tools join the tabs in :func:`tools_ui`, one function each. Their widgets keep their values while the page
shows its other mode, "Inside the model" (``persist_state``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

import app_rewrite
import app_transpose
from musicgen.abcnotation.excerpt import ExcerptError
from musicgen.app import render
from musicgen.app import workbench as wb
from musicgen.app.session import Entry
from musicgen.app.settings import Settings
from musicgen.app.shelf import SOUND_BYTES, SOUND_ENTRIES, Shelf
from musicgen.app.text import CODE_STYLE, COPY_SCRIPT, plain
from musicgen.compose.sample import Generator
from musicgen.sound import synth

SPEEDS = list(range(50, 101, 5))  # per cent of the tune's tempo
DEFAULT_SPEED = 75
DEFAULT_BARS = 4  # the passage first offered: bars 1 to 4
PERSIST = "page"  # widgets keep their values while the page shows the other mode

PAGE_CSS = """<style>
[data-testid="stLayoutWrapper"]:has(> .st-key-page_scripts), .st-key-page_scripts { display: none; }
/* A phone: Compose at the top of the page (the sidebar starts closed there), the downloads two by two. */
.st-key-compose_here { display: none; }
@media (max-width: 767.98px) {
  .st-key-compose_here { display: block; }
  .st-key-downloads [data-testid="stHorizontalBlock"] { flex-wrap: wrap; gap: 0.5rem; }
  .st-key-downloads [data-testid="stColumn"] {
    flex: 1 1 calc(50% - 0.5rem) !important; min-width: calc(50% - 0.5rem) !important; width: auto !important;
  }
  [data-testid="stMainBlockContainer"] { padding-left: 0.75rem; padding-right: 0.75rem; }
}
/* Printing: the tune alone, its title and sheet music (the sheet's frame hides its own buttons and players). */
@media print {
  [data-testid="stSidebar"], [data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stBottom"],
  [class*="st-key-noprint"] { display: none !important; }
  [data-testid="stMainBlockContainer"] { padding: 0 !important; max-width: none !important; }
}
</style>"""


def page_style() -> None:
    st.html(PAGE_CSS + CODE_STYLE)
    with st.container(key="page_scripts"):  # (hidden: no room taken) the code blocks' Copy buttons (musicgen.app.text)
        st.html(COPY_SCRIPT, unsafe_allow_javascript=True)


# ---------------------------------------------------------------- the page's sounds

SoundKey = tuple[str, str, bool, float, float]  # abc, instrument, accompaniment, tempo, speed


@st.cache_resource(show_spinner=False)
def sound_shelf() -> Shelf[SoundKey, render.Sound]:
    return Shelf(SOUND_BYTES, SOUND_ENTRIES)  # one per process: every session plays from it


def sound_of(abc: str, instrument: str, accompaniment: bool, tempo: float, speed: float = 1.0) -> render.Sound:
    """The sound from the shelf, or made there. A run of the script that a newer one replaced (a widget changed
    meanwhile) stops making it, unless another run waits for the same sound, and ends here."""

    def make(wanted: Callable[[], bool]) -> render.Sound:
        sound = render.make_sound(abc, instrument, accompaniment, tempo, speed, wanted)
        render.release_free_memory()
        return sound

    try:
        return sound_shelf().get((abc, instrument, accompaniment, tempo, speed), make, run_goes_on())
    except synth.Dropped:
        st.stop()  # (as Streamlit stops a replaced run at its next call)


def run_goes_on() -> Callable[[], bool]:
    """Whether the script run calling this goes on (see :func:`goes_on`); outside a run: always True."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    return goes_on(getattr(get_script_run_ctx(suppress_warning=True), "script_requests", None))


def goes_on(requests: object) -> Callable[[], bool]:
    """False once Streamlit has stopped the run whose script ``requests`` these are, as it stops a run when a
    widget's change starts a newer one (``runner.fastReruns``). No public call says so: the requests' state is
    read, and ``tests/test_shelf.py`` keeps that reading true for the Streamlit in requirements.txt."""
    from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequestType

    return lambda: getattr(requests, "_state", None) is not ScriptRequestType.STOP


def media_url(data: bytes, mime: str, place: str) -> str:
    """The address the browser fetches ``data`` from: a media file of this session, as ``st.audio`` makes one
    (``place`` names it among the session's files: a new one there replaces the old)."""
    from streamlit import runtime

    return runtime.get_instance().media_file_mgr.add(data, mime, place)


# ---------------------------------------------------------------- practise


@dataclass(frozen=True)
class Practice:
    """The passage the listener chose: whether to loop it, its bars, its speed (per cent) and a count-in."""

    on: bool
    first: int
    last: int
    speed: int
    count_in: bool


def _bars_key(entry: Entry) -> str:
    return f"loop_bars_{entry.ident}"


def practice_choice(entry: Entry, bars: int) -> Practice:
    """What the practise widgets hold for this tune of ``bars`` bars (their defaults before they are drawn)."""
    ss = st.session_state
    first, last = ss.get(_bars_key(entry), (1, min(bars, DEFAULT_BARS)))
    first, last = max(1, min(first, bars)), max(1, min(last, bars))
    on = bool(ss.get("loop_on", False)) and bars >= 1
    return Practice(on, first, last, int(ss.get("loop_speed", DEFAULT_SPEED)), bool(ss.get("loop_count_in", True)))


def practise_ui(entry: Entry, bars: int, problem: str | None, editing: bool) -> None:
    """Bars, speed and count-in of the passage to loop; ``problem``: why it cannot be played, as a sentence."""
    ss = st.session_state
    if bars < 1:
        st.caption("This tune has no whole bars to practise.")
        return
    if editing:
        st.info("The sheet shows your edit: press **Play my edit** to practise it, or undo it.", icon=":material/edit:")
    key = _bars_key(entry)
    if bars >= 2:
        ss.setdefault(key, (1, min(bars, DEFAULT_BARS)))
        st.slider(
            "Bars to practise",
            1,
            bars,
            key=key,
            help="Bar 1 is the first whole bar; it takes a pick-up with it.",
            persist_state=PERSIST,
        )
    else:
        st.caption("Bar 1, the tune's only bar.")
    ss.setdefault("loop_speed", DEFAULT_SPEED)
    ss.setdefault("loop_count_in", True)
    speed_col, count_col = st.columns([3, 2], vertical_alignment="bottom")
    speed_col.select_slider(
        "Speed",
        SPEEDS,
        key="loop_speed",
        format_func=lambda v: f"{v}%",
        help="Of the tune's tempo. The passage is played again at this speed: the same pitch, slower.",
        persist_state=PERSIST,
    )
    count_col.checkbox(
        "Count-in bar first", key="loop_count_in", help="A bar of beats on the key note, once.", persist_state=PERSIST
    )
    st.toggle(
        "Loop these bars",
        key="loop_on",
        disabled=editing,
        help="They play round and round in the player.",
        persist_state=PERSIST,
    )
    if problem and ss.get("loop_on") and not editing:
        st.warning(plain(problem), icon=":material/warning:")


def loop_of(text: str, practice: Practice, settings: Settings) -> tuple[dict | None, list[int] | None, str | None]:
    """The passage to loop: the player's arguments, the characters of its bars, and why it cannot play (or None)."""
    try:
        cut = wb.passage(text, practice.first, practice.last, practice.count_in)
    except ExcerptError as e:
        return None, None, f"These bars cannot be practised: {e}."
    marked = [cut.source_start, cut.source_start + cut.length]
    with st.spinner("Making the passage's sound…"):
        sound = sound_of(cut.abc, settings.instrument, settings.accompaniment, settings.tempo, practice.speed / 100)
    if sound.audio is None:
        return None, marked, sound.audio_error or sound.parse_error
    url = media_url(sound.audio, sound.audio_mime, "musicgen.loop")
    return wb.loop_args(cut, sound, url, practice.speed), marked, None


# ---------------------------------------------------------------- edit and hear


def draft_key(entry: Entry) -> str:
    return f"draft_{entry.ident}"


def draft_of(entry: Entry) -> str:
    """The tune's text as the listener is editing it (the tune itself before any edit)."""
    return str(st.session_state.get(draft_key(entry), entry.abc))


def edit_ui(entry: Entry, index: int, play_edit: Callable[[int], None]) -> None:
    """The tune's ABC to edit, its mistakes at their lines, and Play my edit (``play_edit(index)``)."""
    ss = st.session_state
    key = draft_key(entry)
    ss.setdefault(key, entry.abc)
    st.text_area(
        "The tune's ABC",
        key=key,
        height=260,
        help="Edit it: the sheet music follows when you click outside the box (or press Ctrl+Enter).",
        persist_state=PERSIST,
    )
    draft = str(ss[key])
    found = wb.mistakes(draft) if draft.strip() else [wb.Mistake(None, "The text is empty.", True)]
    serious = any(m.serious for m in found)
    if found:
        (st.error if serious else st.warning)(
            "This text cannot be played until the marked line is mended."
            if serious
            else "The tune plays, but look at these lines:",
            icon=":material/error:" if serious else ":material/warning:",
        )
        st.text(wb.listing(draft, found))  # the lines to blame, as text (never Markdown), each with its sentence
    play_col, undo_col = st.columns(2)
    play_col.button(
        "Play my edit",
        type="primary",
        icon=":material/play_arrow:",
        on_click=play_edit,
        args=(index,),
        disabled=serious or draft == entry.abc,
        width="stretch",
    )
    undo_col.button(
        "Undo my changes",
        icon=":material/undo:",
        on_click=lambda: ss.__setitem__(key, entry.abc),
        disabled=draft == entry.abc,
        width="stretch",
    )
    st.caption("A played edit joins the history beside the tune it came from; the downloads then hold it.")


def _play_edit(index: int, entry: Entry, keep: Callable[[int, str, str], None]) -> None:
    """The text being edited, beside the tune it came from in the history, played; the box holds the tune again."""
    text = draft_of(entry)
    keep(index, text, "")
    st.session_state[draft_key(entry)] = entry.abc  # the tune itself, when it is shown again


# ---------------------------------------------------------------- the tabs


def tools_ui(
    entry: Entry,
    index: int,
    bars: int,
    loop_problem: str | None,
    keep: Callable[[int, str, str], None],
    gen: Generator,
    settings: Settings,
) -> None:
    """The workbench's tabs. ``keep(index, text, how)`` puts a new version of the tune shown beside it in the
    history and shows it (a played edit, a transposition, a rewrite)."""
    editing = draft_of(entry) != entry.abc
    practise_tab, edit_tab, transpose_tab, rewrite_tab = st.tabs(
        [
            ":material/repeat: Practise",
            ":material/edit: Edit ABC",
            ":material/swap_vert: Transpose",
            ":material/auto_fix_high: Rewrite",
        ]
    )
    with practise_tab:
        practise_ui(entry, bars, loop_problem, editing)
    with edit_tab:
        edit_ui(entry, index, lambda i: _play_edit(i, entry, keep))
    with transpose_tab:
        app_transpose.transpose_ui(entry, index, keep)
    with rewrite_tab:

        def sound(abc: str) -> render.Sound:
            return sound_of(abc, settings.instrument, settings.accompaniment, settings.tempo)

        app_rewrite.rewrite_ui(gen, entry, index, settings, keep, sound)
