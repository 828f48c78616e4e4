"""``simcore optimize`` end to end: the printed allocation, the dataset it writes (the same
to the last bit with 1 and 2 Numba threads), and one-line errors that write nothing."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from tests.cli.test_cli import one_line_error
from tests.cli_helpers import TIMEOUT_S, ok, simcore
from tests.studies.test_allocation import two_markets

ARGS = ["--total-budget", "400", "--chance", "30:1:0.8", "--draws", "60", "--grid-points",
        "4", "--no-progress"]


def run_threads(threads: int, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "NUMBA_NUM_THREADS": str(threads)}
    return subprocess.run([sys.executable, "-m", "simcore", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


def test_optimize_prints_writes_and_is_the_same_on_any_thread_count(tmp_path):
    scenario = two_markets(tmp_path)
    outs = []
    for threads in (1, 2):
        out = tmp_path / f"alloc{threads}.nc"
        result = ok(run_threads(threads, "optimize", scenario, *ARGS, "-o", out))
        outs.append(out)
    text = result.stdout
    for words in ("USD/day", "marginal", "expected profit", "P(loss)", "CVaR0.95",
                  "P(ROAS D30 >= 1)", "out of sample", "binding:", f"written to {out}"):
        assert words in text, text
    with xr.open_dataset(outs[0]) as a, xr.open_dataset(outs[1]) as b:
        assert a.allocation_usd_per_day.dims == ("cell",)
        assert list(a.region.values) == ["US", "JP"]
        assert a.allocation_usd_per_day.attrs["units"] == "USD/day"
        assert float(a.allocation_usd_per_day.sum()) == pytest.approx(400.0)
        for name in ("allocation_usd_per_day", "response_revenue", "response_spend",
                     "oos_roas_chance"):
            np.testing.assert_array_equal(a[name].values, b[name].values)


@pytest.mark.parametrize("extra, words", [
    (["--max", "US=500"], "--max US: = 500 USD/day is above the total budget"),
    (["--min", "FR=10"], "--min FR: unknown cell; the cells are US, JP"),
    (["--min", "US"], "--min: = 'US': write CELL=USD"),
    (["--chance", "30:1"], "--chance: = '30:1': write AGE:TARGET:P"),
    (["--chance", "30:1:0.999"], "cannot be met with this total and these bounds"),
    (["--grid-points", "500"], "--grid-points: = 500: give 2 to 40 budgets per cell"),
    (["--payback", "0.8"], "--payback: = '0.8': write Q:DAY"),
    (["--over", "months"], "--over: = 'months': allocate over any of markets, channels"),
    (["--block-draws", "-1"], "--block-draws: = -1: give a whole number in 1 .. 20"),
    (["--block-draws", "0"], "--block-draws: = 0: give a whole number in 1 .. 20"),
    (["--block-draws", "21"], "--block-draws: = 21: give a whole number in 1 .. 20"),
    (["--payback", "0.8:999"], "--payback: = 999: not an age of the run"),
    (["--objective", "cvar", "--lambda", "3"], "--lambda: = 3.0: weighs CVaR against"),
    (["--max", "US=0", "--max", "JP=0", "--at-most"],
     "--max: every cell is held at 0 USD/day: nothing to allocate"),
    (["--total-budget", "1.5"], "--total-budget: = 1.5 USD/day: give at least 2 for 2 cells"),
    (["--max-cvar", "-1e12"], "--max-cvar: CVaR0.95 of the loss <= -1,000,000,000,000 USD "
     "cannot be met"),                              # a negative value, not taken for a flag
])
def test_optimize_bad_input_is_one_line_and_writes_nothing(tmp_path, extra, words):
    scenario = two_markets(tmp_path)
    out = tmp_path / "alloc.nc"
    args = ["--total-budget", "400", "--draws", "20", "--grid-points", "3", "--no-progress"]
    line = one_line_error(simcore("optimize", scenario, *args, *extra, "-o", out))
    assert words in line, line
    assert not out.exists()


def test_optimize_draws_the_efficient_frontier(tmp_path):
    """`--plot` draws profit against CVaR for a range of lambdas; the frontier is efficient:
    more risk aversion never buys more expected profit nor more CVaR of the loss."""
    scenario = two_markets(tmp_path)
    out, svg = tmp_path / "a.nc", tmp_path / "frontier.svg"
    result = ok(run_threads(2, "optimize", scenario, *ARGS, "-o", out, "--plot", svg))
    assert "efficient frontier" in result.stdout and f"written to {svg}" in result.stdout
    text = svg.read_text()
    for part in ("lambda 0", "lambda 10", "chosen allocation", "CVaR0.95 of the loss"):
        assert part in text
    with xr.open_dataset(out) as ds:
        profit = ds.frontier_profit_usd.values
        risk = ds.frontier_cvar_loss_usd.values
        tol = 1e-6 * float(np.abs(profit).max())
        assert np.all(np.diff(profit) <= tol) and np.all(np.diff(risk) <= tol)
        np.testing.assert_allclose(ds.frontier_usd_per_day.sum("cell").values, 400.0)


def test_optimize_over_channels_and_weeks(tmp_path):
    from tests.studies.test_allocation import CREATOR, MARKETS, TWO_MARKETS

    scenario = tmp_path / "creators.toml"
    scenario.write_text(TWO_MARKETS.replace("days = 2", "days = 9") + CREATOR + MARKETS["US"]
                        + MARKETS["JP"], encoding="utf-8")
    out = tmp_path / "weeks.nc"
    result = ok(simcore("optimize", scenario, "--total-budget", "400", "--over",
                        "channels,weeks", "--draws", "20", "--grid-points", "3",
                        "--no-progress", "--max", "JP/creator/w2=100", "-o", out))
    text = result.stdout
    for words in ("across 8 cells", "creator, paid_ads, by week", "US/paid_ads/w1",
                  "JP/creator/w2", "a week's USD/day is its budget on that week's days"):
        assert words in text, text
    with xr.open_dataset(out) as ds:
        assert list(ds.week.values) == [1, 2] * 4
        assert float(ds.weight.values @ ds.allocation_usd_per_day.values) == \
            pytest.approx(400.0)
        assert float(ds.upper_usd_per_day.sel(cell="JP/creator/w2")) == 100.0


def test_optimize_payback_and_cvar_cap(tmp_path):
    """`--payback 0.8:30` is `--chance 30:1:0.8`; `--max-cvar` holds in sample and binds."""
    scenario = two_markets(tmp_path)
    base = ["--total-budget", "400", "--draws", "40", "--grid-points", "3", "--no-progress"]
    a, b = tmp_path / "a.nc", tmp_path / "b.nc"
    ok(simcore("optimize", scenario, *base, "--chance", "30:1:0.8", "-o", a))
    ok(simcore("optimize", scenario, *base, "--payback", "0.8:30", "-o", b))
    with xr.open_dataset(a) as x, xr.open_dataset(b) as y:
        np.testing.assert_array_equal(x.allocation_usd_per_day.values,
                                      y.allocation_usd_per_day.values)
        free = float(x.attrs["cvar_loss_risk_neutral_usd"])
    d = tmp_path / "d.nc"
    ok(simcore("optimize", scenario, *base, "--objective", "cvar", "-o", d))
    with xr.open_dataset(d) as w:
        least = float(w.attrs["cvar_loss_usd"])
    assert least < free
    cap = 0.5 * (least + free)             # between the least CVaR and the risk-neutral one
    c = tmp_path / "c.nc"
    result = ok(simcore("optimize", scenario, *base, "--max-cvar", f"{cap:.0f}", "-o", c))
    assert f"CVaR0.95 of the loss <= {cap:,.0f} USD" in result.stdout
    with xr.open_dataset(c) as z:
        # exact on the MILP's piecewise-linear responses; on the smooth ones, to their error
        assert float(z.attrs["cvar_loss_usd"]) <= round(cap) + 0.02 * abs(cap)
        assert "CVaR0.95 of the loss <=" in z.attrs["binding"]
    line = one_line_error(simcore("optimize", scenario, *base, "--payback", "0.8:30",
                                  "--chance", "30:1:0.8"))
    assert "--payback" in line and "not both" in line


def test_optimize_store_resumes_to_the_same_bits(tmp_path):
    """`--store` keeps each finished task; `--resume` (another process) reuses them, computes
    only the damaged and missing ones, and writes the same dataset, bit for bit."""
    scenario = two_markets(tmp_path)
    store = tmp_path / "grid"
    base = ["--total-budget", "400", "--draws", "30", "--grid-points", "3", "--no-progress",
            "--block-draws", "10", "--store", store]
    def counts(result):
        m = re.search(r"(\d+) tasks reused, (\d+) computed", result.stderr)
        return int(m[1]), int(m[2])

    first = counts(ok(simcore("optimize", scenario, *base, "-o", tmp_path / "a.nc")))
    files = sorted(store.glob("*.npz"))
    # a pilot's block the full grid asks again is already there the first time
    assert first[1] == len(files) > 4
    asked = sum(first)
    again = counts(ok(simcore("optimize", scenario, *base, "--resume", "-o", tmp_path / "b.nc")))
    assert again == (asked, 0)
    files[0].write_bytes(files[0].read_bytes()[:100])          # truncated
    files[1].unlink()                                           # lost
    last = counts(ok(simcore("optimize", scenario, *base, "--resume", "-o", tmp_path / "c.nc")))
    assert last[1] == 2 and sum(last) >= asked - 2
    with xr.open_dataset(tmp_path / "a.nc") as a, xr.open_dataset(tmp_path / "c.nc") as c:
        for name in ("allocation_usd_per_day", "response_revenue", "oos_net_profit"):
            np.testing.assert_array_equal(a[name].values, c[name].values)
    line = one_line_error(simcore("optimize", scenario, *base, "-o", tmp_path / "d.nc"))
    assert "already exists; add --resume" in line
    line = one_line_error(simcore("optimize", scenario, "--total-budget", "400", "--resume"))
    assert "--resume: needs --store DIR" in line


def test_optimize_holds_a_market_at_zero_and_judges_by_the_goal(tmp_path):
    """``--max JP=0`` keeps JP out (a fixed cell, not an error); without ``--chance`` the
    figures judge the title's goal, not payback by the horizon."""
    scenario = two_markets(tmp_path)
    text = ok(simcore("optimize", scenario, "--total-budget", "400", "--max", "JP=0",
                      "--draws", "10", "--grid-points", "2", "--no-progress",
                      "--set", "goal.age=7", "--set", "goal.roas=0.5")).stdout
    assert re.search(r"JP\s+0\s+0\.0%.*fixed", text) and "JP fixed at 0 USD/day" in text, text
    assert "P(ROAS D7 >= 0.5)" in text and "P(ROAS D30" not in text, text
