"""The network and its artifacts: the one Keras definition (network), the self-describing checkpoint, the NumPy
engine that runs the same weights without TensorFlow, training and its tf.distribute strategies. It may import
data, abcnotation and config. Only network, train and distribute import TensorFlow, and nothing on the
generation path imports them.
"""
