"""The synthesizer, on every core: midirenderer in worker processes of its own, a long tune cut into pieces
(:mod:`musicgen.sound.pieces`) rendered side by side, and the pieces' sound added up at their places.

    samples = synthesize(font_path, midi)          # float32 (frames, 2) at 48 kHz, as midirenderer renders it
    start_workers(2)                               # once (the app's server, at load): later calls use them

**Why.** midirenderer renders on one core and holds the interpreter while it does (a Python thread of the
server ran at 2% of its speed meanwhile): 0.3 s for a 48-second tune and 0.8-1.0 s for 154 seconds, most of a
long tune's wait for its sound. In worker processes the server's interpreter stays free (the page's messages
go out while the sound is made), and the pieces are rendered side by side. Measured on 48- to 156-second tunes
(fiddle, piano accompaniment), two workers on two cores: 0.79-0.89 s -> 0.54 s for 156 s, 0.31 -> 0.21 s for
48 s; the same length to a frame, short-time spectra within -24 dB of the whole render (the chorus's slow
oscillator starts afresh in each piece, and notes fall on the synthesizer's 64-sample blocks a few samples
apart). ``tests/test_synth.py`` keeps these.

**Workers.** Each is ``synth_worker.py`` run by this Python, speaking a few bytes of header and the bytes
through its standard input and output: it imports nothing of the package (a process of :mod:`multiprocessing`
would import the server's script again: 1 s and 63 MB under Streamlit). A worker that dies, or takes longer
than :data:`RENDER_TIMEOUT_S`, is replaced and the tune gets a :class:`SynthError`; with no workers started
(the command line, tests) the synthesizer runs in this process.
"""

from __future__ import annotations

import concurrent.futures
import io
import math
import os
import queue
import subprocess
import sys
import threading
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np

from musicgen.sound import synth_worker
from musicgen.sound.pieces import pieces

NATIVE_RATE = 48_000  # Hz: what midirenderer renders, in stereo
MAX_WORKERS = 8
WORKERS_ENV = "MUSICGEN_SYNTH_WORKERS"  # worker processes the app starts (default: one a core, at most 4)
RENDER_TIMEOUT_S = 60.0  # a render of the longest tune allowed takes 3-5 s here; a worker past this is stopped
WORKER = Path(__file__).with_name("synth_worker.py")
GONE = 2  # no answer: the worker's process ended (0: a WAV came, 1: the synthesizer's words)
# glibc's allocator in a worker: blocks of a megabyte or more mapped on their own and handed back when freed (by
# default the threshold rises to 32 MB after the first large block freed, and a worker kept 100 MB after three
# 160-second tunes, 33 MB so); other allocators ignore these.
WORKER_ENV = {"MALLOC_MMAP_THRESHOLD_": str(1 << 20), "MALLOC_ARENA_MAX": "1"}


class SynthError(RuntimeError):
    """The synthesizer refused the MIDI (its own message), or a worker process died."""


class Dropped(Exception):
    """A sound no one wants any more (``synthesize``'s ``wanted`` said so): its renders were stopped."""


WANTED_EVERY_S = 0.02  # how often a render on the workers asks whether its sound is still wanted


def default_workers() -> int:
    """How many worker processes the app starts: ``$MUSICGEN_SYNTH_WORKERS`` (0: render in the server's
    process), else one a core, at most 4."""
    env = os.environ.get(WORKERS_ENV)
    if env is not None:
        if not env.strip().isdigit() or int(env) > MAX_WORKERS:
            raise ValueError(f"{WORKERS_ENV} must be a whole number from 0 to {MAX_WORKERS}, not {env!r}")
        return int(env)
    return min(4, os.cpu_count() or 1)


def render_wave(font_path: str, midi: bytes) -> bytes:
    """midirenderer's WAV (16-bit stereo, 48 kHz) of one MIDI file, rendered in this process as a worker renders
    it (the SoundFont's bytes read once)."""
    try:
        return synth_worker.render(font_path, midi)
    except synth_worker.RenderError as e:
        raise SynthError(str(e)) from None


def read_wave(data: bytes) -> np.ndarray:
    """midirenderer's WAV as float32 samples (frames, channels) in -1..1: its header read by the wave module, its
    samples in place."""
    with wave.open(io.BytesIO(data)) as w:
        if w.getsampwidth() != 2 or w.getframerate() != NATIVE_RATE:
            raise SynthError(f"unexpected synthesizer output: {w.getsampwidth() * 8}-bit, {w.getframerate()} Hz")
        channels, frames = w.getnchannels(), w.getnframes()
    at = 12  # the RIFF chunks after "RIFF", its size and "WAVE": the samples are the "data" chunk's
    while data[at : at + 4] != b"data":
        at += 8 + int.from_bytes(data[at + 4 : at + 8], "little") + (data[at + 4] & 1)
    pcm = np.frombuffer(data, dtype="<i2", count=frames * channels, offset=at + 8).reshape(-1, channels)
    samples = pcm.astype(np.float32)
    samples *= np.float32(1 / 32768)
    return samples


class _Worker:
    """One worker process, used by one thread at a time (:data:`_idle` hands them out)."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(  # its own session: a Ctrl-C in the server's terminal stops the server only,
            [sys.executable, str(WORKER)],  # and the worker then ends with its input
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, **WORKER_ENV},
            start_new_session=True,
        )

    def render(self, font_path: str, midi: bytes) -> bytes:
        """The WAV of ``midi``; :class:`SynthError` with the synthesizer's words, or if the process died or hung."""
        path = font_path.encode()
        request = synth_worker.REQUEST.pack(len(path), len(midi)) + path + midi
        watchdog = threading.Timer(RENDER_TIMEOUT_S, self.process.kill)
        watchdog.start()
        try:
            self.process.stdin.write(request)  # type: ignore[union-attr]
            self.process.stdin.flush()  # type: ignore[union-attr]
            head = self.process.stdout.read(synth_worker.ANSWER.size)  # type: ignore[union-attr]
            status, size = synth_worker.ANSWER.unpack(head) if len(head) == synth_worker.ANSWER.size else (GONE, 0)
            body = self.process.stdout.read(size)  # type: ignore[union-attr]
        except OSError:  # the pipe broke: the process is gone
            status, body = GONE, b""
        finally:
            watchdog.cancel()
        if status == 0 and len(body) == size:
            return body
        if status == 1:
            raise SynthError(body.decode(errors="replace"))
        self.stop()
        raise SynthError("a synthesizer process stopped (it has been started again); try once more")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()  # type: ignore[union-attr]  (the worker's loop ends at end of input)
            try:
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.wait()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None


_idle: queue.Queue[_Worker] = queue.Queue()  # the workers not rendering now
_threads: list[concurrent.futures.ThreadPoolExecutor] = []  # one thread a worker: each drives one render
_count = [0]
_pool_lock = threading.Lock()


def start_workers(n: int) -> None:
    """Start ``n`` worker processes (0: render in this process), stopping those started before; later
    :func:`synthesize` calls use them. They start in the background (0.03 s; 20-35 MB each)."""
    if not 0 <= n <= MAX_WORKERS:
        raise ValueError(f"workers must be from 0 to {MAX_WORKERS}, not {n}")
    with _pool_lock:
        for executor in _threads:
            executor.shutdown(wait=True)
        _threads.clear()
        while not _idle.empty():
            _idle.get_nowait().stop()
        _count[0] = n
        if n:
            _threads.append(concurrent.futures.ThreadPoolExecutor(n, thread_name_prefix="synth"))
            for _ in range(n):
                _idle.put(_Worker())


def workers() -> int:
    """How many worker processes render (0: this process does)."""
    return _count[0]


class _Job:
    """The pieces of one :func:`synthesize` call on the workers: which workers render them now, and whether the
    call was dropped (its pieces not yet begun are never sent, those under way are stopped)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.busy: list[_Worker] = []
        self.dropped = False

    def take(self, worker: _Worker) -> bool:
        """``worker`` begins a piece (False: the call was dropped, so it does not)."""
        with self.lock:
            if not self.dropped:
                self.busy.append(worker)
            return not self.dropped

    def done(self, worker: _Worker) -> None:
        with self.lock:
            if worker in self.busy:
                self.busy.remove(worker)

    def drop(self) -> None:
        """Stop every piece: a worker under way is killed (its thread starts another in its place)."""
        with self.lock:
            self.dropped = True
            for worker in self.busy:
                worker.process.kill()


def _on_a_worker(font_path: str, midi: bytes, job: _Job) -> np.ndarray:
    worker = _idle.get()  # waits at most one render (the threads are as many as the workers)
    try:
        if not job.take(worker):
            raise Dropped
        return read_wave(worker.render(font_path, midi))
    finally:
        job.done(worker)
        _idle.put(worker if worker.alive else _Worker())


def synthesize(font_path: str | Path, midi: bytes, wanted: Callable[[], bool] | None = None) -> np.ndarray:
    """The MIDI rendered with the SoundFont: float32 (frames, 2) at 48 kHz, as long as midirenderer renders the
    whole file. With workers started, in as many pieces as there are workers; else here, in one.

    ``wanted``: asked every :data:`WANTED_EVERY_S` while the workers render; once it says False, the pieces are
    stopped (the workers free for the next sound at once, not after this one) and :class:`Dropped` is raised.
    A render in this process (no workers) is not stopped: ``wanted`` is asked before it only.
    """
    font = str(font_path)
    with _pool_lock:
        executor = _threads[0] if _threads else None
    if wanted is not None and not wanted():
        raise Dropped
    if executor is None:
        return read_wave(render_wave(font, midi))
    parts = pieces(midi, workers())
    job = _Job()
    futures = [executor.submit(_on_a_worker, font, piece, job) for _, piece in parts]
    rendered = list(zip((start for start, _ in parts), _rendered(futures, job, wanted)))
    if len(rendered) == 1:
        return rendered[0][1]
    frames = round(parts[-1][0] * NATIVE_RATE) + len(rendered[-1][1])  # the last piece ends where the file does
    out = np.zeros((frames, 2), np.float32)
    for start, samples in rendered:
        at = round(start * NATIVE_RATE)
        part = samples[: max(0, frames - at)]
        out[at : at + len(part)] += part
    return out


def _rendered(
    futures: list[concurrent.futures.Future[np.ndarray]], job: _Job, wanted: Callable[[], bool] | None
) -> list[np.ndarray]:
    """Every piece's samples, asking ``wanted`` meanwhile: :class:`Dropped` (every piece stopped) once it says False.
    (Bounded: a worker's watchdog stops a render at :data:`RENDER_TIMEOUT_S`.)"""
    for _ in range(1 if wanted is None else math.ceil(2 * RENDER_TIMEOUT_S / WANTED_EVERY_S)):
        if not concurrent.futures.wait(futures, None if wanted is None else WANTED_EVERY_S).not_done:
            return [future.result() for future in futures]
        if not wanted():  # type: ignore[misc]  (wanted is not None when a wait times out)
            job.drop()
            raise Dropped
    job.drop()
    raise SynthError("the synthesizer took longer than it may; try once more")
