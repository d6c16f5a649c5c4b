"""ABC notation itself: the tokenizer, the written forms of notes and chords, header values (K:, M:, L:, Q:),
bars and their durations, and the checks of a whole tune. It knows no model and no sound, and imports nothing
else of the package.
"""
