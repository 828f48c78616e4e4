"""Seeded fuzz of the CLI input contract over games and dramas (tests/fuzz_cases.py).

Every variant either runs (exit 0) or is refused with exactly one line on stderr starting
``simcore: error:`` and exit 2: never a traceback, never another status, never a Python
warning on stderr (it would add lines), never a file left behind (no ``out.nc``, no hidden
``.out.nc.*.tmp``), and nothing on stdout when refused. A run that succeeds writes
``out.nc`` whose ``roas`` holds no NaN, and nothing else.

Variants run in-process through ``simcore.cli.main`` (``SystemExit`` from argparse counts as
an exit status), each in a fresh folder as the working directory, with stdin a terminal that
answers "n": work estimated above the confirmation threshold is refused, so no variant runs
long. Two seams keep the fuzz bounded on a shared 2-core machine, and exercise the same code
the real limits do: the confirmation threshold is lowered to ``CONFIRM_SECONDS`` and the
memory the workload check sees is ``AVAILABLE_BYTES`` (so arrays over 80 % of it are
refused). Each variant must finish within ``HANG_S`` (a hang detector, not a benchmark); one
still running after ``KILL_S`` is stuck where nothing can interrupt it (a Numba loop), so a
watchdog names it on stderr and ends the process (pytest-xdist reports the chunk's test as
failed and goes on; rerun that test with ``-s -p no:xdist`` to see which variant). The
process's peak RSS may grow by at most ``MAX_RSS_GROWTH`` over the module.

Defects the fuzz found and that were fixed stay as ``REGRESSIONS`` (each its own test; one
that hung runs in a subprocess killed at its timeout). An open defect may be listed in
``KNOWN_DEFECTS``: generated variants that carry its trigger are then held back from the
in-process chunks (none are open). A few variants also go
through a real ``python -m simcore`` subprocess, which must agree with the in-process result.
Each chunk's tally (how many variants ran, were refused, were held back) is shown in pytest's
warnings summary (``FuzzTally``).
"""

from __future__ import annotations

import faulthandler
import io
import os
import re
import resource
import subprocess
import sys
import threading
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from simcore.cli import main
from simcore.studies import workload
from tests.fuzz_cases import OUTPUT, SCENARIO_FILE, Variant, pinned, variants

CHUNK = 10                          # variants per test (xdist spreads the chunks)
HANG_S = 60.0                       # [s] per variant: a hang detector, not a benchmark
KILL_S = 180.0                      # [s] a variant still running is stuck: end the process
MAX_RSS_GROWTH = 2 * 1024**3        # [bytes] peak RSS growth over the module
CONFIRM_SECONDS = 10.0              # [s] estimated work above which the CLI asks (answer: no)
AVAILABLE_BYTES = 2.5e9             # [bytes] memory the workload check sees
SUBPROCESS_TIMEOUT_S = 180          # [s] a subprocess variant that runs
HANG_TIMEOUT_S = 30                 # [s] a known hang: start, load the JIT cache, run 2 draws
# warnings Python does not show a CLI user by default
QUIET_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)

PROMPT = re.compile(r"simcore: this is estimated to take about [^\n]*? Go on\? \[y/N\] ")


@dataclass(frozen=True)
class Defect:
    """A defect the fuzz found: a pinned variant that shows it, why it fails, whether it
    hangs (then it runs in a subprocess killed after ``HANG_TIMEOUT_S``), and ``triggers``:
    text in a generated variant's arguments that makes it show the same defect."""

    variant: Variant
    reason: str
    triggers: tuple[str, ...]
    hangs: bool = False


# defects the fuzz found, since fixed: each stays as a regression test of the contract
REGRESSIONS = (
    Defect(pinned("defect-sessions-shape-denormal", "brain_puzzle_us",
                  "engagement.sessions_shape=5e-324"),
           "hangs forever in the game kernel (uninterruptible; SIGTERM and Ctrl-C ignored): "
           "Gamma shape 5e-324 passes gt=0, extra_mean / shape overflows to inf, "
           "gamma() underflows to 0, the session rate is NaN and the PTRS Poisson sampler "
           "never accepts", ("engagement.sessions_shape=5e-324",), hangs=True),
    Defect(pinned("defect-pace-shape-denormal", "drama_paywall_us", "series.pace_shape=5e-324"),
           "hangs forever in the drama kernel (uninterruptible): pace Gamma shape 5e-324 "
           "passes gt=0 and gives a NaN rate", ("series.pace_shape=5e-324",), hangs=True),
    Defect(pinned("defect-budget-denormal", "brain_puzzle_us",
                  "campaign.daily_budget_usd=5e-324"),
           "traceback, exit 1: plan.check_delivery takes math.log(top / sat) with top / sat "
           "== 0.0 (ValueError: math domain error)", ("campaign.daily_budget_usd=5e-324",)),
    Defect(pinned("defect-cpa-denormal", "drama_paywall_us", "campaign.target_cpa_usd=5e-324"),
           "3 lines on stderr: a NumPy RuntimeWarning (overflow in plan.py:46 budgets / unit "
           "costs) before the error line, which says 'valid range: >= inf'",
           ("campaign.target_cpa_usd=5e-324", "campaign.cpm_usd=5e-324")),
    Defect(pinned("defect-zero-paid-activations", "drama_free_licensed_us",
                  "campaign.target_cpa_usd=1000.0"),
           "exit 0 with NumPy RuntimeWarnings on stderr: a draw with no paid activation has "
           "cpa = inf and the summary's quantiles of it subtract inf - inf",
           ("campaign.target_cpa_usd=1000.0",)),
    Defect(pinned("defect-choice-weights-overflow", "reborn_emperor_us",
                  'ads.interstitial_cap_per_day={ dist = "choice", values = [1, 2], '
                  'weights = [1e308, 1e308] }'),
           "finite weights whose sum overflows are accepted: NumPy RuntimeWarnings on "
           "stderr and every draw takes the last value (200 of 200 draws give 2, not half)",
           ("weights = [1e308, 1e308]",)),
)

KNOWN_DEFECTS: tuple[Defect, ...] = ()    # open defects, held back from the chunks (none)

ALL = variants()
BY_ID = {v.id: v for v in ALL}
_RSS_START = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024   # [bytes] (Linux: KiB)


def held_back(v: Variant) -> bool:
    """Whether ``v`` carries a known defect's trigger (it is pinned in KNOWN_DEFECTS)."""
    return any(t in arg for d in KNOWN_DEFECTS for t in d.triggers for arg in v.argv)


class FuzzTally(UserWarning):
    """Not a problem: how many variants of a chunk ran (exit 0) and were refused (exit 2)."""


class FakeTerminal(io.StringIO):
    """A stdin that says it is a terminal and answers every question with "n"."""

    def isatty(self) -> bool:
        return True

    def readline(self, *args) -> str:
        return "n\n"


@pytest.fixture
def bounded(monkeypatch):
    """A terminal that answers "n", a lower confirmation threshold, a smaller machine."""
    monkeypatch.setattr(sys, "stdin", FakeTerminal())
    monkeypatch.setattr(workload, "CONFIRM_SECONDS", CONFIRM_SECONDS)
    monkeypatch.setattr(workload, "available_bytes", lambda: AVAILABLE_BYTES)


def _stuck(v: Variant) -> None:
    """Watchdog: name the stuck variant, dump every thread's stack, end the process."""
    stream = sys.__stderr__
    stream.write(f"\ntest_fuzz: variant {v.id} still running after {KILL_S:.0f} s: stuck; "
                 f"ending the process\n    argv: {list(v.argv)}\n")
    stream.flush()
    faulthandler.dump_traceback(file=stream, all_threads=True)
    os._exit(3)


def run_in_process(v: Variant, folder: Path, monkeypatch, capsys,
                   ) -> tuple[int, str, str, float, list[str]]:
    """Run ``v`` through ``simcore.cli.main`` in ``folder``.

    Returns (status, stdout, stderr, seconds, warnings a CLI user would see). An exception
    escaping ``main`` breaks the contract: its traceback is returned as stderr, status -1.
    """
    folder.mkdir()
    if v.raw is not None:
        (folder / SCENARIO_FILE).write_bytes(v.raw)
    monkeypatch.chdir(folder)
    capsys.readouterr()
    watchdog = threading.Timer(KILL_S, _stuck, (v,))
    watchdog.daemon = True
    start = time.monotonic()
    watchdog.start()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                status = main(list(v.argv))
            except SystemExit as exc:             # argparse
                status = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
            except BaseException:                 # noqa: BLE001 - reported, not swallowed
                status = -1
                sys.stderr.write(traceback.format_exc())
    finally:
        watchdog.cancel()
    seconds = time.monotonic() - start
    out, err = capsys.readouterr()
    shown = [f"{w.category.__name__}: {w.message} ({Path(w.filename).name}:{w.lineno})"
             for w in caught if not issubclass(w.category, QUIET_WARNINGS)]
    return status, out, err, seconds, shown


def contract_problems(v: Variant, folder: Path, status: int, out: str, err: str) -> list[str]:
    """What ``v``'s outcome breaks of the contract (empty when it keeps it)."""
    problems = []
    if status not in (0, 2):
        problems.append(f"exit status {status}")
    if "Traceback" in err or "Traceback" in out:
        problems.append("traceback")
    inputs = {SCENARIO_FILE} if v.raw is not None else set()
    left = sorted(set(os.listdir(folder)) - inputs)
    if status == 2:
        line = PROMPT.sub("", err, count=1)       # the question, answered "n" on a terminal
        if not (line.endswith("\n") and line.count("\n") == 1):
            problems.append(f"not exactly one line on stderr: {err[-600:]!r}")
        elif not line.startswith("simcore: error: ") or not line[16:].strip():
            problems.append(f"error line does not start 'simcore: error: ': {line[:300]!r}")
        if out:
            problems.append(f"refused, yet wrote to stdout: {out[:300]!r}")
        if left:
            problems.append(f"refused, yet left {left}")
    elif status == 0:
        expected = [OUTPUT] if v.writes_output else []
        if left != expected:
            problems.append(f"ran, and left {left} (expected {expected})")
        if v.writes_output and OUTPUT in left:
            problems += _dataset_problems(folder / OUTPUT)
    return problems


def _dataset_problems(path: Path) -> list[str]:
    from simcore.data.dataset import read_run

    try:
        ds = read_run(path)
    except Exception as exc:                      # noqa: BLE001 - reported
        return [f"{OUTPUT} cannot be read back: {type(exc).__name__}: {exc}"]
    nans = int(np.isnan(ds.roas.values).sum())
    return [f"{OUTPUT}: roas holds {nans} NaN of {ds.roas.size}"] if nans else []


def check_variant(v: Variant, folder: Path, monkeypatch, capsys) -> tuple[int, list[str]]:
    """Run ``v`` in-process; (status, what it breaks of the contract, described)."""
    status, out, err, seconds, shown = run_in_process(v, folder, monkeypatch, capsys)
    problems = contract_problems(v, folder, status, out, err)
    if shown:
        problems.append(f"Python warnings on stderr: {shown[:3]}")
    if seconds > HANG_S:
        problems.append(f"took {seconds:.0f} s (> {HANG_S:.0f} s: a hang?)")
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - _RSS_START
    if grown > MAX_RSS_GROWTH:
        problems.append(f"peak RSS grew by {grown / 1e9:.2f} GB since the module started")
    if v.id.startswith("base-") and status != 0:
        problems.append("an unchanged packaged scenario must run")
    return status, [_describe(v, status, err, problems)] if problems else []


def _describe(v: Variant, status: int, err: str, problems: list[str]) -> str:
    return (f"{v.id} [{'; '.join(v.what)}] exit {status}: {' | '.join(problems)}\n"
            f"    argv: {list(v.argv)}\n    stderr: {err[-1500:]!r}")


CHUNKS = [ALL[i:i + CHUNK] for i in range(0, len(ALL), CHUNK)]


@pytest.mark.parametrize("chunk", CHUNKS, ids=[f"{c[0].id}..{c[-1].id}" for c in CHUNKS])
def test_fuzz_contract(chunk, tmp_path, monkeypatch, capsys, bounded):
    """Each variant of the chunk runs (exit 0) or is refused in one line (exit 2)."""
    failures, tally, held = [], {0: 0, 2: 0}, 0
    for v in chunk:
        if held_back(v):
            held += 1
            continue
        status, problems = check_variant(v, tmp_path / v.id, monkeypatch, capsys)
        failures += problems
        if not problems:
            tally[status] += 1
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - _RSS_START
    warnings.warn(FuzzTally(f"fuzz {chunk[0].id}..{chunk[-1].id}: {tally[0]} ran (exit 0), "
                            f"{tally[2]} refused (exit 2), {held} held back (known defect), "
                            f"{len(failures)} broke the contract; peak RSS of this worker "
                            f"+{grown / 1e6:.0f} MB since the module started"))
    assert not failures, "\n".join(failures)


def test_fuzz_covers_games_and_dramas():
    """The generator's promise: >= 120 variants, >= 40 of them dramas, mutated and raw, the
    same list on every call, and few held back for known defects."""
    assert len(ALL) >= 120
    assert sum(v.kind == "drama" for v in ALL) >= 40
    assert sum(v.raw is not None for v in ALL) >= 20
    assert len(BY_ID) == len(ALL)
    assert [(v.id, v.argv, v.raw) for v in variants()] == [(v.id, v.argv, v.raw) for v in ALL]
    assert sum(map(held_back, ALL)) <= len(ALL) // 10
    assert all(held_back(d.variant) for d in KNOWN_DEFECTS)


@pytest.mark.parametrize("defect", [pytest.param(d, id=d.variant.id) for d in REGRESSIONS])
def test_fuzz_fixed_defect(defect, tmp_path, monkeypatch, capsys, bounded):
    """A defect the fuzz found, fixed: its variant keeps the contract (one that hung runs in
    a subprocess killed after ``HANG_TIMEOUT_S``)."""
    v = defect.variant
    if not defect.hangs:
        _, problems = check_variant(v, tmp_path / v.id, monkeypatch, capsys)
        assert not problems, "\n".join(problems)
        return
    try:
        result = subprocess.run([sys.executable, "-m", "simcore", *v.argv], cwd=tmp_path,
                                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=HANG_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{v.id}: still running after {HANG_TIMEOUT_S} s (killed)")
    problems = contract_problems(v, tmp_path, result.returncode, result.stdout, result.stderr)
    assert not problems, _describe(v, result.returncode, result.stderr, problems)


# End to end: a game that runs, a drama value refused, an argparse error, a damaged file.
# None of them changes the size of the work: a subprocess without a terminal only warns
# about long work, it does not ask.
SUBPROCESS_VARIANTS = (BY_ID["base-brain_puzzle_us"],
                       pinned("drama-nan", "drama_paywall_us", "deal.launch_spike=nan"),
                       pinned("game-seed-not-a-number", "reborn_emperor_us", "--seed", "abc"),
                       next(v for v in ALL if v.raw is not None))


@pytest.mark.parametrize("v", SUBPROCESS_VARIANTS, ids=[v.id for v in SUBPROCESS_VARIANTS])
def test_fuzz_subprocess(v, tmp_path, monkeypatch, capsys, bounded):
    """``python -m simcore`` keeps the contract and agrees with the in-process run."""
    status, _, err, _, _ = run_in_process(v, tmp_path / "in_process", monkeypatch, capsys)
    folder = tmp_path / "subprocess"
    folder.mkdir()
    if v.raw is not None:
        (folder / SCENARIO_FILE).write_bytes(v.raw)
    result = subprocess.run([sys.executable, "-m", "simcore", *v.argv], cwd=folder,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=SUBPROCESS_TIMEOUT_S)
    problems = contract_problems(v, folder, result.returncode, result.stdout, result.stderr)
    assert not problems, _describe(v, result.returncode, result.stderr, problems)
    assert result.returncode == status, (result.returncode, status, result.stderr, err)
    if status == 2:
        assert result.stderr == err
