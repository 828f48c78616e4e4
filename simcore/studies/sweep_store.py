"""A sweep written to Zarr as it runs: one write per finished task, so memory stays bounded
and an interrupted sweep can be resumed.

The store holds the sweep's variables chunked by task (one grid point x one block of draws
x all ages), a ``done`` flag per (point, draw), a ``checksum`` per (point, block of draws)
and attributes saying which sweep it is (``sweep_fingerprint``), whether it is complete
(``sweep_complete``) and what the checksums cover (``sweep_check``). A task is written in
this order: its values (their chunk files flushed to disk), its checksum (BLAKE2b, 64 bits,
over the bytes of each variable's block in ``sweep_check["tasks"]`` order), then its
``done`` flags. Resuming reads back every task the store claims done and recomputes those
whose values no longer match their checksum (a damaged, truncated or deleted chunk), with
the coordinates and sampled parameters checked the same way; since each task's values
depend only on its own arguments, the finished store is identical to one written by an
uninterrupted sweep. A store whose metadata is damaged cannot be repaired: a one-line error.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from simcore.data.outputs import check_folder
from simcore.errors import ScenarioError

if TYPE_CHECKING:           # xarray loads in ~0.5 s: input errors answer before it
    import xarray as xr

DONE = "done"
CHECKSUM = "checksum"
CHECK = "sweep_check"      # attribute: {"tasks": names, "fixed": names, "fixed_blake2b": hex}
ATTRS = ("sweep_fingerprint", "sweep_complete", "block_draws", CHECK)
BEYOND_REPAIR = "remove it or give a new -o to start the sweep again"


class StoreWriteError(Exception):
    """The store could not be written (the ``OSError`` is the cause)."""


def check_store(path, resume: bool, key: str = "--output", force: bool = False) -> Path:
    """``path`` as a ``.zarr`` store name: new, (with ``resume``) an existing store, or (with
    ``force``) one to replace."""
    path = Path(path)
    if path.suffix.lower() != ".zarr":
        raise ScenarioError(key, f"= {str(path)!r}: an incremental sweep store ends in .zarr")
    check_folder(path, key)
    if resume and force:
        raise ScenarioError("--force", "give --resume (finish the store) or --force (replace "
                            "it), not both")
    if path.exists() and not resume and not force:
        raise ScenarioError(key, f"= {str(path)!r}: already exists; add --resume to finish "
                            "the sweep it holds, or --force to replace it")
    return path


def _writing(method):
    """Turn an ``OSError`` while writing the store into ``StoreWriteError``."""
    def wrapper(self, *args):
        try:
            return method(self, *args)
        except OSError as exc:
            raise StoreWriteError(str(self.path)) from exc
    return wrapper


def task_checksum(blocks) -> int:
    """BLAKE2b (64 bits, as an unsigned integer) over the bytes of ``blocks`` (one task's
    block of each variable, as the store's dtypes, in a fixed order)."""
    h = hashlib.blake2b(digest_size=8)
    for block in blocks:
        h.update(np.ascontiguousarray(block).tobytes())
    return int.from_bytes(h.digest(), "little")


class ZarrSink:
    """Receives a sweep's finished tasks and writes each to the store at ``path``.

    After ``missing``: ``already`` is the number of tasks the store holds (read back and
    matching their checksums), ``repaired`` the number that failed the check since the
    store was opened (their flags are cleared: they are computed again) and ``rewritten``
    the coordinates and sampled parameters that failed their check and were written again.
    """

    def __init__(self, sweep, path, resume: bool = False, force: bool = False):
        self.path = check_store(path, resume, force=force)
        if force and (self.path.exists() or self.path.is_symlink()):
            if self.path.is_dir() and not self.path.is_symlink():
                shutil.rmtree(self.path)
            else:
                self.path.unlink()
        self.already = self.repaired = 0
        self.rewritten: list[str] = []
        self._good: set[tuple[int, int]] = set()   # (point, first draw) verified or written
        self._open(sweep)

    @_writing
    def _open(self, sweep) -> None:
        import zarr

        self.fingerprint = sweep.fingerprint
        self.shape, self.block = sweep.shape, sweep.block_draws
        template = sweep.template(lazy=True)
        if self.path.exists():
            try:
                self.root = zarr.open_group(str(self.path), mode="r+")
                found = self.root.attrs.get("sweep_fingerprint")
            except Exception as exc:     # zarr raises several kinds for a foreign folder
                found, kind = None, f" ({type(exc).__name__})"
            else:
                kind = ""
            if found is None:
                raise ScenarioError("--resume", f"not a simcore sweep store, or its metadata "
                                    f"is damaged{kind}: it cannot be resumed; {BEYOND_REPAIR}",
                                    str(self.path))
            if found != self.fingerprint:
                raise ScenarioError("--resume", "holds a different sweep (scenario, overrides, "
                                    "draws, grid, --block-draws or simcore version differ); "
                                    "give the same command, or a new -o", str(self.path))
            self.names = _check_attrs(self.root, self.path)["tasks"]
            if self.names != [n for n in template.data_vars if _lazy(template[n])]:
                _beyond_repair(self.path, f"its {CHECK!r} attribute names other variables "
                               "than the sweep's")
            blocks = -(-sweep.draws // self.block)
            self.arrays = _arrays(self.root, template, self.path, {
                DONE: (self.shape + (sweep.draws,), np.uint8),
                CHECKSUM: (self.shape + (blocks,), np.uint64)})
            self._repair_fixed(template)
        else:
            template[DONE] = ((*sweep.keys, "draw"), _zeros(sweep, sweep.draws, self.block),
                              {"long_name": "1 once the values of this point and draw are "
                               "written and flushed, and their checksum recorded"})
            blocks = -(-sweep.draws // self.block)
            template[CHECKSUM] = ((*sweep.keys, "block"), _zeros(sweep, blocks, 1, np.uint64),
                                  {"long_name": "BLAKE2b-64 of the task's values (0: none)"})
            self.names = [n for n in template.data_vars if n not in (DONE, CHECKSUM)
                          and _lazy(template[n])]
            fixed = _fixed_names(template)
            template.attrs |= {"sweep_fingerprint": self.fingerprint, "sweep_complete": 0,
                               "block_draws": self.block,
                               CHECK: {"tasks": self.names, "fixed": fixed, "fixed_blake2b":
                                       _fixed_checksum(template, fixed)}}
            try:
                template.to_zarr(str(self.path), mode="w-", compute=False, consolidated=False)
            except BaseException:
                shutil.rmtree(self.path, ignore_errors=True)
                raise
            self.root = zarr.open_group(str(self.path), mode="r+")
            self.arrays = {name: self.root[name] for name in [*self.names, DONE, CHECKSUM]}
        self.done, self.checksum = self.arrays[DONE], self.arrays[CHECKSUM]

    def _repair_fixed(self, template) -> None:
        """Write the coordinates and sampled parameters again if they fail their check."""
        fixed = _fixed_names(template)
        if _fixed_checksum(self.root, fixed) == _fixed_checksum(template, fixed):
            return
        for name in fixed:
            values = np.asarray(template[name].values)
            try:
                same = np.array_equal(self.root[name][...], values, equal_nan=True)
            except Exception:            # a damaged chunk: written again below
                same = False
            if not same:
                self.root[name][...] = values
                self.rewritten.append(name)

    @_writing
    def missing(self, tasks: list) -> list:
        """The tasks not yet in the store: those whose draws are not all flagged done, and
        those flagged done whose values fail their checksum (their flags are cleared)."""
        flagged = _flagged(self.done, [self._cell(t) for t in tasks])
        claimed = [t for t, f in zip(tasks, flagged) if f and (t[1], t[2]) not in self._good]
        failed = _failing(self.arrays, self.names, [self._cell(t) for t in claimed], self.block)
        if failed:
            self.root.attrs["sweep_complete"] = 0
            for i in failed:
                self._clear(claimed[i])
            self.repaired += len(failed)
        bad = {(claimed[i][1], claimed[i][2]) for i in failed}
        self._good |= {(t[1], t[2]) for t in claimed} - bad
        self._tasks = tasks
        out = [t for t in tasks if (t[1], t[2]) not in self._good]
        self.already = len(tasks) - len(out)
        return out

    def _cell(self, task) -> tuple:
        """(grid position, first draw, stop) of a task."""
        _, flat, start, stop = task
        return tuple(int(i) for i in np.unravel_index(flat, self.shape)), start, stop

    @_writing
    def _clear(self, task) -> None:
        point, start, stop = self._cell(task)
        self.done[point + (slice(start, stop),)] = 0
        self.checksum[point + (start // self.block,)] = 0

    @_writing
    def write(self, index: tuple, result: dict[str, np.ndarray]) -> None:
        """Write one task's values and flush them to disk, then its checksum, then mark its
        draws done."""
        blocks = []
        for name in self.names:
            array = self.arrays[name]
            values = np.ascontiguousarray(result[name], dtype=array.dtype)
            array[index] = values
            blocks.append(values)
        point, draws = index[:-1], index[-1]
        cell = point + (draws.start // self.block,)
        _flush(self.path, {name: self.arrays[name] for name in self.names}, cell)
        self.checksum[cell] = task_checksum(blocks)
        _flush(self.path, {CHECKSUM: self.checksum}, cell)
        self.done[index] = 1
        self._good.add((int(np.ravel_multi_index(point, self.shape)), draws.start))

    @_writing
    def finish(self) -> xr.Dataset:
        """Mark the store complete once every task is verified or written by this sink, and
        return its dataset (lazy, read from the store)."""
        tasks = getattr(self, "_tasks", None)
        if tasks is None or not all((t[1], t[2]) in self._good for t in tasks):
            raise RuntimeError("finish() before every task of the sweep is in the store")
        self.root.attrs["sweep_complete"] = 1
        return open_sweep(self.path, verify=False)


def _lazy(var) -> bool:
    import dask.array as da

    return isinstance(var.data, da.Array)


def _zeros(sweep, n: int, block: int, dtype=np.uint8):
    import dask.array as da

    return da.zeros(sweep.shape + (n,), dtype=dtype,
                    chunks=(1,) * len(sweep.shape) + (block,))


def _fixed_names(template) -> list[str]:
    """The variables written with the template: coordinates and sampled parameters."""
    return sorted(n for n in template.variables if not _lazy(template.variables[n]))


def _fixed_checksum(source, names: list[str]) -> str | None:
    """BLAKE2b over ``names`` read from ``source`` (a dataset or a Zarr group); None if one
    cannot be read."""
    h = hashlib.blake2b(digest_size=8)
    for name in names:
        try:
            values = source[name].values if hasattr(source, "data_vars") else source[name][...]
        except Exception:                # a damaged or deleted chunk
            return None
        h.update(name.encode() + np.ascontiguousarray(values).tobytes())
    return h.hexdigest()


def _arrays(root, template, path, flags: dict) -> dict:
    """The store's arrays: the template's variables and the ``flags`` (name -> (shape,
    dtype)), their metadata checked; damaged metadata is a one-line error."""
    out = {}
    expected = {n: (v.shape, v.dtype) for n, v in template.variables.items()} | flags
    for name, (want_shape, want_dtype) in expected.items():
        try:
            array = root[name]
            shape, dtype = array.shape, array.dtype
        except Exception as exc:
            _beyond_repair(path, f"the metadata of {name!r} cannot be read "
                           f"({type(exc).__name__})")
        if shape != want_shape or dtype != want_dtype:
            _beyond_repair(path, f"{name!r} has shape {shape} {dtype}, not the sweep's "
                           f"{want_shape} {np.dtype(want_dtype)}")
        out[name] = array
    return out


def _check_attrs(root, path) -> dict:
    """The store's ``sweep_check`` attribute (what the checksums cover), checked."""
    check = root.attrs.get(CHECK)
    if not isinstance(check, dict) or not {"tasks", "fixed", "fixed_blake2b"} <= set(check):
        _beyond_repair(path, f"its {CHECK!r} attribute is missing or damaged (a store of an "
                       "older simcore, or damaged metadata)")
    return check


def _beyond_repair(path, why: str):
    raise ScenarioError("--resume", f"the store is damaged beyond repair: {why}; "
                        f"{BEYOND_REPAIR}", str(path))


def _flagged(done, cells) -> list[bool]:
    """Whether every draw of each (point, start, stop) cell is flagged done (an unreadable
    flag is not done)."""
    try:
        flags = np.asarray(done[...], dtype=bool)
    except Exception:                    # a damaged chunk: read the cells one by one
        flags = None
    out = []
    for point, start, stop in cells:
        if flags is not None:
            out.append(bool(flags[point][start:stop].all()))
            continue
        try:
            out.append(bool(np.asarray(done[point + (slice(start, stop),)]).all()))
        except Exception:
            out.append(False)
    return out


def _failing(arrays: dict, names: list[str], cells: list, block: int) -> list[int]:
    """The indices of the (point, start, stop) cells whose values, read back, do not match
    their recorded checksum (or cannot be read). Reads one grid point of each variable at a
    time, and a damaged point's tasks one by one."""
    if not cells:
        return []
    checksum = arrays[CHECKSUM]
    try:
        recorded = np.asarray(checksum[...])
    except Exception:
        recorded = None
    by_point = defaultdict(list)
    for i, (point, _, _) in enumerate(cells):
        by_point[point].append(i)
    failed = []
    for point, members in by_point.items():
        slabs = {}
        for name in names:
            try:
                slabs[name] = arrays[name][point]
            except Exception:            # a damaged chunk: read this point's tasks singly
                slabs[name] = None
        for i in members:
            _, start, stop = cells[i]
            try:
                blocks = [slabs[name][start:stop] if slabs[name] is not None
                          else arrays[name][point + (slice(start, stop),)] for name in names]
                found = (recorded[point + (start // block,)] if recorded is not None
                         else checksum[point + (start // block,)])
                ok = int(found) == task_checksum(blocks)
            except Exception:
                ok = False
            if not ok:
                failed.append(i)
    return failed


def _flush(path: Path, arrays: dict, cell: tuple) -> None:
    """fsync the chunk files (and their folders) of grid cell ``cell`` (point..., block)
    of ``arrays``: the values are on disk before the flags that vouch for them. The calls
    run side by side (a disk commits them together: 8 files cost about what 1 does)."""
    from concurrent.futures import ThreadPoolExecutor

    files = [path / name / array.metadata.encode_chunk_key(
        cell + (0,) * (array.ndim - len(cell))) for name, array in arrays.items()]
    files = [f for f in files if f.exists()]   # none for an all-fill block (zarr skips it)
    paths = files + sorted({f.parent for f in files})
    if len(paths) <= 1:
        for one in paths:
            _fsync(one)
        return
    with ThreadPoolExecutor(min(16, len(paths))) as pool:
        list(pool.map(_fsync, paths))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_sweep(path, verify: bool = True) -> xr.Dataset:
    """The dataset of a complete sweep store (lazy); an incomplete one is a one-line error.
    ``verify``: first read back every task and the coordinates and sampled parameters, and
    check them against their checksums (a damaged store is a one-line error, never values
    silently missing)."""
    import zarr

    path = Path(path)
    try:
        attrs = zarr.open_group(str(path), mode="r").attrs.asdict()
    except Exception as exc:
        raise ScenarioError("", f"not a sweep store ({type(exc).__name__})", str(path)) \
            from None
    if "sweep_fingerprint" not in attrs:
        raise ScenarioError("", "not a simcore sweep store", str(path))
    if not attrs.get("sweep_complete"):
        raise ScenarioError("", "the sweep is not finished; run it again with --resume",
                            str(path))
    if verify:
        _verify_complete(path)
    try:
        import xarray as xr

        ds = xr.open_zarr(str(path), consolidated=False)
    except Exception as exc:
        raise ScenarioError("", f"the store's metadata is damaged ({type(exc).__name__}); "
                            f"{BEYOND_REPAIR}", str(path)) from None
    ds = ds.drop_vars([DONE, CHECKSUM], errors="ignore")
    for name in ATTRS:
        ds.attrs.pop(name, None)
    return ds


def _verify_complete(path: Path) -> None:
    """Every task of a complete store flagged done and matching its checksum, and the
    coordinates and sampled parameters matching theirs; else a one-line error."""
    import zarr

    try:
        root = zarr.open_group(str(path), mode="r")
        check = root.attrs[CHECK]
        block = int(root.attrs["block_draws"])
        arrays = {name: root[name] for name in [*check["tasks"], DONE, CHECKSUM]}
    except Exception as exc:
        raise ScenarioError("", f"the store's metadata is damaged ({type(exc).__name__}); "
                            f"{BEYOND_REPAIR}", str(path)) from None
    *shape, draws = arrays[DONE].shape
    cells = [(point, start, min(start + block, draws)) for point in np.ndindex(*shape)
             for start in range(0, draws, block)]
    flagged = _flagged(arrays[DONE], cells)
    bad = flagged.count(False) + len(_failing(
        arrays, check["tasks"], [c for c, f in zip(cells, flagged) if f], block))
    if bad:
        raise ScenarioError("", f"{bad} of {len(cells)} tasks are not done or fail their "
                            "checksum (damaged or missing chunks); the same sweep command "
                            "with --resume computes them again", str(path))
    if _fixed_checksum(root, check["fixed"]) != check["fixed_blake2b"]:
        raise ScenarioError("", "the coordinates or sampled parameters fail their checksum; "
                            "the same sweep command with --resume writes them again",
                            str(path))
