"""Reading a small JSON document the user points at (a session, a training config) without trusting it.

Standard library only: the session module that uses it runs inside Resolve's own Python.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any


def read_json_file(path: Path, error: type[Exception], what: str, limit: int) -> Any:
    """The JSON value in ``path``; ``error`` (one line naming the file) when it is not there, is not a regular
    file (a FIFO would block forever, /dev/zero would be read until memory runs out), is over ``limit`` bytes,
    cannot be read or decoded, is not valid JSON, is nested too deeply or holds an integer too long to parse.
    ``what`` names the document in the messages ("session file", "training config")."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            raise error(f"{path}: {kind}; expected a {what}")
        if st.st_size > limit:
            raise error(f"{path}: {st.st_size} bytes, over the {limit}-byte limit of a {what}")
        with open(path, "rb") as fh:
            raw = fh.read(limit + 1)
        if len(raw) > limit:
            raise error(f"{path}: over the {limit}-byte limit of a {what}")
        return json.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read the {what} ({exc.__class__.__name__}: {exc})") from None
    except json.JSONDecodeError as exc:
        raise error(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except RecursionError:
        raise error(f"{path}: JSON nested too deeply to be a {what}") from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise error(f"{path}: not a {what} ({str(exc).splitlines()[0][:80]})") from None
