"""Where the tasks of a sweep run: this process (the default) or a Dask cluster.

A task is one batch of work lasting seconds (a sweep point and a block of draws), never one
user or one draw. Results carry their own task, so they may finish in any order: nothing
in the result depends on where or in which order tasks ran, since every random stream is
keyed by (point, draw, ...) (see ``simcore.seeding``).

- ``LocalExecutor``: tasks one after another in this process; each task's kernel uses
  Numba threads over all cores.
- ``DaskExecutor``: tasks on the workers of a ``distributed`` cluster, either a
  ``LocalCluster`` of N worker processes it starts (``--cluster local:N``) or a running
  scheduler (``--scheduler tcp://HOST:PORT``, e.g. from ``dask scheduler``/``dask worker``
  or dask-jobqueue). A worker runs one simcore task at a time with as many Numba threads
  as the cores Dask gave it (its ``--nthreads``, which Dask sets by default to the cores it
  may use, cgroup and CPU-affinity limits included, / the workers on the machine), so
  cores are not oversubscribed; ``worker_threads`` sets the number instead. Tasks lost
  with a worker are run again elsewhere by the scheduler.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from urllib.parse import urlparse

from simcore.errors import ScenarioError

Task = tuple
WAIT_FOR_WORKERS_S = 60      # a scheduler with no worker yet (e.g. jobs still queued)
# one simcore task at a time per process: the kernels already use every thread they are
# given, and Numba's workqueue threading layer must not be entered from two threads at once
_TASK_LOCK = threading.Lock()


class LocalExecutor:
    """Run tasks in this process, in order; Numba uses all its threads in each."""

    workers = 1
    description = "this process"

    def map(self, fn: Callable, tasks: Iterable[Task]) -> Iterator[tuple[Task, object]]:
        """``(task, fn(*task))`` for each task, as each finishes."""
        for task in tasks:
            yield task, fn(*task)

    def close(self) -> None:
        pass


def _run_on_worker(fn: Callable, threads: int | None, task: Task):
    """Run one task on a Dask worker with ``threads`` Numba threads (None: the worker's
    Dask threads, i.e. its share of the machine's cores)."""
    import numba
    from distributed import get_worker

    if threads is None:
        threads = get_worker().state.nthreads
    threads = max(1, min(threads, numba.config.NUMBA_NUM_THREADS))
    with _TASK_LOCK:
        before = numba.get_num_threads()
        numba.set_num_threads(threads)      # thread-local: set in the thread that runs it
        try:
            return fn(*task)
        finally:
            numba.set_num_threads(before)


class DaskExecutor:
    """Run tasks on a Dask ``distributed`` cluster (see the module docstring)."""

    def __init__(self, client, cluster=None, description: str = "a Dask cluster",
                 threads: int | None = None):
        self.client, self.cluster, self.description = client, cluster, description
        self.threads = threads          # Numba threads per task; None: each worker's nthreads

    @property
    def workers(self) -> int:
        return len(self.client.scheduler_info(n_workers=-1)["workers"])

    def map(self, fn: Callable, tasks: Iterable[Task]) -> Iterator[tuple[Task, object]]:
        """``(task, fn(*task))`` for each task, in the order they finish."""
        from distributed import as_completed

        futures = {self.client.submit(_run_on_worker, fn, self.threads, task, pure=False): task
                   for task in tasks}
        try:
            for future in as_completed(futures):
                result = future.result()
                task = futures.pop(future)
                future.release()
                yield task, result
        finally:
            if futures:                              # interrupted or failed: stop the rest
                self.client.cancel(list(futures))

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def parse_cluster(text: str, key: str = "--cluster") -> int:
    """``local:N`` -> N worker processes (1 <= N <= 1024)."""
    kind, _, n = text.partition(":")
    if kind != "local" or not n.isdigit() or not 1 <= int(n) <= 1024:
        raise ScenarioError(key, f"= {text!r}: write local:N, N worker processes "
                            "(1 <= N <= 1024), e.g. local:4")
    return int(n)


def _quiet_dask() -> None:
    """Dask's own log lines (worker start, closing) would bury the simcore output."""
    import logging

    for name in ("distributed", "distributed.nanny", "distributed.scheduler",
                 "distributed.worker", "distributed.core", "distributed.http.proxy"):
        logging.getLogger(name).setLevel(logging.ERROR)


def usable_cores() -> int:
    """Cores this process may run on (CPU affinity, e.g. a SLURM cpuset), else all."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:                   # not on Linux
        return os.cpu_count() or 1


def check_executor(cluster: str | None, scheduler: str | None,
                   worker_threads: int | None) -> None:
    """Check the executor options (before anything is started or written)."""
    if cluster is not None and scheduler is not None:
        raise ScenarioError("--cluster", "give --cluster or --scheduler, not both")
    if worker_threads is not None and (cluster is None and scheduler is None):
        raise ScenarioError("--worker-threads", "only with --cluster or --scheduler (here "
                            "the kernel uses every core; NUMBA_NUM_THREADS limits it)")
    if worker_threads is not None and not 1 <= worker_threads <= 1024:
        raise ScenarioError("--worker-threads", f"= {worker_threads}: give 1 .. 1024")
    if cluster is not None:
        parse_cluster(cluster)
    if scheduler is not None and not urlparse(scheduler).port:
        raise ScenarioError("--scheduler", f"= {scheduler!r}: write the scheduler's address "
                            "as tcp://HOST:PORT")


@contextlib.contextmanager
def open_executor(cluster: str | None = None, scheduler: str | None = None,
                  worker_threads: int | None = None):
    """The executor the options ask for: ``cluster="local:N"`` starts a LocalCluster of N
    worker processes (closed on exit), each with Numba threads = usable cores / N;
    ``scheduler="tcp://HOST:PORT"`` connects to a running one, each worker with its Dask
    threads; neither runs here. ``worker_threads`` sets the Numba threads per worker.
    Yields the executor."""
    check_executor(cluster, scheduler, worker_threads)
    if cluster is None and scheduler is None:
        yield LocalExecutor()
        return
    _quiet_dask()
    import logging

    from distributed import Client, LocalCluster

    if cluster is not None:
        n = parse_cluster(cluster)
        # one Dask thread per worker (tasks never wait behind each other on a worker), and
        # the worker's share of the cores as Numba threads
        local = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                             dashboard_address=None, silence_logs=logging.ERROR)
        threads = worker_threads or max(1, usable_cores() // n)
        executor = DaskExecutor(Client(local), local, f"a local cluster of {n} workers",
                                threads)
    else:
        try:
            client = Client(scheduler, timeout="15s")
        except (OSError, TimeoutError) as exc:
            raise ScenarioError("--scheduler", f"= {scheduler!r}: cannot reach the scheduler "
                                f"({type(exc).__name__}: {exc})".splitlines()[0]) from None
        executor = DaskExecutor(client, None, f"the cluster at {scheduler}", worker_threads)
        try:
            client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS_S)
        except TimeoutError:
            executor.close()
            raise ScenarioError("--scheduler", f"= {scheduler!r}: no worker joined within "
                                f"{WAIT_FOR_WORKERS_S} s (start some: dask worker "
                                f"{scheduler})") from None
    try:
        yield executor
    finally:
        executor.close()
