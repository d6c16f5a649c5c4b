"""musicgen: compose folk tunes in ABC notation with a character-level LSTM.

The public API. Importing it imports neither TensorFlow nor music21: the
network itself is built only by :mod:`musicgen.model.network` (training), and music21,
midiutil and the synthesizer load when a conversion first runs.
"""

from musicgen.abcnotation.rhythm import Bar, RhythmState, analyse
from musicgen.abcnotation.tokens import Tokenizer, tokenize
from musicgen.abcnotation.transpose import TransposeError, transpose_to_key, transpose_tune
from musicgen.compose.constrain import MeterConstraint
from musicgen.compose.prompt import PrimerError
from musicgen.compose.rewrite import RewriteError, rewrite
from musicgen.compose.sample import ConstraintError, Generator, Tune, sample_next
from musicgen.compose.tracker import Tracker
from musicgen.config import ModelConfig, SampleConfig, TrainConfig
from musicgen.data.corpus import CorpusError, read_tunes, split_train_val, split_tunes
from musicgen.data.vocab import UnknownCharacterError, Vocab
from musicgen.judge.explain import Explanation, explain_abc, explain_generated
from musicgen.judge.quality import Reference, check_tune, summarise
from musicgen.model.checkpoint import Checkpoint, CheckpointError, load, save
from musicgen.model.engine import Engine
from musicgen.sound.audio import AudioError, render
from musicgen.sound.convert import Events, InvalidABCError, NoteEvent, Parsed, parse, to_events
from musicgen.sound.export import INSTRUMENTS, to_midi, to_musicxml

__all__ = [
    "AudioError",
    "Bar",
    "Events",
    "INSTRUMENTS",
    "InvalidABCError",
    "NoteEvent",
    "Parsed",
    "Checkpoint",
    "CheckpointError",
    "ConstraintError",
    "CorpusError",
    "Engine",
    "Explanation",
    "MeterConstraint",
    "Generator",
    "ModelConfig",
    "PrimerError",
    "Reference",
    "RhythmState",
    "SampleConfig",
    "Tokenizer",
    "Tracker",
    "TrainConfig",
    "Tune",
    "UnknownCharacterError",
    "Vocab",
    "analyse",
    "check_tune",
    "explain_abc",
    "explain_generated",
    "load",
    "parse",
    "render",
    "read_tunes",
    "sample_next",
    "save",
    "split_train_val",
    "split_tunes",
    "summarise",
    "to_events",
    "to_midi",
    "to_musicxml",
    "tokenize",
    "RewriteError",
    "rewrite",
    "TransposeError",
    "transpose_to_key",
    "transpose_tune",
]
