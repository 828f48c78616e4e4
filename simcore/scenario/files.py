"""Reading input files safely: regular files only, never more than a stated size.

May import: simcore.errors only (the scenario layer and the observed-data reader use it).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from simcore.errors import ScenarioError


def read_bounded(path: Path, limit: int, source: str, kind: str, limit_text: str,
                 missing: str) -> bytes:
    """The bytes of ``path``, refused (``ScenarioError`` naming ``source``) before reading when
    it is missing (``missing``), a folder, a device, FIFO or socket, or over ``limit`` bytes
    (``limit_text`` names the limit); never reads more than ``limit`` + 1 bytes, and opens
    without blocking so a file swapped for a FIFO since it was checked cannot hang.
    ``kind`` says what the file should be, e.g. "a scenario is a .toml file"."""
    def refuse(message: str) -> ScenarioError:
        return ScenarioError("", message, source)

    too_big = f"over the {limit_text}"
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise refuse(missing) from None
    except OSError as exc:
        raise refuse(f"cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise refuse(f"is a directory, not a file: {kind}")
    if not stat.S_ISREG(info.st_mode):
        raise refuse(f"is {file_kind(info.st_mode)}, not a regular file: {kind}")
    if info.st_size > limit:
        raise refuse(f"is {info.st_size:,} bytes, {too_big}")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise refuse(f"is not a regular file: {kind}")
            raw = f.read(limit + 1)
    except FileNotFoundError:
        raise refuse(missing) from None
    except OSError as exc:
        raise refuse(f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > limit:
        raise refuse(f"is more than {limit:,} bytes, {too_big}")
    return raw


def file_kind(mode: int) -> str:
    """What a file that is not regular is, in words."""
    for test, kind in ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "a special file"
