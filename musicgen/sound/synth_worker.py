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


def serve(stdin, stdout) -> None:  # type: ignore[no-untyped-def]
    """Answer requests until ``stdin`` ends. The SoundFont's bytes are read once, kept while the path is the same."""
    import midirenderer

    font: tuple[str, bytes] | None = None
    while (head := _read(stdin, REQUEST.size)) is not None:
        n_path, n_midi = REQUEST.unpack(head)
        path, midi = _read(stdin, n_path), _read(stdin, n_midi)
        if path is None or midi is None:
            return
        try:
            if font is None or font[0] != path.decode():
                font = (path.decode(), Path(path.decode()).read_bytes())
            status, out = 0, midirenderer.render_wave_from(font[1], midi)
        except OSError as e:
            status, out = 1, f"cannot read the SoundFont {path.decode()}: {e.strerror or e}".encode()
        except (RuntimeError, ValueError) as e:
            status, out = 1, str(e).encode()
        stdout.write(ANSWER.pack(status, len(out)))
        stdout.write(out)
        stdout.flush()


if __name__ == "__main__":
    here = Path(__file__).resolve().parent  # the package's sound modules (events.py, notes.py) shadow nothing
    sys.path[:] = [p for p in sys.path if not p or Path(p).resolve() != here]
    serve(sys.stdin.buffer, sys.stdout.buffer)
