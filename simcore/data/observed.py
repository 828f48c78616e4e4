"""Observed campaign data: the cohort report a calibration reads, as a (cohort, age) dataset.

Vocabulary (DESIGN.md): a cohort is the users first activated on one calendar day; age is the
days since activation (day 0 the activation day). Every revenue figure is NET to the developer
in USD, as in a simcore run: after the platform's share, taxes and refunds. An export of gross
revenue must be converted first: net = gross x (1 - tax share) x developer share - refunds
(for ads, the developer share of the ad network's payout; for purchases, the share left after
the platform fee; ``simcore.scenario.regions`` lists the tax share v / (1 + v) assumed per region).

Two CSV layouts are read (UTF-8, one leading byte-order mark and CRLF line endings accepted,
blank lines skipped, cells stripped of surrounding spaces); the header tells them apart:

Long (a header with ``age``): one row per cohort and age.
    ``cohort``       the cohort's calendar day: a 0-based day (0, 1, ...) or a date YYYY-MM-DD
                     (one kind per file; dates become days since the first cohort's date)
    ``age``          [days] 0, 1, ...
    ``spend``        [USD] spend on the cohort, the same figure on each of its rows
    ``activations``  [users] users activated in the cohort, the same figure on each row
    ``active_users`` [users] users active at that age (not cumulated)
    ``revenue_iaa``, ``revenue_iap``  [USD] net ad and purchase revenue at that age (not
                     cumulated); or ``revenue`` alone, the total, when the split is unknown
    optional, at that age, not cumulated: ``payers`` [users] first purchases (new payers, as
    in a simcore run), ``sessions``, ``ad_impressions``; and ``region``, ``channel``.

Wide (a header with day columns, as attribution tools export cohort reports): one row per
cohort. ``cohort``, ``spend``, ``activations`` as above, optional ``region``, ``channel``;
``retained_d1`` .. ``retained_dN`` [users] users active at age d (``retained_d0`` optional: age
0 defaults to the activations); ``revenue_d0`` .. ``revenue_dN`` [USD] CUMULATIVE net revenue
through age d, or ``revenue_iaa_d0..N`` and ``revenue_iap_d0..N`` (cumulative each). Day
columns run without gaps up to one N for every kind; a cohort's cells are left empty after
its last observed age. Cumulative revenue is converted to revenue per age.

Censoring: the last reported calendar day T is the latest cohort day + age in the file (or
``through`` when given). Cohort c is observed from age 0 through min(T - c, the file's
largest age) (``observed_through``); later ages are NaN. Gaps are errors: every age inside a
cohort's observed window must be reported (a row of zeros if nothing happened that day),
since a missing row cannot be told apart from zero.

Regions and channels: when ``region`` or ``channel`` columns are given, each cohort's rows
are per (region, channel) group, with that group's spend and activations; the dataset holds
their sums per cohort (the totals a simcore run reports), and attrs ``regions`` and
``channels`` list the values summed. Regions are those of ``simcore.scenario.regions``;
channels those that bring new users (``simcore.model.channels`` less ``profile_return``,
which counts returns).

Every problem is one ``ScenarioError`` line naming the file, the row (1-based line number in
the file; the header is its first line) and the column: missing or unknown columns, empty,
non-numeric, non-finite or negative values, active users above activations, duplicate
(cohort, age) rows, data from after the last reported day, a cohort after the last reported
day or after the campaign, unknown regions or channels, a cohort's spend or activations that
differ between its rows, dates mixed with day numbers, gaps, falling cumulative revenue, an
empty file, a file over ``MAX_OBSERVED_BYTES`` (50 MiB) or not a regular file.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import math
import re
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from simcore.data.outputs import check_folder, write_atomic
from simcore.errors import ScenarioError
from simcore.model.channels import CHANNELS
from simcore.scenario.files import read_bounded
from simcore.scenario.regions import REGION_LEVELS

MAX_OBSERVED_BYTES = 50 << 20   # [bytes] largest observed file read (50 MiB)
MAX_DAYS = 730                  # [days] largest 0-based cohort day, cohort date span, and age
BOM = "\ufeff"

REGIONS = tuple(REGION_LEVELS)
COHORT_CHANNELS = tuple(c for c in CHANNELS if c != "profile_return")
PER_AGE = ("active_users", "revenue_iaa", "revenue_iap", "revenue", "payers", "sessions",
           "ad_impressions")                      # dataset order of the per-age variables
OPTIONAL = ("payers", "sessions", "ad_impressions")
SPLIT = ("revenue_iaa", "revenue_iap")
GROUPS = ("region", "channel")
UNITS = {"spend": "USD", "activations": "users", "active_users": "users",
         "revenue_iaa": "USD", "revenue_iap": "USD", "revenue": "USD", "payers": "users",
         "sessions": "sessions", "ad_impressions": "impressions", "observed_through": "days"}
LONG_NAMES = {
    "spend": "spend on the cohort, all regions and channels given",
    "activations": "activated users (first play) in the cohort",
    "active_users": "users active at age (not cumulated)",
    "revenue_iaa": "ad revenue at age, net to the developer",
    "revenue_iap": "purchase revenue at age, net to the developer (after tax, platform fee "
                   "and refunds)",
    "revenue": "revenue at age (ads + purchases), net to the developer",
    "payers": "users making their first purchase at age",
    "sessions": "sessions at age",
    "ad_impressions": "ad impressions shown at age",
    "observed_through": "last observed age of the cohort (last reported day - cohort day); "
                        "later ages are NaN (censored)",
}

_INT = re.compile(r"\d+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DAY_COLUMN = re.compile(r"(retained|revenue|revenue_iaa|revenue_iap)_d(0|[1-9]\d*)")
_WIDE_VAR = {"retained": "active_users", "revenue": "revenue", "revenue_iaa": "revenue_iaa",
             "revenue_iap": "revenue_iap"}


# ---------------------------------------------------------------------------------------------
# public API

def read_observed(path, *, through=None, campaign_days: int | None = None) -> xr.Dataset:
    """Observed cohort data from a long or wide CSV file (the layout is told by the header).

    ``through``: the last reported calendar day (an int day, or a date / ``"YYYY-MM-DD"`` when
    cohorts are dates); default the latest cohort day + age in the file. ``campaign_days``: the
    campaign's length [days]; a cohort on day >= campaign_days (counted from the first cohort
    date when cohorts are dates) is an error. Returns the dataset described in
    ``observed_dataset``; raises ``ScenarioError`` (one line) on bad input.
    """
    source, header, rows = _read_rows(path)
    layout = _layout(header, source)
    return _READERS[layout](source, header, rows, through, campaign_days)


def read_long(path, *, through=None, campaign_days: int | None = None) -> xr.Dataset:
    """Observed cohort data from a long CSV (one row per cohort and age); see the module."""
    source, header, rows = _read_rows(path)
    return _parse_long(source, header, rows, through, campaign_days)


def read_wide(path, *, through=None, campaign_days: int | None = None) -> xr.Dataset:
    """Observed cohort data from a wide CSV (one row per cohort, day columns); see the
    module for the column names."""
    source, header, rows = _read_rows(path)
    return _parse_wide(source, header, rows, through, campaign_days)


def observed_dataset(spend, activations, per_age: dict, observed_through, cohorts,
                     attrs: dict) -> xr.Dataset:
    """The Observed representation (what every reader returns).

    Dims (cohort, age): ``cohort`` [days] the cohort's calendar day (0-based; days since
    attrs ``first_date`` when the file gave dates), ``age`` [days] 0 .. the largest observed
    age. Variables: ``spend`` [USD] and ``activations`` [users] per cohort; per (cohort, age),
    not cumulated, NaN where not observed: ``active_users`` [users], ``revenue`` [USD net]
    and, when the split is known, ``revenue_iaa`` and ``revenue_iap`` [USD net], and any of
    ``payers`` (first purchases), ``sessions``, ``ad_impressions`` given;
    ``observed_through`` (cohort) [days] the last observed age of each cohort. Attrs:
    ``source``, ``layout`` (long, wide or run), ``last_day`` the last reported calendar day,
    ``first_date`` and ``last_date`` (ISO) when cohorts were dates, ``regions`` and
    ``channels`` (comma-separated) when those were summed. All values are float64.
    """
    cohorts = np.asarray(cohorts, dtype=np.int64)
    observed_through = np.asarray(observed_through, dtype=np.int64)
    ages = np.arange(int(observed_through.max()) + 1 if observed_through.size else 0)
    coords = {"cohort": cohorts, "age": ages}
    data = {"spend": (("cohort",), np.asarray(spend, dtype=np.float64)),
            "activations": (("cohort",), np.asarray(activations, dtype=np.float64))}
    for name in PER_AGE:
        if name in per_age:
            data[name] = (("cohort", "age"), np.asarray(per_age[name], dtype=np.float64))
    data["observed_through"] = (("cohort",), observed_through)
    ds = xr.Dataset(data, coords=coords, attrs=attrs)
    for name in ds.data_vars:
        ds[name].attrs = {"units": UNITS[name], "long_name": LONG_NAMES[name]}
    ds["cohort"].attrs = {"units": "days", "long_name": "calendar day of activation"}
    ds["age"].attrs = {"units": "days", "long_name": "days since activation"}
    return ds


def from_run(ds: xr.Dataset, draw: int, days: int) -> xr.Dataset:
    """One draw of a simcore run dataset as if reported after its first ``days`` calendar
    days (for backtests and simulation-based calibration).

    Cohort c (c <= days - 1) is observed through age days - 1 - c; later ages are NaN and
    later cohorts are dropped. ``draw`` is a value of the ``draw`` coordinate.
    """
    if "draw" not in ds.dims or "cohort" not in ds.dims or "age" not in ds.dims:
        raise ScenarioError("ds", "not a simcore run dataset: dims draw, cohort and age needed")
    if isinstance(days, bool) or not isinstance(days, int | np.integer) or days < 1:
        raise ScenarioError("days", f"= {days!r}: a whole number of days >= 1")
    if days > ds.sizes["age"]:
        raise ScenarioError("days", f"= {days}: the run follows ages 0-{ds.sizes['age'] - 1}, "
                            f"so days may be 1-{ds.sizes['age']}")
    if draw not in ds["draw"].values:
        raise ScenarioError("draw", f"= {draw!r}: the run has draws "
                            f"{int(ds['draw'].min())}-{int(ds['draw'].max())}")
    one = ds.sel(draw=draw)
    cohorts = ds["cohort"].values[ds["cohort"].values <= days - 1]
    through = days - 1 - cohorts
    ages = np.arange(int(through.max()) + 1)
    censored = ages[None, :] > through[:, None]
    per_age = {}
    for name in ("active_users", "revenue_iaa", "revenue_iap", *OPTIONAL):
        if name in ds:
            values = one[name].sel(cohort=cohorts, age=ages).values.astype(np.float64)
            values[censored] = np.nan
            per_age[name] = values
    per_age["revenue"] = per_age["revenue_iaa"] + per_age["revenue_iap"]
    pick = {"cohort": cohorts}
    attrs = {"source": f"{ds.attrs.get('title', 'simcore run')}: draw {draw}, first {days} "
                       "days", "layout": "run", "last_day": int(days - 1), "draw": int(draw)}
    if "scenario_hash" in ds.attrs:
        attrs["scenario_hash"] = ds.attrs["scenario_hash"]
    return observed_dataset(one["spend"].sel(pick).values, one["activations"].sel(pick).values,
                            per_age, through, cohorts, attrs)


def to_long_csv(observed: xr.Dataset, path) -> Path:
    """Write an Observed dataset as a long CSV (only observed ages; dates when attrs
    ``first_date`` is set), atomically: on failure no partial file is left."""
    check_folder(Path(path), "path")
    revenue = list(SPLIT) if all(n in observed for n in SPLIT) else ["revenue"]
    columns = ["cohort", "age", "spend", "activations", "active_users", *revenue,
               *(n for n in OPTIONAL if n in observed)]
    first = observed.attrs.get("first_date")
    first = dt.date.fromisoformat(first) if first else None
    out = io.StringIO()
    out.write(",".join(columns) + "\n")
    per_age = {n: observed[n].values for n in columns[4:]}
    for i, cohort in enumerate(observed["cohort"].values.tolist()):
        label = (first + dt.timedelta(days=cohort)).isoformat() if first else str(cohort)
        head = [label, "", _text(observed["spend"].values[i]),
                _text(observed["activations"].values[i])]
        for age in range(int(observed["observed_through"].values[i]) + 1):
            head[1] = str(age)
            out.write(",".join(head + [_text(per_age[n][i, age]) for n in columns[4:]]) + "\n")
    return write_atomic(path, out.getvalue().encode())


# ---------------------------------------------------------------------------------------------
# reading the file

def _read_rows(path):
    """The file's name for messages, its header (line, cells) and an iterator over its
    other non-blank rows as (line, cells), cells stripped of surrounding spaces."""
    source = str(path)
    text = _read_text(Path(path), source)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)

    def rows():
        try:
            for cells in reader:
                cells = [c.strip() for c in cells]
                if any(cells):
                    yield reader.line_num, cells
        except csv.Error as exc:
            raise ScenarioError(f"row {reader.line_num}", f"not valid CSV: {exc}",
                                source) from None

    found = rows()
    header = next(found, None)
    if header is None:
        raise ScenarioError("", "is empty: an observed file has a header and one row per "
                            "cohort (wide) or per cohort and age (long)", source)
    return source, header, found


def _read_text(path: Path, source: str) -> str:
    """The file's text, refused before reading when it is not a regular file or is over
    ``MAX_OBSERVED_BYTES``; never reads more than that."""
    raw = read_bounded(path, MAX_OBSERVED_BYTES, source, "an observed file is a .csv file",
                       f"{MAX_OBSERVED_BYTES:,}-byte limit of an observed file "
                       "(MAX_OBSERVED_BYTES)", f"no such file (looked for {path.absolute()})")
    try:
        return raw.decode("utf-8").removeprefix(BOM)
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ScenarioError(f"row {line}", "not UTF-8 text (save the CSV as UTF-8)",
                            source) from None


def _layout(header: tuple[int, list[str]], source: str) -> str:
    line, names = header
    if "age" in names:
        return "long"
    if any(_DAY_COLUMN.fullmatch(n) for n in names):
        return "wide"
    raise ScenarioError(f"row {line}, column age", "missing: a long observed file has a "
                        "column age (one row per cohort and age), a wide one day columns "
                        "retained_d1.. and revenue_d0.. (one row per cohort)", source)


# ---------------------------------------------------------------------------------------------
# parsing cells and rows

@dataclass
class _Group:
    """One cohort's figures in one (region, channel) group, and the row that gave them."""

    label: str                      # the cohort as written
    cohort: int                     # date ordinal or 0-based day as read; 0-based day later
    key: tuple[str, str]            # (region, channel); "" where the column is absent
    spend: float                    # [USD]
    activations: float              # [users]
    line: int                       # the row that first gave spend and activations
    columns: dict | None = None     # wide: age -> its first day column; long: None ("age")

    def column(self, age: int) -> str:
        return self.columns[age] if self.columns else "age"


class _Table:
    """The per-age data read so far, column-wise (compact: 8 bytes a value): for each
    (group, age) entry its line in the file, group index, age and variables' values."""

    def __init__(self, names: list[str]):
        self.line, self.group, self.age = array("q"), array("q"), array("q")
        self.values = {n: array("d") for n in names}

    def add(self, line: int, group: int, age: int, values: dict[str, float]):
        self.line.append(line)
        self.group.append(group)
        self.age.append(age)
        for name, column in self.values.items():
            column.append(values[name])

    def arrays(self):
        return (np.frombuffer(self.line, dtype=np.int64), np.frombuffer(self.group, np.int64),
                np.frombuffer(self.age, dtype=np.int64),
                {n: np.frombuffer(v, dtype=np.float64) for n, v in self.values.items()})


class _Rows:
    """Cell parsing with errors that name the file, the row and the column."""

    def __init__(self, source: str, header: tuple[int, list[str]]):
        self.source = source
        self.header_line, self.names = header
        self.kind: str | None = None          # "date" or "day", from the first cohort read
        self.kind_line = 0
        for i, name in enumerate(self.names):
            if not name:
                raise self.fail(self.header_line, f"{i + 1}", "empty column name")
            if name in self.names[:i]:
                raise self.fail(self.header_line, name, "duplicate column name")

    def fail(self, line: int, column: str, message: str) -> ScenarioError:
        return ScenarioError(f"row {line}, column {column}", message, self.source)

    def check_columns(self, known: Iterable[str], required: Iterable[str], layout: str,
                      described: str | None = None):
        known = list(known)
        for name in self.names:
            if name not in known:
                near = difflib.get_close_matches(name, known, n=1)
                hint = f"did you mean {near[0]!r}? " if near else ""
                raise self.fail(self.header_line, name, f"unknown column ({hint}a {layout} "
                                f"observed file has {described or ', '.join(known)})")
        for name in required:
            if name not in self.names:
                raise self.fail(self.header_line, name, f"missing: a {layout} observed file "
                                f"needs the columns {', '.join(required)}")

    def cells(self, line: int, cells: list[str]) -> dict[str, str]:
        if len(cells) < len(self.names):
            raise self.fail(line, self.names[len(cells)], f"missing: the row has "
                            f"{len(cells)} fields, the header {len(self.names)}")
        if len(cells) > len(self.names):
            raise self.fail(line, f"{len(self.names) + 1}", f"extra field {cells[-1]!r}: the "
                            f"row has {len(cells)} fields, the header {len(self.names)}")
        return dict(zip(self.names, cells, strict=True))

    def number(self, line: int, column: str, text: str) -> float:
        """A finite value >= 0 (USD or a count): plain decimal or exponent notation."""
        try:
            value = float(text)
        except ValueError:
            value = None
        if value is None or "_" in text:
            if not text:
                raise self.fail(line, column, "empty: a number >= 0 is required")
            raise self.fail(line, column, f"{text!r} is not a number (plain digits, a dot for "
                            "decimals, no thousands separators or currency signs)")
        if not math.isfinite(value):
            raise self.fail(line, column, f"{text!r} is not a finite number")
        if value < 0:
            raise self.fail(line, column, f"{text} is negative: values are >= 0")
        return value + 0.0           # -0 becomes 0

    def age(self, line: int, text: str) -> int:
        if not _INT.fullmatch(text):
            raise self.fail(line, "age", f"{text!r} is not an age: a whole number of days, "
                            f"0-{MAX_DAYS}")
        if int(text) > MAX_DAYS:
            raise self.fail(line, "age", f"{text} is over {MAX_DAYS} days (MAX_DAYS)")
        return int(text)

    def cohort(self, line: int, text: str) -> int:
        """A date's ordinal or a 0-based day; one kind per file."""
        if _DATE.fullmatch(text):
            try:
                value, kind = dt.date.fromisoformat(text).toordinal(), "date"
            except ValueError:
                raise self.fail(line, "cohort", f"{text!r} is not a valid date") from None
        elif _INT.fullmatch(text) and int(text) <= MAX_DAYS:
            value, kind = int(text), "day"
        else:
            raise self.fail(line, "cohort", f"{text!r} is not a cohort: a 0-based day "
                            f"0-{MAX_DAYS} (MAX_DAYS) or a date YYYY-MM-DD")
        if self.kind is None:
            self.kind, self.kind_line = kind, line
        elif kind != self.kind:
            said = {"date": "a date", "day": "a 0-based day"}
            raise self.fail(line, "cohort", f"{text!r} is {said[kind]} but row "
                            f"{self.kind_line} gave {said[self.kind]}: use one kind per file")
        return value

    def group(self, line: int, cells: dict[str, str]) -> tuple[str, str]:
        key = []
        for name, valid in (("region", REGIONS), ("channel", COHORT_CHANNELS)):
            text = cells.get(name, "")
            if name in cells and text not in valid:
                lower = {v.lower(): v for v in valid}
                near = difflib.get_close_matches(text.lower(), list(lower), n=1)
                hint = f" (did you mean {lower[near[0]]!r}?)" if near else ""
                raise self.fail(line, name, f"unknown {name} {text!r}{hint}: one of "
                                f"{', '.join(valid)}")
            key.append(text)
        return key[0], key[1]


def _parse_long(source: str, header, rows, through, campaign_days) -> xr.Dataset:
    parse = _Rows(source, header)
    names = parse.names
    revenue = ["revenue"] if "revenue" in names and not any(n in names for n in SPLIT) \
        else list(SPLIT)
    if "revenue" in names and revenue == list(SPLIT):
        raise parse.fail(parse.header_line, "revenue", "give either revenue (the total) or "
                         "revenue_iaa and revenue_iap, not both")
    per_age = ["active_users", *revenue, *(n for n in OPTIONAL if n in names)]
    required = ["cohort", "age", "spend", "activations", "active_users", *revenue]
    parse.check_columns(["cohort", "age", "spend", "activations", "active_users",
                         "revenue_iaa", "revenue_iap", "revenue", *OPTIONAL, *GROUPS],
                        required, "long")
    groups: dict[tuple, int] = {}
    found: list[_Group] = []
    table = _Table(per_age)
    for line, raw in rows:
        cells = parse.cells(line, raw)
        cohort = parse.cohort(line, cells["cohort"])
        age = parse.age(line, cells["age"])
        key = parse.group(line, cells)
        spend = parse.number(line, "spend", cells["spend"])
        activations = parse.number(line, "activations", cells["activations"])
        values = {n: parse.number(line, n, cells[n]) for n in per_age}
        index = groups.get((cohort, key))
        if index is None:
            index = groups[(cohort, key)] = len(found)
            found.append(_Group(cells["cohort"], cohort, key, spend, activations, line))
        group = found[index]
        for name, value in (("spend", spend), ("activations", activations)):
            if value != getattr(group, name):
                raise parse.fail(line, name, f"{cells[name]} differs from "
                                 f"{_text(getattr(group, name))} in row {group.line}: a "
                                 f"cohort's {name} is one figure, repeated on each of its rows")
        _check_active(parse, line, "active_users", values["active_users"], group)
        table.add(line, index, age, values)
    return _assemble(parse, found, table, through, campaign_days, "long")


def _parse_wide(source: str, header, rows, through, campaign_days) -> xr.Dataset:
    parse = _Rows(source, header)
    names = parse.names
    days: dict[str, list[int]] = {}
    for name in names:
        match = _DAY_COLUMN.fullmatch(name)
        if match:
            days.setdefault(match[1], []).append(int(match[2]))
    has_split = any(k in days for k in SPLIT)
    prefixes = ["retained", *(SPLIT if has_split else ("revenue",))]
    last = max((max(d) for d in days.values()), default=0)
    described = ", ".join(f"{p}_d{int(p == 'retained')}..{p}_dN" for p in prefixes)
    parse.check_columns(["cohort", "spend", "activations", *GROUPS,
                         *(n for n in names if _DAY_COLUMN.fullmatch(n))],
                        ["cohort", "spend", "activations"], "wide",
                        f"cohort, spend, activations, region, channel and day columns "
                        f"{described} (retained_d0 optional)")
    if has_split and "revenue" in days:
        raise parse.fail(parse.header_line, f"revenue_d{days['revenue'][0]}", "give either "
                         "revenue_d.. (the total) or revenue_iaa_d.. and revenue_iap_d.., "
                         "not both")
    if last > MAX_DAYS:
        raise parse.fail(parse.header_line, f"{prefixes[-1]}_d{last}",
                         f"day {last} is over {MAX_DAYS} days (MAX_DAYS)")
    for prefix in prefixes:
        first = 0 if prefix != "retained" or 0 in days.get("retained", ()) else 1
        for day in range(first, max(last, first) + 1):
            if day not in days.get(prefix, ()):
                raise parse.fail(parse.header_line, f"{prefix}_d{day}", f"missing: day "
                                 f"columns run {prefix}_d{first}..{prefix}_d{last} without "
                                 "gaps, up to the same last day for every kind")
    by_age = [[f"{p}_d{a}" for p in prefixes if a in days[p]] for a in range(last + 1)]
    columns = {a: by_age[a][0] for a in range(last + 1)}
    per_age = ["active_users", *(_WIDE_VAR[p] for p in prefixes[1:])]
    groups: dict[tuple, int] = {}
    found: list[_Group] = []
    table = _Table(per_age)
    for line, raw in rows:
        cells = parse.cells(line, raw)
        cohort = parse.cohort(line, cells["cohort"])
        key = parse.group(line, cells)
        if (cohort, key) in groups:
            raise parse.fail(line, "cohort", f"duplicate: cohort {cells['cohort']}"
                             f"{_group_text(key)} is already in row "
                             f"{found[groups[(cohort, key)]].line}")
        groups[(cohort, key)] = index = len(found)
        group = _Group(cells["cohort"], cohort, key, parse.number(line, "spend", cells["spend"]),
                       parse.number(line, "activations", cells["activations"]), line, columns)
        found.append(group)
        cumulative = {p: 0.0 for p in prefixes[1:]}
        observed = -1                  # the last age with data in this row
        for age, names_at in enumerate(by_age):
            given = [n for n in names_at if cells[n]]
            if not given:
                continue
            if len(given) < len(names_at):
                empty = next(n for n in names_at if not cells[n])
                raise parse.fail(line, empty, f"empty while {given[0]} is given: a day's "
                                 "columns are filled together")
            if observed != age - 1:
                raise parse.fail(line, columns[age - 1], f"empty before {names_at[0]}: day "
                                 "columns are filled from day 0 up to the cohort's last "
                                 "observed day (gaps are errors)")
            observed = age
            retained = f"retained_d{age}"
            values = {"active_users": (parse.number(line, retained, cells[retained])
                                       if retained in cells else group.activations)}
            _check_active(parse, line, retained, values["active_users"], group)
            for prefix in prefixes[1:]:
                column = f"{prefix}_d{age}"
                total = parse.number(line, column, cells[column])
                if total < cumulative[prefix]:
                    raise parse.fail(line, column, f"cumulative revenue falls: {cells[column]}"
                                     f" < {_text(cumulative[prefix])} the day before (give "
                                     "cumulative net revenue through each day)")
                values[_WIDE_VAR[prefix]] = total - cumulative[prefix]
                cumulative[prefix] = total
            table.add(line, index, age, values)
    return _assemble(parse, found, table, through, campaign_days, "wide", max_age=last)


def _check_active(parse: _Rows, line: int, column: str, active: float, group: _Group):
    if active > group.activations:
        raise parse.fail(line, column, f"{_text(active)} active users > "
                         f"{_text(group.activations)} activations of cohort {group.label}"
                         f"{_group_text(group.key)}")


# ---------------------------------------------------------------------------------------------
# censoring, checks across rows, and the dataset

def _assemble(parse: _Rows, groups: list[_Group], table: _Table, through, campaign_days,
              layout: str, max_age: int | None = None) -> xr.Dataset:
    if not groups:
        raise ScenarioError(f"row {parse.header_line + 1}", "no data rows after the header",
                            parse.source)
    if campaign_days is not None and (isinstance(campaign_days, bool) or not isinstance(
            campaign_days, int | np.integer) or campaign_days < 1):
        raise ScenarioError("campaign_days", f"= {campaign_days!r}: a whole number of days "
                            ">= 1", parse.source)
    dates = parse.kind == "date"
    first = min(g.cohort for g in groups) if dates else 0
    for g in groups:
        g.cohort -= first
        if g.cohort > MAX_DAYS:
            raise parse.fail(g.line, "cohort", f"{g.label} is {g.cohort} days after the first "
                             f"cohort, over {MAX_DAYS} days (MAX_DAYS)")
    line, group, age, values = table.arrays()
    if not line.size:
        raise parse.fail(groups[0].line, groups[0].column(0), "empty: no cohort has data for "
                         "any day (fill each cohort's day columns from day 0)")
    cohort_of = np.array([g.cohort for g in groups], dtype=np.int64)
    day = cohort_of[group] + age                   # calendar day of each entry
    last_day = int(day.max()) if through is None else \
        _through_day(parse, through, first if dates else None)
    max_age = int(age.max()) if max_age is None else max_age

    def first_bad(bad: np.ndarray) -> int:         # the entry of the earliest bad row
        return int(np.flatnonzero(bad)[np.argmin(line[bad])])

    order = np.lexsort((line, age, group))
    same = (group[order][1:] == group[order][:-1]) & (age[order][1:] == age[order][:-1])
    if same.any():
        i = order[1:][same][np.argmin(line[order[1:][same]])]
        g = groups[group[i]]
        earlier = line[order[:-1][same]][np.argmin(line[order[1:][same]])]
        raise parse.fail(int(line[i]), "age", f"duplicate: cohort {g.label} age {age[i]}"
                         f"{_group_text(g.key)} is already in row {earlier}")
    for g in sorted(groups, key=lambda g: g.line):
        if g.cohort > last_day:
            raise parse.fail(g.line, "cohort", f"cohort {g.label} is after the last reported "
                             f"day ({_day_text(last_day, first, dates)})")
        if campaign_days is not None and g.cohort >= campaign_days:
            raise parse.fail(g.line, "cohort", f"cohort {g.label} is after the campaign "
                             f"(days 0-{campaign_days - 1}"
                             f"{', counted from the first cohort' if dates else ''})")
    if (day > last_day).any():
        i = first_bad(day > last_day)
        g = groups[group[i]]
        raise parse.fail(int(line[i]), g.column(int(age[i])), "data from after the last "
                         f"reported day: cohort {g.label} at age {age[i]} falls on "
                         f"{_day_text(int(day[i]), first, dates)}, after "
                         f"{_day_text(last_day, first, dates)}")
    # no duplicates and no entries beyond a window: a group is complete iff it has them all
    window = np.minimum(last_day - cohort_of, max_age)
    short = np.bincount(group, minlength=len(groups)) < window + 1
    if short.any():
        g_index = min(np.flatnonzero(short), key=lambda k: groups[k].line)
        g = groups[g_index]
        mine = np.flatnonzero(group == g_index)
        mine = mine[np.argsort(age[mine])]
        present = age[mine]
        gap = int(np.flatnonzero(present != np.arange(present.size))[0]) \
            if (present != np.arange(present.size)).any() else present.size
        row = int(line[mine[min(gap, present.size - 1)]]) if present.size else g.line
        raise parse.fail(row, g.column(gap), f"cohort {g.label}{_group_text(g.key)} has no "
                         f"data for age {gap}, inside its observed window (ages "
                         f"0-{window[g_index]}; reported through "
                         f"{_day_text(last_day, first, dates)}): give zeros if nothing "
                         "happened that day")
    cohorts, cohort_index = np.unique(cohort_of, return_inverse=True)
    windows = np.minimum(last_day - cohorts, max_age)
    n_ages = int(windows.max()) + 1
    spend = np.zeros(cohorts.size)
    activations = np.zeros(cohorts.size)
    np.add.at(spend, cohort_index, [g.spend for g in groups])
    np.add.at(activations, cohort_index, [g.activations for g in groups])
    observed = np.arange(n_ages)[None, :] <= windows[:, None]
    per_age = {}
    for name, column in values.items():
        per_age[name] = np.where(observed, 0.0, np.nan)
        np.add.at(per_age[name], (cohort_index[group], age), column)
    if "revenue" not in per_age:
        per_age["revenue"] = per_age["revenue_iaa"] + per_age["revenue_iap"]
    attrs = {"source": parse.source, "layout": layout, "last_day": last_day}
    if dates:
        attrs["first_date"] = dt.date.fromordinal(first).isoformat()
        attrs["last_date"] = dt.date.fromordinal(first + last_day).isoformat()
    for i, (name, valid) in enumerate((("region", REGIONS), ("channel", COHORT_CHANNELS))):
        if name in parse.names:
            attrs[f"{name}s"] = ",".join(v for v in valid if any(g.key[i] == v for g in groups))
    return observed_dataset(spend, activations, per_age, windows, cohorts, attrs)


def _through_day(parse: _Rows, through, first: int | None) -> int:
    """``through`` as a calendar day index (days since the first cohort date for dates)."""
    if first is not None:
        try:
            day = (through if isinstance(through, dt.date) else
                   dt.date.fromisoformat(str(through))).toordinal() - first
        except ValueError:
            raise ScenarioError("through", f"= {through!r}: cohorts are dates, so the last "
                                "reported day is a date YYYY-MM-DD", parse.source) from None
        if day < 0:
            raise ScenarioError("through", f"= {through!r}: before the first cohort "
                                f"({dt.date.fromordinal(first).isoformat()})", parse.source)
        return day
    if isinstance(through, bool) or not isinstance(through, int | np.integer) \
            or not 0 <= through <= 2 * MAX_DAYS:
        raise ScenarioError("through", f"= {through!r}: cohorts are 0-based days, so the last "
                            f"reported day is a whole number in 0 .. {2 * MAX_DAYS}",
                            parse.source)
    return int(through)


def _day_text(day: int, first: int, dates: bool) -> str:
    return dt.date.fromordinal(first + day).isoformat() if dates else f"day {day}"


def _group_text(key: tuple[str, str]) -> str:
    named = [k for k in key if k]
    return f" ({', '.join(named)})" if named else ""


def _text(value) -> str:
    """A number as written in CSV: whole numbers without a decimal point, others exactly."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


_READERS = {"long": _parse_long, "wide": _parse_wide}
