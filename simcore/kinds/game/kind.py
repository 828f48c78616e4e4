"""The mini-game title kind: users through retention, sessions, ads (IAA) and purchases (IAP)
(``simcore.kinds.game.plan``, ``simcore.kinds.game.simulate``)."""

from __future__ import annotations

import math


class Game:
    """``simcore.kinds.TitleKind`` of a mini-game."""

    name = "game"
    sweep_outcomes: dict = {}

    @property
    def calibration(self):
        """The game's report model for ``simcore.studies.calibration``."""
        from simcore.kinds.game.calibration import CALIBRATION

        return CALIBRATION

    @property
    def budget_response(self):
        """The game's budget response for ``simcore.studies.allocation`` (a module:
        ``nested_ok``, ``check_channel``, ``budget_response``)."""
        from simcore.kinds.game import response

        return response

    def compile(self, loaded):
        from simcore.kinds.game.plan import compile_loaded

        return compile_loaded(loaded)

    def plans(self, loaded, scenarios):
        from simcore.kinds.game.plan import compile_loaded

        central = compile_loaded(loaded).retention   # each fit starts from the medians'
        return [compile_loaded(loaded, s, central) for s in scenarios]

    def simulate_plans(self, loaded, plans, values, point=0, progress=None, streams=None):
        from simcore.kinds.game.simulate import simulate_plans

        return simulate_plans(loaded, plans, values, point=point, progress=progress,
                              streams=streams)

    def run(self, loaded, progress=None, point=0, draws=None, market=0):
        from simcore.kinds.game.simulate import run_market

        return run_market(loaded, market, progress=progress, point=point, draws=draws)

    def warnings(self, loaded) -> list[str]:
        """Sharing alone would grow without end (K >= 1, held only by the daily cap)."""
        if loaded.scenario.share is None:
            return []
        fission = self.compile(loaded).fission
        if fission is None or fission.k_effective < 1.0:
            return []
        return [f"share: effective K-factor {fission.k_effective:.3g} >= 1: share users grow "
                f"until share.max_users_per_day ({fission.max_users_per_day}) holds them"]

    def validate_text(self, loaded) -> str:
        from simcore.kinds.game.validate import format_resolved

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
        """One draw's expected users, kernel sums' bytes and time (``simcore.model.cost``)."""
        from simcore.kernel import layout as K
        from simcore.kinds.game.plan import game_users
        from simcore.model import cost
        from simcore.model.channels import CHANNELS

        plan = self.compile(loaded)
        users = game_users(plan)
        prm = plan.params
        if not plan.aggregate:
            shape = "per_user"
        elif prm[K.INTERSTITIAL_CAP] < 0 and prm[K.PLAY_PROB] >= 1.0:
            shape = "uncapped"
        else:
            shape = "capped"
        cohort_ages = plan.n_cohorts * (plan.horizon + 1)
        total = math.fsum(users.values())
        return cost.DrawSize(
            total, len(CHANNELS) * cohort_ages * K.N_VARS * cost.FLOAT,
            cost.seconds(total, shape)
            + len(users) * cohort_ages * cost.SECONDS_PER_COHORT_AGE)


KIND = Game()
