"""The workbench's Transpose tab (``app_tools.tools_ui`` draws it): the tune to another key, for an instrument.

A key in the tune's own mode and an instrument of :data:`musicgen.abcnotation.instruments.RANGES`; the notes
the instrument cannot play are named in words, with the octave shift that puts every note in range as a
button; Transpose makes the moved tune the tune shown (kept in the history beside the original, as an edit
is), so its sound, sheet and downloads follow. Choosing an instrument also plays the tune with its General
MIDI sound where there is one, and says when the SoundFont plays a stand-in for it. What this shows is
computed by :mod:`musicgen.app.transposing`; every widget key starts ``tr_``.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from musicgen.abcnotation.instruments import RANGES, instrument
from musicgen.abcnotation.pitch import TransposeError
from musicgen.app import transposing as tr
from musicgen.app.session import Entry
from musicgen.app.text import plain

Keep = Callable[[int, str, str], None]  # (the shown entry's index, a new version's text, what made it)
PERSIST = "page"  # widgets keep their values while the page shows the other mode


def _octaves_key(entry: Entry) -> str:
    return f"tr_octaves_{entry.ident}"


def _choose_instrument() -> None:
    """The instrument chosen: the tune plays with its sound, where General MIDI has one."""
    sound = tr.sound_of_instrument(st.session_state.tr_instrument)
    if sound is not None:
        st.session_state.opt_instrument = sound


def _shift(entry: Entry, octaves: int) -> None:
    ss = st.session_state
    ss[_octaves_key(entry)] = ss.get(_octaves_key(entry), 0) + octaves


def _transpose(index: int, entry: Entry, text: str, how: str, keep: Keep) -> None:
    st.session_state.pop(_octaves_key(entry), None)  # the tune shown again starts from itself
    keep(index, text, how)


def transpose_ui(entry: Entry, index: int, keep: Keep) -> None:
    """Key, instrument, the notes out of range and the octave shift, and Transpose (``keep(index, text, how)``)."""
    ss = st.session_state
    now = tr.tune_key(entry.abc)
    if now is None:
        st.caption(
            "This tune's K: line names no key note (K:none, or none at all), so there is no key to move it from."
        )
        return
    keys = tr.key_choices(now.mode)
    key_state = f"tr_key_{entry.ident}"
    ss.setdefault(key_state, now.pitch_class)
    ss.setdefault("tr_instrument", "fiddle")
    key_col, inst_col = st.columns(2)
    pc = key_col.selectbox(
        "Key",
        range(12),
        key=key_state,
        format_func=lambda i: keys[i].words + (" (now)" if i == now.pitch_class else ""),
        on_change=lambda: ss.pop(_octaves_key(entry), None),
        help=f"The tune is in {now.words}: it moves to another key note by the nearer way, its mode kept.",
        persist_state=PERSIST,
    )
    name = inst_col.selectbox(
        "For the instrument",
        list(RANGES),
        key="tr_instrument",
        format_func=lambda n: RANGES[n].label,
        on_change=_choose_instrument,
        help="Its notes are checked against the instrument's range; the tune then plays with its sound.",
        persist_state=PERSIST,
    )
    inst, key = instrument(name), keys[pc]
    octaves = int(ss.get(_octaves_key(entry), 0))
    try:
        moved = tr.transpose(entry.abc, key, octaves) if (pc, octaves) != (now.pitch_class, 0) else entry.abc
    except TransposeError as e:
        st.error(f"This tune cannot be transposed: {plain(str(e))}.")
        return
    words, fits, shift = tr.range_words(moved, inst)
    how = tr.version_words(key, octaves, pc != now.pitch_class)
    if how:  # said of the tune as it would be
        words = f"{how[0].upper()}{how[1:]}: {words[0].lower()}{words[1:]}"
    if fits:
        st.success(plain(words), icon=":material/check:")
    else:
        st.warning(plain(words), icon=":material/warning:")
    sound = tr.sound_of_instrument(name)
    note = tr.stand_in(ss.get("opt_instrument", "piano"))
    if sound is None:
        st.caption(plain(f"General MIDI has no {inst.label} sound: the tune keeps the sound chosen in the sidebar."))
    elif note:
        st.caption(plain(note))
    move_col, shift_col = st.columns(2)
    move_col.button(
        f"Transpose: {how}" if how else "Transpose",
        type="primary",
        icon=":material/swap_vert:",
        on_click=_transpose,
        args=(index, entry, moved, how, keep),
        disabled=moved == entry.abc,
        width="stretch",
        key="tr_go",
    )
    if shift is not None:
        shift_col.button(
            tr.shift_words(shift),
            icon=":material/height:",
            on_click=_shift,
            args=(entry, shift),
            help=f"Moves the notes by whole octaves so that the {inst.label} plays every one.",
            width="stretch",
            key="tr_shift",
        )
    st.caption("The transposed tune joins the history beside the tune it came from; its downloads follow it.")
