"""The workbench's Rewrite tab on the app's page (``app_rewrite.py``), run by ``streamlit.testing.v1.AppTest`` on
the shipped weights: "bars N to M" and "from bar N" give the library's ranked candidates, each drawn with its
new notes coloured, each playable; the text outside the bars rewritten is the original's byte for byte, and
Use makes a candidate the tune shown, kept in the history beside the original. A note clicked in the sheet music
(the sheet component's value, set as the browser sets it) chooses its bar: just under the sheet, "Rewrite from
bar N" and "Rewrite bars N to N+1" set the tab's controls and show their candidates there.

The tune is the test reel, put on the page as a played edit of a composed tune (so its text is exactly
the reel's); what the page should offer is :func:`musicgen.compose.rewrite.rewrite`'s own answer.
"""

from __future__ import annotations

import json

import pytest
from streamlit.runtime.memory_media_file_storage import _calculate_file_id
from streamlit.testing.v1 import AppTest
from test_app import APP, REEL, TIMEOUT, compose, shown_abc

from musicgen.abcnotation.bars import bar_spans, numbered
from musicgen.app import render
from musicgen.app import rewriting as rw
from musicgen.app.text import shown
from musicgen.compose.rewrite import plan, rewrite
from musicgen.compose.sample import Generator


@pytest.fixture(scope="module")
def gen() -> Generator:
    return Generator.load()


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The page on the shipped weights, showing the reel (a played edit of a short composed tune)."""
    monkeypatch.delenv("MUSICGEN_WEIGHTS", raising=False)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    compose(at, seed=3, length=40)
    entry = at.session_state["history"][0]
    at.text_area(key=f"draft_{entry.ident}").set_value(REEL).run()
    next(b for b in at.button if b.label == "Play my edit").click().run()
    assert not at.exception, at.exception
    assert at.session_state["history"][-1].abc == REEL
    return at


def button(at: AppTest, key: str):  # type: ignore[no-untyped-def]
    return next(b for b in at.button if b.key == key)


def candidate_sheets(at: AppTest) -> list[dict]:
    return [
        json.loads(c.proto.json_args)
        for c in at.get("component_instance")
        if c.proto.component_name.endswith("inside_sheet")
    ]


def expected(gen: Generator, at: AppTest, first: int, last: int | None, tune: str = REEL):  # type: ignore[no-untyped-def]
    settings = at.session_state["history"][-1].settings
    return rewrite(
        gen,
        tune,
        first,
        last,
        n=at.slider(key="rw_n").value,
        rng=at.number_input(key="rw_seed").value,
        temperature=at.slider(key="opt_temperature").value,
        constrained=settings.constrained,
    )


def test_rewriting_bars_2_to_3_keeps_the_rest_byte_for_byte_and_use_shows_a_candidate(
    page: AppTest, gen: Generator
) -> None:
    at = page
    entry = at.session_state["history"][-1]
    assert at.slider(key=f"rw_bars_{entry.ident}").value == (2, 3)
    go = button(at, "rw_go")
    assert go.label == "Rewrite bars 2–3"
    go.click().run()
    assert not at.exception, at.exception
    want = expected(gen, at, 2, 3)
    found = at.session_state["rw_found"].rewrite
    assert found.candidates == want.candidates and len(found.candidates) == 4
    spans, lo, hi = plan(REEL, 2, 3)
    a, b = spans[lo].start, spans[hi].end
    for c in found.candidates:
        assert c.abc[:a] == REEL[:a] and c.abc[a + len(c.new) :] == REEL[b:]  # the kept text, byte for byte
        assert c.abc != REEL and c.bars == 2
    sheets = candidate_sheets(at)
    assert [s["abc"] for s in sheets] == [render.sheet_text(c.abc) for c in found.candidates]
    first = found.candidates[0]
    coloured = [i for i, v in enumerate(sheets[0]["values"]) if v is not None]  # the new notes, coloured
    assert coloured == list(range(a, a + len(first.new)))
    assert any(shown(m.value).startswith("1. The model's favourite · 2 bars · ") for m in at.markdown)

    button(at, "rw_play_1").click().run()  # the second candidate's sound, under it
    sound = render.make_sound(found.candidates[1].abc)
    (audio,) = at.get("audio")
    assert audio.proto.url.rsplit("/", 1)[-1].split(".")[0] == _calculate_file_id(sound.audio, sound.audio_mime)

    button(at, "rw_use_1").click().run()
    assert not at.exception, at.exception
    history = at.session_state["history"]
    assert [e.abc for e in history[-2:]] == [REEL, found.candidates[1].abc]
    assert history[-1].how == "bars 2–3 rewritten" and at.session_state["current"] == len(history) - 1
    assert shown_abc(at) == found.candidates[1].abc.rstrip("\n")
    assert any("bars 2–3 rewritten" in shown(m.value) for m in at.markdown)  # the history's line
    assert not candidate_sheets(at)  # the candidates were of the tune before


def test_rewriting_from_bar_3_keeps_bars_1_and_2(page: AppTest, gen: Generator) -> None:
    at = page
    entry = at.session_state["history"][-1]
    at.segmented_control(key="rw_kind").set_value("rest").run()
    at.slider(key=f"rw_from_{entry.ident}").set_value(3).run()
    at.slider(key="rw_n").set_value(2).run()
    go = button(at, "rw_go")
    assert go.label == "Rewrite from bar 3 to the end"
    go.click().run()
    assert not at.exception, at.exception
    found = at.session_state["rw_found"].rewrite
    assert found.candidates == expected(gen, at, 3, None).candidates and 1 <= len(found.candidates) <= 2
    spans, lo, _ = plan(REEL, 3, None)
    for c in found.candidates:
        assert c.abc.startswith(REEL[: spans[lo].start]) and c.abc != REEL
    button(at, "rw_use_0").click().run()
    assert at.session_state["history"][-1].how == "rewritten from bar 3"


# The reel with a line abcjs would draw as notes (the Nottingham files' Y:): the sheet is drawn without it, so
# a click's character is of the text drawn, not of the tune's.
REEL_Y = REEL.replace("K:D\n", "Y:AB\nK:D\n")


@pytest.fixture
def page_y(page: AppTest) -> AppTest:
    """The page showing REEL_Y (a second played edit)."""
    at = page
    entry = at.session_state["history"][-1]
    at.text_area(key=f"draft_{entry.ident}").set_value(REEL_Y).run()
    next(b for b in at.button if b.label == "Play my edit").click().run()
    assert not at.exception, at.exception
    assert at.session_state["history"][-1].abc == REEL_Y
    return at


def the_sheet(at: AppTest) -> dict:
    (sheet,) = [c for c in at.get("component_instance") if c.proto.component_name.endswith("sheet_music")]
    return json.loads(sheet.proto.json_args)


def click(at: AppTest, text: str, at_char: int, token: str, length: int | None = None) -> AppTest:
    """What the sheet's script sends when a note is clicked: its character in the text drawn, and a token."""
    at.session_state["sheet"] = {
        "at": at_char,
        "length": rw.js_length(text) if length is None else length,
        "token": token,
    }
    return at.run()


def chosen_line(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**Bar ")]


def test_a_note_clicked_chooses_its_bar_and_rewrite_from_it_shows_candidates_under_the_sheet(
    page_y: AppTest, gen: Generator
) -> None:
    at = page_y
    drawn = the_sheet(at)["abc"]
    assert drawn == render.sheet_text(REEL_Y) != REEL_Y and the_sheet(at)["choose"] is True
    bar3 = numbered(bar_spans(drawn))[2]
    click(at, drawn, drawn.index("dAFA", bar3.start), "t1")  # the second beat of bar 3
    assert not at.exception, at.exception
    assert chosen_line(at) == ["**Bar 3 chosen**"]
    assert the_sheet(at)["marked"] == [bar3.start, bar3.end]  # the bar chosen is marked in the sheet
    rest = next(b for b in at.button if b.key == "rw_click_rest")
    assert rest.label == "Rewrite from bar 3" and button(at, "rw_click_range").label == "Rewrite bars 3–4"
    rest.click().run()
    assert not at.exception, at.exception
    entry = at.session_state["history"][-1]
    assert at.session_state["rw_kind"] == "rest" and at.session_state[f"rw_from_{entry.ident}"] == 3  # the tab agrees
    found = at.session_state["rw_found"]
    assert found.near_sheet and found.rewrite.candidates == expected(gen, at, 3, None, REEL_Y).candidates
    kept = numbered(bar_spans(REEL_Y))[:2]
    for c in found.rewrite.candidates:  # bars 1 and 2 byte for byte, and the text before them
        assert [s.music for s in numbered(bar_spans(c.abc))[:2]] == [s.music for s in kept]
        assert c.abc[: kept[1].close] == REEL_Y[: kept[1].close] and c.abc != REEL_Y
    assert len(candidate_sheets(at)) == len(found.rewrite.candidates)  # drawn once: under the sheet, not in the tab
    assert any("under the sheet music" in c.value for c in at.caption)
    button(at, "rw_use_0").click().run()
    assert at.session_state["history"][-1].abc == found.rewrite.candidates[0].abc
    assert at.session_state["history"][-1].how == "rewritten from bar 3"
    assert not chosen_line(at) and the_sheet(at)["marked"] is None  # the new tune: nothing chosen yet


def test_rewrite_bars_n_to_m_keeps_every_other_bar(page: AppTest, gen: Generator) -> None:
    at = page
    bars = numbered(bar_spans(REEL))
    click(at, REEL, bars[3].start, "t1")  # bar 4, the last: the range stops there
    assert chosen_line(at) == ["**Bar 4 chosen**"] and button(at, "rw_click_range").label == "Rewrite bar 4"
    click(at, REEL, bars[1].start + 3, "t2")
    assert chosen_line(at) == ["**Bar 2 chosen**"]
    button(at, "rw_click_range").click().run()
    assert not at.exception, at.exception
    entry = at.session_state["history"][-1]
    assert at.session_state["rw_kind"] == "range" and at.session_state[f"rw_bars_{entry.ident}"] == (2, 3)
    found = at.session_state["rw_found"].rewrite
    assert found.candidates == expected(gen, at, 2, 3).candidates
    a, b = bars[1].start, bars[2].end
    for c in found.candidates:
        assert c.abc[:a] == REEL[:a] and c.abc[a + len(c.new) :] == REEL[b:]


def test_a_click_is_acted_on_once_and_only_on_the_sheet_it_was_made_on(page: AppTest) -> None:
    at = page
    bars = numbered(bar_spans(REEL))
    click(at, REEL, bars[2].start, "t1")
    assert chosen_line(at) == ["**Bar 3 chosen**"]
    click(at, REEL, bars[0].start, "t1")  # an old value (the same token): not a new click
    assert chosen_line(at) == ["**Bar 3 chosen**"]
    click(at, REEL, bars[0].start, "t2", length=len(REEL) + 5)  # a click on another drawing of the sheet
    assert chosen_line(at) == ["**Bar 3 chosen**"]
    click(at, REEL, bars[2].start + 1, "t3")  # the same bar clicked again: chosen again
    assert chosen_line(at) == ["**Bar 3 chosen**"]
    click(at, REEL, 2, "t4")  # the header: no bar
    assert not chosen_line(at) and any(shown(c.value) == "No bar holds that: click a note." for c in at.caption)
    click(at, REEL, bars[1].start, "t5")
    next(b for b in at.button if b.label == "Compose").click().run()  # another tune: the old click chooses nothing
    assert not at.exception, at.exception
    assert at.session_state["history"][-1].abc != REEL and not chosen_line(at)
