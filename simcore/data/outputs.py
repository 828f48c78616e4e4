"""Files simcore writes and reads: output paths checked before any work (format, folder, and
overwriting only what simcore wrote), inputs checked to be regular files, and atomic writes
(a temporary file, then a rename), so no partial file is ever left."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from simcore.errors import ScenarioError


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
                            "simcore.studies.sweep_store.open_sweep(path)")
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
