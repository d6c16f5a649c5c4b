"""Training text: reading and normalising ABC files into tunes (corpus), the character vocabulary, the training
input pipeline (dataset) and the verified download of the public files. It may import
:mod:`musicgen.abcnotation` and :mod:`musicgen.config`.
"""
