"""Kinochrome's Nuke integration (``kinochrome.nuke``). Nuke's own entry files, init.py and menu.py, live in
this folder too; see docs/nuke.md. Importing this package imports nothing from Nuke."""
