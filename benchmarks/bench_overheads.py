"""Where the wall time of the default ``simcore run`` goes (reborn_emperor_us, its 100 draws,
the dataset written with -o unless --no-write). Run: python benchmarks/bench_overheads.py
[--repeats N] [--draws N] [--no-cold] [--no-write]

Each run is a fresh interpreter (``python -m simcore run``-like: ``simcore.cli.main()`` on
``sys.argv``, so it ends as the script does) whose public steps are wrapped with timers
(time.perf_counter; a step's time excludes the wrapped steps inside it, so the rows add up
to the total): imports, load_scenario, the work
estimate, sampling each draw's scenario, compile_plan, the retention fits (count and time),
the campaign's Python side, chunk seeding, the kernel (its first call, which loads the cached
machine code, apart), dataset assembly (build_dataset and add_outcomes), summary and the
NetCDF write, in wall and in process CPU time (all threads; steadier than wall when other
processes share the cores). Interpreter start is from spawning the process to its first line;
exit from the end of main() to the process's end.

All children share one temporary NUMBA_CACHE_DIR (the package's own cache is not touched):
the first ("cold") compiles every kernel, the next ``--repeats`` ("cached") load them; the
table shows the cached run with the least total wall time, and the cold one beside it. A last
child runs the same command without timers, to show what the timers cost.
"""

import time

T_START = time.time()       # a child's first line: the end of interpreter start
CPU_START = time.process_time()   # CPU the interpreter start used

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

from machine import cpu_model  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = "reborn_emperor_us"

# (module, attribute, row label): the steps timed in the child, in the table's order
STEPS = [
    ("simcore.scenario", "load_scenario", "load_scenario (parse, validate)"),
    ("simcore.studies.workload", "estimate", "work estimate"),
    ("simcore.scenario.loading", "LoadedScenario.draw_scenarios",
     "draw_scenarios (sample, validate)"),
    ("simcore.kinds.game.plan", "compile_plan", "compile_plan (without fits)"),
    ("simcore.kinds.game.plan", "fit_retention", "retention fits"),
    ("simcore.kinds.game.simulate", "simulate_campaign", "campaign (Python side)"),
    ("simcore.seeding", "chunk_layout", "chunk seeding (SeedSequence)"),
    ("simcore.kinds.game.simulate", "simulate_tasks", "kernel"),
    ("simcore.kinds.game.dataset", "build_dataset", "build_dataset (without outcomes)"),
    ("simcore.data.dataset", "add_outcomes", "add_outcomes"),
    ("simcore.kinds.game.dataset", "add_outcomes", "add_outcomes"),
    ("simcore.text.summary", "summarize", "summarize + format"),
    ("simcore.text.summary", "format_summary", "summarize + format"),
    ("simcore.data.dataset", "write_dataset", "NetCDF write"),
]
FIRST_KERNEL = "kernel, first call (loads code)"
ON_THREAD = " [plans thread]"


class Timers:
    """Exclusive wall and CPU time [s] and calls per label; nested timed calls are
    subtracted. Calls on another thread than the main one (the plans' fits, see
    ``simcore.kinds.game.simulate.PlansAhead``) are kept apart, labelled with ``ON_THREAD``,
    their CPU that thread's own; the main thread's CPU is the process's (all threads)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._local = threading.local()      # per thread: [start, inner, cpu start, cpu inner]
        self.first_kernel_at: float | None = None   # time.time() of the first kernel call

    @property
    def _stack(self) -> list[list[float]]:
        if not hasattr(self._local, "stack"):
            self._local.stack = []
        return self._local.stack

    @staticmethod
    def _cpu() -> float:
        main = threading.current_thread() is threading.main_thread()
        return time.process_time() if main else time.thread_time()

    def enter(self) -> None:
        self._stack.append([time.perf_counter(), 0.0, self._cpu(), 0.0])

    def leave(self, label: str) -> None:
        start, inner, cpu_start, cpu_inner = self._stack.pop()
        elapsed = time.perf_counter() - start
        cpu = self._cpu() - cpu_start
        if self._stack:
            self._stack[-1][1] += elapsed
            self._stack[-1][3] += cpu
        if threading.current_thread() is not threading.main_thread():
            label += ON_THREAD
        self.seconds[label] = self.seconds.get(label, 0.0) + elapsed - inner
        self.cpu[label] = self.cpu.get(label, 0.0) + cpu - cpu_inner
        self.calls[label] = self.calls.get(label, 0) + 1

    def wrap(self, func, label: str):
        def timed(*args, **kwargs):
            if label == "kernel" and self.first_kernel_at is None:
                self.first_kernel_at = time.time()
                label_now = FIRST_KERNEL
            else:
                label_now = label
            self.enter()
            try:
                return func(*args, **kwargs)
            finally:
                self.leave(label_now)
        return timed

    def wrap_generator(self, func, label: str):
        """Time each step of the generators ``func`` returns (their work is lazy)."""
        def timed(*args, **kwargs):
            gen = func(*args, **kwargs)
            while True:
                self.enter()
                try:
                    item = next(gen)
                except StopIteration:
                    return
                finally:
                    self.leave(label)
                yield item
        return timed


def child(report: str, output: str, draws: int | None, plain: bool) -> None:
    """Run ``simcore run`` in this interpreter (timed unless ``plain``); write ``report``."""
    t, cpu = time.perf_counter(), time.process_time()
    import importlib

    from simcore import cli
    timers = Timers()
    if not plain:
        for module, attr, label in STEPS:
            mod = importlib.import_module(module)
            owner_name, _, name = attr.rpartition(".")
            owner = getattr(mod, owner_name) if owner_name else mod
            func = getattr(owner, name)
            wrap = timers.wrap_generator if attr == "chunk_layout" else timers.wrap
            setattr(owner, name, wrap(func, label))
    imports, imports_cpu = time.perf_counter() - t, time.process_time() - cpu
    argv = ["run", SCENARIO, "--no-progress"]
    if output != "-":
        argv += ["-o", output, "--force"]
    if draws is not None:
        argv += ["--draws", str(draws)]
    t, cpu = time.perf_counter(), time.process_time()
    with open(os.devnull, "w") as null:
        stdout, sys.stdout = sys.stdout, null
        sys.argv = ["simcore", *argv]          # as the simcore script calls it
        try:
            status = cli.main()
        finally:
            sys.stdout = stdout
    main_s, main_cpu = time.perf_counter() - t, time.process_time() - cpu
    with open(report, "w") as f:
        json.dump({"start": T_START, "imports": imports, "main": main_s, "status": status,
                   "start_cpu": CPU_START, "imports_cpu": imports_cpu, "main_cpu": main_cpu,
                   "end_cpu": time.process_time(), "cpu": timers.cpu,
                   "end": time.time(), "seconds": timers.seconds, "calls": timers.calls,
                   "first_kernel_at": timers.first_kernel_at}, f)


def spawn(cache: str, tmp: str, draws: int | None, plain: bool = False, write: bool = True,
          ) -> dict:
    """One child run; its report plus spawn-relative times [s]."""
    report = os.path.join(tmp, "report.json")
    cmd = [sys.executable, __file__, "--child", report,
           os.path.join(tmp, "run.nc") if write else "-"]
    cmd += (["--draws", str(draws)] if draws is not None else []) + (["--plain"] if plain else [])
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(ROOT))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    spawned = time.time()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    ended = time.time()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed (exit {proc.returncode}): "
                         f"{proc.stderr.strip().splitlines()[-1:]}")
    with open(report) as f:
        r = json.load(f)
    if r["status"] != 0:
        raise SystemExit(f"simcore run exited {r['status']}")
    r["wall"] = ended - spawned
    r["total_cpu"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    r["interpreter"] = r["start"] - spawned
    r["exit"] = ended - r["end"]
    r["to_first_kernel"] = (r["first_kernel_at"] - spawned) if r["first_kernel_at"] else None
    return r


def rows(r: dict) -> list[tuple[str, float, float, str]]:
    """(label, wall s, CPU s, note) rows of one child's report, adding up to its totals."""
    out = [("interpreter start", r["interpreter"], r["start_cpu"], ""),
           ("imports (simcore, numpy, numba, xarray)", r["imports"], r["imports_cpu"], "")]
    labels = list(dict.fromkeys(label for _, _, label in STEPS))
    labels.insert(labels.index("kernel"), FIRST_KERNEL)
    for label in labels:
        calls = r["calls"].get(label, 0)
        out.append((label, r["seconds"].get(label, 0.0), r["cpu"].get(label, 0.0),
                    f"{calls} calls" if calls else ""))
    main_thread = [label for label in r["seconds"] if not label.endswith(ON_THREAD)]
    out.append(("other (CLI, glue)", r["main"] - sum(r["seconds"][k] for k in main_thread),
                r["main_cpu"] - sum(r["cpu"][k] for k in main_thread), ""))
    out.append(("interpreter exit", r["exit"], r["total_cpu"] - r["end_cpu"], ""))
    return out


def thread_rows(r: dict) -> list[tuple[str, float, float, str]]:
    """Rows of the steps timed on the plans thread: their time overlaps the main thread's
    rows (which count their CPU too), so they are not part of the totals."""
    return [(label, r["seconds"][label], r["cpu"][label], f"{r['calls'][label]} calls")
            for label in r["seconds"] if label.endswith(ON_THREAD)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="cached runs (best is shown)")
    ap.add_argument("--draws", type=int, help="draws (default: the scenario's, 100)")
    ap.add_argument("--no-cold", action="store_true", help="skip the cold-compile run "
                    "(the first cached run then fills the cache and is not counted)")
    ap.add_argument("--no-write", action="store_true", help="run without -o (the default "
                    "command: no dataset written)")
    ap.add_argument("--child", nargs=2, metavar=("REPORT", "OUTPUT"), help=argparse.SUPPRESS)
    ap.add_argument("--plain", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child, args.draws, args.plain)
        return
    print(f"bench_overheads  {datetime.datetime.now():%Y-%m-%d %H:%M}  {cpu_model()}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    write = not args.no_write
    print(f"simcore run {SCENARIO} --no-progress" + (" -o run.nc" if write else "")
          + (f" --draws {args.draws}" if args.draws else " (100 draws)")
          + f"; fresh interpreters, best of {args.repeats} cached")
    tmp = tempfile.mkdtemp(prefix="simcore_overheads_")
    try:
        cache = os.path.join(tmp, "numba_cache")
        os.mkdir(cache)
        first = spawn(cache, tmp, args.draws, write=write)   # fills the empty cache
        cold = None if args.no_cold else first
        cached = [spawn(cache, tmp, args.draws, write=write) for _ in range(args.repeats)]
        plain = spawn(cache, tmp, args.draws, plain=True, write=write)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    best = min(cached, key=lambda r: r["wall"])
    cold_rows = {label: w for label, w, _, _ in rows(cold)} if cold else {}
    print(f"{'step':<40}{'wall s':>8}{'share':>7}{'CPU s':>8}{'share':>7}{'cold s':>8}   calls")
    for label, wall, cpu, note in rows(best):
        cold_s = f"{cold_rows[label]:>8.2f}" if cold else f"{'':>8}"
        print(f"{label:<40}{wall:>8.2f}{wall / best['wall']:>7.1%}{cpu:>8.2f}"
              f"{cpu / best['total_cpu']:>7.1%}{cold_s}   {note}")
    cold_total = f"{cold['wall']:>8.2f}" if cold else ""
    print(f"{'total':<40}{best['wall']:>8.2f}{1:>7.1%}{best['total_cpu']:>8.2f}{1:>7.1%}"
          f"{cold_total}")
    for label, wall, cpu, note in thread_rows(best):
        print(f"{label:<40}{wall:>8.2f}{'':>7}{cpu:>8.2f}{'':>7}{'':>8}   {note}, overlapping "
              "the rows above (their CPU counted there)")
    walls = ", ".join(f"{r['wall']:.2f}" for r in cached)
    print(f"cached runs' wall: {walls} s; without timers: {plain['wall']:.2f} s "
          f"(CPU {plain['total_cpu']:.2f} s); wall > CPU / 2 when other processes share "
          "the 2 cores")
    cold_first = f"; cold {cold['to_first_kernel']:.2f} s" if cold else ""
    print(f"start-up to the first kernel call: cached {best['to_first_kernel']:.2f} s"
          f"{cold_first}")
    pre = sum(wall for _, wall, _, _ in rows(best)[:2])
    print(f"  of which interpreter + imports {pre:.2f} s; first kernel call itself "
          f"{best['seconds'].get(FIRST_KERNEL, 0.0):.2f} s")


if __name__ == "__main__":
    main()
