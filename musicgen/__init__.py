"""musicgen: compose folk tunes in ABC notation with a character-level LSTM.

The public API. Importing it imports neither TensorFlow nor music21: the
network itself is built only by :mod:`musicgen.model` (training), and music21,
midiutil and the synthesizer load when a conversion first runs.
"""

from .abctokens import Tokenizer, tokenize
from .audio import AudioError, render
from .checkpoint import Checkpoint, CheckpointError, load, save
from .config import ModelConfig, SampleConfig, TrainConfig
from .constrain import MeterConstraint
from .convert import Events, InvalidABCError, NoteEvent, Parsed, parse, to_events
from .corpus import CorpusError, read_tunes, split_train_val, split_tunes
from .engine import Engine
from .export import INSTRUMENTS, to_midi, to_musicxml
from .prompt import PrimerError
from .quality import Reference, check_tune, summarise
from .rhythm import Bar, RhythmState, analyse
from .sample import ConstraintError, Generator, Tune, sample_next
from .tracker import Tracker
from .vocab import UnknownCharacterError, Vocab

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
]
