"""How good a tune or a model is: musical features, the form (parts, bars, the tonic,
the header held), novelty against the training tunes, per-tune quality checks,
model fit beside an n-gram baseline, the model card and the evaluate run. It may import every layer below it
(compose, sound, model, data, abcnotation, config); never app or cli.
"""
