"""A sweep written to Zarr as it runs: one write per finished task, so memory stays bounded
and an interrupted sweep can be resumed.

The store holds the sweep's variables chunked by task (one grid point x one block of draws
x all ages), a ``done`` flag per (point, draw) set after a task's values are written, and
attributes saying which sweep it is (``sweep_fingerprint``) and whether it is complete
(``sweep_complete``). Resuming runs only the tasks whose draws are not all done; since each
task's values depend only on its own arguments, the finished store is identical to one
written by an uninterrupted sweep.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import xarray as xr

from simcore.errors import ScenarioError
from simcore.outputs import check_folder

DONE = "done"


class StoreWriteError(Exception):
    """The store could not be written (the ``OSError`` is the cause)."""


def check_store(path, resume: bool, key: str = "--output") -> Path:
    """``path`` as a ``.zarr`` store name: new, or (with ``resume``) an existing store."""
    path = Path(path)
    if path.suffix.lower() != ".zarr":
        raise ScenarioError(key, f"= {str(path)!r}: an incremental sweep store ends in .zarr")
    check_folder(path, key)
    if path.exists() and not resume:
        raise ScenarioError(key, f"= {str(path)!r}: already exists; add --resume to finish "
                            "the sweep it holds, or remove it to start again")
    return path


def _writing(method):
    """Turn an ``OSError`` while writing the store into ``StoreWriteError``."""
    def wrapper(self, *args):
        try:
            return method(self, *args)
        except OSError as exc:
            raise StoreWriteError(str(self.path)) from exc
    return wrapper


class ZarrSink:
    """Receives a sweep's finished tasks and writes each to the store at ``path``."""

    def __init__(self, sweep, path, resume: bool = False):
        self.path = check_store(path, resume)
        self._open(sweep)

    @_writing
    def _open(self, sweep) -> None:
        import zarr

        self.fingerprint = sweep.fingerprint
        if self.path.exists():
            try:
                self.root = zarr.open_group(str(self.path), mode="r+")
                found = self.root.attrs.get("sweep_fingerprint")
            except Exception as exc:     # zarr raises several kinds for a foreign folder
                raise ScenarioError("--resume", f"not a simcore sweep store "
                                    f"({type(exc).__name__})", str(self.path)) from None
            if found != self.fingerprint:
                raise ScenarioError("--resume", "holds a different sweep (scenario, overrides, "
                                    "draws, grid, --block-draws or simcore version differ); "
                                    "give the same command, or a new -o", str(self.path))
        else:
            template = sweep.template(lazy=True)
            template[DONE] = ((*sweep.keys, "draw"), _zeros(sweep), {
                "long_name": "1 once the values of this point and draw are written"})
            template.attrs |= {"sweep_fingerprint": self.fingerprint, "sweep_complete": 0,
                               "block_draws": sweep.block_draws}
            try:
                template.to_zarr(str(self.path), mode="w-", compute=False, consolidated=False)
            except BaseException:
                shutil.rmtree(self.path, ignore_errors=True)
                raise
            self.root = zarr.open_group(str(self.path), mode="r+")
        self.done = self.root[DONE]
        self.block = sweep.block_draws

    def missing(self, tasks: list) -> list:
        """The tasks whose draws are not all written yet."""
        done = np.asarray(self.done[...], dtype=bool)
        self.already = 0
        out = []
        for task in tasks:
            _, flat, start, stop = task
            index = np.unravel_index(flat, done.shape[:-1])
            if done[index][start:stop].all():
                self.already += 1
            else:
                out.append(task)
        return out

    @_writing
    def write(self, index: tuple, result: dict[str, np.ndarray]) -> None:
        """Write one task's values, then mark its draws done."""
        for name, values in result.items():
            self.root[name][index] = values
        self.done[index] = 1

    @_writing
    def finish(self) -> xr.Dataset:
        """Mark the store complete and return its dataset (lazy, read from the store)."""
        self.root.attrs["sweep_complete"] = 1
        return open_sweep(self.path)


def _zeros(sweep):
    import dask.array as da

    shape = sweep.shape + (sweep.draws,)
    return da.zeros(shape, dtype=np.uint8, chunks=(1,) * len(sweep.shape) + (sweep.block_draws,))


def open_sweep(path) -> xr.Dataset:
    """The dataset of a complete sweep store (lazy); an incomplete one is a one-line error."""
    path = Path(path)
    try:
        ds = xr.open_zarr(str(path), consolidated=False)
    except Exception as exc:
        raise ScenarioError("", f"not a sweep store ({type(exc).__name__})", str(path)) \
            from None
    if "sweep_fingerprint" not in ds.attrs:
        raise ScenarioError("", "not a simcore sweep store", str(path))
    if not ds.attrs.get("sweep_complete"):
        raise ScenarioError("", "the sweep is not finished; run it again with --resume",
                            str(path))
    ds = ds.drop_vars(DONE)
    for name in ("sweep_fingerprint", "sweep_complete", "block_draws"):
        ds.attrs.pop(name, None)
    return ds
