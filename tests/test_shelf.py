"""The server's shelf of sounds: a sound under way is made once for every caller, and dropped when no one wants it."""

from __future__ import annotations

import threading
import time

import pytest
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData, ScriptRequests

import app_tools
from musicgen.app.render import Sound
from musicgen.app.shelf import Shelf
from musicgen.sound import synth


def until(condition, seconds: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the other thread never got there"
        time.sleep(0.001)


def test_a_second_caller_waits_for_the_sound_under_way() -> None:
    shelf: Shelf[str, Sound] = Shelf(1000, 4)
    started, release, made, got = threading.Event(), threading.Event(), [], []

    def make(wanted) -> Sound:  # type: ignore[no-untyped-def]
        made.append(1)
        started.set()
        release.wait(10)
        return Sound(audio=b"tune")

    first = threading.Thread(target=lambda: got.append(shelf.get("k", make)))
    first.start()
    started.wait(10)
    second = threading.Thread(target=lambda: got.append(shelf.get("k", make)))
    second.start()
    release.set()
    first.join(10)
    second.join(10)
    assert made == [1] and len(got) == 2 and got[0] is got[1]


def test_a_sound_is_wanted_while_its_caller_goes_on_or_another_waits() -> None:
    shelf: Shelf[str, Sound] = Shelf(1000, 4)
    started, release, seen = threading.Event(), threading.Event(), []
    going = [True]

    def make(wanted) -> Sound:  # type: ignore[no-untyped-def]
        seen.append(wanted())
        started.set()
        release.wait(10)
        seen.append(wanted())
        return Sound(audio=b"tune")

    first = threading.Thread(target=lambda: shelf.get("k", make, wanted=lambda: going[0]))
    first.start()
    started.wait(10)
    going[0] = False  # the first caller's run was stopped, but a second caller now waits for the same sound
    waiter = threading.Thread(target=lambda: shelf.get("k", make, wanted=lambda: False))
    waiter.start()
    until(lambda: shelf._making["k"].waiting)  # noqa: SLF001 (the second caller waits)
    release.set()
    first.join(10)
    waiter.join(10)
    assert seen == [True, True]
    assert shelf.get("other", lambda wanted: Sound(audio=bytes(wanted())), wanted=lambda: going[0]).audio == b""


def test_a_dropped_sound_is_not_kept_and_the_next_caller_makes_it() -> None:
    shelf: Shelf[str, Sound] = Shelf(1000, 4)

    def dropped(wanted) -> Sound:  # type: ignore[no-untyped-def]
        raise synth.Dropped

    with pytest.raises(synth.Dropped):
        shelf.get("k", dropped)
    assert shelf.keys() == [] and not shelf._making  # noqa: SLF001
    assert shelf.get("k", lambda wanted: Sound(audio=b"tune")).audio == b"tune"


def test_a_caller_waiting_on_a_maker_that_fails_makes_the_sound_itself() -> None:
    shelf: Shelf[str, Sound] = Shelf(1000, 4)
    started, release, got = threading.Event(), threading.Event(), []

    def fails(wanted) -> Sound:  # type: ignore[no-untyped-def]
        started.set()
        release.wait(10)
        raise synth.Dropped

    def first() -> None:
        with pytest.raises(synth.Dropped):
            shelf.get("k", fails)

    thread = threading.Thread(target=first)
    thread.start()
    started.wait(10)
    waiter = threading.Thread(target=lambda: got.append(shelf.get("k", lambda wanted: Sound(audio=b"mine"))))
    waiter.start()
    until(lambda: shelf._making["k"].waiting)  # noqa: SLF001
    release.set()
    thread.join(10)
    waiter.join(10)
    assert [s.audio for s in got] == [b"mine"] and shelf.keys() == ["k"]


def test_a_run_streamlit_stopped_is_read_as_stopped() -> None:
    """The reading of Streamlit's private script-request state that ``app_tools.goes_on`` relies on."""
    requests = ScriptRequests()
    going = app_tools.goes_on(requests)
    assert going()
    assert requests.request_rerun(RerunData()) and going()  # a rerun asked of a running script: it goes on
    requests.request_stop()  # what a newer run of the session does to this one (runner.fastReruns)
    assert not going()
    assert app_tools.run_goes_on()()  # outside a script run: always going on
