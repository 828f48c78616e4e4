"""Bad input through the real command line: one line on stderr, exit 2, nothing written.

Every case starts from a small valid scenario (``BASE``, built like the packaged ones) and
breaks one thing. Each runs ``simcore run FILE -o OUT.nc`` in a subprocess (cwd = tmp_path)
and checks the contract stated in the README: exit status 2, exactly one non-empty line on
stderr naming the file and the dotted key (and the valid range for range errors), no
traceback, nothing on stdout, and no output file (nor a leftover temporary file).
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from tests.cli_helpers import render

TIMEOUT_S = 120
SCENARIO = "bad_scenario.toml"
OUT = "OUT.nc"

# A minimal valid scenario: IAA, target-CPA bidding, sbg retention given as parameters, one
# tiny cohort (so a case wrongly accepted still finishes in a second or two). Values are TOML
# literals, so a case can put any TOML value in (strings, booleans, nan, inf, arrays).
BASE: dict[str, dict[str, str]] = {
    "title": {"name": '"Tiny Test"', "monetization": '"iaa"'},
    "simulation": {"seed": "1", "draws": "1", "horizon_days": "10"},
    "campaign": {"region": '"US"', "days": "1", "daily_budget_usd": "100.0",
                 "bidding": '"target_cpa"', "target_cpa_usd": "0.5"},
    "retention": {"model": '"sbg"', "alpha": "1.0", "beta": "3.0"},
    "engagement": {"sessions_per_day": "2.0"},
    "ads": {"rewarded_per_session": "1.0", "fill_rate_rewarded": "0.9",
            "fill_rate_interstitial": "0.8", "ecpm_rewarded_usd": "10.0",
            "ecpm_interstitial_usd": "5.0", "developer_share": "0.7"},
}

# An [iap] section in the intuitive form (as in backpack_battle_jp.toml).
IAP = {"payer_share_d7": "0.015", "payer_share_d30": "0.025", "arppu_d30_usd": "18.0",
       "price_tiers_usd": "[0.99, 1.99, 4.99, 9.99, 19.99, 49.99, 99.99]",
       "platform_fee": "0.3"}

Mutation = Callable[[dict], None]


# --- mutations ------------------------------------------------------------------------------

def put(dotted: str, raw: str) -> Mutation:
    section, key = dotted.split(".")

    def apply(s):
        s.setdefault(section, {})[key] = raw
    return apply


def drop(dotted: str) -> Mutation:
    def apply(s):
        if "." in dotted:
            section, key = dotted.split(".")
            del s[section][key]
        else:
            del s[dotted]
    return apply


def rename(dotted: str, new_key: str) -> Mutation:
    """Replace a key by a misspelt one, keeping its value and place."""
    section, key = dotted.split(".")

    def apply(s):
        s[section] = {(new_key if k == key else k): v for k, v in s[section].items()}
    return apply


def hybrid(s):
    s["title"]["monetization"] = '"hybrid"'
    s["iap"] = dict(IAP)


def both(*mutations: Mutation) -> Mutation:
    def apply(s):
        for m in mutations:
            m(s)
    return apply


@dataclass(frozen=True)
class Case:
    id: str
    mutate: Mutation | None = None       # applied to a copy of BASE, written as TOML
    raw: bytes | None = None             # or: these exact bytes as the file
    kind: str = "file"                   # file | missing | directory | unreadable
    overrides: tuple[str, ...] = ()      # --set values
    key: str | None = None               # dotted key the message must name
    contains: tuple[str, ...] = field(default=())   # further text the message must contain
    file_name: str = SCENARIO
    tail: str = ""                       # raw TOML appended (e.g. [[correlations]] tables)

    def args(self) -> list[str]:
        out = []
        for item in self.overrides:
            out += ["--set", item]
        return out


RANGE = ("valid range",)

CASES = [
    # wrong types
    Case("string-for-number", put("campaign.daily_budget_usd", '"300"'),
         key="campaign.daily_budget_usd", contains=("'300'",) + RANGE),
    Case("bool-for-int", put("campaign.days", "true"), key="campaign.days",
         contains=("True",) + RANGE),
    Case("float-for-draws", put("simulation.draws", "2.0"), key="simulation.draws",
         contains=RANGE),
    Case("section-given-as-value",
         raw=("engagement = 3\n" + render({k: v for k, v in BASE.items()
                                          if k != "engagement"})).encode(),
         key="engagement", contains=("expected a [section] table",)),
    # out of range
    Case("negative-budget", put("campaign.daily_budget_usd", "-100.0"),
         key="campaign.daily_budget_usd", contains=("-100.0", "1 <= value") + RANGE),
    Case("zero-days", put("campaign.days", "0"), key="campaign.days",
         contains=("1 <= value",) + RANGE),
    Case("probability-above-1", put("ads.fill_rate_rewarded", "1.5"),
         key="ads.fill_rate_rewarded", contains=("1.5", "value <= 1") + RANGE),
    Case("nan-budget", put("campaign.daily_budget_usd", "nan"),
         key="campaign.daily_budget_usd", contains=("nan",)),
    Case("inf-ecpm", put("ads.ecpm_rewarded_usd", "inf"), key="ads.ecpm_rewarded_usd",
         contains=("inf",)),
    # unknown and missing keys and sections
    Case("typo-key-beside-real-one", put("campaign.daily_budjet_usd", "300.0"),
         key="campaign.daily_budjet_usd",
         contains=("unknown key", "did you mean 'campaign.daily_budget_usd'")),
    Case("typo-key-instead-of-real-one",
         rename("campaign.daily_budget_usd", "daily_budjet_usd"),
         key="daily_budjet_usd", contains=("did you mean 'campaign.daily_budget_usd'",)),
    Case("unknown-section-typo", put("campain.days", "3"), key="campain",
         contains=("unknown key", "did you mean 'campaign'")),
    Case("missing-campaign-section", drop("campaign"), key="campaign",
         contains=("missing section",)),
    Case("missing-retention-section", drop("retention"), key="retention",
         contains=("missing section",)),
    Case("missing-required-key", drop("campaign.region"), key="campaign.region",
         contains=("missing",)),
    Case("empty-file", raw=b"", key="title", contains=("missing section",)),
    # choices
    Case("unknown-region", put("campaign.region", '"XX"'), key="campaign.region",
         contains=("'XX'", "valid values", "'US'", "'JP'")),
    Case("unknown-bidding", put("campaign.bidding", '"cpc"'), key="campaign.bidding",
         contains=("'cpc'", "valid values", "'target_cpa'", "'cpm'")),
    # cross-field rules
    Case("retention-targets-rise",
         both(drop("retention.alpha"), drop("retention.beta"), put("retention.d1", "0.30"),
              put("retention.d7", "0.35")),
         key="retention.d7", contains=("fall",)),
    Case("retention-params-and-targets", put("retention.d1", "0.3"), key="retention.alpha",
         contains=("not both",)),
    Case("bdw-without-c", put("retention.model", '"bdw"'), key="retention.c"),
    Case("cpm-without-funnel",
         both(drop("campaign.target_cpa_usd"), put("campaign.bidding", '"cpm"'),
              put("campaign.cpm_usd", "6.0")),
         key="campaign.anchor_ctr", contains=("cpm",)),
    Case("target-cpa-with-cpm-key", put("campaign.cpm_usd", "6.0"), key="campaign.cpm_usd",
         contains=("target_cpa",)),
    Case("iaa-with-iap-section", lambda s: s.update(iap=dict(IAP)), key="iap",
         contains=("hybrid",)),
    Case("hybrid-without-iap", put("title.monetization", '"hybrid"'), key="iap"),
    Case("payer-share-d30-below-d7", both(hybrid, put("iap.payer_share_d30", "0.01")),
         key="iap.payer_share_d30", contains=("payer_share_d7",)),
    Case("price-tiers-not-rising",
         both(hybrid, put("iap.price_tiers_usd", "[0.99, 4.99, 1.99]")),
         key="iap.price_tiers_usd", contains=("rise",)),
    # rules checked when the scenario is compiled (fits), after the schema
    Case("arppu-outside-price-tiers",
         both(hybrid, put("iap.price_tiers_usd", "[0.99, 1.99, 4.99]")),
         key="iap.arppu_d30_usd", contains=("price tiers",)),
    Case("payer-shares-no-model-fits", both(hybrid, put("iap.payer_share_d30", "0.9")),
         key="iap.payer_share_d30"),
    Case("schedule-list-wrong-length",
         both(put("campaign.budget_schedule", '"list"'),
              put("campaign.daily_budgets_usd", "[100.0, 200.0]")),
         key="campaign.daily_budgets_usd", contains=("one per campaign day",)),
    Case("rule-unknown-metric",
         tail='[[rules]]\nmetric = "roas_d5"\nbelow = 0.6\naction = "stop"\n',
         key="rules.0.metric", contains=("valid values", "'roas_d0'")),
    Case("share-k-factor-above-one",
         both(put("share.shares_per_active_day", "5.0"), put("share.conversion", "0.5")),
         key="share.shares_per_active_day", contains=("K-factor", "max_users_per_day")),
    Case("market-shares-not-one",
         tail='[[markets]]\nregion = "US"\nbudget_share = 0.6\n'
              '[[markets]]\nregion = "JP"\nbudget_share = 0.3\n',
         key="markets", contains=("sum to 1",)),
    Case("market-unknown-region", tail='[[markets]]\nregion = "XX"\nbudget_share = 1.0\n',
         key="markets.0.region", contains=("valid values", "'BR'")),
    # uncertain parameters: distributions and correlations
    Case("dist-p90-below-median",
         put("ads.ecpm_rewarded_usd", '{ dist = "lognormal", median = 12.0, p90 = 10.0 }'),
         key="ads.ecpm_rewarded_usd.p90", contains=("must exceed the median",)),
    Case("dist-beta-sd-impossible",
         put("ads.fill_rate_rewarded", '{ dist = "beta", mean = 0.9, sd = 0.35 }'),
         key="ads.fill_rate_rewarded.sd", contains=("impossible", "valid range")),
    Case("dist-beta-on-ecpm", put("ads.ecpm_rewarded_usd", '{ dist = "beta", mean = 0.5, '
                                  'sd = 0.1 }'),
         key="ads.ecpm_rewarded_usd.dist", contains=("probabilities", "0 <= value")),
    Case("dist-negative-support",
         put("ads.ecpm_rewarded_usd", '{ dist = "uniform", low = -2.0, high = 10.0 }'),
         key="ads.ecpm_rewarded_usd", contains=("-2", "valid range", "0 <= value")),
    Case("dist-normal-reaches-negative-cpa",
         put("campaign.target_cpa_usd", '{ dist = "normal", mean = 0.5, sd = 0.2 }'),
         key="campaign.target_cpa_usd", contains=("valid range", "0 < value")),
    Case("dist-unknown-kind", put("ads.ecpm_rewarded_usd", '{ dist = "gamma", shape = 2.0 }'),
         key="ads.ecpm_rewarded_usd.dist", contains=("unknown distribution", "lognormal")),
    Case("dist-missing-argument",
         put("ads.ecpm_rewarded_usd", '{ dist = "lognormal", median = 12.0 }'),
         key="ads.ecpm_rewarded_usd.p90", contains=("missing",)),
    Case("dist-table-without-dist", put("ads.ecpm_rewarded_usd", '{ median = 12.0 }'),
         key="ads.ecpm_rewarded_usd", contains=("dist",)),
    Case("dist-on-run-shape", put("simulation.draws", '{ dist = "choice", values = [1, 2] }'),
         key="simulation.draws", contains=("cannot be uncertain",)),
    Case("dist-on-text", put("title.name", '{ dist = "uniform", low = 1.0, high = 2.0 }'),
         key="title.name", contains=("numeric",)),
    Case("dist-non-integer-choice",
         put("ads.interstitial_cap_per_day", '{ dist = "choice", values = [1.5, 2.0] }'),
         key="ads.interstitial_cap_per_day.values", contains=("whole numbers",)),
    Case("correlation-unknown-key",
         put("ads.ecpm_rewarded_usd", '{ dist = "uniform", low = 5.0, high = 15.0 }'),
         tail='[[correlations]]\nbetween = ["ads.ecpm_rewarded_usd", "ads.ecpm_interstitial"]'
              '\nspearman = 0.5\n',
         key="correlations[0].between",
         contains=("ads.ecpm_interstitial", "not an uncertain parameter")),
    Case("correlation-out-of-range",
         both(put("ads.ecpm_rewarded_usd", '{ dist = "uniform", low = 5.0, high = 15.0 }'),
              put("ads.ecpm_interstitial_usd", '{ dist = "uniform", low = 2.0, high = 8.0 }')),
         tail='[[correlations]]\nbetween = ["ads.ecpm_rewarded_usd", '
              '"ads.ecpm_interstitial_usd"]\nspearman = 1.5\n',
         key="correlations[0].spearman", contains=("-1 < value < 1",)),
    Case("correlation-matrix-invalid",
         both(put("ads.ecpm_rewarded_usd", '{ dist = "uniform", low = 5.0, high = 15.0 }'),
              put("ads.ecpm_interstitial_usd", '{ dist = "uniform", low = 2.0, high = 8.0 }'),
              put("ads.developer_share", '{ dist = "uniform", low = 0.5, high = 0.8 }')),
         tail="".join(f'[[correlations]]\nbetween = ["ads.{a}", "ads.{b}"]\nspearman = {r}\n'
                      for a, b, r in (("ecpm_rewarded_usd", "ecpm_interstitial_usd", 0.9),
                                      ("ecpm_rewarded_usd", "developer_share", 0.9),
                                      ("ecpm_interstitial_usd", "developer_share", -0.9))),
         key="correlations", contains=("positive definite",)),
    Case("dist-samples-conflict",
         both(drop("retention.alpha"), drop("retention.beta"), put("simulation.draws", "40"),
              put("retention.d1", '{ dist = "uniform", low = 0.2, high = 0.4 }'),
              put("retention.d7", '{ dist = "uniform", low = 0.1, high = 0.35 }')),
         key="retention.d7", contains=("fall with age", "draw", "conflict")),
    Case("set-beta-on-ecpm", overrides=('ads.ecpm_rewarded_usd={dist="beta", mean=0.5, '
                                        'sd=0.1}',),
         key="ads.ecpm_rewarded_usd.dist", contains=("probabilities", "--set")),
    # the file itself
    Case("missing-file", kind="missing", contains=("no such scenario file",)),
    Case("missing-file-newline-in-name", kind="missing", file_name="bad\nname.toml",
         contains=("no such scenario file",)),
    Case("directory", kind="directory", contains=("directory",)),
    Case("unreadable-file", kind="unreadable", contains=("cannot read",)),
    Case("not-toml", raw=b"this is not TOML at all\n[[[\n", contains=("not valid TOML",)),
    Case("binary-bytes", raw=b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe\xfd binary",
         contains=("UTF-8",)),
    # bad --set overrides (on a valid file)
    Case("set-non-number", overrides=("campaign.days=abc",), key="campaign.days",
         contains=("'abc'", "--set") + RANGE),
    Case("set-unknown-section", overrides=("nosuchsection.x=1",), key="nosuchsection",
         contains=("unknown key",)),
    Case("set-section-to-value", overrides=("campaign=5",), key="campaign",
         contains=("section.key=value",)),
    Case("set-no-equals", overrides=("justakey",), key="justakey",
         contains=("section.key=value",)),
    Case("set-into-a-value", overrides=("title.name.x=1",), key="title.name",
         contains=("not a section",)),
]

# A few of the cases again through ``simcore validate``.
VALIDATE_CASES = ["negative-budget", "typo-key-beside-real-one", "not-toml",
                  "arppu-outside-price-tiers", "dist-p90-below-median",
                  "correlation-matrix-invalid", "dist-samples-conflict"]


def _write_case(case: Case, folder: Path) -> str:
    """Create the scenario for ``case`` in ``folder``; return the name passed on the CLI."""
    path = folder / case.file_name
    if case.kind == "missing":
        return case.file_name
    if case.kind == "directory":
        path.mkdir()
        return case.file_name
    if case.raw is not None:
        path.write_bytes(case.raw)
    else:
        sections = copy.deepcopy(BASE)
        if case.mutate is not None:
            case.mutate(sections)
        path.write_text(render(sections) + case.tail, encoding="utf-8")
    if case.kind == "unreadable":
        path.chmod(0o000)
    return case.file_name


def _simcore(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simcore", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=TIMEOUT_S)


def assert_one_line_error(result: subprocess.CompletedProcess, case: Case) -> str:
    err = result.stderr
    assert result.returncode == 2, (result.returncode, err[-2000:])
    assert "Traceback" not in err, err
    assert result.stdout == "", result.stdout
    assert err.endswith("\n") and err.count("\n") == 1, f"not exactly one line: {err!r}"
    line = err.rstrip("\n")
    assert line.strip(), "empty message"
    assert line.startswith("simcore: error: "), line
    shown_name = case.file_name.replace("\n", "\\n")  # control characters are escaped
    assert shown_name in line, f"message does not name the file {case.file_name!r}: {line}"
    if case.key is not None:
        assert case.key in line, f"message does not name {case.key!r}: {line}"
    for text in case.contains:
        assert text in line, f"message lacks {text!r}: {line}"
    return line


def _skip_if_unreadable_is_readable(case: Case) -> None:
    if case.kind == "unreadable" and hasattr(os, "geteuid") and os.geteuid() == 0:
        pytest.skip("running as root: a chmod 000 file is still readable")


@pytest.fixture(autouse=True)
def _restore_permissions(tmp_path):
    yield
    for p in tmp_path.iterdir():   # let pytest clean up a chmod 000 file
        if not p.is_symlink():
            p.chmod(0o755 if p.is_dir() else 0o644)


def test_base_scenario_is_valid(tmp_path):
    """The starting point is valid, so each case fails for the one thing it breaks."""
    (tmp_path / SCENARIO).write_text(render(BASE), encoding="utf-8")
    result = _simcore(["validate", SCENARIO], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"# {SCENARIO}: valid")


def test_cases_are_distinct():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 20
    assert set(VALIDATE_CASES) <= set(ids)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_run_rejects_bad_input(case, tmp_path):
    _skip_if_unreadable_is_readable(case)
    name = _write_case(case, tmp_path)
    before = set(os.listdir(tmp_path))
    result = _simcore(["run", name, "-o", OUT, *case.args()], tmp_path)
    assert_one_line_error(result, case)
    assert not (tmp_path / OUT).exists()
    assert not list(tmp_path.glob(f".{OUT}.*")), "temporary output file left behind"
    assert set(os.listdir(tmp_path)) == before, "the failed run wrote something"


@pytest.mark.parametrize("case", [c for c in CASES if c.id in VALIDATE_CASES],
                         ids=lambda c: c.id)
def test_validate_rejects_bad_input(case, tmp_path):
    name = _write_case(case, tmp_path)
    before = set(os.listdir(tmp_path))
    result = _simcore(["validate", name, *case.args()], tmp_path)
    assert_one_line_error(result, case)
    assert set(os.listdir(tmp_path)) == before
