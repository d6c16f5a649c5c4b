"""The "Inside the model" views (``app_inside.render``) run by ``streamlit.testing.v1.AppTest``: every control.

The page is a test-local script (:func:`page`) that calls ``app_inside.render`` the way ``app.py`` will, on
a tiny random-weight checkpoint: its tunes are noise, but exactly the noise the writer gives for those
settings, which is what these tests compare with (:class:`~musicgen.judge.walk.Walk`,
:func:`~musicgen.judge.explain.explain_generated`). The held-out tunes are read with the shipped weights
when the Nottingham data is here.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO_ROOT, TINY_MODEL, TINY_TUNES, code_blocks, make_checkpoint
from streamlit.testing.v1 import AppTest

from musicgen.app import inside, stepview
from musicgen.app.render import sheet_text
from musicgen.app.settings import Settings
from musicgen.app.text import plain
from musicgen.compose.sample import Generator
from musicgen.data.vocab import Vocab
from musicgen.judge.explain import explain_abc, explain_generated, heldout_surprises
from musicgen.judge.walk import Walk
from musicgen.model import checkpoint
from musicgen.model.engine import random_checkpoint

TIMEOUT = 120


def page(repo: str, weights: str, settings: dict) -> None:  # run as a script: builtin annotations only
    """The test's page: the mode alone, as app.py draws it beside the composer."""
    import sys

    if repo not in sys.path:
        sys.path.insert(0, repo)
    import app_inside
    from musicgen.app.settings import Settings
    from musicgen.compose.sample import Generator

    app_inside.render(Generator.load(weights), Settings(**settings))


def open_page(weights: Path | str, view: str = "Step by step", **settings: Any) -> AppTest:
    at = AppTest.from_function(page, args=(str(REPO_ROOT), str(weights), settings), default_timeout=TIMEOUT)
    at.run()
    if view != "Step by step":
        at.radio(key="inside_view").set_value(view).run()
    assert not at.exception, at.exception
    return at


def sheets(at: AppTest) -> list[dict[str, Any]]:
    return [
        json.loads(c.proto.json_args)
        for c in at.get("component_instance")
        if c.proto.component_name.endswith("inside_sheet")
    ]


def text(at: AppTest) -> str:
    return code_blocks(at)[0]


def written(at: AppTest) -> str:
    """The shown line's text exactly (the code block on the page drops a trailing new line)."""
    ss = at.session_state
    return ss["inside_lines"][ss["inside_shown"]].walk.text


def bars(at: AppTest) -> list[str]:
    return [b.label for b in at.button if b.key and b.key.startswith("inside_choice_")]


def labels(walk: Walk) -> list[str]:
    """The bars the page should show for a walk's next character."""
    return [plain(f"{c.words} · {c.p:.0%}" + (" · model's pick" if c.pick else "")) for c in stepview.choices(walk)]


def settings_config(**settings: Any):  # type: ignore[no-untyped-def]
    return Settings(**{**settings, "n": 1, "primer": ""}).sample_config()


@pytest.fixture
def weights(tiny_checkpoint) -> Path:  # type: ignore[no-untyped-def]
    return Path(tiny_checkpoint.path)


def test_one_step_play_pause_and_speed_write_the_walks_tune(weights: Path) -> None:
    at = open_page(weights, seed=4)
    walk = Walk(Generator.load(weights), settings_config(seed=4))
    assert text(at) == walk.text == "X:1\nT:" and len(bars(at)) == 5
    for _ in range(3):
        at.button(key="inside_one").click().run()
        walk.step()
    assert text(at) == walk.text
    at.button(key="inside_play").click().run()  # playing: each run of the view takes a tick's steps
    assert at.button(key="inside_play").label == "Pause"
    at.run()
    for _ in range(2 * 2):  # "medium": 2 steps a tick
        walk.step()
    assert text(at) == walk.text
    at.select_slider(key="inside_speed").set_value("fastest").run()
    for _ in range(8):
        walk.step()
    assert text(at) == walk.text
    at.button(key="inside_play").click().run()  # paused: no step
    at.run()
    assert text(at) == walk.text and at.button(key="inside_play").label == "Play"
    assert bars(at) == labels(walk)


def fills(at: AppTest) -> dict[str, str]:
    """Each choice's bar: its button's key and how far its fill reaches, from the page's style sheet."""
    [style] = [h.value for h in at.html if "st-key-inside_choice_" in h.value]
    return dict(re.findall(r"\.st-key-(inside_choice_\d+) button\{[^}]*?transparent (\d+\.\d%)", style))


def test_each_choice_is_a_bar_filled_to_its_share(weights: Path) -> None:
    at = open_page(weights, seed=2)
    at.button(key="inside_one").click().run()
    walk = Walk(Generator.load(weights), settings_config(seed=2))
    walk.step()
    offered = stepview.choices(walk)
    assert fills(at) == {f"inside_choice_{i}": f"{c.p:.1%}" for i, c in enumerate(offered)} and len(offered) == 5
    at.slider(key="inside_temperature").set_value(0.3).run()
    walk.temperature = 0.3
    assert fills(at) == {f"inside_choice_{i}": f"{c.p:.1%}" for i, c in enumerate(stepview.choices(walk))}


def test_the_step_sheet_catches_up_at_each_space_bar_line_and_line_end() -> None:
    at = open_page(REPO_ROOT / "weights" / "nottingham", seed=7)
    at.select_slider(key="inside_speed").set_value("fastest").run()
    at.button(key="inside_play").click().run()  # past the header, into the music
    for _ in range(5):
        at.run()
    at.button(key="inside_play").click().run()
    shown, caught_up, held = [], 0, 0
    for _ in range(40):
        at.button(key="inside_one").click().run()
        [sheet] = sheets(at)
        written = at.session_state["inside_lines"][
            at.session_state["inside_shown"]
        ].walk.text  # (its code block strips it)
        music = not re.match(r"[A-Za-z]:", written.rsplit("\n", 1)[-1])
        whole = inside.sheet_values(written, [], drop_sources=True)[0]
        assert whole.startswith(sheet["abc"]) and len(sheet["values"]) == len(sheet["abc"])
        if music and written.endswith((" ", "|")):
            assert sheet["abc"] == whole  # a group of notes or a bar closed: the sheet has all of it
            caught_up += 1
        held += bool(shown) and sheet == shown[-1]  # the same arguments: the sheet's frame is not redrawn
        shown.append(sheet)
    assert caught_up >= 2 and held >= 20 and len(shown[-1]["abc"]) > len(shown[0]["abc"])


def test_the_temperature_reshapes_the_bars_without_writing(weights: Path) -> None:
    at = open_page(weights, seed=2)
    for _ in range(2):
        at.button(key="inside_one").click().run()
    before, written = bars(at), text(at)
    at.slider(key="inside_temperature").set_value(0.3).run()
    assert text(at) == written and bars(at) != before
    walk = Walk(Generator.load(weights), settings_config(seed=2))
    walk.step(), walk.step()
    walk.temperature = 0.3
    assert bars(at) == labels(walk)


def test_a_clicked_alternative_branches_and_the_history_keeps_both_lines(weights: Path) -> None:
    at = open_page(weights, seed=6)
    for _ in range(4):
        at.button(key="inside_one").click().run()
    for _ in range(40):  # on to a step where the rules leave the model an alternative
        others = [b for b in at.button if b.key.startswith("inside_choice_") and "pick" not in b.label]
        if others:
            break
        at.button(key="inside_one").click().run()
    original = text(at)
    others[0].click().run()
    assert not at.exception, at.exception
    lines = at.radio(key="inside_line")
    assert (
        len(lines.options) == 2
        and lines.value == 1
        and f"Branch 1: at character {len(original) + 1}" in lines.options[1].replace("\\", "")
    )
    branched = written(at)
    assert branched[:-1] == original and branched != original
    at.button(key="inside_one").click().run()
    at.radio(key="inside_line").set_value(0).run()
    assert text(at) == original  # the model's own line is as it was left
    for _ in range(40):  # on to a step where the model's pick is among the choices shown
        picks = [b for b in at.button if b.key.startswith("inside_choice_") and "pick" in b.label]
        if picks:
            break
        at.button(key="inside_one").click().run()
    original = written(at)
    picks[0].click().run()  # the model's own pick is a step, not a branch
    assert len(at.radio(key="inside_line").options) == 2
    assert written(at).startswith(original) and len(written(at)) == len(original) + 1
    at.radio(key="inside_line").set_value(1).run()
    assert written(at).startswith(branched) and len(written(at)) == len(branched) + 1


def test_a_finished_tune_says_so_and_a_new_tune_follows_the_settings(weights: Path) -> None:
    at = open_page(weights, seed=1, length=12)
    for _ in range(40):
        if at.button(key="inside_one").disabled:
            break
        at.button(key="inside_one").click().run()
    assert at.button(key="inside_one").disabled and at.success and not bars(at)
    walk = Walk(Generator.load(weights), settings_config(seed=1, length=12))
    while not walk.done:
        walk.step()
    assert text(at) == walk.text
    at.number_input(key="inside_seed").set_value(3).run()
    assert text(at) == walk.text  # the seed applies to a new tune
    at.button(key="inside_new").click().run()
    assert text(at) == "X:1\nT:" and len(at.radio(key="inside_line").options) == 1
    at.button(key="inside_one").click().run()
    fresh = Walk(Generator.load(weights), settings_config(seed=3, length=12))
    fresh.step()
    assert text(at) == fresh.text


def test_the_surprise_map_colours_a_generated_tune_and_says_when_held_out_tunes_are_absent(weights: Path) -> None:
    at = open_page(weights, "Surprise map", seed=5, temperature=1.1)
    _, ex = explain_generated(Generator.load(weights), settings_config(seed=5, temperature=1.1))
    assert at.metric[0].value == f"{ex.mean_surprise:.2f}"
    [sheet] = sheets(at)
    expected_text, values = inside.sheet_values(ex.tune, [s.surprise for s in ex.steps[: len(ex.tune)]])
    assert sheet["abc"] == expected_text and sheet["bins"] == inside.bins_json(inside.SURPRISE_BINS)
    assert sheet["values"] == [None if v is None else round(v, 3) for v in values]
    assert any("measured on are not here" in i.value.replace("\\", "") for i in at.info)
    assert "Character" in at.markdown[-1].value  # the most surprising moments


def test_the_surprise_map_reads_pasted_abc(weights: Path) -> None:
    at = open_page(weights, "Surprise map")
    at.radio(key="inside_source").set_value("ABC I paste").run()
    assert any("Paste the ABC" in i.value for i in at.info) and not sheets(at)
    at.text_area(key="inside_paste").set_value(TINY_TUNES[0] + "\n\n" + TINY_TUNES[1]).run()
    ex = explain_abc(Generator.load(weights).engine, TINY_TUNES[0])
    assert at.metric[0].value == f"{ex.mean_surprise:.2f}" and "2 tunes" in at.caption[-1].value
    at.text_area(key="inside_paste").set_value(TINY_TUNES[0] + "\u263a").run()
    assert at.error and "does not know" in at.error[0].value and not at.metric


def test_the_surprise_map_places_a_tune_among_the_held_out_tunes() -> None:
    gen = Generator.load()
    heldout, why = heldout_surprises(gen)
    if why:
        pytest.skip(why)
    at = open_page(gen.checkpoint.path, "Surprise map", seed=3)
    _, ex = explain_generated(gen, settings_config(seed=3))
    sentence = at.markdown[0].value.replace("\\", "")
    assert sentence == inside.placement(ex.mean_surprise, heldout) and len(heldout) > 50
    assert at.get("vega_lite_chart")


def save_epochs(folder: Path, epochs: list[int]) -> None:
    vocab = Vocab.from_text("".join(TINY_TUNES))
    for e in epochs:
        ckpt = random_checkpoint(TINY_MODEL, vocab, seed=e)
        checkpoint.save(folder / "epochs" / f"epoch-{e:03d}", ckpt.weights, vocab, TINY_MODEL, dtype="float16")


def test_watch_it_learn_writes_the_same_seed_with_each_kept_checkpoint(tmp_path: Path) -> None:
    history = [
        {"epoch": e, "train_loss": 3 / e, "train_acc": 0.5, "val_loss": 3.2 / e, "val_acc": 0.5, "learning_rate": 0.002}
        for e in range(1, 11)
    ]
    make_checkpoint(tmp_path / "w", metrics={"history": history, "best_val_loss": 0.32})
    save_epochs(tmp_path / "w", [10, 1, 3])
    (tmp_path / "w" / "epochs" / "notes").mkdir()  # not a checkpoint: left out
    at = open_page(tmp_path / "w", "Watch it learn", seed=8, length=60)
    labels = [m.value for m in at.markdown if m.value.startswith("**")]
    assert labels == [
        "**After epoch 1 (held-out loss 3.20)**",
        "**After epoch 3 (held-out loss 1.07)**",
        "**After epoch 10 (held-out loss 0.32)**",
        "**Final model (held-out loss 0.32)**",
    ]
    cfg = settings_config(seed=8, length=60)
    folders = [tmp_path / "w" / "epochs" / f"epoch-{e:03d}" for e in (1, 3, 10)] + [tmp_path / "w"]
    want = [sheet_text(Generator.load(f).generate(cfg)[0].abc) for f in folders]
    assert [s["abc"] for s in sheets(at)] == want and len(set(want)) == 4
    [chart] = at.get("vega_lite_chart")  # the loss curve
    assert "epoch" in chart.proto.spec and not any("ship no checkpoints" in i.value for i in at.info)
    assert len(at.get("audio")) + len(at.caption) - 1 == 4  # each tune's sound, or why there is none


def test_watch_it_learn_says_plainly_when_no_epochs_are_kept(weights: Path) -> None:
    at = open_page(weights, "Watch it learn")
    assert any("ship no checkpoints from earlier in their training" in i.value for i in at.info)
    assert len(sheets(at)) == 1 and "no loss history" in at.caption[0].value


def test_rules_on_and_off_side_by_side(weights: Path) -> None:
    at = open_page(weights, "Rules on and off", seed=2, length=200)
    gen = Generator.load(weights)
    _, on = explain_generated(gen, settings_config(seed=2, length=200, constrained=True))
    _, off = explain_generated(gen, settings_config(seed=2, length=200, constrained=False))
    assert [m.value for m in at.markdown if m.value.startswith("**Meter")] == [
        "**Meter-aware writing on**",
        "**Meter-aware writing off**",
    ]
    badges = [m.value for m in at.markdown if "badge[" in m.value]
    assert len(badges) == 2 and all("mean surprise" in b and "nats" not in b for b in badges)
    assert f"mean surprise {on.mean_surprise:.2f}" in badges[0]
    left, right = sheets(at)
    assert left == inside.sheet_args(on.tune, [s.removed_p for s in on.steps], inside.RULES_BINS, "Notes:") | {
        "abcjs": left["abcjs"],
        "key": "inside_rules_on",
        "default": None,
    }  # (the sheet leaves out the lines it cannot draw, and their values)
    assert left["bins"] == inside.bins_json(inside.RULES_BINS)
    assert at.caption[0].value == f"The rules stepped in at {len(on.stepped_in)} of {len(on.steps)} characters."
    form = settings_config(seed=2, length=200, constrained=True).written_form  # the rules of the other side
    free = explain_abc(gen.engine, off.tune, form=None if form == "none" else form)
    assert [i for i, v in enumerate(right["values"]) if v] == ([] if free.let_go is None else [free.let_go])
    assert at.markdown[-1].value == f"- {plain(inside.free_sentence(free))}"


def test_rules_view_says_when_meter_aware_writing_is_not_offered(tmp_path: Path) -> None:
    vocab = Vocab([c for c in Vocab.from_text("".join(TINY_TUNES)).chars if c != "]"])  # no closing bar line
    ckpt = make_checkpoint(tmp_path / "no-end", vocab=vocab)
    at = open_page(ckpt.path, "Rules on and off")
    assert "not offered for these weights" in at.info[-1].value.replace("\\", "") and not sheets(at)
    assert not at.toggle  # and the tune settings offer no switch


def test_settings_that_cannot_write_a_tune_are_a_sentence(weights: Path) -> None:
    at = open_page(weights, form="AB", length=300)
    assert at.error and "cannot write a tune" in at.error[0].value and not code_blocks(at)


def test_the_views_never_import_tensorflow(weights: Path) -> None:
    code = (
        "import sys\n"
        "sys.path.insert(0, 'tests')\n"
        "from test_app_inside import open_page\n"
        f"at = open_page({str(weights)!r}, length=80)\n"
        "at.button(key='inside_one').click().run()\n"
        "for view in ['Surprise map', 'Watch it learn', 'Rules on and off']:\n"
        "    at.radio(key='inside_view').set_value(view).run()\n"
        "    assert not at.exception, at.exception\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == ["False", "False"]


def test_random_epoch_checkpoints_load_as_float32(tmp_path: Path) -> None:
    save_epochs(tmp_path, [1])
    [(epoch, folder)] = inside.epoch_checkpoints(tmp_path)
    assert epoch == 1 and (folder / "weights.npz").stat().st_size < 20_000
    ckpt = checkpoint.load(folder)
    assert all(w.dtype.name == "float32" for w in ckpt.weights.values())
    assert ckpt.train is None


def test_the_shipped_model_ships_the_checkpoints_of_its_own_training() -> None:
    shipped = checkpoint.load(REPO_ROOT / "weights" / "nottingham")
    stages = inside.learning_stages(shipped.path, shipped.metrics)
    assert [label.split(" (")[0] for label, _ in stages] == [
        "After epoch 1",
        "After epoch 3",
        "After epoch 10",
        "Final model",
    ]
    losses = [float(label.split("loss ")[1].rstrip(")")) for label, _ in stages]
    assert losses == sorted(losses, reverse=True)  # it learnt: each later model is less surprised
    for _, folder in stages[:-1]:
        kept = checkpoint.load(folder)  # float16 on disk, float32 once loaded, the final model's vocabulary
        assert kept.vocab.chars == shipped.vocab.chars and kept.model == shipped.model
        assert (folder / "weights.npz").stat().st_size < 5_000_000
