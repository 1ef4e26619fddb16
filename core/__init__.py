"""Host-free engine: sequences, frame I/O, colour, model, references, shot pipeline, CLI.

Nothing under ``kinochrome.core`` imports Qt, ``nuke`` or ``DaVinciResolveScript``.
"""
