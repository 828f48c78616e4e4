"""The micro-drama title kind: viewers episode by episode through the paywall, the platform
deal and the series P&L (``simcore.kinds.drama``)."""

from __future__ import annotations

import numpy as np


class Drama:
    """``simcore.kinds.TitleKind`` of a micro-drama series."""

    name = "drama"
    calibration = None          # no report model for a series yet
    budget_response = None      # allocation runs each budget on its own (markets only)
    # a sweep of a drama also keeps the series P&L at the horizon (licence and production)
    sweep_outcomes = {
        "series_pnl": ((), "USD", "series P&L through the horizon: all net revenue (licence "
                       "included) - UA spend - production budget"),
        "roi": ((), "1", "ROI including production through the horizon: series_pnl / (UA "
                "spend + production budget)"),
        "series_payback_day": ((), "days", "first age with series_pnl >= 0 (NaN: not within "
                               "the horizon)"),
    }

    def compile(self, loaded):
        from simcore.kinds.drama.plan import compile_loaded_drama

        return compile_loaded_drama(loaded)

    def plans(self, loaded, scenarios):
        from simcore.kinds.drama.plan import compile_loaded_drama

        return [compile_loaded_drama(loaded, s) for s in scenarios]

    def simulate_plans(self, loaded, plans, values, point=0, progress=None, streams=None):
        from simcore.kinds.drama.simulate import simulate_drama_plans

        return simulate_drama_plans(loaded, plans, values, point=point, progress=progress,
                                    streams=streams)

    def run(self, loaded, progress=None, point=0, draws=None, market=0):
        if market:       # the schema refuses [[markets]] in a drama
            raise ValueError("a drama runs on one market")
        from simcore.kinds.drama.simulate import run_drama

        return run_drama(loaded, progress, point, draws)

    def warnings(self, loaded) -> list[str]:
        return []

    def validate_text(self, loaded) -> str:
        from simcore.kinds.drama.validate import format_resolved_drama

        return format_resolved_drama(loaded, self.compile(loaded))

    def sweep_values(self, ds) -> dict:
        return {"series_pnl": ds.series_pnl.isel(age=-1).values,
                "roi": ds.roi.isel(age=-1).values,
                "series_payback_day": ds.series_payback_day.values}

    def summary_block(self, ds):
        from simcore.kinds.drama.summary import summarize_drama

        return summarize_drama(ds)

    def summary_lines(self, block, horizon: int) -> list[str]:
        from simcore.kinds.drama.summary import format_drama

        return format_drama(block, horizon)

    def report_section(self, ds, block, horizon: int) -> str:
        from simcore.kinds.drama.report import drama_section

        return drama_section(ds, block, horizon)

    def figure(self, ds, name: str):
        from simcore.kinds.drama import plots

        return plots.KINDS[name](ds)

    def draw_size(self, loaded):
        """One draw's expected viewers, kernel sums' bytes and time (``simcore.model.cost``)."""
        from simcore.kernel import drama_layout as D
        from simcore.model import cost

        plan = self.compile(loaded)
        spikes = np.array([plan.spike(day) for day in range(plan.organic_days)])
        users = float(plan.acquisition.expected_activations().sum()
                      + sum(plan.organic_per_day.values()) * spikes.sum())
        cohort_ages = plan.n_cohorts * (plan.horizon + 1)
        return cost.DrawSize(users, cohort_ages * D.N_ROWS * cost.FLOAT,
                                 cost.seconds(users, "drama")
                                 + cohort_ages * cost.SECONDS_PER_COHORT_AGE)


KIND = Drama()
