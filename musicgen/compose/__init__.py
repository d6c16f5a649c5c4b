"""Writing a tune: the prompt built from the user's choices, sampling characters from the engine, and meter-aware
writing (the tracker that follows a tune as it is written, the rules that mask characters, and the way to
finish a tune). It may import model, data, abcnotation and config; never sound, judge or app.
"""
