"""Allocation across markets (``simcore.studies.allocation``): a known answer, a chance
constraint that the risk-neutral optimum breaks, invariance, binding bounds, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.interpolate import PchipInterpolator
from scipy.optimize import brentq

from simcore.analysis import cvar
from simcore.errors import ScenarioError
from simcore.scenario import load_scenario
from simcore.studies.allocation import evaluate, optimize
from simcore.studies.allocation.cells import budget_grid
from simcore.studies.allocation.solve import Chance, Curves, Problem, solve

DAYS = 14

# Two markets: US pays more on average but its rewarded eCPM is very uncertain; JP is
# nearly certain. At $400/day the risk-neutral optimum leans to the US and misses
# P(ROAS D30 >= 1) >= 0.8; the constrained one moves money to JP.
TWO_MARKETS = """
[title]
name = "Two markets (test)"
genre = "puzzle"
monetization = "iaa"
[simulation]
seed = 11
draws = 200
horizon_days = 30
[campaign]
region = "US"
days = 2
daily_budget_usd = 1000.0
bidding = "target_cpa"
target_cpa_usd = 0.4
saturation_budget_usd = 1000.0
saturation_shape = 1.0
[retention]
model = "sbg"
d1 = 0.3
d7 = 0.1
[engagement]
sessions_per_day = 3.0
sessions_shape = 2.0
[ads]
rewarded_per_session = 1.0
interstitial_per_session = 1.0
interstitial_cap_per_day = 10
fill_rate_rewarded = 0.9
fill_rate_interstitial = 0.9
ecpm_rewarded_usd = { dist = "uniform", low = 15.0, high = 175.0 }
ecpm_interstitial_usd = 20.0
developer_share = 0.7
"""
MARKETS = {"US": '[[markets]]\nregion = "US"\nbudget_share = 0.5\n',
           "JP": '[[markets]]\nregion = "JP"\nbudget_share = 0.5\n'
                 'set = { "ads.ecpm_rewarded_usd" = 75.0 }\n'}


def two_markets(tmp_path, order=("US", "JP"), name="two.toml"):
    path = tmp_path / name
    path.write_text(TWO_MARKETS + "".join(MARKETS[m] for m in order), encoding="utf-8")
    return path


# --- a known answer: closed-form saturation, deterministic value per activation ---------------

HILL = [  # (net revenue per activation through the horizon [USD], CPA [USD], saturation USD/day)
    (1.00, 0.25, 3000.0),
    (0.80, 0.30, 8000.0),
    (1.30, 0.40, 2000.0),
]


def hill_revenue(b, ltv, cpa, sat):
    """Net revenue [USD] of DAYS days at b USD/day: activations b / (cpa (1 + b/sat))."""
    return DAYS * ltv * b / (cpa * (1.0 + b / sat))


def hill_marginal(b, ltv, cpa, sat):
    """d revenue / d budget [USD per USD/day]."""
    return DAYS * ltv / cpa * sat**2 / (sat + b) ** 2


def analytic_optimum(total):
    """Equal marginal ROAS: each cell's R'(b) = m (interior), budgets adding up to total."""
    def budget_at(m, ltv, cpa, sat):
        # R'(b) = m  <=>  (sat + b)^2 = DAYS ltv sat^2 / (cpa m)
        return max(0.0, math.sqrt(DAYS * ltv * sat**2 / (cpa * m)) - sat)

    m = brentq(lambda m: sum(budget_at(m, *h) for h in HILL) - total, 1e-6, 1e6, xtol=1e-14)
    return np.array([budget_at(m, *h) for h in HILL]), m


def hill_problem(total, points, draws=3, **kw):
    grid = np.stack([budget_grid(total, points) for _ in HILL])
    rev = np.stack([hill_revenue(grid[c], *h) for c, h in enumerate(HILL)])
    spend = DAYS * grid
    tile = lambda a: np.repeat(a[:, :, None], draws, axis=2)     # identical draws
    return Problem(grid, tile(spend), tile(rev), total, np.zeros(3), np.full(3, total), **kw)


@pytest.mark.parametrize("points", [6, 10])
def test_known_answer_equal_marginal_roas(points):
    total = 5000.0
    exact, _m = analytic_optimum(total)
    assert (exact > 0).all()                                  # every cell interior
    problem = hill_problem(total, points)
    sol = solve(problem)
    # tolerance from the interpolation error: the PCHIP's slope error near the optimum,
    # divided by the curvature there, is how far a cell's equal-marginal point can move
    errors, curvature = [], []
    for c, h in enumerate(HILL):
        f = PchipInterpolator(problem.grid[c], problem.revenue[c, :, 0])
        b = np.linspace(0.5 * exact[c], 1.5 * exact[c] + 1, 201)
        errors.append(np.abs(f(b, 1) - hill_marginal(b, *h)).max())
        curvature.append(abs(hill_marginal(exact[c] * 1.01, *h) - hill_marginal(
            exact[c] * 0.99, *h)) / (0.02 * exact[c]))
    tol = 3.0 * len(HILL) * max(errors) / min(curvature)
    assert np.abs(sol.budgets - exact).max() <= tol, (sol.budgets, exact, tol)
    assert sol.budgets.sum() == pytest.approx(total, rel=1e-9)
    # interior cells end with equal marginal ROAS (of the interpolants)
    curves = Curves(problem)
    d_rev, d_spend, _ = curves.at(sol.budgets, 1)
    marginal = d_rev.mean(axis=1) / d_spend.mean(axis=1)
    assert marginal.max() - marginal.min() <= 1e-4 * marginal.mean()
    if points == 10:      # measured: 77 USD/day off at 6 points, 32 at 10, 5 at 16
        assert np.abs(sol.budgets - exact).max() < 0.01 * total


def test_known_answer_binding_bound():
    total = 5000.0
    exact, _ = analytic_optimum(total)
    problem = hill_problem(total, 10)
    problem.upper = np.array([total, total, 0.5 * exact[2]])   # cap the third below its optimum
    sol = solve(problem)
    assert sol.budgets[2] == pytest.approx(0.5 * exact[2], rel=1e-9)
    assert sol.budgets.sum() == pytest.approx(total, rel=1e-9)


def test_cvar_frontier_trades_profit_for_tail():
    """A risky and a safe cell: a larger lambda lowers CVaR and expected profit."""
    rng = np.random.default_rng(3)
    draws, total = 400, 1000.0
    grid = np.stack([budget_grid(total, 6)] * 2)
    shock = rng.lognormal(0.0, 0.8, draws)                    # the risky cell's draw
    risky = hill_revenue(grid[0][:, None], 1.0, 0.25, 3000.0) * shock / shock.mean()
    safe = hill_revenue(grid[1][:, None], 0.9, 0.25, 3000.0) * np.ones(draws)
    spend = DAYS * np.repeat(grid[:, :, None], draws, axis=2)
    rev = np.stack([risky, safe])
    out = []
    for lam in (0.0, 0.5, 5.0):
        p = Problem(grid, spend, rev, total, np.zeros(2), np.full(2, total), lam=lam)
        x = solve(p).budgets
        profit = (np.stack([f(xc) for f, xc in zip(Curves(p).rev, x)]).sum(0)
                  - DAYS * x.sum())
        out.append((profit.mean(), cvar(-profit, 0.95), x))
    means, tails = [o[0] for o in out], [o[1] for o in out]
    assert means[0] >= means[1] - 1e-6 >= means[2] - 2e-6
    assert tails[0] >= tails[1] - 1e-6 >= tails[2] - 2e-6
    assert tails[2] < tails[0]
    assert out[2][2][1] > out[0][2][1]                         # more money to the safe cell


def test_cvar_matches_rockafellar_uryasev():
    loss = np.arange(100.0)
    assert cvar(loss, 0.95) == pytest.approx(np.mean(loss[95:]))
    assert cvar(loss, 0.955) == pytest.approx((loss[96:].sum() + 0.5 * loss[95]) / 4.5)


# --- end to end on a simulated scenario ---------------------------------------------------------

@pytest.fixture(scope="module")
def chance_result(tmp_path_factory):
    path = two_markets(tmp_path_factory.mktemp("alloc"))
    loaded = load_scenario(str(path))
    return optimize(loaded, 400.0, chance=(30, 1.0, 0.8), grid_points=5)


def test_chance_constraint_holds_out_of_sample(chance_result):
    ds = chance_result
    a = ds.attrs
    # the risk-neutral optimum breaks the rule in sample; the constrained one meets it
    assert a["p_roas_at_least_risk_neutral"] < 0.8
    assert a["p_roas_at_least"] >= 0.8
    assert "P(ROAS D30 >= 1) >= 0.8" in a["binding"]
    assert a["expected_profit_usd"] <= a["expected_profit_risk_neutral_usd"]
    # ... and on fresh seeds, within 4 standard errors
    assert a["oos_p_roas_at_least"] >= 0.8 - 4 * a["oos_p_roas_at_least_se"]
    assert a["oos_p_roas_at_least_se"] > 0
    assert a["oos_seed"] != a["seed"]
    # the constraint moves money from the risky US to the safe JP
    x = ds.allocation_usd_per_day.sel(cell="JP").item()
    assert x > ds.risk_neutral_usd_per_day.sel(cell="JP").item()
    assert ds.allocation_usd_per_day.sum().item() == pytest.approx(400.0, rel=1e-9)
    assert ds.allocation_usd_per_day.dims == ("cell",)
    assert list(ds.region.values) == ["US", "JP"]


def test_invariant_to_the_order_of_markets(tmp_path):
    a = optimize(load_scenario(str(two_markets(tmp_path, ("US", "JP"), "a.toml"))), 400.0,
                 grid_points=4, out_of_sample=False, lower={"US": 50.0})
    b = optimize(load_scenario(str(two_markets(tmp_path, ("JP", "US"), "b.toml"))), 400.0,
                 grid_points=4, out_of_sample=False, lower={"US": 50.0})
    for region in ("US", "JP"):
        assert a.allocation_usd_per_day.sel(cell=region).item() == \
            b.allocation_usd_per_day.sel(cell=region).item()
        np.testing.assert_array_equal(a.response_revenue.sel(cell=region).values,
                                      b.response_revenue.sel(cell=region).values)


def test_binding_bound_is_reported(tmp_path):
    loaded = load_scenario(str(two_markets(tmp_path)))
    ds = optimize(loaded, 400.0, upper={"US": 150.0}, grid_points=4, out_of_sample=False)
    assert ds.allocation_usd_per_day.sel(cell="US").item() == pytest.approx(150.0)
    assert ds.bound.sel(cell="US").item() == "max"
    assert "US at its max" in ds.attrs["binding"]


# --- bad input: one ScenarioError naming the option and by how much -----------------------------

@pytest.mark.parametrize("kwargs, key, words", [
    ({"upper": {"US": 500.0}}, "--max US", "above the total budget (400 USD/day) by 100"),
    ({"lower": {"FR": 10.0}}, "--min FR", "unknown cell; the cells are US, JP"),
    ({"lower": {"US": 300.0, "JP": 200.0}}, "--min", "above the total budget (400) by 100"),
    ({"upper": {"US": 100.0, "JP": 100.0}}, "--max", "below the total budget (400) by 200"),
    ({"lower": {"US": 300.0}, "upper": {"US": 200.0}}, "--min US", "above --max US"),
    ({"objective": "sharpe"}, "--objective", "use one of mean, cvar"),
    ({"chance": (400, 1.0, 0.8)}, "--chance", ""),
])
def test_bad_input_is_one_error(tmp_path, kwargs, key, words):
    loaded = load_scenario(str(two_markets(tmp_path)))
    with pytest.raises(ScenarioError) as err:
        optimize(loaded, 400.0, out_of_sample=False, **kwargs)
    assert err.value.key == key
    assert words in err.value.message
    assert "\n" not in str(err.value)


def test_infeasible_chance_says_by_how_much():
    total = 5000.0
    problem = hill_problem(total, 6, chance=Chance(30, 50.0, 0.8))
    problem.revenue_chance = problem.revenue
    with pytest.raises(ScenarioError) as err:
        solve(problem)
    assert err.value.key == "--chance"
    assert "at most 0 of the draws reaching it (0.8 short)" in err.value.message


def risky_and_safe(draws=300, total=1000.0, seed=4):
    """Cell 0 pays more on average with a lognormal shock per draw; cell 1 is certain."""
    rng = np.random.default_rng(seed)
    grid = np.stack([budget_grid(total, 6)] * 2)
    shock = rng.lognormal(0.0, 0.6, draws)
    risky = hill_revenue(grid[0][:, None], 1.2, 0.25, 3000.0) * shock / shock.mean()
    safe = hill_revenue(grid[1][:, None], 0.9, 0.25, 3000.0) * np.ones(draws)
    spend = DAYS * np.repeat(grid[:, :, None], draws, axis=2)
    return grid, spend, np.stack([risky, safe])


def p_at_least(problem, x, target):
    curves = Curves(problem)
    rev = np.stack([f(xc) for f, xc in zip(curves.age, x)]).sum(0)
    return float((rev >= target * DAYS * x.sum()).mean())


@pytest.mark.parametrize("method", ["milp", "cvar"])
def test_chance_constraint_exact_and_conservative(method):
    grid, spend, rev = risky_and_safe()
    total, target = 1000.0, 2.5            # the safe cell alone returns 2.7 at this total
    free = Problem(grid, spend, rev, total, np.zeros(2), np.full(2, total))
    x_free = solve(free).budgets
    chance = Chance(30, target, 0.8)
    p = Problem(grid, spend, rev, total, np.zeros(2), np.full(2, total), chance=chance,
                revenue_chance=rev, chance_method=method)
    x = solve(p).budgets
    assert p_at_least(p, x_free, target) < 0.8            # the risk-neutral answer breaks it
    assert p_at_least(p, x, target) >= 0.8
    profit = lambda x: float(np.mean([f(xc) for f, xc in zip(Curves(p).rev, x)], axis=1).sum()
                             - DAYS * x.sum())
    assert profit(x) <= profit(x_free) + 1e-6
    if method == "cvar":     # conservative: no more profit than the exact constraint allows
        exact = solve(Problem(grid, spend, rev, total, np.zeros(2), np.full(2, total),
                              chance=chance, revenue_chance=rev)).budgets
        assert profit(x) <= profit(exact) + 1e-6


def test_the_same_on_a_local_cluster(tmp_path):
    """Tasks (a market, a budget, a block of draws) on 2 Dask workers: the same to the bit."""
    from simcore.studies.executors import open_executor

    loaded = load_scenario(str(two_markets(tmp_path)), ["simulation.draws=40"])
    here = optimize(loaded, 400.0, grid_points=3, block_draws=20)
    with open_executor("local:2") as executor:
        there = optimize(loaded, 400.0, grid_points=3, block_draws=20, executor=executor)
    for name in ("allocation_usd_per_day", "response_revenue", "response_spend",
                 "oos_net_profit"):
        np.testing.assert_array_equal(here[name].values, there[name].values)


# --- channels and weeks ---------------------------------------------------------------------------

CREATOR = """
[creator]
videos_per_day = 2.0
views_median = 3000.0
views_p90 = 20000.0
anchor_ctr = 0.01
load_success = 0.9
first_play = 0.8
usd_per_1000_views = 4.0
"""


def with_creators(tmp_path, days=9):
    path = tmp_path / "creators.toml"
    text = TWO_MARKETS.replace("days = 2", f"days = {days}") + CREATOR
    path.write_text(text + MARKETS["US"] + MARKETS["JP"], encoding="utf-8")
    return load_scenario(str(path), ["simulation.draws=30"])


def test_cells_over_channels_and_weeks(tmp_path):
    from simcore.studies.allocation.cells import cells_of

    cells = cells_of(with_creators(tmp_path), ("markets", "channels", "weeks"))
    assert [c.name for c in cells] == [f"{r}/{ch}/w{w}" for r in ("US", "JP")
                                       for ch in ("paid_ads", "creator") for w in (1, 2)]
    assert [c.days for c in cells[:2]] == [(0, 7), (7, 9)]
    assert [c.weight for c in cells[:2]] == pytest.approx([7 / 9, 2 / 9])


def test_weeks_add_up_to_the_whole_campaign(tmp_path):
    """A week's cell keeps its own cohorts of the same simulation: at one budget the weeks'
    spend and revenue add up, to rounding, to the whole campaign's."""
    from simcore.studies.allocation.cells import cells_of
    from simcore.studies.allocation.response import simulate_points

    loaded = with_creators(tmp_path)
    whole = cells_of(loaded, ("markets", "channels"))
    weeks = cells_of(loaded, ("markets", "channels", "weeks"))
    points = np.array([[0.0, 150.0, 600.0]])
    s1, r1 = simulate_points(whole, np.repeat(points, len(whole), axis=0))
    s2, r2 = simulate_points(weeks, np.repeat(points, len(weeks), axis=0))
    np.testing.assert_allclose(s2.reshape(len(whole), 2, *s2.shape[1:]).sum(axis=1), s1,
                               rtol=1e-12)
    np.testing.assert_allclose(r2.reshape(len(whole), 2, *r2.shape[1:]).sum(axis=1), r1,
                               rtol=1e-12, atol=1e-9)
    assert np.all(s1[:, 0] == 0) and np.all(r1[:, 0] == 0)      # budget 0: nothing


def test_allocation_over_channels_and_weeks_spends_the_total(tmp_path):
    loaded = with_creators(tmp_path)
    ds = optimize(loaded, 400.0, over=("markets", "channels", "weeks"), grid_points=4,
                  chance=(20, 1.0, 0.6), out_of_sample=True)
    x, w = ds.allocation_usd_per_day.values, ds.weight.values
    assert w @ x == pytest.approx(400.0, rel=1e-9)
    assert float(ds.share.sum()) == pytest.approx(1.0)
    assert set(ds.channel.values) == {"paid_ads", "creator"}
    assert list(ds.week.values[:2]) == [1, 2]
    # equal marginal ROAS across interior paid cells (a creator cell's per-draw spend curves
    # are noisy interpolants, whose mean slope between grid budgets is not exactly the budget)
    interior = (ds.bound.values == "") & (x > 1.0) & (ds.channel.values == "paid_ads")
    m = ds.marginal_roas.values[interior]
    if m.size > 1 and "P(ROAS" not in ds.attrs["binding"]:
        assert np.ptp(m) <= 1e-3 * np.abs(m).max()
    assert ds.attrs["oos_p_roas_at_least"] >= 0.6 - 4 * ds.attrs["oos_p_roas_at_least_se"]


@pytest.mark.parametrize("text, over, key, words", [
    (TWO_MARKETS, ("markets", "channels"), "--over", "no [creator] programme"),
    (TWO_MARKETS.replace("days = 2", "days = 9") + CREATOR.replace(
        "usd_per_1000_views = 4.0", 'payment = "revenue_share"\nrevenue_share = 0.3'),
     ("channels",), "creator.payment", "have no budget to allocate"),
    (TWO_MARKETS, ("markets", "months"), "--over", "allocate over any of markets, channels"),
])
def test_channels_that_cannot_be_split_are_one_error(tmp_path, text, over, key, words):
    path = tmp_path / "bad.toml"
    path.write_text(text + MARKETS["US"] + MARKETS["JP"], encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        optimize(load_scenario(str(path)), 400.0, over=over, out_of_sample=False)
    assert err.value.key == key
    assert words in err.value.message


def test_the_pilot_narrows_grids_without_moving_the_answer(tmp_path):
    """The pilot simulates each cell only up to twice what its answers need: the answer is
    the full grids' (within the interpolation's error) and never sits at a narrowed top."""
    loaded = with_creators(tmp_path).with_overrides("simulation.draws=60")
    kw = dict(over=("channels",), grid_points=5, chance=(20, 1.0, 0.6), out_of_sample=False)
    full = optimize(loaded, 400.0, pilot=False, **kw)
    fast = optimize(loaded, 400.0, **kw)
    assert fast.attrs["pilot_draws"] == 10 and full.attrs["pilot_draws"] == 0
    top, reach = fast.grid_usd_per_day.max("point").values, full.upper_usd_per_day.values
    assert np.any(top < reach)                                  # a grid was narrowed
    x = fast.allocation_usd_per_day.values
    assert np.all((x < top * (1 - 1e-6)) | (top >= reach))
    # near the optimum the expected profit is flat: judged on the full grids' responses, the
    # pilot's allocation gives up less than 0.5 % of the full grids' optimum
    p = Problem(full.grid_usd_per_day.values, full.response_spend.values,
                full.response_revenue.values, 400.0, full.lower_usd_per_day.values,
                full.upper_usd_per_day.values, weight=full.weight.values)
    curves = Curves(p)
    profit = lambda x: float(evaluate(p, curves, x)["net_profit"].mean())
    best = profit(full.allocation_usd_per_day.values)
    assert profit(x) >= best - 0.005 * abs(best)


# --- CVaR <= L and the payback quantile -----------------------------------------------------------

def test_cvar_cap_holds_and_costs_profit():
    grid, spend, rev = risky_and_safe()
    total = 1000.0
    free = Problem(grid, spend, rev, total, np.zeros(2), np.full(2, total))
    curves = Curves(free)
    loss = lambda x: -evaluate(free, curves, x)["net_profit"]
    x_free = solve(free).budgets
    least = solve(Problem(grid, spend, rev, total, np.zeros(2), np.full(2, total),
                          objective="cvar")).budgets
    lo_cvar, hi_cvar = cvar(loss(least), 0.95), cvar(loss(x_free), 0.95)
    assert lo_cvar < hi_cvar
    cap = 0.5 * (lo_cvar + hi_cvar)
    x = solve(Problem(grid, spend, rev, total, np.zeros(2), np.full(2, total),
                      max_cvar=cap)).budgets
    assert cvar(loss(x), 0.95) <= cap + 1e-6 * abs(cap)
    profit = lambda x: float(-loss(x).mean())
    assert profit(x) < profit(x_free)
    with pytest.raises(ScenarioError) as err:
        solve(Problem(grid, spend, rev, total, np.zeros(2), np.full(2, total),
                      max_cvar=lo_cvar - 100.0))
    assert err.value.key == "--max-cvar"
    assert "the least any allocation reaches is" in err.value.message
    assert "(100 above)" in err.value.message


def test_payback_quantile_is_the_chance_constraint():
    from simcore.studies.allocation import parse_payback

    assert parse_payback("0.8:90") == (90, 1.0, 0.8)
    for bad in ("0.8", "x:90", "1.5:90"):
        with pytest.raises(ScenarioError) as err:
            parse_payback(bad)
        assert err.value.key == "--payback"


def test_creator_spend_has_its_known_mean(tmp_path):
    """The solver's creator responses are scaled so their mean spend is the budget (a ratio
    estimator: each draw's ROAS unchanged); the raw simulation's mean spend is not."""
    from simcore.studies.allocation.cells import cells_of
    from simcore.studies.allocation.response import simulate_points, simulate_response

    loaded = with_creators(tmp_path)
    cells = [c for c in cells_of(loaded, ("channels", "weeks")) if c.channel == "creator"]
    grids = np.repeat(np.array([[0.0, 50.0, 300.0]]), len(cells), axis=0)
    raw_spend, raw_revenue = simulate_points(cells, grids)
    r = simulate_response(cells, grids)
    for c, cell in enumerate(cells):
        days = cell.days[1] - cell.days[0]
        np.testing.assert_allclose(r.spend[c, 1:].mean(axis=1), grids[c, 1:] * days,
                                   rtol=1e-12)
        np.testing.assert_allclose(r.revenue[c, 1:, :, -1] / r.spend[c, 1:],
                                   raw_revenue[c, 1:, :, -1] / raw_spend[c, 1:], rtol=1e-12)
    days = np.array([c.days[1] - c.days[0] for c in cells])[:, None]
    assert not np.allclose(raw_spend[:, 1:].mean(axis=2), grids[:, 1:] * days, rtol=1e-3)
