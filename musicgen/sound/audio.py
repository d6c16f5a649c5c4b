"""MIDI bytes -> audio bytes (WAV, OGG/Vorbis or MP3), loudness-normalised. The synthesizer itself is run by
:mod:`musicgen.sound.synth` (in worker processes once the app has started them).

    wav = render(to_midi(abc))                  # 16-bit stereo WAV, 48 kHz
    ogg = render(midi, "ogg", sample_rate=44100)
    samples = render_samples(midi)              # float32 (frames, 2) at 48 kHz, normalised
    wav = render(midi, sample_rate=24_000, channels=1, max_seconds=240.0)  # mono, 4 min at most (fading out)

**Synthesizer: midirenderer with the TimGM6mb General MIDI SoundFont.** Both come from ``pip install -r
requirements.txt`` alone: ``midirenderer`` is a Rust wheel (a SoundFont synthesizer with no system library), and
``pretty_midi``'s wheel carries ``TimGM6mb.sf2`` (6 MB, every GM program). Set ``MUSICGEN_SOUNDFONT`` to the path of
another ``.sf2`` to use a bigger, better one; a GM program a SoundFont cannot play in full (the shipped one's tin
whistle) plays as its nearest one (:func:`musicgen.sound.soundfont.playable`). Evidence for the choice, measured
here (2 shared cores, another process training): midirenderer renders 30 s of a melody and a four-note
accompaniment at 48 kHz stereo in 0.36-0.60 s, and a fixed 0.02 s a call, tempo and GM programs faithfully (an A4
flute note peaks at 443 Hz); ``tinysoundfont`` 0.3.7 cannot be installed (it requires pyaudio, which does not build
without PortAudio's C headers), ``pyfluidsynth`` needs the system libfluidsynth; ``symusic`` 0.6.0's synthesizer
fails with NumPy 2.4 ("Unable to convert function return value to a Python type"); midirenderer's own Opus output
took 1.4 s for 15 s of audio (480 kB), and ``soundfile`` (its wheel bundles libsndfile 1.2) encodes its WAV as
OGG/Vorbis or MP3 several times faster and smaller, so compressed formats go through soundfile.

**Loudness.** The rendered audio is scaled to :data:`TARGET_LUFS` integrated loudness (ITU-R BS.1770: K-weighting,
400 ms blocks, absolute and relative gates; the K-weighting filter is applied in the frequency domain on 100 ms
blocks, which needs no SciPy), with the sample peak kept under :data:`PEAK_DBFS`. The GM SoundFont renders very
quietly (peaks near -18 dBFS), so without this every tune would sound faint. Mono is the mean of the normalised
stereo; 24 kHz (the page's player) is made by a halfband filter (:func:`halve`), other rates by FFT (:func:`resample`).

**Bounds.** MIDI longer than :data:`MAX_SECONDS` is refused before rendering (one minute of 48 kHz stereo float
audio is 23 MB), and so is MIDI with no notes. With ``max_seconds`` (the page:
:data:`musicgen.sound.budget.MAX_AUDIO_SECONDS`) a longer tune is not refused but cut: the MIDI is cut there before
the synthesizer sees it (notes still sounding end there), and the audio stops at that point exactly, fading out over
its last :data:`FADE_S`. :func:`ceiling_seconds` turns a ceiling in bytes into one in seconds.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import math
import os
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from musicgen.sound import synth
from musicgen.sound.budget import MAX_MIDI_SECONDS, cut_midi_file
from musicgen.sound.pieces import length_seconds
from musicgen.sound.soundfont import SoundFontError, playable

NATIVE_RATE = 48_000  # Hz: what midirenderer produces
FORMATS = ("wav", "ogg", "mp3")
ENCODE_BLOCK = 16_384  # frames per write call when encoding OGG/MP3 (see render)
TARGET_LUFS = -16.0  # integrated loudness of every render (a common target for music on the web)
PEAK_DBFS = -1.0  # highest sample peak after normalising
MAX_SECONDS = MAX_MIDI_SECONDS  # longest MIDI rendered whole, and the highest ceiling (see musicgen.sound.budget)
FADE_S = 1.0  # audio stopped at a ceiling fades out over this many seconds before it
WAV_HEADER_BYTES = 44  # before the samples of a 16-bit PCM WAV file
MIN_RATE = 8_000  # lowest sample rate offered
_BLOCKS_AT_ONCE = 64  # 100 ms loudness blocks measured per FFT batch

# BS.1770-4 K-weighting at 48 kHz: a high-shelf (head) then a high-pass (RLB) biquad.
_SHELF = ([1.53512485958697, -2.69169618940638, 1.19839281085285], [1.0, -1.69065929318241, 0.73248077421585])
_HIGHPASS = ([1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621])


class AudioError(RuntimeError):
    """The MIDI could not be turned into sound (not MIDI, no notes, too long, synthesizer failure)."""


def soundfont_path() -> Path:
    """The SoundFont in use: ``$MUSICGEN_SOUNDFONT``, else TimGM6mb.sf2 from the pretty_midi package."""
    override = os.environ.get("MUSICGEN_SOUNDFONT")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("pretty_midi")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise AudioError(
            "no SoundFont: install the requirements (pretty_midi carries TimGM6mb.sf2) "
            "or set MUSICGEN_SOUNDFONT to an .sf2 file"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "TimGM6mb.sf2"


def _midi_file(midi_bytes: bytes) -> Any:
    import mido

    try:
        return mido.MidiFile(file=io.BytesIO(midi_bytes))
    except Exception as e:  # mido raises OSError, EOFError, KeyError, ValueError... for bad bytes
        raise AudioError(f"not a playable MIDI file ({type(e).__name__}: {e})") from None


def midi_seconds(midi_bytes: bytes) -> float:
    """How long a MIDI file plays, in seconds (tempo changes included)."""
    return length_seconds(_midi_file(midi_bytes))


def cut_midi(midi_bytes: bytes, seconds: float) -> bytes:
    """The MIDI file up to ``seconds`` (tempo changes included): later events left out, notes still
    sounding then ended there, so a synthesizer renders no more than that. A shorter file is returned as it is."""
    mid = _midi_file(midi_bytes)
    return midi_bytes if length_seconds(mid) <= seconds else cut_midi_file(mid, seconds)


def ceiling_seconds(max_seconds: float, max_bytes: int, sample_rate: int = NATIVE_RATE) -> float:
    """The longest audio within both ceilings: ``max_seconds``, and ``max_bytes`` of 16-bit stereo WAV
    (the biggest format made: OGG and MP3 of the same audio are smaller).

    >>> ceiling_seconds(240.0, 48_000_000), ceiling_seconds(240.0, 192_044)
    (240.0, 1.0)
    """
    return min(float(max_seconds), (max_bytes - WAV_HEADER_BYTES) / (sample_rate * 2 * 2))


def render_samples(
    midi_bytes: bytes,
    sample_rate: int = NATIVE_RATE,
    max_seconds: float | None = None,
    channels: int = 2,
    wanted: Callable[[], bool] | None = None,
) -> np.ndarray:
    """Synthesize MIDI to float32 samples, shape (frames, channels), loudness-normalised.

    With ``max_seconds`` the audio stops there (see the module docstring); without, MIDI longer than
    :data:`MAX_SECONDS` is refused. ``channels=1``: stereo mixed to mono (before resampling: half the work).
    ``wanted``: while it says True the sound is made; once it says False, :class:`~musicgen.sound.synth.Dropped`
    (see :func:`~musicgen.sound.synth.synthesize`).
    """
    if not isinstance(midi_bytes, (bytes, bytearray)):
        raise TypeError(f"render() takes MIDI bytes, not {type(midi_bytes).__name__}")
    if not MIN_RATE <= sample_rate <= NATIVE_RATE or channels not in (1, 2):
        raise ValueError(
            f"sample_rate must be {MIN_RATE} to {NATIVE_RATE} Hz, channels 1 or 2: {sample_rate}, {channels}"
        )
    if max_seconds is not None and not 0 < max_seconds <= MAX_SECONDS:
        raise ValueError(f"max_seconds must be above 0 and at most {MAX_SECONDS:g}, not {max_seconds}")
    midi = bytes(midi_bytes)
    seconds = midi_seconds(midi)
    cut = max_seconds is not None and seconds > max_seconds
    if cut:
        midi = cut_midi(midi, float(max_seconds))  # type: ignore[arg-type]
    elif seconds > MAX_SECONDS:
        raise AudioError(f"the tune plays for {seconds:.0f} s; audio is made for at most {MAX_SECONDS:.0f} s")
    font = soundfont_path()
    try:
        samples = synth.synthesize(font, playable(midi, font)[0], wanted)
    except (synth.SynthError, SoundFontError) as e:
        raise AudioError(f"the synthesizer failed: {e}") from None
    if wanted is not None and not wanted():
        raise synth.Dropped
    if len(samples) == 0:
        raise AudioError("the MIDI holds no notes to play")
    if cut:
        samples = _fade_out(samples[: round(float(max_seconds) * NATIVE_RATE)])  # type: ignore[arg-type]
    gain = normal_gain(samples, NATIVE_RATE)  # measured in stereo: mono plays as loud as the stereo mix
    if channels == 1:  # the mean of the two channels, scaled in one pass (no stereo copy)
        samples = ((samples[:, 0] + samples[:, 1]) * np.float32(gain / 2))[:, None]
    else:
        samples *= np.float32(gain)
    if sample_rate * 2 == NATIVE_RATE:  # the page's 24 kHz: a halfband filter, 10x faster than the FFT
        return np.stack([halve(samples[:, c]) for c in range(samples.shape[1])], axis=1)
    return samples if sample_rate == NATIVE_RATE else resample(samples, NATIVE_RATE, sample_rate)


def render(
    midi_bytes: bytes,
    fmt: str = "wav",
    sample_rate: int = NATIVE_RATE,
    max_seconds: float | None = None,
    channels: int = 2,
    wanted: Callable[[], bool] | None = None,
) -> bytes:
    """Audio file bytes of the MIDI as ``fmt``: "wav" (16-bit PCM), "ogg" (Vorbis), "mp3"; see :func:`render_samples`."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown audio format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    samples = render_samples(midi_bytes, sample_rate, max_seconds, channels, wanted)
    if fmt == "wav":
        return _write_wav(samples, sample_rate)
    import soundfile

    out = io.BytesIO()
    subtype = "VORBIS" if fmt == "ogg" else "MPEG_LAYER_III"
    try:
        # Written in blocks: libsndfile's Vorbis encoder crashes the process (a segfault, not an
        # exception) when one write call holds more than about 40 s of stereo audio.
        with soundfile.SoundFile(out, "w", sample_rate, samples.shape[1], format=fmt.upper(), subtype=subtype) as f:
            for start in range(0, len(samples), ENCODE_BLOCK):
                f.write(samples[start : start + ENCODE_BLOCK])
    except (RuntimeError, soundfile.LibsndfileError) as e:
        raise AudioError(f"cannot encode {fmt}: {e}") from None
    return out.getvalue()


def _fade_out(samples: np.ndarray) -> np.ndarray:
    """Fade the last :data:`FADE_S` out to silence, in place (a whole copy would be 92 MB at the ceiling)."""
    n = min(len(samples), round(FADE_S * NATIVE_RATE))
    samples[len(samples) - n :] *= np.linspace(1.0, 0.0, n, dtype=np.float32)[:, None]
    return samples


def _write_wav(samples: np.ndarray, rate: int) -> bytes:
    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(samples.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return out.getvalue()


def _k_weighting_gain(n: int) -> np.ndarray:
    """|H|^2 of the K-weighting filter at the rfft bins of an n-sample block at 48 kHz."""
    z = np.exp(-1j * np.pi * np.arange(n // 2 + 1) / (n // 2))
    gain = np.ones(n // 2 + 1)
    for b, a in (_SHELF, _HIGHPASS):
        gain *= np.abs(np.polyval(b[::-1], z) / np.polyval(a[::-1], z)) ** 2
    return gain


def loudness(samples: np.ndarray, rate: int = NATIVE_RATE) -> float:
    """Integrated loudness in LUFS of float samples (frames, channels) at 48 kHz; -inf for silence.

    >>> t = np.arange(NATIVE_RATE * 2) / NATIVE_RATE
    >>> tone = np.stack([np.sin(2 * np.pi * 1000 * t)] * 2, axis=1) * 10 ** (-20 / 20)
    >>> round(loudness(tone), 1)  # BS.1770: -23.0 LUFS for one such channel, +3 dB for two
    -20.0
    """
    if rate != NATIVE_RATE:
        raise ValueError("loudness is measured at 48 kHz")
    block = rate // 10  # 100 ms
    n = len(samples) // block
    if n == 0:
        return float("-inf")
    x = samples[: n * block].reshape(n, block, -1)
    weight = _k_weighting_gain(block)
    weight[1 : (block + 1) // 2] *= 2  # the negative frequencies rfft leaves out
    mean_square = np.empty(n)
    for i in range(0, n, _BLOCKS_AT_ONCE):  # a few seconds at a time: memory stays small for long tunes
        spectrum = np.fft.rfft(x[i : i + _BLOCKS_AT_ONCE], axis=1)
        power = spectrum.real**2 + spectrum.imag**2
        # Parseval: the weighted mean square of each block; channels summed (weight 1 each)
        mean_square[i : i + _BLOCKS_AT_ONCE] = np.einsum("bfc,f->b", power, weight) / block**2
    # 400 ms blocks overlapping by 75%: four 100 ms blocks each (one shorter block for a very short tune)
    z = np.convolve(mean_square, np.ones(4) / 4, mode="valid") if n >= 4 else np.array([mean_square.mean()])
    with np.errstate(divide="ignore"):
        levels = -0.691 + 10 * np.log10(z)
    gated = z[levels > -70.0]
    if gated.size == 0:
        return float("-inf")
    relative = -0.691 + 10 * np.log10(gated.mean()) - 10.0
    final = z[levels > max(relative, -70.0)]
    return float(-0.691 + 10 * np.log10(final.mean()))


def normalise(samples: np.ndarray, rate: int = NATIVE_RATE) -> np.ndarray:
    """Scale to TARGET_LUFS, keeping the sample peak under PEAK_DBFS; silence stays silent."""
    return (samples * normal_gain(samples, rate)).astype(np.float32)


def normal_gain(samples: np.ndarray, rate: int = NATIVE_RATE) -> float:
    """The factor :func:`normalise` scales by (1.0 for silence)."""
    level = loudness(samples, rate)
    peak = max(float(samples.max()), -float(samples.min())) if samples.size else 0.0  # no |x| copy
    if not np.isfinite(level) or peak == 0.0:
        return 1.0
    return min(10 ** ((TARGET_LUFS - level) / 20), 10 ** (PEAK_DBFS / 20) / peak)


HALFBAND_PAIRS, HALFBAND_BETA = 32, 8.0  # 128 taps (Kaiser): flat to 11 kHz, -6 dB at 12, -83 dB from 13 kHz


@functools.lru_cache(maxsize=1)
def _halfband() -> np.ndarray:
    """The odd taps h[1], h[3], ... of a windowed-sinc halfband low-pass (h[0] = 1/2, the other even ones 0)."""
    k = np.arange(HALFBAND_PAIRS) * 2 + 1
    taps = 0.5 * np.sinc(k / 2) * np.kaiser(4 * HALFBAND_PAIRS + 1, HALFBAND_BETA)[2 * HALFBAND_PAIRS + k]
    return np.concatenate([taps[::-1], taps]).astype(np.float32)


def halve(x: np.ndarray) -> np.ndarray:
    """One channel at half its rate through a halfband low-pass: 40 ms for 3 minutes at 48 kHz (resample: 0.4 s).

    >>> x = np.sin(2 * np.pi * 440 * np.arange(48_000) / 48_000).astype(np.float32)
    >>> y = halve(x)
    >>> y.shape, int(np.argmax(np.abs(np.fft.rfft(y)))), round(float(np.abs(y[500:-500]).max()), 3)
    ((24000,), 440, 1.0)
    """
    even = x[0::2][: round(len(x) / 2)]  # as many samples as resample gives
    near = np.convolve(x[1::2], _halfband())[HALFBAND_PAIRS - 1 : HALFBAND_PAIRS - 1 + len(even)]
    return (0.5 * even + near).astype(np.float32)


def resample(samples: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """Band-limited resampling by FFT, over the tune padded with silence to a length of small prime factors
    (:func:`_fast_length`: an FFT of 2,339,999 samples, 48.7 s, took 1.4 s; one of 2,343,750 takes 0.1 s).

    >>> x = np.sin(2 * np.pi * 440 * np.arange(48_000) / 48_000)[:, None]
    >>> y = resample(x, 48_000, 16_000)
    >>> y.shape, int(np.argmax(np.abs(np.fft.rfft(y[:, 0]))))
    ((16000, 1), 440)
    >>> resample(x[:47_999], 48_000, 24_000).shape  # an odd length: the output rounds to whole samples
    (24000, 1)
    """
    n = len(samples)
    m = max(1, round(n * new_rate / rate))
    step = rate // math.gcd(rate, new_rate)  # a padded length of whole steps gives a whole output length
    padded = _fast_length(n, step)
    out_len = padded * new_rate // rate
    spectrum = np.fft.rfft(samples, n=padded, axis=0)[: out_len // 2 + 1]
    return (np.fft.irfft(spectrum, n=out_len, axis=0)[:m] * (out_len / padded)).astype(np.float32)


def _fast_length(n: int, step: int) -> int:
    """The least multiple of ``step`` from ``n`` on with no prime factor above 5 but ``step``'s own.
    >>> _fast_length(2_339_999, 2), _fast_length(7, 1), _fast_length(1, 48_000)
    (2343750, 8, 48000)"""
    k = -(-n // step)
    while True:
        rest = k
        for p in (2, 3, 5):
            while rest % p == 0:
                rest //= p
        if rest == 1:
            return k * step
        k += 1
