"""The hostile-input suite: what a hostile but realistic user tried (issue 15), each kept fixed by a test.

Every input here once gave a traceback, a hang, a misleading sentence or lost work. Each must now
give a clear sentence (the library: a named error; the command line: one ``error:`` line, exit 2),
finish in bounded time and leave nothing half-done behind. Servers run on 127.0.0.1 only.
Sections by where the fault lay; each section keeps its own helpers.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import signal
import subprocess
import sys
import threading
import wave
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import mido
import numpy as np
import pytest
from conftest import REPO_ROOT, TINY_TUNES, code_blocks, make_checkpoint

from musicgen import cli
from musicgen.abcnotation import rhythm
from musicgen.abcnotation.check import InvalidABCError
from musicgen.app import render
from musicgen.compose.sample import Generator
from musicgen.config import ModelConfig, TrainConfig
from musicgen.data import corpus
from musicgen.model import checkpoint
from musicgen.model.checkpoint import Checkpoint, CheckpointError
from musicgen.sound import audio, budget, convert, events, export
from musicgen.sound.events import Events
from musicgen.sound.notes import NoteEvent

# --- training, checkpoints, downloads


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one ``error:`` line of a refused command (exit 2, no traceback)."""
    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-3000:]
    return lines[0]


def download_leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".download-" in p.name)


class Trickle(BaseHTTPRequestHandler):
    """Answers every GET with one byte each 0.5 s: after honest headers announcing 100,000 bytes
    (``server.phase == "body"``), or from the status line on (``"headers"``: the headers never end)."""

    def do_GET(self) -> None:
        server: Any = self.server
        if server.phase == "body":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
            drip = b"x" * 100_000
        else:
            drip = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100_000
        server.asked.set()
        for byte in drip:
            if server.stop.wait(0.5):
                return
            try:
                self.wfile.write(bytes([byte]))
            except OSError:  # the client gave up: what it should do
                return

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def trickle() -> Iterator[Any]:
    """A 127.0.0.1 server trickling one byte every 0.5 s (``.url``, ``.phase``, ``.asked``); stopped at the end."""
    httpd: Any = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    httpd.daemon_threads = True
    httpd.phase, httpd.asked, httpd.stop = "body", threading.Event(), threading.Event()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/ABC_cleaned/"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.stop.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.mark.parametrize("phase", ["body", "headers"])
def test_f4_a_trickling_server_meets_the_deadline(run_musicgen: Any, trickle: Any, tmp_path: Path, phase: str) -> None:
    trickle.phase = phase
    target = tmp_path / "D"
    # --timeout 2: each file has 4 x 2 s; the subprocess timeout turns a hang into a failure
    line = error_line(run_musicgen("data", "download", target, "--base-url", trickle.url, "--timeout", "2", timeout=60))
    assert "ashover.abc" in line and "try again" in line
    assert not target.exists() and download_leftovers(tmp_path) == []


def test_f4_a_download_stopped_by_sigterm_leaves_no_temporary_folder(trickle: Any, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "musicgen", "data", "download", str(tmp_path / "D"), "--base-url", trickle.url]
    proc = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert trickle.asked.wait(60), "the download never reached the server"
        assert download_leftovers(tmp_path) != []  # mid-download: its temporary folder is there
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM and "Traceback" not in err
    assert download_leftovers(tmp_path) == [] and not (tmp_path / "D").exists()


@pytest.mark.parametrize("value", ["inf", "nan", "0", "-1", "1e300"])
def test_download_timeout_must_be_finite_and_positive(run_musicgen: Any, tmp_path: Path, value: str) -> None:
    line = error_line(
        run_musicgen("data", "download", tmp_path / "D", "--timeout", value, "--base-url", "http://127.0.0.1:9/")
    )
    assert "--timeout must be" in line
    assert not (tmp_path / "D").exists() and download_leftovers(tmp_path) == []


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf"])
def test_evaluate_parse_timeout_must_be_finite_and_positive(
    run_musicgen: Any, tiny_checkpoint: Checkpoint, value: str
) -> None:
    line = error_line(run_musicgen("evaluate", "--weights", tiny_checkpoint.path, "--n", "1", "--parse-timeout", value))
    assert "--parse-timeout must be" in line


def test_generate_out_empty_is_refused_and_writes_nothing(
    run_musicgen: Any, tiny_checkpoint: Checkpoint, tmp_path: Path
) -> None:
    here = tmp_path / "cwd"
    here.mkdir()
    line = error_line(
        run_musicgen("generate", "--weights", tiny_checkpoint.path, "--sound", "none", "--out", "", cwd=here)
    )
    assert "--out" in line and "empty" in line
    assert list(here.iterdir()) == []


@pytest.mark.parametrize("bad", ["file", "under-a-file"])
def test_generate_out_is_checked_before_generating(
    tiny_checkpoint: Checkpoint,
    tmp_path: Path,
    bad: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "file").write_text("mine\n")
    out = tmp_path / "file" if bad == "file" else tmp_path / "file" / "tunes"

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("generated before checking --out")

    monkeypatch.setattr(Generator, "generate", never)
    assert cli.main(["generate", "--weights", str(tiny_checkpoint.path), "--sound", "none", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out") and str(tmp_path / "file") in err and err.count("\n") == 1
    assert (tmp_path / "file").read_text() == "mine\n"


# F7: a weights folder whose config.json or weights.npz is hostile.


def rewrite_config(ckpt: Checkpoint, model: Any) -> Path:
    assert ckpt.path is not None
    path = ckpt.path / "config.json"
    path.write_text(json.dumps(model if not isinstance(model, dict) else dict(json.loads(path.read_text()), **model)))
    return path


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ([1, 2], r"config\.json: not a checkpoint config \(a JSON list, not an object\)"),
        ("text", r"config\.json: not a checkpoint config \(a JSON string, not an object\)"),
        ({"model": [8]}, r"config\.json: .*model.* must be an object"),
        ({"model": {"lstm_layers": 1_000_000_000}}, r"config\.json: .*lstm_layers must be a whole number from 1 to 8"),
        ({"model": {"lstm_units": 100_000}}, r"config\.json: .*lstm_units must be a whole number from 1 to 4,096"),
        ({"model": {"embedding_dim": "8"}}, r"config\.json: .*embedding_dim must be a whole number"),
        ({"model": {"dropout": None}}, r"config\.json: .*dropout must be a number in \[0, 1\)"),
        ({"train": [1]}, r"config\.json: .*train.* must be an object"),
        ({"train": {"learning_rate": float("nan")}}, r"config\.json: .*learning_rate must be"),
    ],
)
def test_f7_a_hostile_config_is_one_sentence_naming_the_file(
    tiny_checkpoint: Checkpoint, config: Any, match: str
) -> None:
    path = rewrite_config(tiny_checkpoint, config)
    with pytest.raises(CheckpointError, match=match) as e:
        Generator.load(tiny_checkpoint.path)
    assert str(path) in str(e.value)


@pytest.mark.parametrize("command", ["card", "generate", "score"])
def test_f7_a_hostile_config_is_one_error_line_in_every_command(
    run_musicgen: Any, tiny_checkpoint: Checkpoint, tiny_abc: Path, command: str
) -> None:
    path = rewrite_config(tiny_checkpoint, [1, 2])
    args = {"card": [], "generate": ["--n", "1"], "score": [tiny_abc]}[command]
    line = error_line(run_musicgen(command, *args, "--weights", tiny_checkpoint.path, timeout=60))
    assert f"{path}: not a checkpoint config" in line


def test_f7_huge_layers_are_refused_before_anything_is_built(run_musicgen: Any, tiny_checkpoint: Checkpoint) -> None:
    rewrite_config(tiny_checkpoint, {"model": {"lstm_layers": 10**9, "lstm_units": 10**9}})
    line = error_line(run_musicgen("card", "--weights", tiny_checkpoint.path, timeout=60))
    assert "config.json" in line and "lstm_units must be a whole number from 1 to 4,096" in line


def rewrite_weights(ckpt: Checkpoint, name: str, value: np.ndarray) -> None:
    assert ckpt.path is not None
    weights = dict(ckpt.weights, **{name: value})
    np.savez(ckpt.path / "weights.npz", **weights)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_f7_weights_holding_nan_are_refused(tiny_checkpoint: Checkpoint, bad: float) -> None:
    bias = tiny_checkpoint.weights["dense/bias"].copy()
    bias[3] = bad
    rewrite_weights(tiny_checkpoint, "dense/bias", bias)
    with pytest.raises(CheckpointError, match=r"weights\.npz: weight dense/bias holds NaN or infinite values"):
        Generator.load(tiny_checkpoint.path)


@pytest.mark.parametrize("kind", ["str", "bytes", "int", "bool", "complex"])
def test_f7_weights_of_another_type_are_refused_naming_the_array(tiny_checkpoint: Checkpoint, kind: str) -> None:
    kernel = tiny_checkpoint.weights["lstm_0/kernel"]
    rewrite_weights(tiny_checkpoint, "lstm_0/kernel", kernel.astype(kind))
    with pytest.raises(CheckpointError, match=r"weights\.npz: weight lstm_0/kernel holds .*, not floating-point"):
        checkpoint.load(tiny_checkpoint.path)


def test_f7_object_arrays_are_refused_naming_the_array(tiny_checkpoint: Checkpoint) -> None:
    kernel = tiny_checkpoint.weights["lstm_0/kernel"]
    rewrite_weights(tiny_checkpoint, "lstm_0/kernel", kernel.astype(object))
    with pytest.raises(CheckpointError, match=r"weights\.npz: weight lstm_0/kernel holds object values, not floating"):
        checkpoint.load(tiny_checkpoint.path)


def test_f7_an_array_larger_than_the_config_says_is_not_read(tiny_checkpoint: Checkpoint) -> None:
    rewrite_weights(tiny_checkpoint, "dense/bias", np.zeros((10_000, 100), dtype=np.float32))
    with pytest.raises(CheckpointError, match=r"weight dense/bias has shape \(10000, 100\) but config\.json"):
        checkpoint.load(tiny_checkpoint.path)


@pytest.mark.parametrize(
    "metrics",
    ["[1, 2]", '{"data": 5}', '{"data": {"paths": 5}}', '{"history": [1]}', '{"best_val_loss": "low"}', "{"],
)
def test_f7_metrics_not_shaped_as_training_writes_them_are_ignored(
    run_musicgen: Any, tiny_checkpoint: Checkpoint, metrics: str
) -> None:
    assert tiny_checkpoint.path is not None
    (tiny_checkpoint.path / "metrics.json").write_text(metrics)
    assert checkpoint.load(tiny_checkpoint.path).metrics == {}
    line = error_line(run_musicgen("card", "--weights", tiny_checkpoint.path, timeout=60))  # was a traceback
    assert "does not record its training data" in line


def test_f7_a_hand_made_checkpoint_with_nan_is_refused_by_the_engine(tmp_path: Path) -> None:
    from musicgen.model.engine import Engine

    ckpt = make_checkpoint(tmp_path / "w")
    weights = dict(ckpt.weights, embedding=np.full_like(ckpt.weights["embedding"], np.nan))
    with pytest.raises(CheckpointError, match="weight embedding holds NaN or infinite values"):
        Engine(Checkpoint(weights, ckpt.vocab, ckpt.model))


def test_f7_model_config_bounds() -> None:
    assert ModelConfig(embedding_dim=4096, lstm_units=4096, lstm_layers=8, dropout=0.99).lstm_layers == 8
    for bad in ({"lstm_layers": 9}, {"lstm_units": 0}, {"embedding_dim": 4097}, {"dropout": 1.0}, {"lstm_units": True}):
        with pytest.raises(ValueError, match="must be"):
            ModelConfig(**bad)
    for bad_train in ({"batch_size": 0}, {"patience": 0}, {"learning_rate": math.inf}, {"lr_decay": 0.0}, {"seed": -1}):
        with pytest.raises(ValueError, match="must be"):
            TrainConfig(**bad_train)


# F5, F6: resuming training. One tiny model with dropout, trained 2 epochs straight and 1 + 1 resumed.

DROPOUT_MODEL = ModelConfig(embedding_dim=8, lstm_units=8, lstm_layers=1, dropout=0.2)
DROPOUT_TRAIN = TrainConfig(batch_size=2, seq_len=16, epochs=2, patience=5, val_fraction=0.2)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``straight``: 2 epochs; ``resumed``: 1 epoch, then --resume to 2; ``after_one``: a copy of the run
    folder after its first epoch (for the corruption tests to copy and damage)."""
    from musicgen.model.train import train

    root = tmp_path_factory.mktemp("hostile-train")
    data = root / "tiny.abc"
    data.write_text(corpus.join_tunes(TINY_TUNES))
    train([data], root / "straight-out", DROPOUT_MODEL, DROPOUT_TRAIN, run_dir=root / "straight")
    one = DROPOUT_TRAIN.replace(epochs=1)
    train([data], root / "resumed-out", DROPOUT_MODEL, one, run_dir=root / "resumed")
    shutil.copytree(root / "resumed", root / "after_one")
    train([data], root / "resumed-out", DROPOUT_MODEL, DROPOUT_TRAIN, run_dir=root / "resumed", resume=True)
    return {"root": root, "data": data, **{k: root / k for k in ("straight", "resumed", "after_one")}}


@pytest.mark.slow
def test_f5_a_resumed_run_equals_one_never_stopped(runs: dict[str, Path]) -> None:
    import keras

    straight = json.loads((runs["straight"] / "state.json").read_text())
    resumed = json.loads((runs["resumed"] / "state.json").read_text())
    assert [h["epoch"] for h in resumed["history"]] == [1, 2]
    assert resumed["history"] == straight["history"]  # the same losses, to the last bit
    a = keras.models.load_model(runs["straight"] / straight["keras_file"], compile=False).get_weights()
    b = keras.models.load_model(runs["resumed"] / resumed["keras_file"], compile=False).get_weights()
    assert len(a) == len(b) > 0
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def damaged_run(runs: dict[str, Path], tmp_path: Path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(runs["after_one"], run)
    return run


def resume(runs: dict[str, Path], run: Path, tmp_path: Path) -> None:
    from musicgen.model.train import train

    train([runs["data"]], tmp_path / "out", DROPOUT_MODEL, DROPOUT_TRAIN, run_dir=run, resume=True)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda b: b[: len(b) // 2], r"epoch-0001\.keras: not a whole Keras file"),
        (lambda b: b[:100], r"epoch-0001\.keras: not a whole Keras file"),
        (lambda b: b"", r"epoch-0001\.keras: not a whole Keras file"),
        (lambda b: bytes(np.random.default_rng(0).integers(0, 256, len(b), dtype=np.uint8)), r"not a whole Keras"),
    ],
    ids=["half", "100-bytes", "empty", "random"],
)
def test_f6_a_damaged_epoch_file_is_one_sentence_naming_it(
    runs: dict[str, Path], tmp_path: Path, damage: Any, match: str
) -> None:
    from musicgen.model.train import TrainError

    run = damaged_run(runs, tmp_path)
    keras_file = run / "epoch-0001.keras"
    keras_file.write_bytes(damage(keras_file.read_bytes()))
    with pytest.raises(TrainError, match=match) as e:
        resume(runs, run, tmp_path)
    assert str(keras_file) in str(e.value) and "\n" not in str(e.value)


@pytest.mark.slow
def test_f6_a_keras_file_of_garbage_inside_a_whole_zip(runs: dict[str, Path], tmp_path: Path) -> None:
    from musicgen.model.train import TrainError

    run = damaged_run(runs, tmp_path)
    keras_file = run / "epoch-0001.keras"
    with zipfile.ZipFile(keras_file) as z:
        members = {n: z.read(n) for n in z.namelist()}
    with zipfile.ZipFile(keras_file, "w") as z:
        for name, data in members.items():
            z.writestr(name, b"garbage" if name.endswith(".h5") else data)
    with pytest.raises(TrainError, match=r"epoch-0001\.keras: cannot load the training state") as e:
        resume(runs, run, tmp_path)
    assert "\n" not in str(e.value)


@pytest.mark.slow
def test_f6_a_missing_epoch_file(runs: dict[str, Path], tmp_path: Path) -> None:
    from musicgen.model.train import TrainError

    run = damaged_run(runs, tmp_path)
    (run / "epoch-0001.keras").unlink()
    with pytest.raises(TrainError, match=r"state\.json names epoch-0001\.keras, which is not in"):
        resume(runs, run, tmp_path)


def edit_state(state: dict[str, Any], change: str) -> Any:
    """The state.json of one run changed in one hostile way."""
    if change == "not-an-object":
        return [state]
    if change.startswith("drop:"):
        return {k: v for k, v in state.items() if k != change[5:]}
    key, value = change.split("=", 1)
    return dict(state, **{key: json.loads(value)})


@pytest.mark.slow
@pytest.mark.parametrize(
    ("change", "match"),
    [
        ("not-an-object", r"state\.json: not a training state \(a JSON list"),
        ("drop:keras_file", r"state\.json: incomplete \(no keras_file\)"),
        ("drop:history", r"state\.json: incomplete \(no history\)"),
        ("drop:config", r"state\.json: incomplete \(no config\)"),
        ('epoch="one"', r"state\.json: epoch must be a whole number"),
        ("epoch=-3", r"state\.json: epoch must be a whole number"),
        ('keras_file="../../etc/passwd"', r"state\.json: keras_file must be epoch-0001\.keras"),
        ("keras_file=7", r"state\.json: keras_file must be epoch-0001\.keras"),
        ('history="lots"', r"state\.json: history must be a list of 1 epoch"),
        ("history=[1]", r"state\.json: history must be a list of 1 epoch"),
        ('learning_rate="fast"', r"state\.json: learning_rate must be a number above 0"),
        ('best_val_loss="low"', r"state\.json: best_val_loss must be a number"),
        ("config=[]", r"state\.json: config must be"),
        ('config={"model": 1}', r"state\.json: config must be"),
    ],
)
def test_f6_a_damaged_state_file_is_one_sentence_naming_it(
    runs: dict[str, Path], tmp_path: Path, change: str, match: str
) -> None:
    from musicgen.model.train import TrainError

    run = damaged_run(runs, tmp_path)
    state_file = run / "state.json"
    state_file.write_text(json.dumps(edit_state(json.loads(state_file.read_text()), change)))
    with pytest.raises(TrainError, match=match) as e:
        resume(runs, run, tmp_path)
    assert str(state_file) in str(e.value) and "\n" not in str(e.value)


@pytest.mark.slow
@pytest.mark.parametrize("text", ["", "{", '{"epoch": 1, "history": ["\x01"]}', "\xff\xfe garbage", "null"])
def test_f6_a_garbage_state_file_is_one_sentence_naming_it(runs: dict[str, Path], tmp_path: Path, text: str) -> None:
    from musicgen.model.train import TrainError

    run = damaged_run(runs, tmp_path)
    state_file = run / "state.json"
    state_file.write_bytes(text.encode("latin-1"))
    with pytest.raises(TrainError, match=r"state\.json: ") as e:
        resume(runs, run, tmp_path)
    assert str(state_file) in str(e.value) and "\n" not in str(e.value)


@pytest.mark.slow
def test_f6_a_damaged_run_folder_is_one_error_line(run_musicgen: Any, runs: dict[str, Path], tmp_path: Path) -> None:
    run = damaged_run(runs, tmp_path)
    (run / "state.json").write_text('{"epoch": 1, "history": ["\x01"]}')
    command = ["train", runs["data"], "--out", tmp_path / "out", "--run-dir", run, "--resume", "--epochs", "2"]
    command += ["--batch-size", "2", "--seq-len", "16", "--embedding-dim", "8", "--lstm-units", "8"]
    command += ["--lstm-layers", "1", "--patience", "5", "--val-fraction", "0.2"]
    assert str(run / "state.json") in error_line(run_musicgen(*command, timeout=300))
    (run / "state.json").write_text(json.dumps(json.loads((runs["after_one"] / "state.json").read_text())))
    (run / "epoch-0001.keras").write_bytes(b"")
    assert str(run / "epoch-0001.keras") in error_line(run_musicgen(*command, timeout=300))


# --- the page
# F2: Markdown in a title or a permalink value is shown as text; a permalink's seed_char the model lacks is
# reported; weights whose vocabulary leaves no meter-aware writing say so; F8, F10 (the page's side): a session
# keeps the ABC of its tunes, never their audio, and at most MAX_HISTORY of them. The same inputs in a real
# browser (links, images, requests to other hosts, memory): tests/test_browser.py.

PAGE = str(REPO_ROOT / "app.py")
PAGE_TIMEOUT = 120  # a first run imports music21 on a shared 2-core machine
EVIL = "http://evil.example"
HOSTILE_TITLE = f"[Click here to log in]({EVIL}/phish) ![i]({EVIL}/track.png)"
HOSTILE_PRIMER = f"X:1\nT:{HOSTILE_TITLE}\nM:4/4\nL:1/8\nK:G\nGABc dBAG|"
HOSTILE_LINK = {"seed": f"![t]({EVIL}/t.png)", "key": f"[Session expired]({EVIL}/x)"}
MARKDOWN_ELEMENTS = ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success")


@pytest.fixture
def page_weights(tiny_checkpoint: Checkpoint, monkeypatch: pytest.MonkeyPatch) -> Path:
    assert tiny_checkpoint.path is not None
    monkeypatch.setenv("MUSICGEN_WEIGHTS", str(tiny_checkpoint.path))
    return Path(tiny_checkpoint.path)


def open_page(query: dict[str, str] | None = None) -> Any:
    """The app run once by AppTest (on $MUSICGEN_WEIGHTS), opened with the permalink ``query``."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(PAGE, default_timeout=PAGE_TIMEOUT)
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, at.exception
    return at


def markdown_values(at: Any) -> list[str]:
    """The Markdown source of every element that renders Markdown: headings, text, captions, alerts."""
    return [e.value for kind in MARKDOWN_ELEMENTS for e in getattr(at, kind)]


def live_markup(values: list[str]) -> list[str]:
    """Values with Markdown that would act: an unescaped ``](`` (a link or an image), or a bare address
    (what GitHub-flavoured Markdown links once escapes are gone: ``http://``, ``www.``, ``name@host``)."""
    import re

    def bare_address(v: str) -> bool:
        return re.search(r"(?i)https?://|www\.|\w@\w", v.replace("\\", "")) is not None

    return [v for v in values if re.search(r"(?<!\\)\]\(", v) or bare_address(v)]


def readable_seed(weights: Path, primer: str) -> int:
    """A seed for which the tiny model's one character after ``primer`` leaves a tune music21 reads."""
    from musicgen.app.settings import Settings
    from musicgen.sound import convert

    gen = Generator.load(weights)
    for seed in range(50):
        try:
            convert.parse(gen.generate(Settings(seed=seed, primer=primer, length=1).sample_config())[0].abc)
        except convert.InvalidABCError:
            continue
        return seed
    pytest.fail("no seed below 50 gives a readable tune from this primer")


def test_f2_a_title_with_markdown_is_text_in_the_heading_and_the_history(page_weights: Path) -> None:
    from musicgen.app.text import plain, shown

    seed = readable_seed(page_weights, HOSTILE_PRIMER)
    at = open_page({"seed": str(seed), "length": "1", "primer": HOSTILE_PRIMER})
    values = markdown_values(at)
    assert [shown(s.value) for s in at.subheader if "Click" in s.value] == [HOSTILE_TITLE]  # the heading
    history = [m.value for m in at.markdown if f"seed {seed}, candidate 1" in m.value]
    assert len(history) == 1 and plain(HOSTILE_TITLE) in history[0]
    assert not [v for v in values if HOSTILE_TITLE in v]  # only ever in its escaped form
    assert live_markup(values) == []


def test_f2_permalink_values_with_markdown_are_text_in_the_warning_and_the_error(page_weights: Path) -> None:
    from musicgen.app.text import shown

    at = open_page(HOSTILE_LINK)
    (warning,) = at.warning
    assert f"seed='{HOSTILE_LINK['seed']}' is not a whole number" in shown(warning.value)
    (error,) = at.error
    assert shown(error.value).startswith(f"Nothing was composed: key '{HOSTILE_LINK['key']}' is not an ABC key")
    assert live_markup(markdown_values(at)) == []


@pytest.mark.parametrize(("char", "why"), [("XX", "is not one character"), ("é", "is not one this page offers")])
def test_a_permalink_seed_char_the_page_does_not_offer_is_reported(page_weights: Path, char: str, why: str) -> None:
    from musicgen.app.settings import Settings
    from musicgen.app.text import shown

    at = open_page({"seed": "1", "seed_char": char})
    said = [shown(w.value) for w in at.warning]
    assert any(f"the tune's start (seed_char={char!r}) {why}" in w for w in said), said
    assert at.selectbox(key="opt_seed_char").value == Settings().seed_char  # the default, as the warning says


def test_weights_without_bar_lines_say_why_there_is_no_meter_aware_switch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from musicgen.app.text import shown
    from musicgen.data.vocab import Vocab

    chars = sorted(set("".join(TINY_TUNES)) - {"|"})
    ckpt = make_checkpoint(tmp_path / "no-bar-lines", vocab=Vocab(chars))
    monkeypatch.setenv("MUSICGEN_WEIGHTS", str(ckpt.path))
    at = open_page()
    assert not [t for t in at.toggle if t.key == "opt_constrained"]
    captions = [shown(c.value) for c in at.caption]
    assert any("Meter-aware writing is not offered" in c and "'|'" in c for c in captions)
    next(b for b in at.button if b.label == "Compose").click().run()
    assert not at.exception and len(at.session_state["history"]) == 1  # it composes, freely


def held_bytes(value: Any, seen: set[int] | None = None) -> int:
    """Bytes held by ``value`` and what it holds (lists, tuples, dicts, dataclasses)."""
    import dataclasses

    seen = set() if seen is None else seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value)
    if isinstance(value, dict):
        return sum(held_bytes(v, seen) for v in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return sum(held_bytes(v, seen) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(held_bytes(getattr(value, f.name), seen) for f in dataclasses.fields(value))
    return 0


REEL_PRIMER = 'X:1\nT:Test Reel\nM:4/4\nL:1/8\nK:D\n|:"D"A2FA dAFA|"G"B2GB "A"AFED|"D"A2FA dAFA|"A"BcdB "D"A2D2:|\n'


def test_a_session_keeps_the_abc_of_its_tunes_never_their_audio(page_weights: Path) -> None:
    at = open_page({"seed": "1", "length": "1", "primer": REEL_PRIMER, "n": "2"})
    players = [json.loads(c.proto.json_args).get("audio") for c in at.get("component_instance")]
    assert any(players) or at.error  # the page played the tune (its player is in the sheet component), or said why not
    state = at.session_state.to_dict()  # every key of the session, widgets' included
    assert len(state["history"]) == 2
    assert held_bytes(state) == 0


def test_a_session_keeps_at_most_max_history_tunes(page_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from musicgen.app import session

    monkeypatch.setattr(session, "MAX_HISTORY", 3)
    at = open_page({"seed": "1", "length": "20", "n": "2"})
    for seed in (2, 3):
        at.number_input(key="opt_seed").set_value(seed)
        next(b for b in at.button if b.label == "Compose").click().run()
        assert not at.exception, at.exception
    history = at.session_state["history"]
    assert [(e.settings.seed, e.candidate) for e in history] == [(2, 1), (3, 0), (3, 1)]
    current = at.session_state["current"]
    assert history[current].settings.seed == 3 and code_blocks(at)[0] == history[current].abc.rstrip("\n")
    next(b for b in at.button if b.key == "show_0").click().run()  # the oldest kept still plays
    assert code_blocks(at)[0] == history[0].abc.rstrip("\n")


# --- turning a tune into sound
# F1 grace notes on one MIDI tick, F3 MusicXML of many slurs or voices, F8 a slow tune's audio, F9 a huge
# text; and item 1: every conversion runs under one time and size budget (musicgen.sound.budget), and its
# failures are sentences.

GRACE_PRIMERS = {
    "eight-graces-before-a-256th": "X:1\nT:t\nM:4/4\nL:1/64\nK:G\n{gggggggg}g/4|",
    "400-graces-before-an-eighth": "X:1\nT:t\nM:4/4\nL:1/8\nK:G\n{" + "g" * 400 + "}G|",
}
NESTED_SLURS = "X:1\nT:Slurs\nM:4/4\nL:1/8\nK:G\n" + "(" * 5000 + "G" + ")" * 5000 + "|]\n"  # 10 KB
MANY_VOICES = "X:1\nT:Voices\nM:4/4\nL:1/8\nK:G\n" + "".join(f"V:{i}\nGABc dedB|\n" for i in range(500))  # 8 KB
SLOW_BARS = ['"G"G2AB "Em"c2dB', '"C"c2ec "D7"dcBA', '"G"G2GA "Em"B2AG', '"Am"E2GE "D"D2FA']
SLOW_AIR = (  # 1.8 KB, 98 bars at 40 quarter notes a minute: 9:51 of music
    "X:1\nT:Slow air\nM:4/4\nL:1/8\nQ:1/4=40\nK:G\n" + "|".join(SLOW_BARS[i % 4] for i in range(98)) + "|]\n"
)
SHORT_TUNE = 'X:1\nT:Short\nM:6/8\nL:1/8\nK:G\n|:"G"GAB "D"A2d|"G"B2G "D"A3:|\n'


def huge_text(megabytes: int) -> str:
    return "X:1\nT:Huge\nM:4/4\nL:1/8\nK:G\n" + "GABc dedB|" * (100_000 * megabytes)


def wav_seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as w:
        return w.getnframes() / w.getframerate()


def spin() -> None:
    """A conversion step that never ends by itself (a pure-Python loop, as music21 on a hostile tune)."""
    while True:
        sum(range(1000))


@pytest.mark.parametrize("primer", list(GRACE_PRIMERS.values()), ids=list(GRACE_PRIMERS))
def test_f1_many_grace_notes_still_make_midi(primer: str) -> None:
    ev = convert.to_events(convert.parse(primer))
    assert all(n.duration_beats >= events.MIN_GRACE_BEATS or n is ev.melody[-1] for n in ev.melody)
    midi = mido.MidiFile(file=io.BytesIO(export.to_midi(primer)))
    notes = [m for track in midi.tracks for m in track if m.type == "note_on" and m.velocity > 0]
    assert notes and notes[-1].note == ev.melody[-1].pitch  # the main note sounds, after the graces that fit


@pytest.mark.parametrize("primer", list(GRACE_PRIMERS.values()), ids=list(GRACE_PRIMERS))
def test_f1_generate_with_a_grace_primer_writes_its_midi(
    primer: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "primer.abc").write_text(primer)
    args = ["generate", "--primer", str(tmp_path / "primer.abc"), "--length", str(len(primer) + 1)]
    assert cli.main([*args, "--rng", "1", "--sound", "mid", "--out", str(tmp_path / "out")]) == 0
    assert "no sound" not in capsys.readouterr().err
    assert mido.MidiFile(tmp_path / "out" / "tune_01.mid").length > 0


def test_f1_a_note_shorter_than_one_midi_tick_is_not_written() -> None:
    blip, note = NoteEvent(79, 0.0, 0.0005, 90), NoteEvent(67, 0.0005, 1.0, 90)
    midi = export.to_midi(Events(melody=(blip, note), accompaniment=(), tempo_bpm=120.0, beats=1.0, meter="4/4"))
    sounded = [m.note for track in mido.MidiFile(file=io.BytesIO(midi)).tracks for m in track if m.type == "note_on"]
    assert sounded == [67]


@pytest.mark.parametrize(("abc", "what"), [(NESTED_SLURS, "5,000 slurs"), (MANY_VOICES, "500 voices")])
def test_f3_musicxml_of_a_hostile_tune_is_refused_before_music21_builds_it(
    abc: str, what: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(score: Any) -> bytes:
        raise AssertionError("music21 was asked to export it")

    monkeypatch.setattr(export, "_musicxml_of", never)
    for convert_it in (lambda: export.to_musicxml(abc), lambda: render.musicxml(abc)):
        with pytest.raises(InvalidABCError, match=f"it has {what}; MusicXML is made for at most"):
            convert_it()
    assert what in (render.make_sound(abc).musicxml_error or "")


def test_f3_musicxml_runs_under_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "_musicxml_of", lambda score: spin())
    with pytest.raises(InvalidABCError, match=r"making its MusicXML took longer than 0\.5 s"):
        export.to_musicxml(SHORT_TUNE, budget=budget.Budget.start(0.5))
    monkeypatch.setattr(budget, "TUNE_S", 0.5)
    with pytest.raises(InvalidABCError, match=r"took longer than 0\.5 s"):
        render.musicxml(SHORT_TUNE)


def test_f8_a_slow_tune_s_audio_stops_at_the_ceiling_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "MAX_AUDIO_SECONDS", 20.0)  # the real ceiling (4 minutes) in the slow test below
    sound = render.make_sound(SLOW_AIR)
    assert sound.audio is not None and sound.midi is not None and sound.audio_error is None
    assert wav_seconds(sound.audio) == pytest.approx(20.0, abs=0.01)
    assert audio.midi_seconds(sound.midi) == pytest.approx(591.0)  # the MIDI download holds the whole tune
    assert sound.audio_note is not None and "The audio stops at 0:20 of 9:51" in sound.audio_note
    assert render.make_sound(SHORT_TUNE).audio_note is None


@pytest.mark.slow
def test_f8_a_slow_tune_s_audio_is_at_most_four_minutes() -> None:
    sound = render.make_sound(SLOW_AIR)
    assert sound.audio is not None and len(sound.audio) <= budget.MAX_AUDIO_BYTES
    assert wav_seconds(sound.audio) == pytest.approx(budget.MAX_AUDIO_SECONDS, abs=0.01)
    assert sound.audio_note is not None and sound.audio_note.startswith("The audio stops at 4:00 of 9:51")


@pytest.mark.parametrize("megabytes", [1, 5])
def test_f9_a_huge_text_is_refused_before_anything_reads_it(megabytes: int, monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("read a text past the size limit")

    monkeypatch.setattr(rhythm, "analyse", never)
    monkeypatch.setattr(convert, "parse", never)
    sound = render.make_sound(huge_text(megabytes))
    assert sound.parse_error is not None and f"longer than {budget.MAX_CHARS:,} characters" in sound.parse_error
    assert sound.bars is None and sound.midi is None
    assert render.bar_counts(huge_text(megabytes)) is None


def test_every_step_of_make_sound_past_the_budget_is_a_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "TUNE_S", 1.0)
    monkeypatch.setattr(export, "_midi_file", lambda *args: spin())
    sound = render.make_sound(SHORT_TUNE)
    assert sound.parses and sound.midi is None and "took longer than 1 s" in (sound.audio_error or "")
    monkeypatch.undo()
    monkeypatch.setattr(budget, "TUNE_S", 1.0)
    monkeypatch.setattr(audio, "render", lambda *args, **kwargs: spin())
    sound = render.make_sound(SHORT_TUNE)
    assert sound.midi is not None and sound.audio is None and "took longer than 1 s" in (sound.audio_error or "")


def test_write_sound_past_the_budget_is_a_line_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from musicgen.cli.generate import write_sound

    monkeypatch.setattr(budget, "PARSE_S", 0.5)
    monkeypatch.setattr(export, "_midi_file", lambda *args: spin())
    assert write_sound(tmp_path / "t.abc", SHORT_TUNE, "mid").startswith("no sound: ")
    assert not (tmp_path / "t.mid").exists()
