"""Loading refuses what it cannot use in one line, before doing anything expensive: nesting
deeper than MAX_NESTING, files over MAX_SCENARIO_BYTES or that are not regular files (a FIFO
must not block), an empty file name; it accepts a UTF-8 byte-order mark. Every market of a
multi-market scenario is resolved and validated at load, so ``validate`` refuses what ``run``
refuses, naming the market and its ``set`` key; an unknown key is reported first, with its
hint, and quoted when it is no bare TOML key."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from simcore.errors import ScenarioError
from simcore.kinds.game.validate import market_lines
from simcore.scenario import load_scenario, packaged_scenarios
from simcore.scenario.loading import MAX_NESTING, MAX_SCENARIO_BYTES, scenario_from_text
from tests.cli_helpers import TIMEOUT_S, render
from tests.cli.test_bad_input import BASE

NAME = "scenario.toml"


def write(folder: Path, text: str, name: str = NAME) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(spec, *overrides: str) -> str:
    """The one-line message of loading ``spec`` (which must fail)."""
    with pytest.raises(ScenarioError) as err:
        load_scenario(spec, list(overrides))
    text = str(err.value)
    assert "\n" not in text and "\r" not in text, text
    return text


def base_text(**sections: dict[str, str]) -> str:
    """BASE (a tiny valid IAA game, tests/cli/test_bad_input.py) with sections updated."""
    out = {k: dict(v) for k, v in BASE.items()}
    for name, keys in sections.items():
        out.setdefault(name, {}).update(keys)
    return render(out)


TARGETS = {"model": '"sbg"', "d1": "0.3", "d7": "0.1"}   # retention as targets, not alpha/beta


def targets_text() -> str:
    out = {k: dict(v) for k, v in BASE.items()}
    out["retention"] = dict(TARGETS)
    return render(out)


def market(region: str, share: float = 1.0, set_: str = "") -> str:
    return (f'\n[[markets]]\nregion = "{region}"\nbudget_share = {share}\n'
            + (f"set = {{ {set_} }}\n" if set_ else ""))


# --- nesting ----------------------------------------------------------------------------------

def test_nesting_beyond_the_parser_is_one_line(tmp_path):
    """The issue's case: 5,000 nested arrays made tomllib raise RecursionError."""
    path = write(tmp_path, "a = " + "[" * 5000 + "]" * 5000 + "\n")
    text = refused(path)
    assert text.startswith(str(path)) and "nested too deeply" in text
    assert f"at most {MAX_NESTING} levels" in text


@pytest.mark.parametrize("body, key", [
    ("a = " + "[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1), "a.0.0..."),
    ("a = " + "{ b = " * (MAX_NESTING + 1) + "1" + " }" * (MAX_NESTING + 1), "a.b.b..."),
    ("a" + ".b" * 2000 + " = 1", "a.b.b..."),                 # dotted keys nest too
])
def test_nesting_over_the_limit_names_the_key_and_limit(tmp_path, body, key):
    text = refused(write(tmp_path, body + "\n" + base_text()))
    assert f"{key}: nested too deeply" in text and str(MAX_NESTING) in text, text


def test_nesting_at_the_limit_passes_on_to_the_schema(tmp_path):
    body = "a = " + "[" * MAX_NESTING + "]" * MAX_NESTING
    text = refused(write(tmp_path, body + "\n" + base_text()))
    assert "nested" not in text and "a: unknown key" in text, text


def test_deep_set_override_is_one_line(tmp_path):
    path = write(tmp_path, base_text())
    text = refused(path, "ads.x=" + "[" * 3000 + "]" * 3000)
    assert "ads.x: nested too deeply" in text, text
    text = refused(path, "ads.x=" + "[" * 40 + "]" * 40)
    assert "ads.x.0...: nested too deeply" in text and "--set" in text, text


# --- what is read -----------------------------------------------------------------------------

def test_file_over_the_size_limit_is_refused_with_size_and_limit(tmp_path):
    path = tmp_path / NAME
    path.write_bytes(b"#" * (MAX_SCENARIO_BYTES + 1))
    text = refused(path)
    assert text.startswith(str(path)), text
    assert f"{MAX_SCENARIO_BYTES + 1:,} bytes" in text and f"{MAX_SCENARIO_BYTES:,}" in text


def test_file_at_the_size_limit_loads(tmp_path):
    text = base_text()
    padding = MAX_SCENARIO_BYTES - len(text.encode()) - 1
    path = write(tmp_path, text + "#" * padding + "\n")
    assert path.stat().st_size == MAX_SCENARIO_BYTES
    assert load_scenario(path).scenario.title.name == "Tiny Test"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_device_is_refused_before_reading():
    text = refused("/dev/zero")
    assert text.startswith("/dev/zero: ") and "character device" in text
    assert "not a regular file" in text


def test_directory_is_refused(tmp_path):
    assert "is a directory" in refused(tmp_path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    outcome = []

    def load():
        try:
            load_scenario(fifo)
        except ScenarioError as exc:
            outcome.append(str(exc))

    worker = threading.Thread(target=load, daemon=True)  # a blocked open cannot hang pytest
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "loading a FIFO blocked"
    assert outcome and "FIFO" in outcome[0] and str(fifo) in outcome[0], outcome


def test_empty_file_name_is_named():
    text = refused("")
    assert text.startswith("scenario file '': ") and "empty file name" in text, text


def test_byte_order_mark_is_accepted(tmp_path):
    text = base_text()
    plain = load_scenario(write(tmp_path, text, "plain.toml"))
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    with_bom = load_scenario(path)
    assert with_bom.hash == plain.hash and with_bom.text == text
    assert scenario_from_text("\ufeff" + text).hash == plain.hash


# --- markets: validated at load ---------------------------------------------------------------

def global_with(set_line: str, tmp_path: Path) -> Path:
    """reborn_emperor_global.toml with the JP market's set replaced (the issue's case)."""
    text = packaged_scenarios()["reborn_emperor_global"].read_text(encoding="utf-8")
    old = next(line for line in text.splitlines() if line.startswith("set = "))
    return write(tmp_path, text.replace(old, set_line), "global.toml")


def test_market_set_out_of_range_names_market_key_and_range(tmp_path):
    path = global_with('set = { "ads.fill_rate_rewarded" = 2.0 }', tmp_path)
    text = refused(path)
    assert text.startswith(f"{path}: markets.1 (JP).set.\"ads.fill_rate_rewarded\": = 2.0"), text
    assert "valid range: 0 <= value <= 1" in text and "--set" not in text, text


def test_market_set_from_the_command_line_says_so(tmp_path):
    path = write(tmp_path, base_text())
    text = refused(path, 'markets=[{region="JP", budget_share=1.0, '
                         'set={"ads.fill_rate_rewarded"=2.0}}]')
    assert 'markets.0 (JP).set."ads.fill_rate_rewarded"' in text and "--set" in text, text


@pytest.mark.parametrize("set_, key, contains", [
    # a distribution: its range, then its median (d7 above d1) are checked
    ('"ads.fill_rate_rewarded" = { dist = "uniform", low = 0.5, high = 1.5 }',
     'markets.0 (JP).set."ads.fill_rate_rewarded"', ("outside the valid range",)),
    ('"retention.d7" = { dist = "uniform", low = 0.2, high = 0.5 }',
     'markets.0 (JP).set."retention.d7"', ("fall with age",)),
    ('"retention.d7" = { dist = "lognormal", median = 0.2, p90 = 0.1 }',
     'markets.0 (JP).set."retention.d7".p90', ("must exceed the median",)),
    # a value that breaks a rule about another key
    ('"retention.d1" = 0.05', "markets.0 (JP): retention.d7", ("fall with age",
                                                               "this market's set")),
    ('"ads.ecpm_rewarded" = 5.0', 'markets.0 (JP).set."ads.ecpm_rewarded"',
     ("did you mean 'ads.ecpm_rewarded_usd'",)),
    ('"adz.fill_rate_rewarded" = 0.5', 'markets.0 (JP).set."adz.fill_rate_rewarded"',
     ("did you mean 'ads'",)),
    ('"ads fill" = 0.5', 'markets.0.set."ads fill"', ("not a dotted scenario key",)),
])
def test_bad_market_set_is_named(tmp_path, set_, key, contains):
    path = write(tmp_path, targets_text() + market("JP", set_=set_))
    text = refused(path)
    assert text.startswith(f"{path}: {key}: "), text
    for part in contains:
        assert part in text, text
    assert "--set" not in text, text


def test_region_move_out_of_range_is_named(tmp_path):
    """eCPMs moved from Indonesia's levels to the US's (x 6.7) leave the valid range."""
    text = base_text(campaign={"region": '"ID"'}, ads={"ecpm_rewarded_usd": "900.0"})
    path = write(tmp_path, text + market("US"))
    text = refused(path)
    assert text.startswith(f"{path}: markets.0 (US): ads.ecpm_rewarded_usd: "), text
    assert "valid range" in text and "US's levels" in text, text


def test_markets_are_resolved_once_at_load(tmp_path):
    from simcore.engine.markets import market_scenarios

    path = write(tmp_path, targets_text() + market("JP", 0.7, '"retention.d1" = 0.32')
                 + market("BR", 0.3))
    loaded = load_scenario(path)
    assert [m.scenario.campaign.region for m in loaded.markets] == ["JP", "BR"]
    assert loaded.markets[0].scenario.retention.d1 == 0.32
    assert market_scenarios(loaded) == list(loaded.markets)
    assert loaded.fixed().markets[1].scenario.campaign.region == "BR"


def test_validate_checks_every_markets_draws(tmp_path):
    """A market whose sampled d7 sometimes exceeds d1: validate refuses it, as run would."""
    out = {k: dict(v) for k, v in BASE.items()}
    out["retention"] = dict(TARGETS)
    out["simulation"]["draws"] = "40"
    set_ = '"retention.d7" = { dist = "uniform", low = 0.05, high = 0.35 }'
    loaded = load_scenario(write(tmp_path, render(out) + market("JP", set_=set_)))
    with pytest.raises(ScenarioError) as err:
        market_lines(loaded)
    text = str(err.value)
    assert text.startswith(f"{tmp_path / NAME}: markets.0 (JP): retention.d7: "), text
    assert "draw" in text and "\n" not in text


# --- messages ---------------------------------------------------------------------------------

def test_misspelt_correlated_key_is_reported_with_its_hint(tmp_path):
    text = base_text(ads={"ecpm_rewarded_usd": '{ dist = "uniform", low = 5.0, high = 15.0 }',
                          "ecpm_interstitial": '{ dist = "uniform", low = 1.0, high = 5.0 }'})
    text += ('[[correlations]]\nbetween = ["ads.ecpm_rewarded_usd", "ads.ecpm_interstitial"]\n'
             "spearman = 0.5\n")
    message = refused(write(tmp_path, text))
    assert "ads.ecpm_interstitial: unknown key" in message, message
    assert "did you mean 'ads.ecpm_interstitial_usd'" in message, message


@pytest.mark.parametrize("key, shown", [('"x[1]"', 'ads."x[1]"'), ('"a.b"', 'ads."a.b"'),
                                        ('"it\'s"', 'ads."it\'s"')])
def test_unknown_key_with_odd_characters_is_quoted(tmp_path, key, shown):
    message = refused(write(tmp_path, base_text(ads={key: "1"})))
    assert f"{shown}: unknown key (valid keys: " in message, message


# --- through the command line -----------------------------------------------------------------

def test_cli_prints_one_line_and_exits_2(tmp_path):
    write(tmp_path, "a = " + "[" * 5000 + "]" * 5000 + "\n", "nest.toml")
    global_with('set = { "ads.fill_rate_rewarded" = 2.0 }', tmp_path)
    cases = [(["validate", "nest.toml"], "nest.toml: nested too deeply"),
             (["validate", ""], "scenario file '': empty file name"),
             (["validate", "global.toml"], 'global.toml: markets.1 (JP).set.'),
             (["run", "global.toml", "-o", "out.nc"], 'global.toml: markets.1 (JP).set.')]
    for args, expected in cases:
        before = set(os.listdir(tmp_path))
        result = subprocess.run([sys.executable, "-m", "simcore", *args], cwd=tmp_path,
                                capture_output=True, text=True, timeout=TIMEOUT_S)
        assert result.returncode == 2, (args, result.stderr[-2000:])
        assert "Traceback" not in result.stderr and result.stdout == ""
        assert result.stderr.count("\n") == 1, result.stderr
        assert result.stderr.startswith(f"simcore: error: {expected}"), result.stderr
        assert set(os.listdir(tmp_path)) == before


def test_loading_imports_no_heavy_modules():
    code = ("import sys; from simcore.scenario import load_scenario; "
            "load_scenario('reborn_emperor_global'); "
            "print(sorted(m for m in ('xarray', 'numba', 'dask', 'matplotlib') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=TIMEOUT_S)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
