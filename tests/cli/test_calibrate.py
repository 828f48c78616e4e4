"""`simcore calibrate` the way a person runs it: a report CSV in, the forecast printed and
saved; bit-identical across thread counts; bad input one line, nothing written."""

import os
import subprocess
import sys

import numpy as np
import pytest

import simcore
from simcore.data.dataset import open_dataset
from simcore.data.observed import from_run, to_long_csv
from tests.cli_helpers import TIMEOUT_S, ok
from tests.cli_helpers import simcore as cli

US = "scenarios/reborn_emperor_us.toml"
SMALL = ["--set", "campaign.daily_budget_usd=500", "--set", "campaign.days=7",
         "--set", "simulation.horizon_days=90"]


@pytest.fixture(scope="module")
def report_csv(tmp_path_factory):
    loaded = simcore.load_scenario(US, overrides=("simulation.draws=1",
                                                  "campaign.daily_budget_usd=500",
                                                  "campaign.days=7", "simulation.seed=9"))
    truth = simcore.run(loaded)
    return to_long_csv(from_run(truth, 0, 4), tmp_path_factory.mktemp("report") / "r.csv")


def _calibrate(report, out, threads: int, *extra):
    env = {**os.environ, "NUMBA_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
           "OPENBLAS_NUM_THREADS": str(threads)}
    return subprocess.run([sys.executable, "-m", "simcore", "calibrate", US, "--observed",
                           str(report), *SMALL, "--particles", "150", "--draws", "6",
                           "--no-progress", "-o", str(out), *extra], capture_output=True,
                          text=True, timeout=TIMEOUT_S, env=env, check=False)


def test_calibrate_prints_and_saves_bit_identically_across_threads(report_csv, tmp_path):
    one = ok(_calibrate(report_csv, tmp_path / "a.nc", 1))
    two = ok(_calibrate(report_csv, tmp_path / "b.nc", 2))
    for part in ("Calibration of Reborn Emperor (US)", "Fit at the observed ages",
                 "Assumptions, prior -> posterior", "retention.d1", "Forecast (6 posterior",
                 "P(payback)", "break-even CPA", "forecast written to"):
        assert part in one.stdout
    assert one.stdout.replace("a.nc", "b.nc") == two.stdout
    a, b = open_dataset(tmp_path / "a.nc"), open_dataset(tmp_path / "b.nc")
    for name in a.data_vars:
        assert np.array_equal(a[name].values, b[name].values, equal_nan=True), name
    assert a.attrs["calibration"] == b.attrs["calibration"]
    # a local Dask cluster of 2 workers: the same bits
    ok(_calibrate(report_csv, tmp_path / "c.nc", 1, "--cluster", "local:2"))
    c = open_dataset(tmp_path / "c.nc")
    for name in a.data_vars:
        assert np.array_equal(a[name].values, c[name].values, equal_nan=True), name
    summary = ok(cli("summary", tmp_path / "a.nc"))
    assert "ROAS on UA" in summary.stdout and "Fit at the observed ages" in summary.stdout


@pytest.mark.parametrize("extra,fragment", [
    (["--particles", "5"], "particles"),
    (["--through", "2030-01-01"], "through"),
    (["--set", "campaign.days=2"], "cohort"),
])
def test_bad_input_is_one_line_and_writes_nothing(report_csv, tmp_path, extra, fragment):
    out = tmp_path / "f.nc"
    result = cli("calibrate", US, "--observed", report_csv, *SMALL, *extra, "-o", out,
                 "--no-progress")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in result.stderr
    assert not out.exists()


def test_missing_report_is_one_line(tmp_path):
    result = cli("calibrate", US, "--observed", tmp_path / "none.csv")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "--observed" in result.stderr


def test_forecast_figure_and_report_section(report_csv, tmp_path):
    """`simcore plot --kind forecast` draws the observed cohorts over the fan; the report
    has a Calibration section; a plain run refuses the figure in one line."""
    from PIL import Image

    out = tmp_path / "f.nc"
    ok(_calibrate(report_csv, out, 2))
    png = tmp_path / "forecast.png"
    ok(cli("plot", out, "--kind", "forecast", "-o", png))
    image = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert image.shape[0] > 300 and image.std() > 10       # drawn, not blank
    svg = tmp_path / "forecast.svg"
    ok(cli("plot", out, "--kind", "forecast", "-o", svg))
    text = svg.read_text()
    for part in ("observed cohorts", "today (D3)", "forecast 5-95 %", "break-even"):
        assert part in text
    html = tmp_path / "r.html"
    ok(cli("report", out, "-o", html))
    page = html.read_text()
    assert "<h2>Calibration</h2>" in page and 'id="fig-forecast"' in page
    assert "Assumptions, prior -&gt; posterior" in page
    run = tmp_path / "run.nc"
    ok(cli("run", US, *SMALL, "--draws", "3", "-o", run, "--no-progress"))
    refused = cli("plot", run, "--kind", "forecast", "-o", tmp_path / "x.png")
    assert refused.returncode == 2 and "calibrated forecast" in refused.stderr
    assert not (tmp_path / "x.png").exists()


def test_a_paid_cohort_without_spend_is_refused(report_csv, tmp_path):
    """Spend 0 with activations would make its users free (a CPA of 0): refused, naming the
    report, the key and the cohort."""
    head, *rows = report_csv.read_text().splitlines()
    cells = [r.split(",") for r in rows]
    for c in cells:
        if c[0] == "1":
            c[2] = "0"                             # cohort 1's spend
    bad = tmp_path / "spend0.csv"
    bad.write_text("\n".join([head, *map(",".join, cells)]) + "\n")
    result = cli("calibrate", US, "--observed", bad, *SMALL, "--no-progress")
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"simcore: error: {bad}: spend: = 0 USD for cohort 1 with")


def test_two_reported_days_on_a_short_horizon(report_csv, tmp_path):
    """Two calendar days leave no varying active-share cells to test: the p-values say n/a
    (never nan); a 30-day horizon gives P(payback) by D30."""
    head, *rows = report_csv.read_text().splitlines()
    short = tmp_path / "two_days.csv"                # calendar days 0 and 1
    short.write_text("\n".join([head, *(r for r in rows if sum(map(int, r.split(",")[:2])) <= 1)])
                     + "\n")
    out = ok(cli("calibrate", US, "--observed", short, "--set", "campaign.daily_budget_usd=500",
                 "--set", "campaign.days=7", "--set", "simulation.horizon_days=30",
                 "--particles", "100", "--draws", "4", "--no-progress")).stdout
    assert "active share n/a, n/a" in out and "nan" not in out, out
    assert "P(payback) by D30 " in out, out
