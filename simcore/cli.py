"""Command line: ``simcore run | validate | summary | plot | report | scale | optimize | sweep |
sensitivity | scenarios | schema | new``.

Errors in input are one line on stderr and exit status 2; no traceback, no output file.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
from pathlib import Path

from simcore import __version__
from simcore.data.checks import DEFAULT_DAY, check_age, check_day, check_target
from simcore.data.outputs import check_input, check_output, write_atomic
from simcore.errors import ScenarioError
from simcore.figures import ALLOCATION, FORECAST, SHARED
from simcore.kinds import FIGURES, NAMES

EXIT_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, like every other input error
        self.exit(EXIT_INPUT, f"simcore: error: {message} (see {self.prog} --help)\n")


def _add_scenario_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", default=None,
                   help="scenario TOML file, or the name of a packaged scenario "
                        "(default: reborn_emperor_us)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario value, e.g. --set campaign.daily_budget_usd=5000 "
                        "(repeatable; validated like the file)")


def _add_run_args(p: argparse.ArgumentParser, per: str) -> None:
    """--seed, --draws and --no-progress of the commands that simulate."""
    p.add_argument("--seed", type=int, help="root seed (same as --set simulation.seed=N)")
    p.add_argument("--draws", type=int, help=f"Monte Carlo draws{per} "
                   "(--set simulation.draws=N)")
    p.add_argument("--no-progress", action="store_true", help="never show the progress bar")
    _add_yes(p)


def _add_yes(p: argparse.ArgumentParser) -> None:
    p.add_argument("--yes", action="store_true", help="start without asking when the work is "
                   "estimated to take more than 10 minutes")


def _add_force(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true", help="replace output files that simcore "
                   "did not write (files it wrote are replaced without it)")


def _add_executor_args(p: argparse.ArgumentParser) -> None:
    """--cluster / --scheduler: where the tasks run (default: this process, all cores)."""
    p.add_argument("--cluster", metavar="local:N",
                   help="run the tasks on a Dask LocalCluster of N worker processes")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run the tasks on a running Dask cluster (dask scheduler/worker, "
                        "dask-jobqueue); workers need simcore installed")
    p.add_argument("--worker-threads", type=int, metavar="N",
                   help="Numba threads per Dask worker (default: its machine's cores / the "
                        "workers on it)")


# the figures every run has, a forecast's, an allocation's and each title kind's own (names
# only: nothing heavy imported)
FIGURE_CHOICES = (SHARED + FORECAST + ALLOCATION
                  + tuple(k for figures in FIGURES.values() for k in figures))


def _add_day_target_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--day", type=int, default=None,
                   help="age in days at which ROAS is judged (default: the scenario's "
                        "[goal] age, the horizon without one)")
    p.add_argument("--target", type=float, default=None,
                   help="target ROAS, > 0 (default: the scenario's [goal] roas, 1.0 = "
                        "break-even without one)")
    p.add_argument("--basis", choices=("paid", "blended"), default="paid",
                   help="what ROAS counts: paid (default: ROAS on UA, the revenue of the users "
                        "the spend bought) or blended (organic and share users too)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="simcore", description="Monte Carlo ROAS simulator for mini-games "
                     "and micro-drama series on TikTok Minis.")
    parser.add_argument("--version", action="version", version=f"simcore {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("run", help="simulate a scenario and print its summary",
                       description="Simulate a scenario; print the summary on stdout and "
                       "optionally save the dataset (NetCDF).")
    _add_scenario_args(p)
    p.add_argument("-o", "--output", type=Path, help="write the dataset to this .nc file")
    _add_force(p)
    _add_day_target_args(p)
    _add_run_args(p, "")

    p = sub.add_parser("calibrate", help="learn from a live campaign's cohort report and "
                       "forecast", description="Update the scenario's uncertain assumptions "
                       "from a cohort report (Bayesian: the scenario's distributions are the "
                       "prior), print the fit, the assumptions moved and the forecast, and "
                       "optionally save the forecast dataset (NetCDF).")
    _add_scenario_args(p)
    p.add_argument("--observed", type=Path, required=True, metavar="REPORT.csv",
                   help="the cohort report: long or wide CSV (see simcore.data.observed)")
    p.add_argument("--through", metavar="DAY|YYYY-MM-DD", default=None,
                   help="last reported calendar day (default: the latest in the report)")
    p.add_argument("--particles", type=int, default=None, metavar="N",
                   help="posterior sample size (default 1000; 100-20000)")
    p.add_argument("-o", "--output", type=Path, help="write the forecast to this .nc file")
    _add_force(p)
    p.add_argument("--basis", choices=("paid", "blended"), default="paid",
                   help="ROAS of paid users (default) or of every user")
    _add_run_args(p, " of the forecast")
    _add_executor_args(p)

    p = sub.add_parser("validate", help="check a scenario and print it resolved",
                       description="Validate a scenario and print every value in use, "
                       "including the fitted retention model.")
    _add_scenario_args(p)

    p = sub.add_parser("summary", help="print the summary of a saved dataset",
                       description="Print the summary of a dataset written by simcore run -o "
                       "(or calibrate -o), or the allocation written by simcore optimize -o.")
    p.add_argument("dataset", type=Path, help="a .nc file written by simcore run, calibrate "
                   "or optimize")
    _add_day_target_args(p)

    p = sub.add_parser("plot", help="draw a figure of a saved dataset",
                       description="Draw one figure of a dataset written by simcore run -o: "
                       "fan (ROAS quantile bands by age), payback (share of draws paid back "
                       "by age), hist (ROAS at --day across draws), tornado (rank correlation "
                       "of each uncertain parameter with ROAS at --day), ltv (LTV per "
                       "activation by age); for a drama also funnel (share of starters "
                       "watching each episode), sources (revenue by source) and pnl (series "
                       "P&L incl. production); for a calibrated forecast also forecast; for "
                       "an allocation (simcore optimize -o) frontier, its only figure.")
    p.add_argument("dataset", type=Path, help="a .nc file written by simcore run, calibrate "
                   "or optimize")
    p.add_argument("--kind", choices=FIGURE_CHOICES,
                   help="which figure (required for a run; an allocation's is frontier)")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="image file to write: *.png or *.svg")
    _add_force(p)
    _add_day_target_args(p)

    p = sub.add_parser("report", help="write a self-contained HTML report of a saved dataset",
                       description="Write one HTML page (no external files) with the run's "
                       "facts, summary tables, all figures and the scenario; for an "
                       "allocation (simcore optimize -o): the allocation table, its expected "
                       "profit, P(loss), CVaR and P(ROAS >= target) in and out of sample, "
                       "the binding constraints and the efficient frontier.")
    p.add_argument("dataset", type=Path, help="a .nc file written by simcore run, calibrate "
                   "or optimize")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="HTML file to write: *.html")
    _add_force(p)
    _add_day_target_args(p)

    p = sub.add_parser("scale", help="ROAS and profit at several daily budgets",
                       description="Run the scenario at each daily budget (a one-key sweep), "
                       "every budget on the same random streams (common random numbers) "
                       "unless --independent-streams; print ROAS and profit by budget, the "
                       "budget that maximises expected profit, and the largest budget that "
                       "keeps P(ROAS at --age >= --target) >= --probability.")
    _add_scenario_args(p)
    p.add_argument("--budgets", required=True, metavar="B1,B2,...",
                   help="daily budgets [USD/day], comma-separated, e.g. 1000,2500,5000,10000")
    p.add_argument("--age", type=int, default=None,
                   help="age in days at which ROAS is judged (default: the scenario's [goal] "
                        "age, the horizon without one)")
    p.add_argument("--probability", type=float, default=0.8,
                   help="required P(ROAS >= target), 0 < p < 1 (default: 0.8)")
    p.add_argument("--target", type=float, default=None,
                   help="target ROAS, > 0 (default: the scenario's [goal] roas, 1.0 = "
                        "break-even without one)")
    p.add_argument("-o", "--output", type=Path, help="write the scale dataset to this .nc file")
    p.add_argument("--plot", type=Path, help="draw profit by budget to this *.png or *.svg")
    p.add_argument("--store", type=Path, metavar="STORE.zarr",
                   help="write the scan's sweep to this *.zarr store task by task (resumable)")
    p.add_argument("--resume", action="store_true",
                   help="finish the scan in the --store, computing only what it lacks")
    p.add_argument("--block-draws", type=int, default=None, metavar="N",
                   help="draws per task (default: about 5M simulated users per task)")
    p.add_argument("--independent-streams", action="store_true",
                   help="each budget on its own random streams (default: the same streams at "
                        "every budget, so differences between budgets are not noise)")
    _add_force(p)
    _add_executor_args(p)
    _add_run_args(p, " per budget")

    p = sub.add_parser("optimize", help="split a total daily budget across markets, channels "
                       "and weeks under risk",
                       description="Simulate each market's paid ads (and creators, weeks) on a "
                       "budget grid (common random numbers), then choose the daily budget of "
                       "each cell that "
                       "maximises expected profit (or a CVaR-adjusted one) subject to bounds "
                       "and an optional chance constraint P(ROAS at AGE >= TARGET) >= P; "
                       "checked out of sample on fresh seeds.")
    _add_scenario_args(p)
    p.add_argument("--total-budget", type=float, required=True, metavar="USD",
                   help="total daily budget [USD/day] to split")
    p.add_argument("--at-most", action="store_true",
                   help="spend at most the total (default: spend it all)")
    p.add_argument("--over", default="markets", metavar="markets[,channels][,weeks]",
                   help="what to allocate over: markets (each market's paid ads, the "
                        "default), channels (paid ads and creators), weeks (a budget per "
                        "week of the campaign); comma-separated")
    p.add_argument("--objective", default="mean", choices=("mean", "cvar"),
                   help="mean: expected net profit - LAMBDA x CVaR of the loss (default); "
                        "cvar: minimise CVaR of the loss")
    p.add_argument("--lambda", dest="lam", type=float, default=0.0, metavar="L",
                   help="weight on CVaR of the loss in the mean objective (default 0)")
    p.add_argument("--cvar-alpha", type=float, default=0.95, metavar="A",
                   help="CVaR level: the mean loss of the worst 1 - A of draws (default 0.95)")
    p.add_argument("--chance", metavar="AGE:TARGET:P",
                   help="require P(ROAS at AGE >= TARGET) >= P, e.g. 30:1:0.8")
    p.add_argument("--payback", metavar="Q:DAY",
                   help="require the Q-quantile of the payback day to be at most DAY, e.g. "
                        "0.8:90 (the same as --chance DAY:1:Q)")
    p.add_argument("--max-cvar", type=float, metavar="USD",
                   help="require CVaR (at --cvar-alpha) of the loss <= USD (negative: a "
                        "profit even in the worst tail)")
    p.add_argument("--chance-method", default="milp", choices=("milp", "cvar"),
                   help="milp: the chance constraint exactly on the draws, one binary per draw "
                        "(default); cvar: its conservative CVaR approximation (a linear "
                        "programme, also the fallback when the MILP finds nothing in time)")
    p.add_argument("--min", dest="lower", action="append", default=[], metavar="CELL=USD",
                   help="lower bound of a market's daily budget, e.g. --min US=1000 "
                        "(repeatable)")
    p.add_argument("--max", dest="upper", action="append", default=[], metavar="CELL=USD",
                   help="upper bound of a market's daily budget (repeatable)")
    p.add_argument("--from", dest="forecast", type=Path, metavar="FORECAST.nc",
                   help="a calibrated forecast (simcore calibrate -o): its posterior replaces "
                        "the prior of the assumptions it learned, in every market")
    p.add_argument("--grid-points", type=int, default=6, metavar="N",
                   help="simulated budgets per cell (default 6, plus 0)")
    p.add_argument("--block-draws", type=int, default=None, metavar="N",
                   help="draws per task (default: all draws in one task)")
    p.add_argument("--store", type=Path, metavar="DIR",
                   help="keep every finished simulation task in this folder as it finishes")
    p.add_argument("--resume", action="store_true",
                   help="reuse the finished tasks of --store (an interrupted study resumes)")
    p.add_argument("-o", "--output", type=Path, help="write the allocation dataset to this .nc")
    p.add_argument("--plot", type=Path, help="draw the efficient frontier (profit against "
                   "CVaR of the loss) to this *.png or *.svg")
    _add_force(p)
    _add_executor_args(p)
    _add_run_args(p, "")

    p = sub.add_parser("sweep", help="run the scenario on a grid of values",
                       description="Run the scenario at every combination of the --grid "
                       "values (one dimension per key); print ROAS, payback and profit by "
                       "point and optionally save the sweep dataset.")
    _add_scenario_args(p)
    p.add_argument("--grid", action="append", required=True, metavar="KEY=VALUES",
                   help="a key and its values: v1,v2,... or a:b:n (linear) or a:b:n:log, "
                        "e.g. --grid ads.ecpm_rewarded_usd=8:20:7 (repeatable)")
    p.add_argument("--day", type=int, default=None,
                   help="age in days for the printed ROAS (default: D7, or the horizon)")
    p.add_argument("-o", "--output", type=Path,
                   help="write the sweep dataset: *.zarr is written task by task as the "
                        "sweep runs (resumable), *.nc once at the end")
    p.add_argument("--resume", action="store_true",
                   help="finish the sweep in the -o *.zarr store, computing only what it lacks")
    p.add_argument("--force", action="store_true", help="replace an existing -o file or "
                   "store (a .nc file simcore wrote is replaced without it)")
    p.add_argument("--block-draws", type=int, default=None, metavar="N",
                   help="draws per task (default: about 5M simulated users per task)")
    _add_executor_args(p)
    _add_run_args(p, " per point")

    p = sub.add_parser("sensitivity", help="which uncertain assumption matters most",
                       description="Sensitivity of an outcome to the scenario's uncertain "
                       "parameters: oat (swings p5 -> p95), morris (mu*, sigma), sobol (S1, ST "
                       "with 95% intervals from 8 independent scramblings, for each output).")
    _add_scenario_args(p)
    p.add_argument("--method", required=True, choices=("oat", "morris", "sobol"))
    p.add_argument("--target", default="roas:7", metavar="roas:AGE|roas|payback_day|profit",
                   help="the outcome (default roas:7; roas = every key age)")
    p.add_argument("--n", type=int, default=64, help="Morris trajectories or Sobol base "
                   "samples (a power of 2); model runs: morris n*(d+1), sobol n*(d+2)")
    p.add_argument("-o", "--output", type=Path, help="write the indices to this .nc file")
    _add_force(p)
    _add_executor_args(p)
    p.add_argument("--no-progress", action="store_true", help="never show the progress bar")
    _add_yes(p)

    sub.add_parser("scenarios", help="list the packaged scenarios",
                   description="List the scenarios shipped with simcore (usable by name).")

    p = sub.add_parser("schema", help="print the scenario reference: every section and key",
                       description="Print every section and key of a scenario file: type, unit, "
                       "valid range, default, whether it may be a distribution, and meaning.")
    p.add_argument("section", nargs="?", default=None,
                   help="one section only, e.g. campaign, ads, markets, correlations, "
                        "distributions (default: all)")
    p = sub.add_parser("new", help="print a commented scenario template",
                       description="Print a commented scenario template that validates, e.g. "
                       "simcore new --kind game --region JP > my_title.toml")
    p.add_argument("--kind", required=True, choices=NAMES)
    p.add_argument("--region", required=True, metavar="REGION",
                   help="US, JP, ID, TH, VN, BR, SA or TR")
    p.add_argument("--monetization", choices=("iaa", "iap", "hybrid"), default=None,
                   help="games only: in-app ads, purchases, or both (default: iaa)")
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM (what SLURM, Kubernetes and ``kill`` send), handled like Ctrl-C: the work stops
    where it is, temporary files are removed, a sweep store stays consistent."""


def _terminate(signum, frame):
    raise Terminated()


def _stop_status(exc: KeyboardInterrupt) -> tuple[str, int]:
    """The word and exit status of an interruption: Ctrl-C 130, SIGTERM 143."""
    return ("terminated (SIGTERM)", 143) if isinstance(exc, Terminated) else ("interrupted", 130)


# options whose value may start with '-' (a negative number): argparse would read it as a flag
_VALUE_OPTIONS = ("--budgets", "--set", "--grid", "--seed", "--draws", "--day", "--age",
                  "--target", "--probability", "--n", "--block-draws", "--worker-threads",
                  "--max-cvar", "--total-budget", "--lambda", "--cvar-alpha", "--grid-points",
                  "--particles", "--through")


def _join_values(argv: list[str]) -> list[str]:
    """``--budgets -1,100`` -> ``--budgets=-1,100``, so the value is checked, not taken for a
    flag."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] in _VALUE_OPTIONS and i + 1 < len(argv) and argv[i + 1][:1] == "-" \
                and argv[i + 1][1:2] not in ("-", ""):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the command in ``argv`` (default: this process's command line, as the ``simcore``
    script and ``python -m simcore`` do) and return its exit status.

    Run as the process's command (``argv`` None), it ends by freezing the garbage collector
    (``gc.freeze``): the interpreter exits next, and its final collections over every object
    numpy, scipy, Numba and xarray created took ~0.4 s; memory is released all the same."""
    args = build_parser().parse_args(_join_values(sys.argv[1:] if argv is None else argv))
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:              # not the main thread: leave signals alone
        previous = None
    try:
        return _COMMANDS[args.command](args)
    except ScenarioError as exc:
        print(f"simcore: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt as exc:
        word, status = _stop_status(exc)
        print(f"simcore: {word}", file=sys.stderr)
        return status
    except BrokenPipeError:         # the reader left (``simcore validate X | head -1``)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error
        return 0
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if argv is None:
            gc.freeze()


def _overrides(args) -> list[str]:
    extra = []
    if getattr(args, "seed", None) is not None:
        extra.append(f"simulation.seed={args.seed}")
    if getattr(args, "draws", None) is not None:
        extra.append(f"simulation.draws={args.draws}")
    return list(args.overrides) + extra


def _cmd_run(args) -> int:
    from simcore.scenario import load_scenario

    check_target(args.target)
    if args.output is not None:
        check_output(args.output, (".nc",), force=args.force)
    loaded = load_scenario(args.scenario, _overrides(args))
    day = None if args.day is None else check_age(
        args.day, loaded.scenario.simulation.horizon_days, "--day")
    from simcore.studies.workload import estimate

    _check_work(args, estimate(loaded))
    from simcore.data.dataset import write_dataset
    from simcore.engine.run import run
    from simcore.text.summary import format_summary, summarize

    _warn(loaded)
    markets = max(1, len(loaded.scenario.markets))
    with _progress(args, markets * loaded.scenario.simulation.draws, "draws") as bar:
        ds = run(loaded, progress=bar.update)
    if args.output is not None:
        try:
            write_dataset(ds, args.output)
        except OSError as exc:
            return _write_failed(args.output, exc)
    print(format_summary(summarize(ds, day=day, target=args.target, basis=args.basis)))
    if args.output is not None:
        print(f"\ndataset written to {args.output}")
    return 0


def _cmd_calibrate(args) -> int:
    from simcore.scenario import load_scenario
    from simcore.studies.executors import LocalExecutor, check_executor, open_executor

    check_input(args.observed, "--observed")
    check_executor(args.cluster, args.scheduler, args.worker_threads)
    if args.output is not None:
        check_output(args.output, (".nc",), force=args.force)
    loaded = load_scenario(args.scenario, _overrides(args))
    through = args.through
    if through is not None and through.strip().isdigit():
        through = int(through)
    from simcore.data.observed import read_observed

    observed = read_observed(args.observed, through=through,
                             campaign_days=loaded.scenario.campaign.days)
    from simcore.studies.workload import estimate

    _check_work(args, estimate(loaded))           # the forecast: a run of the scenario's draws
    from simcore.studies.calibration import PARTICLES, calibrate
    from simcore.text.calibration import format_calibration

    particles = PARTICLES if args.particles is None else args.particles
    with open_executor(args.cluster, args.scheduler, args.worker_threads) as executor, \
            _progress(args, loaded.scenario.simulation.draws, "forecast draws") as bar:
        here = isinstance(executor, LocalExecutor)    # no tasks to ship: evaluate in place
        ds = calibrate(loaded, observed, particles=particles, progress=bar.update,
                       executor=None if here else executor)
    if args.output is not None:
        from simcore.data.dataset import write_dataset

        try:
            write_dataset(ds, args.output)
        except OSError as exc:
            return _write_failed(args.output, exc)
    print(format_calibration(ds, args.basis))
    if args.output is not None:
        print(f"\nforecast written to {args.output}")
    return 0


def _warn(loaded) -> None:
    """The title kind's warnings about a scenario that runs (one line each, on stderr)."""
    from simcore import kinds

    for line in kinds.for_scenario(loaded).warnings(loaded):
        print(f"simcore: warning: {line}", file=sys.stderr)


def _cmd_validate(args) -> int:
    from simcore.scenario import load_scenario

    loaded = load_scenario(args.scenario, args.overrides)   # input errors before heavy imports
    from simcore import kinds
    from simcore.studies.workload import estimate

    print(kinds.for_scenario(loaded).validate_text(loaded))
    print(f"\n[{estimate(loaded).describe()}]")
    return 0


def _write_and_print(args, ds, write, what: str, figure, figure_name: str, text: str) -> int:
    """Write ``ds`` to ``args.output`` (``write(ds, path)``) and ``figure(ds)`` to
    ``args.plot`` when given, then print ``text`` and what was written: the exit status (a
    failed write prints only its error)."""
    written, path = [], args.output
    try:
        if args.output is not None:
            write(ds, args.output)
            written.append(f"{what} written to {args.output}")
        if args.plot is not None:
            from simcore.figures import plots

            path = args.plot
            plots.save(figure(ds), args.plot)
            written.append(f"{figure_name} written to {args.plot}")
    except OSError as exc:
        return _write_failed(path, exc)
    print(text)
    if written:
        print("\n" + "\n".join(written))
    return 0


def _write_failed(path: Path, exc: OSError) -> int:
    print(f"simcore: error: --output: cannot write {str(path)!r}: {exc.strerror or exc}",
          file=sys.stderr)
    return 1


def _cmd_summary(args) -> int:
    check_input(args.dataset)
    from simcore.data.dataset import is_allocation, read_run
    from simcore.text.summary import format_summary, summarize

    check_target(args.target)
    ds = read_run(args.dataset, allocation=True)
    if is_allocation(ds):
        _no_run_options(args)
        from simcore.text.allocation import format_allocation

        print(format_allocation(ds))
        return 0
    print(format_summary(summarize(ds, day=check_day(ds, args.day), target=args.target,
                                   basis=args.basis)))
    from simcore.text.calibration import format_calibration, is_forecast

    if is_forecast(ds):
        print("\n" + format_calibration(ds, args.basis))
    return 0


def _no_run_options(args) -> None:
    """An allocation is judged at its own age and target (``optimize --chance``) on ROAS on
    UA: --day, --target and --basis blended are refused in one line rather than ignored."""
    for key, value in (("--day", args.day), ("--target", args.target)):
        if value is not None:
            raise ScenarioError(key, "an allocation (simcore optimize) is judged at the age "
                                "and target it was optimised for (--chance); drop " + key)
    if args.basis != "paid":
        raise ScenarioError("--basis", "an allocation counts ROAS on UA (paid users) only; "
                            "drop --basis")


def _cmd_plot(args) -> int:
    target = check_target(args.target)
    check_input(args.dataset)
    check_output(args.output, (".png", ".svg"), force=args.force)
    from simcore.data.dataset import is_allocation, read_run

    ds = read_run(args.dataset, allocation=True)
    if is_allocation(ds):
        _no_run_options(args)
        day, target = None, None
    else:
        day = check_day(ds, args.day)
        target = check_target(args.target, ds=ds)
    from simcore.figures import plots
    from simcore.text.figure import plot

    fig = plot(ds, args.kind, day=day, target=target, basis=args.basis)
    try:
        plots.save(fig, args.output)
    except OSError as exc:
        return _write_failed(args.output, exc)
    print(f"{args.kind or ALLOCATION[0]} figure written to {args.output}")
    return 0


def _cmd_report(args) -> int:
    check_target(args.target)
    check_input(args.dataset)
    check_output(args.output, (".html", ".htm"), force=args.force)
    from simcore.data.dataset import is_allocation, read_run
    from simcore.text.report import build_report

    ds = read_run(args.dataset, allocation=True)
    if is_allocation(ds):
        _no_run_options(args)
        page = build_report(ds)
    else:
        page = build_report(ds, day=check_day(ds, args.day), target=args.target,
                            basis=args.basis)
    try:
        write_atomic(args.output, page.encode("utf-8"))
    except OSError as exc:
        return _write_failed(args.output, exc)
    print(f"report written to {args.output}")
    return 0


def _cmd_scale(args) -> int:
    from simcore.studies.budget_scan import check_probability, parse_budgets

    budgets = parse_budgets(args.budgets, "--budgets")
    probability = check_probability(args.probability, "--probability")
    target = check_target(args.target)
    if args.output is not None:
        check_output(args.output, (".nc",), force=args.force)
    if args.plot is not None:
        check_output(args.plot, (".png", ".svg"), "--plot", force=args.force)
    from simcore.studies.executors import check_executor
    from simcore.studies.sweep_store import check_store

    if args.resume and args.store is None:
        raise ScenarioError("--resume", "needs --store STORE.zarr, the store the scan was "
                            "written to")
    if args.store is not None:
        check_store(args.store, args.resume, "--store", force=args.force)
    check_executor(args.cluster, args.scheduler, args.worker_threads)
    from simcore.scenario import load_scenario

    loaded = load_scenario(args.scenario, _overrides(args))
    horizon = loaded.scenario.simulation.horizon_days
    age = check_age(loaded.scenario.goal_age() if args.age is None else args.age, horizon,
                    "--age", "age")
    target = loaded.scenario.goal_roas() if args.target is None else target
    from simcore.studies.workload import estimate_points

    _check_work(args, estimate_points(loaded, [f"campaign.daily_budget_usd={float(b)!r}"
                                               for b in budgets]), "--budgets")
    from simcore.studies.budget_scan import (
        budget_sweep,
        format_scale,
        scan_dataset,
        scenarios_at,
        write_scale,
    )

    scenarios_at(loaded, budgets)
    crn = not args.independent_streams
    plan = budget_sweep(loaded, budgets, args.block_draws, crn)
    done = _run_tasks(args, plan, args.store)
    if isinstance(done, int):
        return done
    ds = scan_dataset(loaded, done[0], budgets, age, probability, target, crn)
    def figure(d):
        from simcore.figures import plots

        return plots.profit_by_budget(d)

    return _write_and_print(args, ds, write_scale, "scale dataset", figure,
                            "profit_by_budget figure", format_scale(ds))


def _cmd_optimize(args) -> int:
    from simcore.studies.allocation import (
        check_channels,
        n_tasks,
        optimize,
        parse_chance,
        parse_payback,
        workload,
    )
    from simcore.studies.allocation.cells import (
        check_grid_points,
        check_over,
        check_total,
        parse_bounds,
    )
    from simcore.studies.executors import check_executor, open_executor

    total = check_total(args.total_budget)
    check_grid_points(args.grid_points)
    chance = None if args.chance is None else parse_chance(args.chance)
    if args.payback is not None:
        if chance is not None:
            raise ScenarioError("--payback", "is a chance constraint on ROAS at DAY >= 1: give "
                                "it or --chance, not both")
        chance = parse_payback(args.payback)
    lower, upper = parse_bounds(args.lower, "--min"), parse_bounds(args.upper, "--max")
    if args.output is not None:
        check_output(args.output, (".nc",), force=args.force)
    if args.plot is not None:
        check_output(args.plot, (".png", ".svg"), "--plot", force=args.force)
    check_executor(args.cluster, args.scheduler, args.worker_threads)
    from simcore.studies.allocation.store import TaskStore, check_store

    if args.resume and args.store is None:
        raise ScenarioError("--resume", "needs --store DIR, the folder the study kept its "
                            "tasks in")
    if args.store is not None:
        check_store(args.store, args.resume)
    from simcore.scenario import load_scenario

    loaded = load_scenario(args.scenario, _overrides(args))
    from simcore.studies.allocation.cells import bounds_of, cells_of
    from simcore.studies.workload import check_block_draws

    check_block_draws(args.block_draws, loaded.scenario.simulation.draws)
    if chance is not None:
        from simcore.data.checks import check_age

        check_age(chance[0], loaded.scenario.simulation.horizon_days,
                  "--chance" if args.payback is None else "--payback", "age")

    over = check_over(args.over)
    cells = cells_of(loaded, over)
    _lo, hi = bounds_of(cells, total, lower, upper, args.at_most)   # input errors first
    check_channels(cells, hi)
    if args.forecast is not None:
        from simcore.studies.allocation.posterior import read_posterior

        read_posterior(args.forecast, loaded)                 # before any run, too
    _check_work(args, workload(cells, hi), "--total-budget")
    # the pilot, the grids, the out-of-sample check (a widened grid adds tasks; the bar's
    # total is set to what ran when it ends)
    tasks = n_tasks(cells, args.block_draws) * 3
    store = None if args.store is None else TaskStore(args.store)
    with open_executor(args.cluster, args.scheduler, args.worker_threads) as executor, \
            _progress(args, tasks, "tasks") as bar:
        ds = optimize(loaded, total, over, args.objective, args.lam, args.cvar_alpha,
                      chance, lower, upper, args.at_most, args.grid_points,
                      args.chance_method, executor=executor, block_draws=args.block_draws,
                      progress=bar.update, forecast=args.forecast, max_cvar=args.max_cvar,
                      store=store)
        bar.total = bar.n
        bar.refresh()
    if store is not None:
        print(f"simcore: store {args.store}: {store.reused} tasks reused, {store.written} "
              "computed", file=sys.stderr)
    from simcore.data.dataset import write_dataset
    from simcore.figures.frontier import frontier
    from simcore.text.allocation import format_allocation

    return _write_and_print(args, ds, write_dataset, "allocation", frontier,
                            "frontier figure", format_allocation(ds))


def _cmd_sweep(args) -> int:
    from simcore.studies.executors import check_executor
    from simcore.studies.sweep_store import check_store
    from simcore.studies.sweeps import parse_grid

    grid = dict(parse_grid(g) for g in args.grid)
    if len(grid) != len(args.grid):
        raise ScenarioError("--grid", "a key is given twice")
    zarr_store = args.output is not None and args.output.suffix.lower() == ".zarr"
    if args.resume and not zarr_store:
        raise ScenarioError("--resume", "needs -o STORE.zarr, the store the sweep was written to")
    if zarr_store:
        check_store(args.output, args.resume, force=args.force)
    elif args.output is not None:
        check_output(args.output, (".nc", ".zarr"), force=args.force)
    check_executor(args.cluster, args.scheduler, args.worker_threads)
    from simcore.scenario import load_scenario
    from simcore.studies.sweeps import Sweep, format_sweep

    loaded = load_scenario(args.scenario, _overrides(args))
    horizon = loaded.scenario.simulation.horizon_days
    day = min(DEFAULT_DAY, horizon) if args.day is None else check_age(args.day, horizon,
                                                                       "--day")
    plan = Sweep(loaded, grid, args.block_draws)
    from simcore.studies.workload import FLOAT, estimate

    in_memory = plan.draws * len(plan.variants) * (horizon + 1) * FLOAT * 2 \
        if not zarr_store else 0.0        # roas and roas_paid by point, draw and age
    _check_work(args, estimate(loaded, held_draws=plan.block_draws, result_bytes=in_memory,
                               points=plan.variants), "--grid")
    done = _run_tasks(args, plan, args.output if zarr_store else None)
    if isinstance(done, int):
        return done
    ds, pending, executor = done
    if args.output is not None and not zarr_store:
        from simcore.data.dataset import write_dataset

        try:
            write_dataset(ds, args.output)
        except OSError as exc:
            return _write_failed(args.output, exc)
    print(format_sweep(ds, day))
    print(f"\ncomputed {len(pending)} of {len(plan.tasks)} tasks ({len(plan.variants)} points x "
          f"{-(-plan.draws // plan.block_draws)} blocks of up to {plan.block_draws} draws) on "
          f"{executor}")
    if args.output is not None:
        print(f"sweep dataset written to {args.output}")
    return 0


def _run_tasks(args, plan, store):
    """Run a sweep's tasks (``simcore.studies.sweeps.Sweep``) on the executor of the flags,
    into the Zarr ``store`` (None: in memory), with a progress bar by task. Returns (the
    dataset, the tasks this command ran, the executor's description), or the exit status
    after an interrupt or a failed write."""
    from simcore.studies.executors import open_executor
    from simcore.studies.sweep_store import StoreWriteError

    sink, pending = None, plan.tasks
    # the store is made once the executor is up: a cluster that fails to start leaves nothing
    with open_executor(args.cluster, args.scheduler, args.worker_threads) as executor:
        try:
            if store is not None:
                from simcore.studies.sweep_store import ZarrSink

                sink = ZarrSink(plan, store, args.resume, args.force)
                pending = sink.missing(plan.tasks)
                if args.resume:
                    failed = (f" ({sink.repaired} failed the check and will be recomputed)"
                              if sink.repaired else "")
                    rewritten = (f"; rewrote {', '.join(sink.rewritten)} (failed the check)"
                                 if sink.rewritten else "")
                    print(f"resuming {store}: {len(plan.tasks) - len(pending)} of "
                          f"{len(plan.tasks)} tasks already computed{failed}{rewritten}",
                          file=sys.stderr)
            with _progress(args, len(plan.tasks), "tasks", len(plan.tasks) - len(pending),
                           ) as bar:
                return plan.run(executor, sink, bar.update), pending, executor.description
        except KeyboardInterrupt as exc:
            if sink is None:
                raise
            word, status = _stop_status(exc)
            saved = len(plan.tasks) - len(sink.missing(plan.tasks))
            print(f"simcore: {word}: {saved} of {len(plan.tasks)} tasks are saved in "
                  f"{store}; the same command with --resume finishes the {args.command}",
                  file=sys.stderr)
            return status
        except StoreWriteError as exc:
            return _write_failed(store, exc.__cause__)


def _shows_progress(args) -> bool:
    return sys.stderr.isatty() and not args.no_progress


def _check_work(args, work, what: str = "") -> None:
    """Refuse or confirm the work (``simcore.studies.workload.check``); its estimate is printed with
    the progress bar."""
    from simcore.studies.workload import check

    check(work, args.yes, what, _shows_progress(args))


def _progress(args, total: int, unit: str, initial: int = 0):
    """A progress bar on stderr (a terminal only, unless --no-progress) with rate and ETA."""
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=args.command, unit=unit.rstrip("s"),
                file=sys.stderr, disable=not _shows_progress(args), smoothing=0.1)


def _cmd_sensitivity(args) -> int:
    if args.output is not None:
        check_output(args.output, (".nc",), force=args.force)
    if args.n < 2:
        raise ScenarioError("--n", f"= {args.n}: give at least 2")
    from simcore.scenario import load_scenario
    from simcore.studies.executors import check_executor, open_executor
    from simcore.studies.sensitivity import format_sensitivity, model_runs, sensitivity

    check_executor(args.cluster, args.scheduler, args.worker_threads)
    loaded = load_scenario(args.scenario, args.overrides)
    if args.method == "sobol":
        from simcore.studies.sensitivity import check_sobol_n

        check_sobol_n(args.n)
    runs = model_runs(args.method, args.n, len(loaded.uncertainty.parameters))
    from simcore.studies.workload import estimate

    _check_work(args, estimate(loaded, runs_per_point=runs, held_draws=16), "--n")
    with open_executor(args.cluster, args.scheduler, args.worker_threads) as executor, \
            _progress(args, runs, "runs") as bar:
        ds = sensitivity(loaded, args.method, args.target, args.n, executor=executor,
                         progress=bar.update)
    if args.output is not None:
        from simcore.data.dataset import write_dataset

        try:
            write_dataset(ds, args.output)
        except OSError as exc:
            return _write_failed(args.output, exc)
    print(format_sensitivity(ds))
    return 0


def _cmd_scenarios(args) -> int:
    from simcore.scenario import DEFAULT_SCENARIO, packaged_scenarios

    for name, path in sorted(packaged_scenarios().items()):
        mark = "  (default)" if name == DEFAULT_SCENARIO else ""
        print(f"{name:<28}{path}{mark}")
    return 0


def _cmd_schema(args) -> int:
    from simcore.scenario.reference import format_reference

    print(format_reference(args.section), end="")
    return 0


def _cmd_new(args) -> int:
    from simcore.scenario.reference import new_scenario

    print(new_scenario(args.kind, args.region, args.monetization), end="")
    return 0


_COMMANDS = {"run": _cmd_run, "calibrate": _cmd_calibrate, "validate": _cmd_validate,
             "summary": _cmd_summary, "plot": _cmd_plot, "report": _cmd_report,
             "scale": _cmd_scale, "optimize": _cmd_optimize,
             "sweep": _cmd_sweep, "sensitivity": _cmd_sensitivity,
             "scenarios": _cmd_scenarios, "schema": _cmd_schema, "new": _cmd_new}


if __name__ == "__main__":
    sys.exit(main())
