"""Kinochrome: colourisation of black-and-white film and photo scans.

The repository root is this package; ``core`` is the host-free engine, ``plugin`` the host-neutral
plugin layer (session, job runner, panel, farm), ``nuke`` and ``resolve`` the host adapters.
"""

__version__ = "0.1.0"
