"""The training windows as a ``tf.distribute`` dataset: each replica reads its own streams.

:class:`musicgen.data.dataset.Streams` cuts window ``t`` of any block of streams by index
arithmetic; this module feeds those windows to the replicas of a strategy through ``tf.data``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from musicgen.data.dataset import Streams
from musicgen.model.distribute import per_replica_batch


def distributed_windows(streams: Streams, strategy: Any) -> Any:
    """The windows of ``streams`` as a ``tf.distribute`` dataset: each replica gets its own rows.

    Replica ``r`` of ``R`` always receives rows ``r * b`` to ``(r + 1) * b`` with
    ``b = n_streams / R``. Each worker runs one pipeline for its local replicas and
    yields, window after window, one element per local replica in replica order:
    ``tf.distribute`` hands a worker's elements to its replicas in turn, so every
    replica sees its own streams in order. The arrays are cut on the fly in a
    ``tf.numpy_function`` (no copy of the corpus in the graph) and prefetched.
    """
    import tensorflow as tf

    rows = per_replica_batch(streams.n_streams, strategy.num_replicas_in_sync)

    def per_worker(context: tf.distribute.InputContext) -> tf.data.Dataset:
        local = context.num_replicas_in_sync // context.num_input_pipelines
        first = context.input_pipeline_id * local

        def window(k: np.int64) -> tuple[np.ndarray, np.ndarray]:
            t, j = divmod(int(k), local)
            r = first + j
            return streams.window(t, slice(r * rows, (r + 1) * rows))

        def cut(k: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            x, y = tf.numpy_function(window, [k], (tf.int32, tf.int32), stateful=False)
            x.set_shape((rows, None))
            y.set_shape((rows, None))
            return x, y

        windows = tf.data.Dataset.range(streams.n_windows * local)
        windows = windows.map(cut, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return windows.prefetch(tf.data.AUTOTUNE)

    return strategy.distribute_datasets_from_function(per_worker)
