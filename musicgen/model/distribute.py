"""Training on several GPUs or machines with TensorFlow's own ``tf.distribute``.

    musicgen train DATA --out DIR --strategy mirrored        # every GPU of this machine
    TF_CONFIG='{...}' musicgen train DATA --out DIR --strategy multiworker   # on every machine

Strategies (``--strategy``):

``default``      one device, as without distribution
``mirrored``     ``tf.distribute.MirroredStrategy``: one replica per GPU of this machine
                 (one CPU replica when there is no GPU)
``multiworker``  ``tf.distribute.MultiWorkerMirroredStrategy``: every GPU (or the CPU) of
                 every machine listed in the standard ``TF_CONFIG`` environment variable

The global batch (``--batch-size`` streams) is split evenly over the replicas. A
stateful LSTM keeps its (h, c) state in variables; under a strategy those are made
*sync-on-read* (:func:`per_replica_state`), so every replica keeps the state of its own
block of streams, as Keras metrics keep per-replica counts.

Only the chief (task ``chief``, or ``worker`` 0 when the cluster has no chief) writes
the checkpoint and the run folder; the other workers write theirs into a temporary
folder that is deleted when training ends (:func:`writable_dirs`), the standard
pattern, which keeps every worker's saving in step should saving ever need
collective operations. Importing this module does not import TensorFlow.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from musicgen.config import ModelConfig, TrainConfig

STRATEGIES = ("default", "mirrored", "multiworker")
STATE_VARIABLE = "rnn_state"  # what Keras names a stateful RNN's state variables


class DistributeError(ValueError):
    """The asked distribution cannot be set up (bad TF_CONFIG, batch not divisible, ...)."""


def read_tf_config(text: str | None) -> dict[str, Any] | None:
    """Parse and check a ``TF_CONFIG`` value; ``None`` when it is unset or empty.

    >>> read_tf_config('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}')["task"]
    {'type': 'worker', 'index': 1}
    >>> read_tf_config("") is None
    True
    >>> read_tf_config('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}')
    Traceback (most recent call last):
    ...
    musicgen.model.distribute.DistributeError: TF_CONFIG: task index 3 is out of range: the cluster lists 1 'worker' task(s)
    """
    if not text or not text.strip():
        return None
    try:
        config = json.loads(text)
    except ValueError as e:
        raise DistributeError(f"TF_CONFIG is not valid JSON ({e})") from e
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not cluster or not isinstance(task, dict):
        raise DistributeError(
            'TF_CONFIG needs {"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": i}}'
        )
    for role, addresses in cluster.items():
        if not isinstance(addresses, list) or not all(isinstance(a, str) and ":" in a for a in addresses):
            raise DistributeError(f"TF_CONFIG: cluster[{role!r}] must be a list of 'host:port' strings")
    role, index = task.get("type"), task.get("index", 0)
    if role not in cluster:
        raise DistributeError(f"TF_CONFIG: task type {role!r} is not in the cluster ({', '.join(cluster)})")
    if not isinstance(index, int) or not 0 <= index < len(cluster[role]):
        raise DistributeError(
            f"TF_CONFIG: task index {index} is out of range: the cluster lists {len(cluster[role])} {role!r} task(s)"
        )
    return {"cluster": cluster, "task": {"type": role, "index": index}}


def chief_task(role: str | None, index: int | None, cluster: Mapping[str, Any]) -> bool:
    """Whether task (``role``, ``index``) is the chief: the ``chief`` task, else worker 0.

    >>> chief_task("worker", 0, {"worker": ["a:1", "b:1"]}), chief_task("worker", 1, {"worker": ["a:1", "b:1"]})
    (True, False)
    >>> chief_task("worker", 0, {"chief": ["c:1"], "worker": ["a:1"]}), chief_task(None, None, {})
    (False, True)
    """
    if role is None:
        return True  # not part of a cluster: alone, hence the chief
    if role == "chief":
        return True
    return role == "worker" and index == 0 and "chief" not in cluster


def make_strategy(name: str, environ: Mapping[str, str] = os.environ) -> Any:
    """The ``tf.distribute`` strategy called ``name`` (one of :data:`STRATEGIES`).

    ``multiworker`` needs ``TF_CONFIG``, and must be made before TensorFlow runs
    anything else in the process (TensorFlow's own rule for collective operations).
    """
    if name not in STRATEGIES:
        raise DistributeError(f"unknown strategy {name!r}: choose one of {', '.join(STRATEGIES)}")
    if name == "multiworker" and read_tf_config(environ.get("TF_CONFIG")) is None:
        raise DistributeError(
            "--strategy multiworker needs TF_CONFIG describing the cluster on every machine, "
            'e.g. {"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
            '"task": {"type": "worker", "index": 0}}'
        )
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # as musicgen.model.network: no C++ start-up chatter
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief(strategy: Any) -> bool:
    """Whether this process writes checkpoints: always, except on a cluster's non-chief workers."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return chief_task(resolver.task_type, resolver.task_id, resolver.cluster_spec().as_dict())


def is_default(strategy: Any) -> bool:
    """Whether ``strategy`` is TensorFlow's default (no distribution); call it outside any scope."""
    import tensorflow as tf

    return strategy is tf.distribute.get_strategy()


def describe(strategy: Any, task: bool = False) -> str:
    """Where training runs, e.g. ``'MirroredStrategy, 2 replicas'``; with ``task``, which worker this is."""
    name = "one device" if is_default(strategy) else type(strategy).__name__
    name = {"CollectiveAllReduceStrategy": "MultiWorkerMirroredStrategy"}.get(name, name)  # its public name
    replicas = strategy.num_replicas_in_sync
    text = f"{name}, {replicas} replica{'s' if replicas > 1 else ''}"
    resolver = getattr(strategy, "cluster_resolver", None)
    if task and resolver is not None and resolver.task_type:
        text += f", this is {resolver.task_type} {resolver.task_id}"
    return text


def per_replica_batch(global_batch: int, replicas: int) -> int:
    """The streams each replica carries.

    >>> per_replica_batch(32, 4)
    8
    >>> per_replica_batch(30, 4)
    Traceback (most recent call last):
    ...
    musicgen.model.distribute.DistributeError: --batch-size 30 does not split evenly over 4 replicas: use a multiple of 4
    """
    if global_batch % replicas:
        raise DistributeError(
            f"--batch-size {global_batch} does not split evenly over {replicas} replicas: use a multiple of {replicas}"
        )
    return global_batch // replicas


@contextlib.contextmanager
def per_replica_state(strategy: Any) -> Iterator[None]:
    """Enter ``strategy.scope()`` with the stateful LSTMs' state variables made sync-on-read.

    A mirrored variable must hold the same value on every replica, but each replica's
    LSTM state belongs to its own streams. A sync-on-read variable keeps one copy per
    replica, updated locally; read across replicas it gives the first replica's copy,
    and assigned across replicas (``reset_state``) it sets every copy. The default
    strategy is left exactly as without distribution.
    """
    import tensorflow as tf

    if is_default(strategy):
        with strategy.scope():
            yield
        return

    def creator(next_creator: Any, **kwargs: Any) -> Any:
        if str(kwargs.get("name", "")).split("/")[-1].startswith(STATE_VARIABLE):
            kwargs["synchronization"] = tf.VariableSynchronization.ON_READ
            kwargs["aggregation"] = tf.VariableAggregation.ONLY_FIRST_REPLICA
        return next_creator(**kwargs)

    with strategy.scope(), tf.variable_creator_scope(creator):
        yield


def training_model(model_cfg: ModelConfig, vocab_size: int, cfg: TrainConfig, strategy: Any) -> Any:
    """The stateful model for training under ``strategy``: compiled, its optimizer's variables made.

    Each replica's model carries ``cfg.batch_size / replicas`` streams.
    """
    import keras

    from musicgen.model.network import build_model

    per_replica = per_replica_batch(cfg.batch_size, strategy.num_replicas_in_sync)
    with per_replica_state(strategy):
        model = build_model(model_cfg, vocab_size, batch_size=per_replica, stateful=True)
        model.compile(
            optimizer=keras.optimizers.Adam(cfg.learning_rate, clipnorm=5.0),  # clip: LSTM gradients spike early
            loss="sparse_categorical_crossentropy",
            metrics=["sparse_categorical_accuracy"],
        )
        model.optimizer.build(model.trainable_weights)  # now, under the strategy, not inside a compiled step
    check_per_replica_state(model)
    return model


def check_per_replica_state(model: Any) -> None:
    """Raise :class:`DistributeError` unless every stateful RNN state variable is per replica."""
    import tensorflow as tf

    for layer in model.layers:
        for v in getattr(layer, "states", None) or []:
            value = getattr(v, "value", v)
            if (
                isinstance(value, tf.distribute.DistributedValues)
                and value.synchronization != tf.VariableSynchronization.ON_READ
            ):
                raise DistributeError(
                    f"{layer.name}: its state variable is shared by all replicas; "
                    "this Keras version names it differently: update STATE_VARIABLE"
                )


def step_functions(model: Any, strategy: Any) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """Compiled (train, test) steps over one distributed window of (inputs, targets).

    Each returns the (loss, accuracy) means over the whole global batch. A replica's
    loss is the mean over its own characters divided by the number of replicas
    (Keras's loss objects divide under a strategy), so the gradients the optimizer
    sums across replicas are those of the global mean. Gradient clipping (Adam's
    ``clipnorm``) acts, as in Keras's own ``fit``, on each replica's share before
    that sum. Under the default strategy these are exactly Keras's ``train_on_batch``
    and ``test_on_batch`` of a compiled model.
    """
    import keras
    import tensorflow as tf

    loss_fn = keras.losses.SparseCategoricalCrossentropy()  # the compiled loss: mean over the batch
    share = 1.0 / strategy.num_replicas_in_sync

    def accuracy(y: Any, probs: Any) -> Any:
        return keras.ops.mean(keras.metrics.sparse_categorical_accuracy(y, probs)) * share

    def train_replica(x: Any, y: Any) -> tuple[Any, Any]:
        with tf.GradientTape() as tape:
            probs = model(x, training=True)
            loss = loss_fn(y, probs)
        model.optimizer.apply(tape.gradient(loss, model.trainable_weights), model.trainable_weights)
        return loss, accuracy(y, probs)

    def test_replica(x: Any, y: Any) -> tuple[Any, Any]:
        probs = model(x, training=False)
        return loss_fn(y, probs), accuracy(y, probs)

    def compiled(replica_step: Callable[[Any, Any], tuple[Any, Any]]) -> Callable[[Any], Any]:
        @tf.function(reduce_retracing=True, jit_compile=model.jit_compile)
        def step(batch: Any) -> tuple[Any, Any]:
            shares = strategy.run(replica_step, args=batch)
            return tuple(strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None) for v in shares)

        return step

    return compiled(train_replica), compiled(test_replica)


@contextlib.contextmanager
def writable_dirs(strategy: Any, *dirs: Path) -> Iterator[tuple[Path, ...]]:
    """The folders this worker writes ``dirs`` to: themselves on the chief; elsewhere, throw-away copies.

    A non-chief worker gets fresh folders under a private temporary folder, deleted
    on exit, so that it saves exactly as the chief does but leaves nothing behind.
    """
    if is_chief(strategy):
        yield dirs
        return
    scratch = Path(
        tempfile.mkdtemp(prefix=f"musicgen-{strategy.cluster_resolver.task_type}{strategy.cluster_resolver.task_id}-")
    )
    try:
        yield tuple(scratch / f"{i}-{d.name}" for i, d in enumerate(dirs))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def weights_digest(weights: Mapping[str, np.ndarray]) -> str:
    """SHA-256 of named weights (names, shapes and float32 values): equal digests, equal weights.

    >>> w = {"b": np.zeros(2), "a": np.ones((1, 2))}
    >>> weights_digest(w) == weights_digest(dict(reversed(w.items()))) != weights_digest({"a": np.ones((2, 1))})
    True
    """
    h = hashlib.sha256()
    for name in sorted(weights):
        array = np.ascontiguousarray(weights[name], dtype=np.float32)
        h.update(f"{name}{array.shape}".encode())
        h.update(array.tobytes())
    return h.hexdigest()
