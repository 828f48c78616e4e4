"""Golden test: every packaged scenario's dataset and every CLI command's output, pinned.

A refactor (issue 13: a title-kind registry, folders by layer) must change neither. The files
in ``tests/golden/`` were written by ``tests/golden/make_golden.py`` from commit a834113:

- ``datasets.json``: for each packaged scenario run small (3 draws, 2 campaign days, a 30-day
  horizon: ``make_golden.OVERRIDES``), each coordinate and data variable's dims, dtype, shape
  and sha256 of its values, and each attribute's sha256 (``simcore_version`` left out);
- ``cli/<key>.txt``: the exact stdout of each command in ``make_golden.COMMANDS`` (validate,
  run, summary with --day/--target, scale, sweep, sensitivity, scenarios, schema, new), run in
  this process through ``simcore.cli.main``, with the package folder written ``<simcore>``, the
  temporary folder ``<tmp>`` and validate's machine-dependent time estimate as placeholders.

A failure lists the variables, attributes or output lines that differ. If the change is
intended (a fix, a new output), regenerate from the clone holding the change:

    python tests/golden/make_golden.py --out tests/golden

check the diff of ``tests/golden/`` shows exactly the intended change, and justify the
regeneration in the commit message: it changes what every later change is checked against.

The hashes pin bits. The files were written with 2 Numba threads and the test runs on one, so
it also checks the project's rule that results do not depend on the thread count. They hold
for one NumPy/Numba build on x86-64; a CPU or build with other vectorised math routines may
differ in the last bits (then regenerate there from the same commit and compare first).
"""

from __future__ import annotations

import difflib
import json
from functools import lru_cache
from pathlib import Path

import pytest

from tests.golden import make_golden as golden

GOLDEN = Path(__file__).parent / "golden"
DATASETS = json.loads((GOLDEN / "datasets.json").read_text(encoding="utf-8"))
REGENERATE = ("if intended: python tests/golden/make_golden.py --out tests/golden, and say why "
              "in the commit message")
SHOWN = 25                   # lines of differences shown in a failure message


def _shorten(lines: list[str]) -> str:
    more = f"\n  ... and {len(lines) - SHOWN} more" if len(lines) > SHOWN else ""
    return "\n  " + "\n  ".join(lines[:SHOWN]) + more


def _describe(variable: dict) -> str:
    return f"{variable['kind']} {tuple(variable['dims'])} {variable['dtype']}"


def dataset_differences(expected: dict, actual: dict) -> list[str]:
    """One line per variable or attribute of ``expected`` and ``actual`` that differs."""
    lines = []
    want, got = expected["variables"], actual["variables"]
    for name in sorted(want.keys() | got.keys()):
        if name not in got:
            lines.append(f"{name}: missing (was {_describe(want[name])})")
            continue
        if name not in want:
            lines.append(f"{name}: new ({_describe(got[name])})")
            continue
        e, a = want[name], got[name]
        parts = [f"{field} {e[field]} -> {a[field]}"
                 for field in ("kind", "dims", "dtype", "shape") if e[field] != a[field]]
        if not parts and e["sha256"] != a["sha256"]:
            parts.append(f"values differ (mean {e['mean']!r} -> {a['mean']!r})")
        if parts:
            lines.append(f"{name}: " + "; ".join(parts))
    want, got = expected["attrs"], actual["attrs"]
    for key in sorted(want.keys() | got.keys()):
        e, a = want.get(key), got.get(key)
        if a is None:
            lines.append(f"attr {key}: missing")
        elif e is None:
            lines.append(f"attr {key}: new ({a.get('text', a['type'])!r})")
        elif e != a:
            lines.append(f"attr {key}: {e.get('text', 'text')!r} -> {a.get('text', 'text')!r}"
                         if "text" in e and "text" in a else f"attr {key}: text differs")
    return lines


def output_differences(expected: str, actual: str) -> list[str]:
    """The changed lines of an output, as a short unified diff without context."""
    diff = difflib.unified_diff(expected.splitlines(), actual.splitlines(), "golden", "now",
                                n=0, lineterm="")
    return [line for line in diff if not line.startswith(("---", "+++"))]


@pytest.fixture(autouse=True, scope="module")
def one_numba_thread():
    """Run this module's many tiny simulations on one Numba thread. On a shared machine the
    parallel regions of a 3-draw run wait on busy cores: the file took 61 s with 2 threads and
    8 s with one (load average 5 on 2 cores). The golden files were written with 2 threads, so
    this also checks that results do not depend on the thread count."""
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)


def test_golden_files_cover_every_scenario_and_command():
    """No scenario or command without a golden file, and no stale golden file."""
    assert sorted(DATASETS) == sorted(golden.SCENARIOS)
    on_disk = sorted(p.stem for p in (GOLDEN / "cli").glob("*.txt"))
    assert on_disk == sorted(golden.COMMANDS)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_dataset_unchanged(name):
    expected = DATASETS[name]
    assert expected["overrides"] == list(golden.OVERRIDES)
    lines = dataset_differences(expected, golden.run_scenario(name))
    total = len(expected["variables"]) + len(expected["attrs"])
    if lines:
        pytest.fail(f"{name}: {len(lines)} of {total} variables and attributes differ from "
                    f"tests/golden/datasets.json ({REGENERATE}):{_shorten(lines)}", pytrace=False)


@pytest.fixture(scope="module")
def cli_tmp(tmp_path_factory) -> Path:
    """The folder the commands' ``{tmp}`` stands for: the saved runs the summaries read."""
    return tmp_path_factory.mktemp("golden_cli")


# the command whose -o writes each file a command reads
_WRITER = {argv[argv.index("-o") + 1]: key for key, argv in golden.COMMANDS.items()
           if "-o" in argv}


@lru_cache(maxsize=None)
def _output(key: str, tmp: Path) -> tuple[int, str, str]:
    argv = golden.COMMANDS[key]
    for arg in argv:
        if arg in _WRITER and _WRITER[arg] != key:      # its input first (any test order)
            status, _, stderr = _output(_WRITER[arg], tmp)
            assert status == 0, f"{_WRITER[arg]} (writing the input of {key}) failed: {stderr}"
    return golden.run_command(argv, tmp)


@pytest.mark.parametrize("key", list(golden.COMMANDS))
def test_cli_output_unchanged(key, cli_tmp):
    status, stdout, stderr = _output(key, cli_tmp)
    command = "simcore " + " ".join(golden.COMMANDS[key])
    if status != 0:
        pytest.fail(f"{command}: exit {status}: {stderr.strip()[-2000:]}", pytrace=False)
    expected = (GOLDEN / "cli" / f"{key}.txt").read_text(encoding="utf-8")
    lines = output_differences(expected, stdout)
    if stdout != expected:
        pytest.fail(f"{command}: {len(lines)} diff lines against tests/golden/cli/{key}.txt "
                    f"({REGENERATE}):{_shorten(lines)}", pytrace=False)
