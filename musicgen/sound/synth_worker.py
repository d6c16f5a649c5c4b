"""A synthesizer worker process for :mod:`musicgen.sound.synth`: run as a script, never imported. It renders MIDI
with midirenderer, one request at a time, until its standard input closes (its parent stopped it or died).

It imports nothing of the package (a worker holds the synthesizer and one SoundFont: 20-35 MB, started in 0.05 s;
a process started by :mod:`multiprocessing` would import the server's own script again: 1 s and 63 MB under
Streamlit).

    request: "<II" (path length, MIDI length), the SoundFont's path (UTF-8), the MIDI
    answer:  "<BQ" (0: a WAV follows, 1: a message why not), its length, its bytes
"""

import struct
import sys
from pathlib import Path

REQUEST, ANSWER = struct.Struct("<II"), struct.Struct("<BQ")


def _read(stream, n: int) -> bytes | None:  # type: ignore[no-untyped-def]
    data = stream.read(n)
    return data if len(data) == n else None


class RenderError(Exception):
    """The synthesizer's refusal, or an unreadable SoundFont, in words."""


_font: list[tuple[str, bytes]] = []  # the SoundFont last read: its path and bytes


def render(path: str, midi: bytes) -> bytes:
    """midirenderer's WAV (16-bit stereo, 48 kHz) of ``midi`` with the SoundFont at ``path`` (its bytes read once,
    kept while the path is the same): what a worker does for each request, and what
    :func:`musicgen.sound.synth.render_wave` does in the calling process."""
    import midirenderer

    if not _font or _font[0][0] != path:
        try:
            _font[:] = [(path, Path(path).read_bytes())]
        except OSError as e:
            raise RenderError(f"cannot read the SoundFont {path}: {e.strerror or e}") from None
    try:
        return midirenderer.render_wave_from(_font[0][1], midi)
    except (RuntimeError, ValueError) as e:
        raise RenderError(str(e)) from None


def serve(stdin, stdout) -> None:  # type: ignore[no-untyped-def]
    """Answer requests until ``stdin`` ends."""
    import midirenderer  # noqa: F401  (imported before the first request)

    while (head := _read(stdin, REQUEST.size)) is not None:
        n_path, n_midi = REQUEST.unpack(head)
        path, midi = _read(stdin, n_path), _read(stdin, n_midi)
        if path is None or midi is None:
            return
        try:
            status, out = 0, render(path.decode(), midi)
        except RenderError as e:
            status, out = 1, str(e).encode()
        stdout.write(ANSWER.pack(status, len(out)))
        stdout.write(out)
        stdout.flush()


if __name__ == "__main__":
    here = Path(__file__).resolve().parent  # the package's sound modules (events.py, notes.py) shadow nothing
    sys.path[:] = [p for p in sys.path if not p or Path(p).resolve() != here]
    serve(sys.stdin.buffer, sys.stdout.buffer)
