"""One base exception and narrow subclasses.

Every error a user can cause is a :class:`KinochromeError`; its message is one line that names the
file or frame and says what is wrong. ``exit_code`` lets the CLI map errors to exit codes and lets
hosts show messages without parsing text.
"""

from __future__ import annotations


class KinochromeError(Exception):
    """Base of all errors a user can act on. ``str(err)`` is a one-line message."""

    exit_code = 1


class UsageError(KinochromeError):
    """Bad command-line or settings value (exit 2)."""

    exit_code = 2


class SequenceError(KinochromeError):
    """A path or pattern that matches nothing, missing frames, a bad frame range."""


class FrameReadError(KinochromeError):
    """A frame that cannot be read: truncated, corrupt, unsupported."""


class FrameLayoutError(KinochromeError):
    """Resolution or channel layout changing mid-shot, unknown layer."""


class ColourspaceError(KinochromeError):
    """Unknown colourspace name or failed colour conversion."""


class OutputError(KinochromeError):
    """Output not writable, output equal to input, no frame token, disk full."""


class ReferenceError_(KinochromeError):
    """A colour reference that is missing, grayscale, of another aspect ratio, or out of range."""


# Public alias with a readable name; ``ReferenceError`` itself is a Python builtin.
ColourReferenceError = ReferenceError_


class SessionError(KinochromeError):
    """A session file that fails validation; the message names the field."""


class ModelError(KinochromeError):
    """Weights missing, truncated, not safetensors, or of another architecture."""


class TrainingDataError(KinochromeError):
    """A training folder with no usable (colour) images."""


class Cancelled(KinochromeError):
    """The run was cancelled (token or SIGINT); exit 130."""

    exit_code = 130
