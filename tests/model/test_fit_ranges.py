"""Fit errors give the feasible range of the target that failed, and that range is the truth:
a value 1 % inside either printed bound fits, a value 1 % outside is refused (retention targets
under sbg and bdw, payer shares, ARPPU)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from simcore.errors import ScenarioError
from simcore.kinds.game.plan import compile_loaded
from simcore.model.retention import FIT_TOLERANCE, feasible_range, fit_retention
from simcore.scenario import load_scenario
from tests.cli_helpers import render
from tests.cli.test_bad_input import BASE

NUMBER = r"([0-9.eE+-]+)"


@pytest.fixture(autouse=True)
def _folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)   # scenario files written by compile_game go here


def compile_game(retention: dict[str, str] | None, overrides=(), name="backpack_battle_jp"):
    """Compile a packaged scenario, or (``retention`` given) the tiny BASE game with that
    [retention] section, written to the current folder; returns the plan."""
    if retention is not None:
        sections = {k: dict(v) for k, v in BASE.items()}
        sections["retention"] = retention
        name = "retention_case.toml"
        with open(name, "w", encoding="utf-8") as f:
            f.write(render(sections))
    return compile_loaded(load_scenario(name, list(overrides)))


def refused(key: str, name: str, op: str = "<=", **kw) -> tuple[float, float, str]:
    """Compile, expect a one-line error naming ``key`` with 'lo op name op hi'."""
    with pytest.raises(ScenarioError) as info:
        compile_game(**kw)
    text = str(info.value)
    assert "\n" not in text and info.value.key == key, text
    found = re.search(rf"{NUMBER} {op} {name} {op} {NUMBER}", text)
    assert found, text
    return float(found[1]), float(found[2]), text


def just_inside_and_outside(lo: float, hi: float):
    """1 % inside and 1 % outside each bound."""
    return [lo * 1.01, hi * 0.99], [lo * 0.99, hi * 1.01]


# --- payer shares -----------------------------------------------------------------------------

def payer_sets(d7, d30):
    """Payer shares; price tiers wide enough that the ARPPU fits whatever purchases per payer
    the shares imply (near the low D30 bound, over a hundred)."""
    return [f"iap.payer_share_d7={d7}", f"iap.payer_share_d30={d30}",
            "iap.price_tiers_usd=[0.01, 10000.0]"]


@pytest.mark.parametrize("d30", [0.03, 0.0101])
def test_payer_share_d30_range_given_d7(d30):
    lo, hi, text = refused("iap.payer_share_d30", "payer_share_d30", retention=None,
                           overrides=payer_sets(0.01, d30))
    assert "payer_share_d7 0.01" in text and "fit tolerance 0.1 %" in text
    assert not lo <= d30 <= hi and 0.01 < lo < hi
    inside, outside = just_inside_and_outside(lo, hi)
    for v in inside:
        iap = compile_game(None, payer_sets(0.01, v)).iap
        assert abs(iap.payer_share_d30 / v - 1) <= FIT_TOLERANCE
        assert abs(iap.payer_share_d7 / 0.01 - 1) <= FIT_TOLERANCE
    for v in outside:
        refused("iap.payer_share_d30", "payer_share_d30", retention=None,
                overrides=payer_sets(0.01, v))


def test_payer_share_d7_range_given_d30():
    """The message's alternative: the D7 that fits this D30."""
    _, _, text = refused("iap.payer_share_d30", "payer_share_d30", retention=None,
                         overrides=payer_sets(0.01, 0.03))
    found = re.search(rf"{NUMBER} <= payer_share_d7 <= {NUMBER} with payer_share_d30 0.03",
                      text)
    assert found, text
    inside, outside = just_inside_and_outside(float(found[1]), float(found[2]))
    for v in inside:
        assert abs(compile_game(None, payer_sets(v, 0.03)).iap.payer_share_d30 / 0.03 - 1) \
            <= FIT_TOLERANCE
    for v in outside:
        with pytest.raises(ScenarioError):
            compile_game(None, payer_sets(v, 0.03))


# --- retention targets -------------------------------------------------------------------------

def sbg(d1, d7, q=1.0):
    return {"model": '"sbg"', "d1": str(d1), "d7": repr(d7), "daily_play_probability": str(q)}


def bdw(d1, d7, d30):
    return {"model": '"bdw"', "d1": str(d1), "d7": str(d7), "d30": repr(d30)}


@pytest.mark.parametrize("make,key,value", [
    (lambda v: sbg(0.3, v), "d7", 0.299),           # beyond the most heterogeneous churn
    (lambda v: sbg(0.3, v), "d7", 0.0002),          # below homogeneous churn (0.3 ** 7)
    (lambda v: sbg(0.25, v, q=0.8), "d7", 0.2495),  # intermittent play: shares are q * S
    (lambda v: bdw(0.3, 0.1, v), "d30", 0.099),
    (lambda v: bdw(0.3, 0.1, v), "d30", 0.0001),
], ids=["sbg-high", "sbg-low", "sbg-intermittent", "bdw-high", "bdw-low"])
def test_retention_target_range(make, key, value):
    lo, hi, text = refused(f"retention.{key}", key, retention=make(value))
    assert not lo <= value <= hi, text
    inside, outside = just_inside_and_outside(lo, hi)
    for v in inside:
        fit = compile_game(make(v)).retention
        assert fit.max_rel_error <= FIT_TOLERANCE, (v, fit)
    for v in outside:   # refused by the fit, or above the earlier target by the schema
        with pytest.raises(ScenarioError) as info:
            compile_game(make(v))
        assert info.value.key == f"retention.{key}"


def test_bdw_second_target_names_it():
    """D7 next to D1 is beyond every bdw model, whatever D30."""
    lo, hi, text = refused("retention.d7", "d7", retention=bdw(0.3, 0.29999, 0.2))
    assert "with d1 0.3" in text and hi < 0.29999 < 0.3


def test_overdetermined_fits_stay_least_squares():
    """More targets than parameters: the best compromise, as before (validate reports it)."""
    fit = fit_retention("sbg", [1, 7, 30], [0.3, 0.08, 0.03])
    assert fit.max_rel_error > FIT_TOLERANCE


# --- ARPPU -------------------------------------------------------------------------------------

@pytest.mark.parametrize("arppu", [500.0, 0.5])
def test_arppu_range_given_price_tiers(arppu):
    lo, hi, text = refused("iap.arppu_d30_usd", "arppu_d30_usd", op="<", retention=None,
                           overrides=[f"iap.arppu_d30_usd={arppu}"])
    assert "price tiers" in text and text.endswith(" USD")
    inside, outside = just_inside_and_outside(lo, hi)
    for v in inside:
        assert compile_game(None, [f"iap.arppu_d30_usd={v}"]).iap.arppu_d30_usd == \
            pytest.approx(v, rel=1e-9)
    for v in outside:
        refused("iap.arppu_d30_usd", "arppu_d30_usd", op="<", retention=None,
                overrides=[f"iap.arppu_d30_usd={v}"])


# --- printing ----------------------------------------------------------------------------------

def test_range_digits_follow_the_tolerance_and_tell_values_apart():
    assert feasible_range(0.016, 0.0101234, 0.0134567, "x") == "0.01012 <= x <= 0.01346"
    # a bound that rounds to the requested value at 4 digits gets more
    assert feasible_range(0.016, 0.0101, 0.0159996, "x") == "0.0101 <= x <= 0.0159996"
    assert feasible_range(5.0, 1.23456789, 4.5, "y", "USD", rel_tol=1e-2) == \
        "1.23 <= y <= 4.5 USD"
    assert np.isclose(float(feasible_range(1, 0.123456, 2, "z").split()[0]), 0.1235)


# --- the curve solvers behind the ranges (used when least squares misses a feasible target) ---

@pytest.mark.parametrize("model,ages,params", [("sbg", [1, 7], (0.7, 2.2, 1.0)),
                                               ("bdw", [1, 7, 30], (1.3, 0.9, 0.6))])
def test_curve_solution_recovers_parameters(model, ages, params):
    from simcore.model.retention import _exact_fit, survival
    ages = np.array(ages, dtype=float)
    fit = _exact_fit(model, ages, 0.9 * survival(ages, *params), 0.9)
    np.testing.assert_allclose((fit.alpha, fit.beta, fit.c), params, rtol=1e-6)


def test_curve_solution_reaches_payer_shares():
    from simcore.model.iap import _rate_on_curve, payer_share
    ret = compile_game(None).retention
    r, alpha = _rate_on_curve(0.01, 0.016, ret)
    assert payer_share(7, r, alpha, ret) == pytest.approx(0.01, rel=1e-9)
    assert payer_share(30, r, alpha, ret) == pytest.approx(0.016, rel=1e-9)
