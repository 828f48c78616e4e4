"""Arguments shared by the commands that read a run: the day and target ROAS they judge at,
and output files (checked before any work, written atomically so no partial file is left)."""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from simcore.errors import ScenarioError

DEFAULT_DAY = 7             # age [days] of the ROAS a sweep prints unless told otherwise


def horizon(ds) -> int:
    """Last age of a run [days]."""
    return int(ds.age.values[-1])


def check_age(age, last: int, key: str, name: str = "day") -> int:
    """``age`` as a whole number of days in 0 .. ``last`` (the horizon)."""
    if isinstance(age, bool) or not hasattr(age, "__index__") or not 0 <= age <= last:
        raise ScenarioError(key, f"= {age!r}: not an age of the run (valid range: "
                            f"0 <= {name} <= {last}, the horizon)")
    return int(age)


def check_day(ds, day: int | None, key: str = "--day") -> int:
    """``day`` as an age within the run [days]; None = the age of the run's payback goal
    (``[goal] age``; the horizon without one)."""
    h = horizon(ds)
    if day is None:
        return min(int(ds.attrs.get("goal_age", h)), h)
    return check_age(day, h, key)


def check_target(target: float | None, key: str = "--target", ds=None) -> float:
    """``target`` as a finite ROAS > 0; None = the ROAS of the run ``ds``'s payback goal
    (``[goal] roas``), 1.0 (break-even) without one."""
    if target is None:
        return float(ds.attrs.get("goal_roas", 1.0)) if ds is not None else 1.0
    try:
        value = float(target)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ScenarioError(key, f"= {target!r}: the target ROAS must be a number > 0 "
                            "(1.0 = break-even)")
    return value


def check_output(path, formats: tuple[str, ...], key: str = "--output",
                 force: bool = False) -> Path:
    """``path`` as a file name with one of ``formats`` in an existing, writable folder.

    An existing file is replaced only when simcore wrote it (``written_by_simcore``) or with
    ``force`` (``--force``)."""
    path = Path(path)
    if path.is_dir():
        raise ScenarioError(key, f"= {str(path)!r}: is a folder; give a file name "
                            f"*{formats[0]}")
    if path.suffix.lower() not in formats:
        raise ScenarioError(key, f"= {str(path)!r}: use {' or '.join(formats)}")
    check_folder(path, key)
    if (path.exists() or path.is_symlink()) and not force and not written_by_simcore(path):
        raise ScenarioError(key, f"= {str(path)!r}: exists and was not written by simcore; "
                            "add --force to replace it, or choose another name")
    return path


GENERATOR = "simcore"       # the mark simcore leaves in every file it writes (see below)


def written_by_simcore(path: Path) -> bool:
    """True when ``path`` is a regular file simcore wrote, by its metadata: a NetCDF file's
    ``simcore_version`` attribute, the ``generator`` meta tag of an HTML report, the
    ``Software`` (PNG) or creator (SVG) text of a figure."""
    if not path.is_file():
        return False
    suffix = path.suffix.lower()
    if suffix == ".nc":
        try:
            import h5py

            with h5py.File(path, "r") as f:
                return "simcore_version" in f.attrs
        except Exception:        # not HDF5, damaged, unreadable: not ours to replace
            return False
    try:
        with open(path, "rb") as f:
            head = f.read(16384)
    except OSError:
        return False
    mark = _MARKS.get(suffix)
    return mark is not None and re.search(mark, head) is not None


# what simcore writes near the start of each kind of file (reports and figures)
_MARKS = {".html": rb'<meta name="generator" content="simcore',
          ".htm": rb'<meta name="generator" content="simcore',
          ".png": rb"Software\x00simcore",
          ".svg": rb"<dc:creator>\s*<cc:Agent>\s*<dc:title>simcore"}


def check_input(path, key: str = "dataset") -> Path:
    """``path`` as an existing regular file to read (checked before any heavy import)."""
    path = Path(path)
    if not path.exists():
        raise ScenarioError(key, f"= {str(path)!r}: no such file")
    if path.is_dir() and (path / "zarr.json").is_file():
        raise ScenarioError(key, f"= {str(path)!r}: a sweep store (simcore sweep -o); this "
                            "reads a run dataset (simcore run -o run.nc). A sweep's table: "
                            "simcore sweep ... --resume -o the same store; in Python: "
                            "simcore.sweep_store.open_sweep(path)")
    if not path.is_file():
        raise ScenarioError(key, f"= {str(path)!r}: not a regular file")
    return path


def check_folder(path: Path, key: str = "--output") -> None:
    """The folder ``path`` goes in exists and is writable."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ScenarioError(key, f"= {str(path)!r}: folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise ScenarioError(key, f"= {str(path)!r}: folder {str(parent)!r} is not writable")


def write_atomic(path, write: Callable[[str], None] | bytes) -> Path:
    """Write ``path`` through a temporary file in the same folder, then rename it.

    ``write`` is the bytes to write, or a function that writes the file named by its argument.
    On any failure the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                               dir=path.parent if str(path.parent) else ".")
    try:
        with os.fdopen(fd, "wb") as f:
            if isinstance(write, bytes):
                f.write(write)
        if not isinstance(write, bytes):
            write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)   # mkstemp's 0600 would surprise whoever reads the file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
