"""Kinochrome's DaVinci Resolve integration (``kinochrome.resolve``): the adapter, the Workspace script
(Kinochrome.py), ``python -m kinochrome.resolve`` and the registration helper; see docs/resolve.md.
Importing this package imports nothing from Resolve."""
