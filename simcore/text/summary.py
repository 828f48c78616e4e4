"""The run summary a UA manager reads: CPA, ROAS by day, odds of payback, payback day,
break-even CPA, profit risk and the parameters that drive ROAS."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from simcore import analysis, kinds
from simcore.data.checks import check_day, check_target

KEY_DAYS = analysis.KEY_AGES     # the ages the summary reports
QUANTILES = (0.05, 0.5, 0.95)
BREAK_EVEN_PROBABILITIES = (0.5, 0.8)
PROFIT_ALPHA = 0.05
TOP_DRIVERS = 5


@dataclass(frozen=True)
class Summary:
    title: str
    draws: int
    seed: int
    scenario_hash: str
    horizon: int
    spend_usd: float                          # mean total spend per draw
    activations: float                        # mean total activations per draw
    cpa: dict[str, float]                     # mean, p5, p50, p95 [USD]
    roas: dict[int, dict[str, float]]         # day -> mean, p5, p50, p95, p_ge_1
    payback: dict[str, float]                 # p5, p50, p95 [days] (inf: beyond horizon)
    paid_back_share: float                    # share of draws paying back within horizon
    break_even_cpa: dict[float, float]        # probability -> highest CPA [USD] with
                                              #   P(ROAS(day) >= target) >= probability
    profit: dict[str, float]                  # analysis.profit_risk: mean, p5, cvar [USD],
                                              #   prob_loss
    drivers: list[tuple[str, float, float, str]]  # (key, spearman, partial rank, kind),
                                              #   top 5 (kind: analysis.driver_kind)
    day: int                                  # age [days] of break-even CPA and drivers
    target: float                             # ROAS target of break-even CPA
    basis: str = "paid"                       # what ROAS counts: analysis.BASES
    blended: dict[int, dict[str, float]] = None  # day -> mean, p50 of blended ROAS, where
                                              #   unpaid (organic, share) users exist
    markets: list[tuple[str, float, float, float, float]] = ()  # multi-market runs: (region,
                                              #   spend share, CPA p50 [USD], ROAS(day) p50,
                                              #   P(ROAS(day) >= target)) per market
    kind: str = kinds.DEFAULT                 # the title kind (simcore.kinds)
    block: object | None = None               # the kind's own part (a drama's funnel,
                                              #   sources, series P&L), kinds' summary_block


def _stats(values: np.ndarray) -> dict[str, float]:
    """Mean and quantiles over draws; a quantile between two infinite values (a CPA where
    draws bought nobody) is inf, not inf - inf."""
    with np.errstate(invalid="ignore"):
        q = np.quantile(values, QUANTILES)
    q = np.where(np.isnan(q) & np.isinf(values).any(), np.inf, q)
    return {"mean": float(np.mean(values)), "p5": float(q[0]), "p50": float(q[1]),
            "p95": float(q[2])}


def _drivers(ds: xr.Dataset, day: int, basis: str) -> list[tuple[str, float, float, str]]:
    d = analysis.drivers(ds, age=day, basis=basis).isel(parameter=slice(0, TOP_DRIVERS))
    return [(str(k), float(s), float(p), str(kind)) for k, s, p, kind in
            zip(d.parameter.values, d.spearman.values, d.partial_rank.values, d.kind.values)]


def summarize(ds: xr.Dataset, day: int | None = None, target: float | None = None,
              basis: str = "paid") -> Summary:
    """Summary statistics over draws of a run dataset (saved or fresh).

    ``day`` [days] is the age at which break-even CPA and drivers are judged, ``target`` the
    ROAS the break-even CPA must reach; None = the scenario's payback goal (``[goal]``;
    without one, ROAS 1 by the horizon). A ``day`` outside the run is a ``ScenarioError``.
    ``basis``: ROAS on UA (``"paid"``, the paid users' revenue / spend: the headline) or
    ``"blended"`` (every user's revenue).
    """
    horizon = int(ds.age.values[-1])
    day = check_day(ds, day)
    target = check_target(target, "target", ds)
    analysis.check_basis(basis)
    roas_all = analysis.roas_of(ds, basis)
    roas, blended = {}, None
    if basis == "paid" and analysis.has_unpaid_users(ds):
        blended = {}
    for key_day in KEY_DAYS:
        if key_day <= horizon:
            v = roas_all.sel(age=key_day).values
            roas[key_day] = {**_stats(v), "p_ge_1": float(np.mean(v >= 1.0))}
            if blended is not None:
                b = ds.roas.sel(age=key_day).values
                blended[key_day] = {"mean": float(b.mean()), "p50": float(np.median(b))}
    payback = analysis.payback_days(ds, 1.0, basis).values
    pq = analysis.day_quantiles(payback, QUANTILES)
    return Summary(
        title=str(ds.attrs.get("title", "")), draws=int(ds.sizes["draw"]),
        seed=int(ds.attrs.get("seed", -1)), scenario_hash=str(ds.attrs.get("scenario_hash", "")),
        horizon=horizon, spend_usd=float(ds.spend.sum("cohort").mean()),
        activations=float(ds.activations.sum("cohort").mean()), cpa=_stats(ds.cpa.values),
        roas=roas, payback={"p5": float(pq[0]), "p50": float(pq[1]), "p95": float(pq[2])},
        paid_back_share=float(np.mean(~np.isnan(payback))),
        break_even_cpa={p: analysis.break_even_cpa(ds, day, target, p, basis)
                        for p in BREAK_EVEN_PROBABILITIES},
        profit=analysis.profit_risk(ds, PROFIT_ALPHA, basis), drivers=_drivers(ds, day, basis),
        day=day, target=float(target), markets=_markets(ds, day, target),
        kind=kinds.name_of(ds), block=kinds.for_dataset(ds).summary_block(ds),
        basis=basis, blended=blended)


def _markets(ds: xr.Dataset, day: int, target: float) -> list:
    if "region" not in ds.dims:
        return []
    spend = ds.spend_by_region.sum("cohort").mean("draw")
    share = spend / spend.sum()
    roas = ds.roas_by_region.sel(age=day)
    return [(str(r), float(share.sel(region=r)),
             float(ds.cpa_by_region.sel(region=r).median()),
             float(roas.sel(region=r).median()), float((roas.sel(region=r) >= target).mean()))
            for r in ds.region.values]


def format_summary(s: Summary) -> str:
    """Plain-text summary table."""
    def day(v: float) -> str:
        return f"D{int(v)}" if np.isfinite(v) else f">D{s.horizon}"

    lines = [
        f"{s.title}  ({s.draws} draws, seed {s.seed}, scenario {s.scenario_hash[:12]})",
        f"spend per draw     {s.spend_usd:>14,.0f} USD",
        f"activations        {s.activations:>14,.0f} users (mean per draw)",
        "realised CPA       mean {mean:.3f}  p5 {p5:.3f}  p50 {p50:.3f}  p95 {p95:.3f} USD"
        .format(**s.cpa),
        "",
        basis_line(s),
        f"{'ROAS':<6}{'mean':>9}{'p5':>9}{'p50':>9}{'p95':>9}{'P(>=1)':>9}"
        + (f"{'blended p50':>14}" if s.blended else ""),
    ]
    for d, r in s.roas.items():
        lines.append(f"{'D' + str(d):<6}{r['mean']:>9.3f}{r['p5']:>9.3f}{r['p50']:>9.3f}"
                     f"{r['p95']:>9.3f}{r['p_ge_1']:>9.2f}"
                     + (f"{s.blended[d]['p50']:>14.3f}" if s.blended else ""))
    lines += [
        "",
        f"payback day        p5 {day(s.payback['p5'])}  p50 {day(s.payback['p50'])}  "
        f"p95 {day(s.payback['p95'])}",
        f"paid back by D{s.horizon}  {s.paid_back_share:.0%} of draws",
        "",
        _break_even_line(s),
        _profit_line(s.profit),
        "",
        *_driver_lines(s),
        *_market_lines(s),
        *_block_lines(s),
    ]
    return "\n".join(lines)


def basis_line(s: Summary) -> str:
    """What the ROAS, payback, break-even CPA, profit and drivers below count."""
    if s.basis == "paid":
        text = "ROAS on UA: net revenue of the users the spend bought / spend"
        return text + ("; blended ROAS (all users, organic and share too) beside it"
                       if s.blended else " (every user here was bought)")
    return "blended ROAS: net revenue of every user (organic and share too) / spend"


def _block_lines(s: Summary) -> list[str]:
    return [] if s.block is None else kinds.get(s.kind).summary_lines(s.block, s.horizon)


def _market_lines(s: Summary) -> list[str]:
    if not s.markets:
        return []
    lines = ["", f"{'market':<8}{'spend':>8}{'CPA p50':>10}{f'ROAS D{s.day} p50':>15}"
                 f"{f'P(>={s.target:g})':>10}"]
    lines += [f"{r:<8}{sh:>8.0%}{cpa:>10.3f}{roas:>15.3f}{p:>10.2f}"
              for r, sh, cpa, roas, p in s.markets]
    return lines


def _break_even_line(s: Summary) -> str:
    cpas = "  ".join(f"{cpa:.3f} USD at P={p:g}" for p, cpa in s.break_even_cpa.items())
    return f"break-even CPA     {cpas}  (ROAS D{s.day} >= {s.target:g})"


def _profit_line(p: dict[str, float]) -> str:
    return (f"net profit         mean {p['mean']:,.0f}  p5 {p['p5']:,.0f}  "
            f"CVaR{PROFIT_ALPHA:.0%} {p['cvar']:,.0f} USD  P(loss) {p['prob_loss']:.0%}")


def _driver_lines(s: Summary) -> list[str]:
    title = f"drivers of ROAS D{s.day}"
    if not s.drivers:
        return [f"{title}: no uncertain parameters"]

    def corr(v: float) -> str:
        return f"{v:+.2f}" if np.isfinite(v) else "n/a"

    width = max(28, *(len(k) + 4 for k, *_ in s.drivers))
    lines = [f"{title:<{width}}{'spearman':>10}{'partial rank':>14}  kind"]
    lines += [f"  {k:<{width - 2}}{corr(sp):>10}{corr(pr):>14}  {kind}"
              for k, sp, pr, kind in s.drivers]
    return lines
