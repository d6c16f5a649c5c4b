"""The workbench's Rewrite tab on the app's page (``app_rewrite.py``), run by ``streamlit.testing.v1.AppTest`` on
the shipped weights: "bars N to M" and "from bar N" give the library's ranked candidates, each drawn with its
new notes coloured, each playable; the text outside the bars rewritten is the original's byte for byte, and
Use makes a candidate the tune shown, kept in the history beside the original.

The tune is the test reel, put on the page as a played edit of a composed tune (so its text is exactly
the reel's); what the page should offer is :func:`musicgen.compose.rewrite.rewrite`'s own answer.
"""

from __future__ import annotations

import json

import pytest
from streamlit.runtime.memory_media_file_storage import _calculate_file_id
from streamlit.testing.v1 import AppTest
from test_app import APP, REEL, TIMEOUT, compose, shown_abc

from musicgen.app import render
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


def expected(gen: Generator, at: AppTest, first: int, last: int | None):  # type: ignore[no-untyped-def]
    settings = at.session_state["history"][-1].settings
    return rewrite(
        gen,
        REEL,
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
