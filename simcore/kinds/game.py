"""The mini-game title kind: users through retention, sessions, ads (IAA) and purchases (IAP),
on one market or several (``simcore.plan``, ``simcore.simulate``, ``simcore.markets``)."""

from __future__ import annotations

import math


class Game:
    """``simcore.kinds.TitleKind`` of a mini-game."""

    name = "game"
    sweep_outcomes: dict = {}

    def compile(self, loaded):
        from simcore.plan import compile_loaded

        return compile_loaded(loaded)

    def plans(self, loaded, scenarios):
        from simcore.plan import compile_loaded

        central = compile_loaded(loaded).retention   # each fit starts from the medians'
        return [compile_loaded(loaded, s, central) for s in scenarios]

    def simulate_plans(self, loaded, plans, values, point=0, progress=None, streams=None):
        from simcore.simulate import simulate_plans

        return simulate_plans(loaded, plans, values, point=point, progress=progress,
                              streams=streams)

    def run(self, loaded, progress=None, point=0, draws=None):
        if loaded.scenario.markets:
            from simcore.markets import run_markets

            return run_markets(loaded, progress, point, draws)
        from simcore.simulate import run_market

        return run_market(loaded, progress=progress, point=point, draws=draws)

    def validate_text(self, loaded) -> str:
        from simcore.validate_report import format_resolved

        return format_resolved(loaded, self.compile(loaded))

    def sweep_values(self, ds) -> dict:
        return {}

    def summary_block(self, ds):
        return None

    def summary_lines(self, block, horizon: int) -> list[str]:
        return []

    def report_section(self, ds, block, horizon: int) -> str:
        return ""

    def figure(self, ds, name: str):
        raise ValueError(f"a game has no figure {name!r} of its own")

    def draw_size(self, loaded):
        """One draw's expected users, kernel sums' bytes and time (``simcore.workload``)."""
        from simcore import workload
        from simcore.channels import CHANNELS
        from simcore.kernel import layout as K

        plan = self.compile(loaded)
        users = workload.game_users(plan)
        prm = plan.params
        if not plan.aggregate:
            shape = "per_user"
        elif prm[K.INTERSTITIAL_CAP] < 0 and prm[K.PLAY_PROB] >= 1.0:
            shape = "uncapped"
        else:
            shape = "capped"
        cohort_ages = plan.n_cohorts * (plan.horizon + 1)
        total = math.fsum(users.values())
        return workload.DrawSize(
            total, len(CHANNELS) * cohort_ages * K.N_VARS * workload.FLOAT,
            workload.seconds(total, shape)
            + len(users) * cohort_ages * workload.SECONDS_PER_COHORT_AGE)


KIND = Game()
