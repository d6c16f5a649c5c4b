"""musicgen: compose folk tunes in ABC notation with a character-level LSTM.

The public API. Importing it imports neither TensorFlow nor music21: the
network itself is built only by :mod:`musicgen.model` (training).
"""

from .checkpoint import Checkpoint, CheckpointError, load, save
from .config import ModelConfig, SampleConfig, TrainConfig
from .corpus import CorpusError, read_tunes, split_train_val, split_tunes
from .engine import Engine
from .prompt import PrimerError
from .sample import ConstraintError, Generator, Tune, sample_next
from .vocab import UnknownCharacterError, Vocab

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "ConstraintError",
    "CorpusError",
    "Engine",
    "Generator",
    "ModelConfig",
    "PrimerError",
    "SampleConfig",
    "TrainConfig",
    "Tune",
    "UnknownCharacterError",
    "Vocab",
    "load",
    "read_tunes",
    "sample_next",
    "save",
    "split_train_val",
    "split_tunes",
]
