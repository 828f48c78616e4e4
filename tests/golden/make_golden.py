"""Write the golden files that ``tests/test_golden.py`` compares the current code against.

    python tests/golden/make_golden.py --out tests/golden

runs every packaged scenario small (``OVERRIDES``: 3 draws, 2 campaign days, a 30-day horizon)
and every CLI command of ``COMMANDS`` in this process, and writes

- ``datasets.json``: for each scenario, each coordinate and data variable of
  ``simcore.run(simcore.load_scenario(name, OVERRIDES))`` (dims, dtype, shape, sha256 of the
  values, their mean as a hint for the reader) and each dataset attribute but ``IGNORED_ATTRS``
  (type, sha256 of its ``str()``, the text itself when short);
- ``cli/<key>.txt``: the exact stdout of each command, with the package folder written as
  ``<simcore>`` and the temporary folder as ``<tmp>`` so the files match from any clone.

The code imported is the clone this file lives in (its root goes first on ``sys.path``), not
whichever simcore the environment has installed. A regeneration changes what every later
change is checked against: justify it in the commit message.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCENARIOS = ("backpack_battle_jp", "brain_puzzle_us", "drama_free_licensed_us",
             "drama_paywall_us", "reborn_emperor_global", "reborn_emperor_us")
OVERRIDES = ("simulation.draws=3", "campaign.days=2", "simulation.horizon_days=30")
IGNORED_ATTRS = ("simcore_version",)     # expected to change with the release, not the model
SHORT_ATTR = 120                         # attributes up to this many characters are kept as text

TMP = "{tmp}"                            # replaced by a temporary folder when a command runs
_SET = [arg for override in OVERRIDES for arg in ("--set", override)]
_SMALL = ["--set", "campaign.days=2", "--set", "simulation.horizon_days=30"]

# key -> argv of ``simcore.cli.main``; a key's output is ``cli/<key>.txt``. ``run_*`` write the
# saved runs that ``summary_*`` read, so they come first.
COMMANDS: dict[str, list[str]] = {
    "scenarios": ["scenarios"],
    **{f"validate_{name}": ["validate", name] for name in SCENARIOS},
    **{f"run_{name}": ["run", name, *_SET, "--no-progress", "-o", f"{TMP}/{name}.nc"]
       for name in SCENARIOS},
    **{f"summary_{name}": ["summary", f"{TMP}/{name}.nc", "--day", "7", "--target", "0.5"]
       for name in SCENARIOS},
    "summary_reborn_emperor_global_blended": [
        "summary", f"{TMP}/reborn_emperor_global.nc", "--day", "14", "--target", "0.8",
        "--basis", "blended"],
    "scale_reborn_emperor_us": [
        "scale", "reborn_emperor_us", "--budgets", "500,1000", "--draws", "3", *_SMALL,
        "--no-progress"],
    "sweep_reborn_emperor_us": [
        "sweep", "reborn_emperor_us", "--grid", "campaign.daily_budget_usd=500,1000",
        "--draws", "3", *_SMALL, "--no-progress"],
    "sensitivity_brain_puzzle_us_oat": [
        "sensitivity", "brain_puzzle_us", "--method", "oat", "--set", "correlations=[]",
        "--set", "simulation.horizon_days=30", "--set", "campaign.days=2"],
    "schema": ["schema"],
    "new_game_jp": ["new", "--kind", "game", "--region", "JP"],
    "new_game_us_hybrid": ["new", "--kind", "game", "--region", "US", "--monetization",
                           "hybrid"],
    "new_drama_us": ["new", "--kind", "drama", "--region", "US"],
}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def array_fingerprint(values) -> dict:
    """dims-free description of an array: dtype, shape, sha256 of its values (C order; strings
    and objects as their ``str()`` joined by NUL) and, for numbers, the mean as a hint."""
    import numpy as np

    values = np.asarray(values)
    if values.dtype.kind in "OUS":
        data = "\0".join(str(v) for v in values.ravel()).encode("utf-8")
        mean = None
    else:
        data = np.ascontiguousarray(values).tobytes()
        mean = None
        if values.size and values.dtype.kind in "biuf":
            finite = values.astype(float)
            finite = finite[np.isfinite(finite)]
            mean = float(finite.mean()) if finite.size else None
    return {"dtype": values.dtype.str, "shape": list(values.shape), "sha256": _sha256(data),
            "mean": mean}


def attr_fingerprint(value) -> dict:
    text = str(value)
    out = {"type": type(value).__name__, "sha256": _sha256(text.encode("utf-8"))}
    if len(text) <= SHORT_ATTR:
        out["text"] = text
    return out


def dataset_fingerprint(ds) -> dict:
    """Every coordinate, data variable and attribute (but ``IGNORED_ATTRS``) of a dataset."""
    variables = {}
    for kind, mapping in (("coord", ds.coords), ("data", ds.data_vars)):
        for name in sorted(mapping):
            var = mapping[name]
            variables[str(name)] = {"kind": kind, "dims": list(var.dims),
                                    **array_fingerprint(var.values)}
    attrs = {key: attr_fingerprint(ds.attrs[key]) for key in sorted(ds.attrs)
             if key not in IGNORED_ATTRS}
    return {"variables": variables, "attrs": attrs}


def run_scenario(name: str) -> dict:
    """The fingerprint of ``name``'s small run, with the overrides it was run with."""
    import simcore

    ds = simcore.run(simcore.load_scenario(name, list(OVERRIDES)))
    return {"overrides": list(OVERRIDES), **dataset_fingerprint(ds)}


# validate's work estimate scales with the cores of the machine: "about 23 s on 2 cores"
_WORK_TIME = re.compile(r"about [^\]\n]+? on \d+ cores")


def normalise(text: str, tmp: Path) -> str:
    """``text`` with the package folder as ``<simcore>``, ``tmp`` as ``<tmp>`` and the work
    estimate's duration and core count (which depend on the machine) as placeholders."""
    import simcore

    package = Path(simcore.__file__).parent
    for path, mark in ((tmp, "<tmp>"), (package, "<simcore>")):
        for form in sorted({str(path.resolve()), str(path)}, key=len, reverse=True):
            text = text.replace(form, mark)
    return _WORK_TIME.sub("about <duration> on <n> cores", text)


def run_command(argv: list[str], tmp: Path) -> tuple[int, str, str]:
    """``simcore.cli.main(argv)`` in this process: (exit status, stdout, stderr), normalised."""
    from simcore.cli import main

    argv = [arg.replace(TMP, str(tmp)) for arg in argv]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, normalise(out.getvalue(), tmp), normalise(err.getvalue(), tmp)


def _use_this_clone() -> None:
    sys.path.insert(0, str(ROOT))
    import simcore

    where = Path(simcore.__file__).resolve()
    if ROOT not in where.parents:
        sys.exit(f"make_golden: imported simcore from {where}, not from {ROOT}")
    print(f"simcore from {where.parent}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="the golden folder to write")
    args = parser.parse_args(argv)
    _use_this_clone()
    datasets = {}
    for name in SCENARIOS:
        start = time.perf_counter()
        datasets[name] = run_scenario(name)
        print(f"dataset {name}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    outputs = {}
    with tempfile.TemporaryDirectory(prefix="simcore_golden_") as tmp:
        for key, command in COMMANDS.items():
            start = time.perf_counter()
            status, stdout, stderr = run_command(command, Path(tmp))
            if status != 0:
                sys.exit(f"make_golden: {key} exited {status}: {stderr.strip()[-2000:]}")
            outputs[key] = stdout
            print(f"cli {key}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    cli = args.out / "cli"
    shutil.rmtree(cli, ignore_errors=True)
    cli.mkdir(parents=True)
    for key, stdout in outputs.items():
        (cli / f"{key}.txt").write_text(stdout, encoding="utf-8")
    (args.out / "datasets.json").write_text(json.dumps(datasets, indent=1, sort_keys=True)
                                            + "\n", encoding="utf-8")
    print(f"wrote {len(datasets)} datasets and {len(outputs)} outputs to {args.out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
