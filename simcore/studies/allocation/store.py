"""The allocation's simulated responses kept on disk as they finish (``optimize --store``),
so an interrupted study resumes where it stopped (``--resume``).

A store is a folder with one ``.npz`` file per finished task (a market's channel, its
budgets, a block of draws). A file is named by the SHA-256 of what the task depends on
(``TaskStore.key``: the scenario as resolved with its uncertainty, the posterior quantiles,
the channel, the market's streams, the budgets, the draws), so it can only be found by the
very task that wrote it: a changed
scenario, seed, grid or draw count simply finds nothing and runs again. Each file is written
through a temporary file, flushed to disk and renamed (never half written), and holds the
SHA-256 of its own arrays, checked on reading: a damaged or truncated file is computed again.
Since each task's result depends only on its arguments, a resumed study gives the same
dataset, bit for bit, as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from simcore.data.outputs import check_folder, write_atomic
from simcore.errors import ScenarioError

MARK = ".simcore-allocation-store"     # names the folder as a store


def check_store(path, resume: bool) -> Path:
    """``path`` as a store folder: new, or (``resume``) an existing store."""
    path = Path(path)
    check_folder(path, "--store")
    if path.exists():
        if not path.is_dir() or not (path / MARK).exists():
            raise ScenarioError("--store", f"= {str(path)!r}: exists and is not an allocation "
                                "store; give a new folder")
        if not resume:
            raise ScenarioError("--store", f"= {str(path)!r}: already exists; add --resume to "
                                "reuse its finished tasks, or give a new folder")
    elif resume:
        raise ScenarioError("--resume", f"--store {str(path)!r} does not exist: nothing to "
                            "resume")
    return path


class TaskStore:
    """Finished tasks in a folder (see the module docstring); ``reused`` and ``written``
    count what this process read and wrote."""

    def __init__(self, path):
        self.path = Path(path)
        self.path.mkdir(exist_ok=True)
        (self.path / MARK).touch()
        self.reused = 0
        self.written = 0

    @staticmethod
    def key(task: tuple) -> str:
        """SHA-256 of what the task's result depends on: the scenario as resolved (its
        canonical JSON, uncertainty included), the posterior quantiles it is conditioned on,
        then channel, market streams, budgets, draws and sampler (``run_source``'s
        arguments), and simcore's version."""
        from simcore import __version__

        loaded, *rest = task
        h = hashlib.sha256(json.dumps([__version__, loaded.resolved_json,
                                       [repr(x) if isinstance(x, float) else x
                                        for x in _plain(rest)]]).encode())
        for name, q in sorted(getattr(loaded.uncertainty, "given", {}).items()):
            h.update(name.encode())
            h.update(np.ascontiguousarray(q, dtype=float).tobytes())
        return h.hexdigest()

    def get(self, task: tuple) -> dict | None:
        """The task's arrays, or None (not finished, or damaged)."""
        path = self.path / f"{self.key(task)}.npz"
        try:
            with np.load(path) as f:
                out = {name: f[name] for name in f.files if name != "sha256"}
                sha = str(f["sha256"])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None
        if sha != _digest(out):
            return None
        self.reused += 1
        return out

    def put(self, task: tuple, result: dict) -> None:
        buffer = io.BytesIO()
        np.savez(buffer, sha256=np.array(_digest(result)), **result)

        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:
                f.write(buffer.getvalue())
                f.flush()
                os.fsync(f.fileno())

        write_atomic(self.path / f"{self.key(task)}.npz", write)
        self.written += 1


def _plain(values) -> list:
    """Task arguments as JSON-able values (tuples of budgets as lists of floats)."""
    out = []
    for v in values:
        if isinstance(v, (tuple, list, np.ndarray)):
            out.append([float(x) for x in v])
        elif isinstance(v, (bool, np.bool_)):
            out.append(bool(v))
        elif isinstance(v, (int, np.integer)):
            out.append(int(v))
        elif isinstance(v, (float, np.floating)):
            out.append(float(v))
        else:
            out.append(str(v))
    return out


def _digest(arrays: dict) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode())
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()
