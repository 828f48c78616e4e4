"""Observed campaign data: layouts, censoring, round trips from a run, one-line errors."""

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import simcore
from simcore.data import observed
from simcore.data.observed import from_run, read_long, read_observed, read_wide, to_long_csv
from simcore.errors import ScenarioError

DATA = Path(__file__).parent / "observed"
LONG = "cohort,age,spend,activations,active_users,revenue_iaa,revenue_iap"
WIDE = "cohort,spend,activations,retained_d1,retained_d2,revenue_d0,revenue_d1,revenue_d2"


@pytest.fixture(scope="module")
def run_ds():
    """A real run: 14 cohorts (campaign days), ages 0-30, two draws."""
    return simcore.run(simcore.load_scenario("reborn_emperor_us", [
        "simulation.draws=2", "simulation.horizon_days=30"]))


def write(tmp_path, text: str, name: str = "obs.csv", newline: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode())
    return path


def write_wide(obs: xr.Dataset, path: Path, split: bool = True) -> None:
    """The wide layout an attribution tool exports: cumulative revenue, empty cells after a
    cohort's last observed age."""
    ages = obs["age"].values
    kinds = ["revenue_iaa", "revenue_iap"] if split else ["revenue"]
    header = ["cohort", "spend", "activations", *(f"retained_d{a}" for a in ages[1:]),
              *(f"{k}_d{a}" for k in kinds for a in ages)]
    lines = [",".join(header)]
    for i, cohort in enumerate(obs["cohort"].values):
        last = int(obs["observed_through"].values[i])

        def cells(values, start=0):
            return [repr(float(v)) if a <= last else "" for a, v in
                    zip(ages[start:], values[start:], strict=True)]
        cumulative = [np.nancumsum(obs[k].values[i]) for k in kinds]
        lines.append(",".join([str(cohort), repr(float(obs["spend"].values[i])),
                               repr(float(obs["activations"].values[i])),
                               *cells(obs["active_users"].values[i], 1),
                               *(c for cum in cumulative for c in cells(cum))]))
    path.write_text("\n".join(lines) + "\n")


def error_of(call, *args, **kwargs) -> str:
    with pytest.raises(ScenarioError) as info:
        call(*args, **kwargs)
    text = str(info.value)
    assert "\n" not in text and "Traceback" not in text
    return text


# ---------------------------------------------------------------------------------------------
# runs: censoring and round trips

@pytest.mark.parametrize("days", [1, 10, 20, 31])
def test_from_run_censoring_is_exact(run_ds, days):
    obs = from_run(run_ds, draw=1, days=days)
    cohorts = run_ds["cohort"].values[run_ds["cohort"].values <= days - 1]
    assert obs["cohort"].values.tolist() == cohorts.tolist()
    assert obs["age"].values.tolist() == list(range(days))
    assert obs["observed_through"].values.tolist() == (days - 1 - cohorts).tolist()
    assert obs.attrs["last_day"] == days - 1
    unobserved = obs["age"].values[None, :] > (days - 1 - cohorts)[:, None]
    one = run_ds.sel(draw=1, cohort=cohorts, age=obs["age"].values)
    for name in ("active_users", "revenue_iaa", "revenue_iap", "payers", "sessions",
                 "ad_impressions"):
        assert obs[name].dims == ("cohort", "age")
        np.testing.assert_array_equal(np.isnan(obs[name].values), unobserved)
        np.testing.assert_array_equal(obs[name].values[~unobserved],
                                      one[name].values[~unobserved])
    np.testing.assert_array_equal(obs["spend"].values, one["spend"].values)
    np.testing.assert_array_equal(obs["activations"].values, one["activations"].values)
    np.testing.assert_array_equal(obs["revenue"].values,
                                  obs["revenue_iaa"].values + obs["revenue_iap"].values)


@pytest.mark.parametrize("first_date", [None, "2025-12-30"])
def test_run_round_trips_through_long_csv(run_ds, tmp_path, first_date):
    obs = from_run(run_ds, draw=0, days=10)
    if first_date:
        obs.attrs["first_date"] = first_date
    to_long_csv(obs, tmp_path / "long.csv")
    back = read_long(tmp_path / "long.csv")
    xr.testing.assert_equal(back, obs)      # every value bit for bit, NaN where censored
    assert back.attrs["layout"] == "long" and back.attrs["last_day"] == 9
    if first_date:
        assert back.attrs["first_date"] == first_date
        assert back.attrs["last_date"] == "2026-01-08"
    xr.testing.assert_equal(read_observed(tmp_path / "long.csv"), back)


@pytest.mark.parametrize("split", [True, False])
def test_run_round_trips_through_wide_csv(run_ds, tmp_path, split):
    obs = from_run(run_ds, draw=1, days=12)
    write_wide(obs, tmp_path / "wide.csv", split)
    back = read_wide(tmp_path / "wide.csv")
    names = ["spend", "activations", "active_users", "revenue", "observed_through",
             *(["revenue_iaa", "revenue_iap"] if split else [])]
    assert sorted(back.data_vars) == sorted(names)
    exact = ["spend", "activations", "active_users", "observed_through"]
    xr.testing.assert_equal(back[exact], obs[exact])
    # per-age revenue is a difference of cumulative sums: each carries at most ~age ulps of
    # the largest cumulative value, so the bound below is the rounding error, not a fudge
    largest = float(np.nanmax(np.nancumsum(obs["revenue"].values, axis=1)))
    atol = 4 * obs.sizes["age"] * np.finfo(float).eps * largest
    for name in names[3:4] + names[5:]:
        np.testing.assert_array_equal(np.isnan(back[name].values), np.isnan(obs[name].values))
        np.testing.assert_allclose(back[name].values, obs[name].values, rtol=0, atol=atol)
    xr.testing.assert_equal(read_observed(tmp_path / "wide.csv")[exact], back[exact])


def test_from_run_refuses_bad_arguments(run_ds):
    assert error_of(from_run, run_ds, 0, 0) == "days: = 0: a whole number of days >= 1"
    assert "days may be 1-31" in error_of(from_run, run_ds, 0, 32)
    assert error_of(from_run, run_ds, 5, 3) == "draw: = 5: the run has draws 0-1"
    assert "dims draw, cohort and age" in error_of(from_run, run_ds.isel(draw=0), 0, 3)


# ---------------------------------------------------------------------------------------------
# the example files: dates vs days, regions and channels summed, wide vs long

def test_examples_agree():
    days = read_observed(DATA / "long_days.csv")
    assert days["observed_through"].values.tolist() == [3, 2, 1]
    assert days["active_users"].values[1].tolist()[:3] == [420, 170, 110]
    assert np.isnan(days["active_users"].values[1, 3])
    assert days["revenue"].values[0].tolist() == [130.25, 40.5, 30.25, 20.0]
    assert "first_date" not in days.attrs
    dates = read_observed(DATA / "long_dates.csv")
    xr.testing.assert_equal(dates, days)
    assert dates.attrs["first_date"] == "2025-11-01" and dates.attrs["last_date"] == "2025-11-04"
    regions = read_observed(DATA / "long_regions.csv")   # two groups, rows shuffled
    xr.testing.assert_equal(regions, days)
    assert regions.attrs["regions"] == "US,JP" and regions.attrs["channels"] == "paid_ads,creator"
    wide = read_observed(DATA / "wide.csv")
    assert wide.attrs["layout"] == "wide"
    xr.testing.assert_equal(wide, days[["spend", "activations", "active_users", "revenue",
                                        "observed_through"]])


def test_bom_and_crlf_are_accepted(tmp_path):
    days = read_observed(DATA / "long_days.csv")
    for name in ("long_days.csv", "wide.csv"):
        text = "\ufeff" + (DATA / name).read_text()
        back = read_observed(write(tmp_path, text, name, newline="\r\n"))
        xr.testing.assert_equal(back, days[list(back.data_vars)])


def test_blank_lines_and_spaces_are_skipped(tmp_path):
    text = (DATA / "long_days.csv").read_text().replace(",", " , ")
    back = read_observed(write(tmp_path, "\n" + text.replace("\n", "\n\n")))
    xr.testing.assert_equal(back, read_observed(DATA / "long_days.csv"))


def test_through_and_campaign_days(tmp_path):
    obs = read_observed(DATA / "long_dates.csv", through="2025-11-04", campaign_days=3)
    assert obs["observed_through"].values.tolist() == [3, 2, 1]
    obs = read_observed(DATA / "long_days.csv", through=3, campaign_days=14)
    assert obs.attrs["last_day"] == 3
    # a report through day 4 lacks the last day's rows: a gap, named at the cohort's last row
    # (cohort 0 is observed through age 3 only, the file's largest age: a capped export)
    assert error_of(read_observed, DATA / "long_days.csv", through=4).startswith(
        f"{DATA / 'long_days.csv'}: row 8, column age: cohort 1 has no data for age 3, inside "
        "its observed window (ages 0-3; reported through day 4)")
    for bad in ("2025-11-04", -1, 10**20):       # 10**20 overflowed an int64 once
        assert "a whole number in 0 .. 1460" in error_of(read_observed, DATA / "long_days.csv",
                                                         through=bad)
    assert "a date YYYY-MM-DD" in error_of(read_observed, DATA / "long_dates.csv", through=3)
    assert error_of(read_observed, DATA / "long_dates.csv",
                    through=dt.date(2025, 11, 3)).endswith(
        "row 5, column age: data from after the last reported day: cohort 2025-11-01 at age 3 "
        "falls on 2025-11-04, after 2025-11-03")
    assert error_of(read_observed, DATA / "long_dates.csv", through="2025-11-02").endswith(
        "row 9, column cohort: cohort 2025-11-03 is after the last reported day (2025-11-02)")
    assert "campaign_days: = 0" in error_of(read_observed, DATA / "long_days.csv",
                                            campaign_days=0)


def test_a_capped_export_is_censored_at_its_largest_age(tmp_path):
    """An export of ages 0-1 only: old cohorts are observed through age 1, not a gap."""
    rows = [f"{c},{a},10,5,{5 - a},1,0" for c in range(4) for a in range(2) if c + a <= 3]
    obs = read_long(write(tmp_path, "\n".join([LONG, *rows]) + "\n"))
    assert obs["observed_through"].values.tolist() == [1, 1, 1, 0]
    assert obs.attrs["last_day"] == 3


def test_wide_groups_are_summed_and_total_revenue_writes_back(tmp_path):
    header = "cohort,region,channel,spend,activations,retained_d1,revenue_d0,revenue_d1"
    path = write(tmp_path, wide_file("2025-11-01,US,paid_ads,80,30,10,3,4.5",
                                     "2025-11-01,BR,share,0,10,2,0.5,1",
                                     "2025-11-02,US,paid_ads,90,35,,4,", header=header))
    obs = read_wide(path)
    assert obs.attrs["regions"] == "US,BR" and obs.attrs["channels"] == "paid_ads,share"
    assert obs["spend"].values.tolist() == [80, 90]
    assert obs["activations"].values.tolist() == [40, 35]
    np.testing.assert_array_equal(obs["active_users"].values, [[40, 12], [35, np.nan]])
    np.testing.assert_array_equal(obs["revenue"].values, [[3.5, 2], [4, np.nan]])
    assert "revenue_iaa" not in obs
    to_long_csv(obs, tmp_path / "long.csv")
    assert (tmp_path / "long.csv").read_text().splitlines() == [
        "cohort,age,spend,activations,active_users,revenue", "2025-11-01,0,80,40,40,3.5",
        "2025-11-01,1,80,40,12,2", "2025-11-02,0,90,35,35,4"]
    xr.testing.assert_equal(read_long(tmp_path / "long.csv"), obs)


def test_to_long_csv_writes_the_example_back(tmp_path):
    days = read_observed(DATA / "long_days.csv")
    to_long_csv(days, tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text() == (DATA / "long_days.csv").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]   # no temporary file left
    assert "folder" in error_of(to_long_csv, days, tmp_path / "none" / "out.csv")


# ---------------------------------------------------------------------------------------------
# bad input: one line naming the file, the row and the column

def long_file(*rows: str, header: str = LONG) -> str:
    return "\n".join([header, *rows]) + "\n"


GOOD = ("0,0,100,40,40,5,1", "0,1,100,40,10,2,0", "1,0,110,44,44,6,0")
BAD_LONG = [
    (long_file(*GOOD, header=LONG.replace(",revenue_iap", "")), "row 1, column revenue_iap",
     "missing: a long observed file needs the columns cohort, age, spend"),
    (long_file(*GOOD, header=LONG.replace("active_users", "actve_users")),
     "row 1, column actve_users", "unknown column (did you mean 'active_users'?"),
    (long_file(*GOOD, header=LONG + ",revenue"), "row 1, column revenue",
     "give either revenue (the total) or revenue_iaa and revenue_iap, not both"),
    (long_file(*GOOD, header=LONG + ",age"), "row 1, column age", "duplicate column name"),
    (long_file(GOOD[0], "0,1,100,40,abc,2,0"), "row 3, column active_users",
     "'abc' is not a number"),
    (long_file(GOOD[0], '0,1,100,40,"1,000",2,0'), "row 3, column active_users",
     "'1,000' is not a number (plain digits"),
    (long_file(GOOD[0], "0,1,100,40,10,nan,0"), "row 3, column revenue_iaa",
     "'nan' is not a finite number"),
    (long_file(GOOD[0], "0,1,100,40,10,1e999,0"), "row 3, column revenue_iaa",
     "'1e999' is not a finite number"),
    (long_file(GOOD[0], "0,1,100,40,10,-2,0"), "row 3, column revenue_iaa",
     "-2 is negative: values are >= 0"),
    (long_file(GOOD[0], "0,1,100,40,10,,0"), "row 3, column revenue_iaa", "empty"),
    (long_file(GOOD[0], "0,1,100,40,41,2,0"), "row 3, column active_users",
     "41 active users > 40 activations of cohort 0"),
    (long_file(*GOOD, "0,1,100,40,10,2,0"), "row 5, column age",
     "duplicate: cohort 0 age 1 is already in row 3"),
    (long_file(GOOD[0], "0,1,120,40,10,2,0"), "row 3, column spend",
     "120 differs from 100 in row 2: a cohort's spend is one figure"),
    (long_file(GOOD[0], "0,1,100,41,10,2,0"), "row 3, column activations",
     "41 differs from 40 in row 2"),
    (long_file(GOOD[0], "2025-11-02,1,100,40,10,2,0"), "row 3, column cohort",
     "'2025-11-02' is a date but row 2 gave a 0-based day: use one kind per file"),
    (long_file("2025-02-30,0,100,40,40,5,1"), "row 2, column cohort",
     "'2025-02-30' is not a valid date"),
    (long_file("-1,0,100,40,40,5,1"), "row 2, column cohort", "'-1' is not a cohort"),
    (long_file("731,0,100,40,40,5,1"), "row 2, column cohort", "'731' is not a cohort"),
    (long_file("0,1.5,100,40,40,5,1"), "row 2, column age", "'1.5' is not an age"),
    (long_file("0,731,100,40,40,5,1"), "row 2, column age", "731 is over 730 days (MAX_DAYS)"),
    (long_file("2025-01-01,0,100,40,40,5,1", "2027-01-05,0,100,40,40,5,1"),
     "row 3, column cohort", "2027-01-05 is 734 days after the first cohort, over 730 days"),
    (long_file(*GOOD, "0,1,100,40,10,2,0", "0,1,100,40,10,2,0"), "row 5, column age",
     "duplicate: cohort 0 age 1 is already in row 3"),
    (long_file("0,0,100,40,40,5,1", "0,2,100,40,10,2,0"), "row 3, column age",
     "cohort 0 has no data for age 1, inside its observed window (ages 0-2; reported "
     "through day 2): give zeros"),
    (long_file("0,0,100,40,40,5,1", "1,0,100,40,40,5,1", "1,1,100,40,40,5,1"),
     "row 2, column age", "cohort 0 has no data for age 1"),
    (long_file("0,0,100,40,40,5"), "row 2, column revenue_iap",
     "missing: the row has 6 fields, the header 7"),
    (long_file("0,0,100,40,40,5,1,9"), "row 2, column 8", "extra field '9'"),
    (long_file('0,0,100,40,40,5,"1"x'), "row 2", "not valid CSV"),
    (long_file("0,0,XX,paid_ads,100,40,40,5,1", header="cohort,age,region,channel"
               + LONG[10:]), "row 2, column region",
     "unknown region 'XX': one of US, JP, ID, TH, VN, BR, SA, TR"),
    (long_file("0,0,us,paid_ads,100,40,40,5,1", header="cohort,age,region,channel"
               + LONG[10:]), "row 2, column region", "unknown region 'us' (did you mean 'US'?)"),
    (long_file("0,0,US,tv,100,40,40,5,1", header="cohort,age,region,channel" + LONG[10:]),
     "row 2, column channel", "unknown channel 'tv': one of paid_ads, creator, search"),
    (long_file("0,0,US,profile_return,100,40,40,5,1",
               header="cohort,age,region,channel" + LONG[10:]),
     "row 2, column channel", "unknown channel 'profile_return'"),
    (long_file("0,0,US,,100,40,40,5,1", header="cohort,age,region,channel" + LONG[10:]),
     "row 2, column channel", "unknown channel ''"),
    (long_file("0,0,US,paid_ads,100,40,40,5,1", "0,0,JP,paid_ads,10,4,5,0,0",
               header="cohort,age,region,channel" + LONG[10:]), "row 3, column active_users",
     "5 active users > 4 activations of cohort 0 (JP, paid_ads)"),
]


@pytest.mark.parametrize("text,key,message", BAD_LONG)
def test_bad_long_file_is_one_line(tmp_path, text, key, message):
    path = write(tmp_path, text)
    assert error_of(read_observed, path).startswith(f"{path}: {key}: {message}")


BAD_AFTER = [  # the file is fine; what is asked of it is not
    ({"through": 1}, "row 4, column cohort", "cohort 2 is after the last reported day (day 1)"),
    ({"through": 2}, "row 6, column age", "data from after the last reported day: cohort 0 at "
                                          "age 3 falls on day 3, after day 2"),
    ({"campaign_days": 2}, "row 4, column cohort", "cohort 2 is after the campaign (days 0-1)"),
]


@pytest.mark.parametrize("kwargs,key,message", BAD_AFTER)
def test_data_after_the_report_or_campaign(tmp_path, kwargs, key, message):
    text = long_file("0,0,1,1,1,0,0", "0,1,1,1,1,0,0", "2,0,1,1,1,0,0", "0,2,1,1,1,0,0",
                     "0,3,1,1,1,0,0", "1,0,1,1,1,0,0", "1,1,1,1,1,0,0", "1,2,1,1,1,0,0",
                     "2,1,1,1,1,0,0")
    path = write(tmp_path, text)
    read_observed(path)
    assert error_of(read_observed, path, **kwargs).startswith(f"{path}: {key}: {message}")


def wide_file(*rows: str, header: str = WIDE) -> str:
    return "\n".join([header, *rows]) + "\n"


BAD_WIDE = [
    (wide_file("0,100,40,10,8,5,7,8", header=WIDE.replace("retained_d2,", "")),
     "row 1, column retained_d2", "missing: day columns run retained_d1..retained_d2"),
    (wide_file("0,100,40,10,8,7,8", header=WIDE.replace(",revenue_d0", "")),
     "row 1, column revenue_d0", "missing: day columns run revenue_d0..revenue_d2"),
    (wide_file("0,100,40,10,8,5,7,8", header=WIDE.replace(",revenue_d0", ",revenue_iaa_d0")),
     "row 1, column revenue_d1", "give either revenue_d.. (the total) or revenue_iaa_d.."),
    (wide_file("0,100,40,10,8,5,7,8,1,1",
               header=WIDE.replace("revenue", "revenue_iaa") + ",revenue_iap_d0,revenue_iap_d1"),
     "row 1, column revenue_iap_d2", "missing: day columns run revenue_iap_d0..revenue_iap_d2"),
    (wide_file("0,100,40,10,8,5,7,8", header=WIDE.replace("spend", "cost")),
     "row 1, column cost", "unknown column (did you mean 'cohort'? a wide observed file "
     "has cohort, spend, "
     "activations, region, channel and day columns retained_d1..retained_dN, "
     "revenue_d0..revenue_dN (retained_d0 optional))"),
    (wide_file("0,100,40,10,8,5,7,8", header=WIDE.replace("revenue_d2", "revenu_d3")),
     "row 1, column revenu_d3", "unknown column (did you mean 'revenue_d"),
    (wide_file("0,100,40,10,8,5,7,6", "1,100,40,10,,5,7,"), "row 2, column revenue_d2",
     "cumulative revenue falls: 6 < 7 the day before"),
    (wide_file("0,100,40,10,8,5,7,", "1,100,40,10,,5,7,"), "row 2, column revenue_d2",
     "empty while retained_d2 is given: a day's columns are filled together"),
    (wide_file("0,100,40,,8,5,,8", "1,100,40,10,,5,7,"), "row 2, column retained_d1",
     "empty before retained_d2"),
    (wide_file("0,100,40,10,,5,7,", "1,100,40,10,8,5,7,8"), "row 2, column retained_d2",
     "cohort 0 has no data for age 2, inside its observed window (ages 0-2"),
    (wide_file("0,100,40,10,8,5,7,8", "0,100,40,10,,5,7,"), "row 3, column cohort",
     "duplicate: cohort 0 is already in row 2"),
    (wide_file("0,100,40,41,8,5,7,8"), "row 2, column retained_d1",
     "41 active users > 40 activations of cohort 0"),
    (wide_file("0,100,40,,,,,"), "row 2, column revenue_d0", "empty: no cohort has data"),
    (wide_file("0,100,40,10,5,7", header="cohort,spend,activations,retained_d1,revenue_d0,"
               "revenue_d731"), "row 1, column revenue_d731", "day 731 is over 730 days"),
    ("cohort,spend,activations,retained_d1,revenue_d0,revenue_d1\n", "row 2",
     "no data rows after the header"),
]


@pytest.mark.parametrize("text,key,message", BAD_WIDE)
def test_bad_wide_file_is_one_line(tmp_path, text, key, message):
    path = write(tmp_path, text)
    assert error_of(read_observed, path).startswith(f"{path}: {key}: {message}")


def test_wide_data_from_the_future(tmp_path):
    path = write(tmp_path, wide_file("0,100,40,10,8,5,7,8", "1,100,40,10,,5,7,"))
    assert error_of(read_wide, path, through=1).startswith(
        f"{path}: row 2, column retained_d2: data from after the last reported day")


@pytest.mark.parametrize("text,key,message", [
    ("", "", "is empty"),
    ("\ufeff \n\n", "", "is empty"),
    (LONG + "\n", "row 2: ", "no data rows after the header"),
    ("cohort,spend\n0,1\n", "row 1, column age: ", "missing: a long observed file has a "
                                                   "column age"),
])
def test_empty_or_shapeless_files(tmp_path, text, key, message):
    path = write(tmp_path, text)
    assert error_of(read_observed, path).startswith(f"{path}: {key}{message}")


def test_files_that_cannot_be_read(tmp_path, monkeypatch):
    assert "no such file" in error_of(read_observed, tmp_path / "none.csv")
    assert error_of(read_observed, tmp_path) == (f"{tmp_path}: is a directory, not a file: "
                                                 "an observed file is a .csv file")
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    assert "a FIFO (named pipe), not a regular file" in error_of(read_observed, fifo)
    path = write(tmp_path, "cohort,age\n\xff\n")
    path.write_bytes(b"cohort,age\n0,\xff\n")
    assert error_of(read_observed, path) == (f"{path}: row 2: not UTF-8 text (save the CSV "
                                             "as UTF-8)")
    big = write(tmp_path, (DATA / "long_days.csv").read_text(), "big.csv")
    monkeypatch.setattr(observed, "MAX_OBSERVED_BYTES", 100)
    assert error_of(read_observed, big) == (
        f"{big}: is {big.stat().st_size:,} bytes, over the 100-byte limit of an observed file "
        "(MAX_OBSERVED_BYTES)")


def test_the_size_limit_is_50_mib():
    assert observed.MAX_OBSERVED_BYTES == 50 * 2**20
