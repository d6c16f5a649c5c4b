"""From ABC to sound: music21 parsing into note and chord events, the chord accompaniment, MIDI and MusicXML
export, and audio through a SoundFont synthesizer, all under one time and size budget (``budget``). It may
import abcnotation and config; never compose, judge or app.
"""
